"""Shared helpers for the benchmarks: where the data is, table printing, ROC maths,
and the two face systems measured side by side (ours and the `face_recognition` peer).
"""

from __future__ import annotations

import csv
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CLEARSIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))


def require_data(*parts: str) -> Path:
    p = DATA.joinpath(*parts)
    if not p.exists():
        sys.exit(f"benchmark data not found: {p} (set CLEARSIGHT_SHARED_DATA)")
    return p


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], title: str | None = None) -> str:
    rows = [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    lines = []
    if title:
        lines.append(f"\n### {title}\n")
    lines.append("| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    out = "\n".join(lines)
    print(out, flush=True)
    return out


def _fmt(v: object) -> str:
    if isinstance(v, float):
        if v != v:
            return "n/a"
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


# ---------------------------------------------------------------- ROC maths
def threshold_at_fmr(impostor_scores: np.ndarray, fmr: float) -> float:
    """Smallest similarity threshold whose false-match rate on these impostors is <= fmr."""
    s = np.sort(np.asarray(impostor_scores, dtype=np.float64))[::-1]
    k = int(np.floor(fmr * len(s)))  # number of impostors allowed at or above threshold
    if k >= len(s):
        return float(s[-1])
    return float(np.nextafter(s[k], np.inf))


def tar_at_far(genuine: np.ndarray, impostor: np.ndarray, far: float) -> float:
    """TAR at the threshold where the impostor rate is <= far (n/a if the set is too small to resolve it)."""
    if far * len(impostor) < 1:
        return float("nan")
    t = threshold_at_fmr(impostor, far)
    return float(np.mean(genuine >= t))


def accuracy_at(scores: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(np.mean((scores >= threshold) == same))


def best_accuracy(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    cands = np.unique(np.concatenate([scores[np.isfinite(scores)], [np.inf]]))
    best = (0.0, 0.0)
    for t in cands:
        acc = accuracy_at(scores, same, t)
        if acc > best[0]:
            best = (acc, float(t))
    return best


# ---------------------------------------------------------------- pair sets
@dataclass
class PairSet:
    name: str
    root: Path
    pairs: list[tuple[str, str, bool]]

    @property
    def images(self) -> list[str]:
        return sorted({p for a, b, _ in self.pairs for p in (a, b)})


def load_pair_sets() -> list[PairSet]:
    sets = []
    deep = DATA / "faces" / "deepface_pairs"
    if (deep / "master.csv").exists():
        with open(deep / "master.csv") as fh:
            pairs = [(r["file_x"], r["file_y"], r["Decision"].strip() == "Yes") for r in csv.DictReader(fh)]
        sets.append(PairSet("deepface_pairs/master.csv", deep, pairs))
    lfw = DATA / "faces" / "lfw_gray"
    if (lfw / "pairs_fold1.csv").exists():
        with open(lfw / "pairs_fold1.csv") as fh:
            pairs = [(r["image1"], r["image2"], r["same_person"].strip() == "1") for r in csv.DictReader(fh)]
        sets.append(PairSet("lfw_gray/pairs_fold1.csv", lfw, pairs))
    return sets


def lfw_identification_subset() -> list[tuple[str, str]]:
    """(path, identity) of LFW's 158 x 10 identification subset."""
    lfw = require_data("faces", "lfw_gray")
    with open(lfw / "images.csv") as fh:
        return [(str(lfw / r["path"]), r["identity"]) for r in csv.DictReader(fh) if r["in_identification_subset"] == "1"]


# ---------------------------------------------------------------- systems
@dataclass
class FaceSystem:
    """Something that turns an image path into a comparable template (or None)."""

    name: str
    template: Callable[[str], np.ndarray | None]
    score: Callable[[np.ndarray, np.ndarray], float]
    # the same score for all pairs of rows at once (N, N): needed for ~1 M impostor pairs
    score_matrix: Callable[[np.ndarray], np.ndarray] = lambda m: m @ m.T
    default_threshold: float | None = None
    ms: list[float] = field(default_factory=list)
    failures: int = 0

    def genuine_impostor(self, templates: dict, labelled: Sequence[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        """Scores of every same-identity and every different-identity pair of the labelled images."""
        kept = [(templates[p], i) for p, i in labelled if templates.get(p) is not None]
        ids = np.array([i for _, i in kept])
        scores = self.score_matrix(np.stack([v for v, _ in kept]))
        iu = np.triu_indices(len(ids), 1)
        same = ids[iu[0]] == ids[iu[1]]
        return scores[iu][same], scores[iu][~same]

    def run(self, paths: Sequence[str]) -> dict[str, np.ndarray | None]:
        out: dict[str, np.ndarray | None] = {}
        for p in paths:
            t0 = time.perf_counter()
            v = self.template(p)
            self.ms.append((time.perf_counter() - t0) * 1000)
            if v is None:
                self.failures += 1
            out[p] = v
        return out


def clearsight_system(detector: str | None = None, embedder: str | None = None, fallback: str | None = "centerface") -> FaceSystem:
    """Our pipeline; None means the configured default (what users get)."""
    from clearsight.errors import NoFaceError
    from clearsight.face.pipeline import FacePipeline

    pipe = FacePipeline(detector=detector, embedder=embedder, fallback_detector=fallback)

    def template(path: str) -> np.ndarray | None:
        try:
            return np.asarray(pipe.embed(path).vector)
        except NoFaceError:
            return None

    label = f"clearsight {pipe.detector_name}{'+' + fallback if fallback else ''} / {pipe.embedder_name}"
    sys_ = FaceSystem(label, template, lambda a, b: float(np.dot(a, b)))
    sys_.pipeline = pipe  # type: ignore[attr-defined]
    return sys_


def face_recognition_system() -> FaceSystem | None:
    """The peer exactly as its README uses it: load_image_file -> face_encodings (HOG, upsample 1)."""
    try:
        import face_recognition
    except ImportError:
        return None

    def template(path: str) -> np.ndarray | None:
        img = face_recognition.load_image_file(path)
        enc = face_recognition.face_encodings(img)
        return enc[0] if enc else None

    # similarity = -distance so that "higher is more similar" holds for every system
    def neg_distances(m: np.ndarray) -> np.ndarray:
        m = m.astype(np.float64)
        sq = (m**2).sum(1)
        return -np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * m @ m.T, 0))

    return FaceSystem(
        "face_recognition 1.3.0 (HOG + dlib ResNet)",
        template,
        lambda a, b: -float(np.linalg.norm(a - b)),
        score_matrix=neg_distances,
        default_threshold=-0.6,
    )


def pair_scores(system: FaceSystem, templates: dict[str, np.ndarray | None], pairs: PairSet) -> tuple[np.ndarray, np.ndarray]:
    scores, same = [], []
    for a, b, s in pairs.pairs:
        ta, tb = templates[str(pairs.root / a)], templates[str(pairs.root / b)]
        scores.append(-np.inf if ta is None or tb is None else system.score(ta, tb))
        same.append(s)
    return np.asarray(scores), np.asarray(same)
