"""Counting people from sparse to dense: a box detector, a density map, and their fusion.

Why two models: a box detector (nanodet on tiles) counts well while people are
separate and large enough, and breaks down in crowds (heads of 10-20 px, bodies
hidden); a density-map network (CSRNet, `clearsight.models.csrnet`) regresses
people per pixel and keeps working in crowds, but it was trained on dense scenes
and smears background texture into "people" when the scene is sparse. Neither
alone holds over the whole range, so `CombinedCounter` uses both, region by
region. The constants below were chosen by measurement (`bench/crowd.py`, tuned on
Mall frames 1-100 and ShanghaiTech B images 1-30, reported on the rest):

- density runs at a reduced size (`DENSITY_MAX_SIDE`, never upscaled): on
  ShanghaiTech B (1024x768) the model at full size over-counts sparse scenes
  (IMG_1: 23 people -> 55) and costs 6-10 s per image here; at 768 px it counts 37,
  in 0.8-1.8 s.
- its raw output under-counts dense regions of street scenes (a crowd of 513 ->
  365 at 768 px, 376 at full size) and sees ~0.8x the people of the Mall: the
  per-region calibration `0.8 * density ** 1.3` (regions of 32x32 input px;
  gamma > 1 lifts dense regions more than sparse ones) was fitted jointly on the
  tuning parts of both sets (objective MAE_mall/3 + MAE_shb/12, the targets).
- per region, the detector's heads count where the calibrated density sees less
  than half a person (the larger of the two there), the density elsewhere. The
  same search offered a "detector only below x people" band and chose x = 0:
  nanodet on tiles finds 20-45 people at most, fewer than density even on
  sparse Mall regions, so it only adds people the density map leaves out.
  Tuning sets, MAE: Mall 1.9 (detector alone 5.9 at its best threshold, 0.2),
  ShanghaiTech B 18.6 (detector alone 69);
  held out: `bench/crowd.py`.

A counting region (ROI) is a mask of the image's size, non-zero inside; people
count when their head (detector) or their density mass (density) lies inside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import cv2
import numpy as np

from ..errors import InputError, UnknownBackendError
from ..models import runtime
from ..types import Detection

Method = Literal["detector", "density", "fused"]

# ---------------------------------------------------------------- measured constants (bench/crowd.py)
DENSITY_MAX_SIDE = 768  # never upscaled: a smaller image runs at its own size
CELL = 4  # density cells (of 8 input px each) per calibration region side: 32 input px
DENSITY_SCALE = 0.8
DENSITY_GAMMA = 1.3
DETECTOR_MIN_SCORE = 0.3
SPARSE_BELOW = 0.0  # calibrated people per region below which only the detector counts (measured: never)
DENSE_ABOVE = 0.5  # ... above which only the density counts; in between the larger of the two


@dataclass(frozen=True, slots=True)
class DensityMap:
    """A density map and how it maps onto the image it came from."""

    values: np.ndarray  # (h, w) float32, people per cell (raw network output)
    image_size: tuple[int, int]  # (H, W) of the original image
    input_size: tuple[int, int]  # (H, W) the network saw

    @property
    def total(self) -> float:
        return float(self.values.sum())

    def mask_weights(self, mask: np.ndarray | None) -> np.ndarray:
        """Fraction of each density cell that lies inside the mask (1 everywhere without a mask)."""
        if mask is None:
            return np.ones_like(self.values)
        h, w = self.values.shape
        inside = (mask > 0).astype(np.float32)
        return cv2.resize(inside, (w, h), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True, slots=True)
class CrowdCount:
    """One image's count and how it was reached."""

    count: float
    method: Method
    detector_count: int | None = None
    density_count: float | None = None  # calibrated density over the ROI
    regions: dict[str, int] = field(default_factory=dict)  # "sparse" / "dense" / "mixed" -> regions
    heads: tuple[tuple[float, float], ...] = ()  # head points of the counted detections

    def to_dict(self) -> dict[str, object]:
        return {"count": round(self.count, 2), "method": self.method, "detector_count": self.detector_count,
                "density_count": None if self.density_count is None else round(self.density_count, 2),
                "regions": dict(self.regions)}


def check_mask(mask: np.ndarray | None, rgb: np.ndarray) -> np.ndarray | None:
    """A counting region must cover the image pixel for pixel: a mask of another size
    was drawn for another camera or resolution, and rescaling it silently would count
    the wrong area."""
    if mask is None:
        return None
    if not isinstance(mask, np.ndarray) or mask.ndim not in (2, 3):
        raise InputError("the ROI mask must be an image (H, W) or (H, W, C)")
    if mask.shape[:2] != rgb.shape[:2]:
        raise InputError(
            f"ROI mask is {mask.shape[1]}x{mask.shape[0]} but the image is {rgb.shape[1]}x{rgb.shape[0]}; "
            "the mask must have the image's size (non-zero pixels are inside)")
    m = mask if mask.ndim == 2 else mask.max(axis=2)
    return m > 0


def load_mask(path: str) -> np.ndarray:
    from ..io import load_image

    return load_image(path).max(axis=2)


# ---------------------------------------------------------------- density
class DensityEstimator:
    """CSRNet at a reduced size; the map's sum is the (uncalibrated) count."""

    def __init__(self, max_side: int = DENSITY_MAX_SIDE, threads: int | None = None) -> None:
        if not 64 <= max_side <= 4096:
            raise InputError("density max_side must be within 64..4096")
        self.max_side = int(max_side)
        self._sess = runtime.onnx_session("csrnet", threads)

    def input_size(self, h: int, w: int) -> tuple[int, int]:
        s = min(1.0, self.max_side / max(h, w))
        # multiples of 8: the map is exactly 1/8 of the input, no partial border cells
        return max(8, int(round(h * s / 8)) * 8), max(8, int(round(w * s / 8)) * 8)

    def estimate(self, rgb: np.ndarray) -> DensityMap:
        if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise InputError("expected an RGB uint8 image of shape (H, W, 3); use clearsight.io.load_image")
        h, w = rgb.shape[:2]
        ih, iw = self.input_size(h, w)
        interp = cv2.INTER_AREA if ih < h else cv2.INTER_LINEAR
        x = cv2.resize(rgb, (iw, ih), interpolation=interp)
        out = self._sess.run(None, {"image": np.ascontiguousarray(x)[None]})[0][0, 0]
        return DensityMap(np.maximum(out, 0.0).astype(np.float32), (h, w), (ih, iw))


def _region_sums(values: np.ndarray, cell: int) -> np.ndarray:
    h, w = values.shape
    H, W = -(-h // cell) * cell, -(-w // cell) * cell
    pad = np.zeros((H, W), np.float64)
    pad[:h, :w] = values
    return pad.reshape(H // cell, cell, W // cell, cell).sum(axis=(1, 3))


def calibrated_regions(dm: DensityMap, mask: np.ndarray | None, cell: int = CELL, scale: float = DENSITY_SCALE,
                       gamma: float = DENSITY_GAMMA) -> np.ndarray:
    """Calibrated people per region (regions of `cell` x `cell` density cells)."""
    raw = _region_sums(dm.values * dm.mask_weights(mask), cell)
    return scale * np.power(np.maximum(raw, 0.0), gamma)


def head_points(dets: list[Detection]) -> np.ndarray:
    """Where crowd ground truth puts a person: the head, 10% below the box top."""
    if not dets:
        return np.zeros((0, 2))
    return np.array([((d.box.x1 + d.box.x2) / 2, d.box.y1 + 0.1 * d.box.height) for d in dets])


def _inside(points: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    if mask is None or len(points) == 0:
        return np.ones(len(points), bool)
    x = np.clip(points[:, 0].astype(int), 0, mask.shape[1] - 1)
    y = np.clip(points[:, 1].astype(int), 0, mask.shape[0] - 1)
    return mask[y, x]


# ---------------------------------------------------------------- counters
class CrowdCounter(Protocol):
    name: str

    def count(self, rgb: np.ndarray, mask: np.ndarray | None = None) -> CrowdCount:
        """People in an RGB image, inside `mask` (same size, non-zero inside) when given."""
        ...


_COUNTERS: dict[str, Callable[..., CrowdCounter]] = {}


def register_counter(name: str) -> Callable[[Callable[..., CrowdCounter]], Callable[..., CrowdCounter]]:
    def deco(factory: Callable[..., CrowdCounter]) -> Callable[..., CrowdCounter]:
        _COUNTERS[name] = factory
        return factory

    return deco


def available_counters() -> list[str]:
    return sorted(_COUNTERS)


def create_counter(name: str = "combined", **options: object) -> CrowdCounter:
    try:
        factory = _COUNTERS[name]
    except KeyError:
        raise UnknownBackendError(f"unknown crowd counter {name!r}; choose from {', '.join(available_counters())}") from None
    return factory(**options)


def _default_detector(min_score: float) -> object:
    from .objects import default_object_detector

    return default_object_detector("count", min_score=min_score)


@register_counter("detector")
class DetectorCounter:
    """People boxes (nanodet on 2x2 tiles + the whole frame), counted by head point."""

    name = "detector"

    def __init__(self, min_score: float = DETECTOR_MIN_SCORE, detector: object | None = None) -> None:
        self.min_score = float(min_score)
        self._detector = detector

    @property
    def detector(self) -> object:
        # loaded on first use: the video analyser fuses its tracks' heads and never runs this detector
        if self._detector is None:
            self._detector = _default_detector(self.min_score)
        return self._detector

    def detections(self, rgb: np.ndarray) -> list[Detection]:
        return list(self.detector.detect(rgb, classes=["person"]))  # type: ignore[attr-defined]

    def count(self, rgb: np.ndarray, mask: np.ndarray | None = None) -> CrowdCount:
        m = check_mask(mask, rgb)
        pts = head_points(self.detections(rgb))
        pts = pts[_inside(pts, m)]
        return CrowdCount(float(len(pts)), "detector", detector_count=len(pts), heads=tuple(map(tuple, pts.tolist())))


@register_counter("density")
class DensityCounter:
    """CSRNet at a reduced size, calibrated per region."""

    name = "density"

    def __init__(self, max_side: int = DENSITY_MAX_SIDE, cell: int = CELL, scale: float = DENSITY_SCALE,
                 gamma: float = DENSITY_GAMMA) -> None:
        self.estimator = DensityEstimator(max_side)
        self.cell, self.scale, self.gamma = int(cell), float(scale), float(gamma)

    def count(self, rgb: np.ndarray, mask: np.ndarray | None = None) -> CrowdCount:
        m = check_mask(mask, rgb)
        dm = self.estimator.estimate(rgb)
        total = float(calibrated_regions(dm, m, self.cell, self.scale, self.gamma).sum())
        return CrowdCount(total, "density", density_count=total)


@register_counter("combined")
class CombinedCounter:
    """Detector where the scene is sparse, density where it is dense, region by region.

    Per calibration region (CELL x CELL density cells, 32 input px): calibrated
    density d, detector heads n. d < SPARSE_BELOW: n counts; d > DENSE_ABOVE: d
    counts; in between the larger of the two (the detector finds an isolated person
    the density map smeared away; density counts the people boxes miss). The
    measured thresholds (0 and 0.5) make density the backbone and the detector
    the filler of near-empty regions. The image's `method` says which source
    counted: "detector" or "density" when every non-empty region used one, "fused"
    otherwise.
    """

    name = "combined"

    def __init__(self, max_side: int = DENSITY_MAX_SIDE, min_score: float = DETECTOR_MIN_SCORE, cell: int = CELL,
                 scale: float = DENSITY_SCALE, gamma: float = DENSITY_GAMMA, sparse_below: float = SPARSE_BELOW,
                 dense_above: float = DENSE_ABOVE, detector: object | None = None) -> None:
        self.detector = DetectorCounter(min_score, detector)
        self.density = DensityCounter(max_side, cell, scale, gamma)
        self.sparse_below, self.dense_above = float(sparse_below), float(dense_above)

    def count(self, rgb: np.ndarray, mask: np.ndarray | None = None) -> CrowdCount:
        m = check_mask(mask, rgb)
        pts = head_points(self.detector.detections(rgb))
        pts = pts[_inside(pts, m)]
        dm = self.density.estimator.estimate(rgb)
        return self.fuse(dm, pts, m)

    def fuse(self, dm: DensityMap, heads: np.ndarray, mask: np.ndarray | None) -> CrowdCount:
        """The combined count from a density map and the detector's head points (both inside the ROI)."""
        d = calibrated_regions(dm, mask, self.density.cell, self.density.scale, self.density.gamma)
        n = self.heads_per_region(heads, dm, d.shape)
        sparse, dense = d < self.sparse_below, d > self.dense_above
        mixed = ~sparse & ~dense
        total = float(n[sparse].sum() + d[dense].sum() + np.maximum(n[mixed], d[mixed]).sum())
        used_det = int(sparse.sum() + (mixed & (n >= d)).sum())
        used_den = int(dense.sum() + (mixed & (n < d)).sum())
        # a region with nothing in it (both zero) says nothing about the method
        empty = (n == 0) & (d < 1e-3)
        used_det -= int((empty & (sparse | (mixed & (n >= d)))).sum())
        method: Method = "fused" if used_det and used_den else ("density" if used_den else "detector")
        return CrowdCount(total, method, detector_count=len(heads), density_count=float(d.sum()),
                          regions={"sparse": int(sparse.sum()), "mixed": int(mixed.sum()), "dense": int(dense.sum())},
                          heads=tuple(map(tuple, heads.tolist())))

    def heads_per_region(self, heads: np.ndarray, dm: DensityMap, shape: tuple[int, int]) -> np.ndarray:
        n = np.zeros(shape, np.float64)
        if len(heads) == 0:
            return n
        H, W = dm.image_size
        ih, iw = dm.input_size
        px = 8 * self.density.cell  # input pixels per region
        cx = np.clip((heads[:, 0] * iw / W / px).astype(int), 0, shape[1] - 1)
        cy = np.clip((heads[:, 1] * ih / H / px).astype(int), 0, shape[0] - 1)
        np.add.at(n, (cy, cx), 1.0)
        return n


def count_people(rgb: np.ndarray, mask: np.ndarray | None = None, method: str = "combined") -> CrowdCount:
    """The Python API's one call: people in an image (inside `mask`), by the measured default."""
    return _cached_counter(method).count(rgb, mask)


_cache: dict[str, CrowdCounter] = {}


def _cached_counter(name: str) -> CrowdCounter:
    if name not in _cache:
        _cache[name] = create_counter(name)
    return _cache[name]


__all__ = [
    "CombinedCounter", "CrowdCount", "CrowdCounter", "DensityCounter", "DensityEstimator", "DensityMap",
    "DetectorCounter", "available_counters", "calibrated_regions", "check_mask", "count_people", "create_counter",
    "head_points", "load_mask", "register_counter",
]
