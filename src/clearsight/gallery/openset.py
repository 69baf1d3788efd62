"""Open-set identification: a 1:N decision at a false-positive identification rate.

Why: a 1:1 operating point is calibrated for ONE comparison. A search compares the
probe with all N people the purpose may return, so a stranger is falsely matched
whenever the best of N impostor scores passes: with the 1:1 `lenient` point and
N = 100, half of all strangers matched someone on LFW (issue #16). The threshold
of a search must therefore depend on N and on the target FPIR.

Model: FPIR(N, t) = 1 - (1 - FMR(t))^N, the maximum of N independent impostor
scores, so the per-comparison FMR a search needs is 1 - (1 - FPIR)^(1/N).
`bench/identify.py` checks this model against the measured FPIR of the maximum on
held-out LFW people (none of them in the calibration set); see the table in the
calibration file's `checked` entry. FMR(t) comes from the embedder's impostor
distribution on LFW's identification subset: empirical down to FMR 1e-3, then an
exponential tail fitted to the top 1e-3 of impostor scores (maximum likelihood).
Identities enrolled with several photos are scored by their fused template, whose
impostor tail is heavier (measured: FPIR 0.016 at a single-template threshold for
0.01), so it has its own tail (`fused`) and the threshold solves
1 - (1 - FMR_1(t))^(N - N_f) (1 - FMR_f(t))^N_f = FPIR.
An exponential tail is heavier than the near-Gaussian tails of cosine impostor
scores, so extrapolating it errs on the side of a higher threshold.

Below the `fmr_floor` of the table (one decade past the last measured impostor)
nothing vouches for the rate: a decision-mode search then matches nobody and says
the embedder cannot reach the target at this N. Above the floor the decision is
made, and the expected FNIR (from the genuine score distribution) is stated with
it so a caller sees what the FPIR costs; when it exceeds the gallery's
`openset_max_fnir` the point is also flagged unreachable, but still used: a target
FPIR is never relaxed silently.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from ..errors import InputError

CALIBRATION_FILE = "openset_calibration.json"


class SearchMode(str, Enum):
    """`decision`: one identity or none, acted on automatically (access, login, facepay).
    `candidates`: a ranked list for a human to review; never an automatic match."""

    DECISION = "decision"
    CANDIDATES = "candidates"


def parse_mode(mode: SearchMode | str | None) -> SearchMode | None:
    if mode is None or isinstance(mode, SearchMode):
        return mode
    try:
        return SearchMode(str(mode).strip().lower())
    except ValueError:
        raise InputError(f"unknown search mode {mode!r}; choose from decision, candidates") from None


def check_fpir(fpir: float) -> float:
    try:
        f = float(fpir)
    except (TypeError, ValueError):
        raise InputError(f"fpir must be a number in (0, 0.5], not {fpir!r}") from None
    if not 0 < f <= 0.5 or not math.isfinite(f):
        raise InputError(f"fpir must be in (0, 0.5], not {fpir!r}")
    return f


@dataclass(frozen=True, slots=True)
class OpenSetPoint:
    """The operating point one search decided at: what the caller is told and the audit keeps."""

    mode: SearchMode
    fpir: float  # target false-positive identification rate
    n: int  # identities the probe was compared with (eligible for this purpose and group)
    threshold: float  # inf: no decision possible at this N
    fmr: float  # per-comparison false-match rate the threshold buys
    expected_fnir: float  # fraction of enrolled people this threshold is expected to miss
    reachable: bool
    note: str | None = None
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "fpir": self.fpir,
            "n": self.n,
            "threshold": round(self.threshold, 5) if math.isfinite(self.threshold) else None,
            "fmr": float(f"{self.fmr:.3g}"),
            "expected_fnir": round(self.expected_fnir, 4) if math.isfinite(self.expected_fnir) else None,
            "reachable": self.reachable,
            "note": self.note,
        }


@dataclass(frozen=True)
class TailCalibration:
    """One embedder's impostor tail and genuine distribution (see the module docstring)."""

    model: str
    knots_fmr: np.ndarray  # descending FMR of the empirical part
    knots_t: np.ndarray  # thresholds at those FMRs (ascending)
    tail_u: float  # the tail starts at this score, where FMR = tail_p
    tail_p: float
    tail_rate: float  # exponential rate of the impostor tail above u
    fmr_floor: float
    genuine_q: np.ndarray  # genuine-score quantiles at probabilities linspace(0, 1, len)
    fused: TailCalibration | None = None  # identities with several templates, fused (a heavier impostor tail)

    def fmr(self, t: float) -> float:
        """Per-comparison false-match rate at threshold t."""
        if t >= self.tail_u:
            return self.tail_p * math.exp(-self.tail_rate * (t - self.tail_u))
        # empirical part: interpolate log FMR over thresholds
        return float(10 ** np.interp(t, self.knots_t, np.log10(self.knots_fmr)))

    def threshold(self, fmr: float) -> float:
        """Smallest threshold whose FMR is <= fmr."""
        if fmr <= self.tail_p:
            return self.tail_u + math.log(self.tail_p / fmr) / self.tail_rate
        return float(np.interp(math.log10(fmr), np.log10(self.knots_fmr[::-1]), self.knots_t[::-1]))

    def fnir(self, t: float) -> float:
        """Expected share of genuine scores below t (a mated probe missed at this threshold)."""
        if not math.isfinite(t):
            return 1.0
        probs = np.linspace(0.0, 1.0, len(self.genuine_q))
        return float(np.interp(t, self.genuine_q, probs, left=0.0, right=1.0))

    @classmethod
    def from_dict(cls, model: str, d: dict[str, Any]) -> TailCalibration:
        return cls(model=model, knots_fmr=np.asarray(d["knots_fmr"], np.float64),
                   knots_t=np.asarray(d["knots_threshold"], np.float64), tail_u=float(d["tail_u"]),
                   tail_p=float(d["tail_p"]), tail_rate=float(d["tail_rate"]), fmr_floor=float(d["fmr_floor"]),
                   genuine_q=np.asarray(d["genuine_quantiles"], np.float64),
                   fused=cls.from_dict(model, d["fused"]) if d.get("fused") else None)

    def fpir(self, t: float, n: int, n_fused: int = 0) -> float:
        """FPIR at threshold t over n identities, n_fused of them scored by a fused template."""
        fused = self.fused if (self.fused is not None and n_fused > 0) else None
        k = min(max(int(n_fused), 0), int(n)) if fused is not None else 0
        log_pass = (int(n) - k) * math.log1p(-min(self.fmr(t), 1 - 1e-12))
        if fused is not None:
            log_pass += k * math.log1p(-min(fused.fmr(t), 1 - 1e-12))
        return -math.expm1(log_pass)

    def threshold_for(self, fpir: float, n: int, n_fused: int = 0) -> float:
        """The threshold holding `fpir` over n identities (n_fused of them fused)."""
        t = self.threshold(required_fmr(fpir, n))
        if self.fused is None or n_fused <= 0:
            return t
        lo, hi = t, max(t, self.fused.threshold(required_fmr(fpir, n)))
        for _ in range(60):  # FPIR falls with t: bisect between the two single-population thresholds
            mid = (lo + hi) / 2
            if self.fpir(mid, n, n_fused) > fpir:
                lo = mid
            else:
                hi = mid
        return hi


def fit_tail(model: str, impostor: np.ndarray, genuine: np.ndarray, *, tail_p: float = 1e-3,
             floor_decades: float = 1.0) -> dict[str, Any]:
    """The calibration entry of one embedder from its impostor and genuine scores (bench/identify.py)."""
    imp = np.sort(np.asarray(impostor, np.float64))[::-1]
    n = len(imp)
    if n * tail_p < 50:
        raise InputError(f"{n} impostor scores cannot resolve a tail at FMR {tail_p:g}")
    knots_fmr = np.logspace(-1, math.log10(tail_p), 9)
    knots_t = np.array([imp[int(f * n) - 1] for f in knots_fmr])
    k = int(tail_p * n)
    u = float(imp[k - 1])
    excess = imp[:k] - u
    rate = 1.0 / max(float(excess.mean()), 1e-9)  # MLE of an exponential tail
    gq = np.quantile(np.asarray(genuine, np.float64), np.linspace(0, 1, 201))
    return {
        "knots_fmr": [float(f"{f:.6g}") for f in knots_fmr],
        "knots_threshold": [round(float(t), 6) for t in knots_t],
        "tail_u": round(u, 6),
        "tail_p": tail_p,
        "tail_rate": round(rate, 4),
        "fmr_floor": float(f"{10 ** -floor_decades / n:.3g}"),
        "genuine_quantiles": [round(float(v), 5) for v in gq],
        "impostor_pairs": n,
        "genuine_pairs": int(len(genuine)),
        "max_impostor": round(float(imp[0]), 6),
    }


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    try:
        return json.loads(resources.files("clearsight.gallery").joinpath(CALIBRATION_FILE).read_text())
    except FileNotFoundError:  # a fresh checkout before bench/identify.py --calibrate: nothing is calibrated
        return {}


def calibration(model_id: str) -> TailCalibration | None:
    entry = _table().get("models", {}).get(model_id)
    return TailCalibration.from_dict(model_id, entry) if entry else None


def required_fmr(fpir: float, n: int) -> float:
    """Per-comparison FMR at which the best of n impostors passes with probability fpir."""
    return -math.expm1(math.log1p(-fpir) / max(int(n), 1))


def expected_fpir(fmr: float, n: int) -> float:
    return -math.expm1(max(int(n), 1) * math.log1p(-fmr))


def open_set_point(model_id: str, mode: SearchMode, fpir: float, n: int, *, max_fnir: float = 0.5,
                   n_fused: int = 0) -> OpenSetPoint:
    """The threshold a search over n identities (n_fused of them enrolled with several
    templates, fused) must use to hold `fpir`, and what it costs."""
    cal = calibration(model_id)
    if cal is None:
        return OpenSetPoint(mode, fpir, n, math.inf, 0.0, 1.0, False,
                            f"no open-set calibration for embedder {model_id!r} (bench/identify.py --calibrate): "
                            "no search hit is a match", model_id)
    need = required_fmr(fpir, n)
    if need < cal.fmr_floor:
        return OpenSetPoint(mode, fpir, n, math.inf, need, 1.0, False,
                            f"FPIR {fpir:g} over {n} identities needs a per-comparison FMR of {need:.2g}, below what "
                            f"{model_id} is calibrated to ({cal.fmr_floor:.2g}): the embedder cannot reach this target "
                            "at this N, no hit is a match", model_id)
    t = cal.threshold_for(fpir, n, n_fused)
    fnir = cal.fnir(t)
    if cal.fused is not None and n_fused > 0:
        share = min(n_fused, n) / max(n, 1)
        fnir = (1 - share) * fnir + share * cal.fused.fnir(t)
        need = -math.expm1(math.log1p(-cal.fpir(t, n, n_fused)) / max(n, 1))  # the average per-identity FMR
    note = None
    reachable = fnir <= max_fnir
    if not reachable:
        note = (f"at FPIR {fpir:g} over {n} identities {model_id} is expected to miss {fnir:.0%} of enrolled people "
                f"(more than {max_fnir:.0%}): the embedder cannot reach a useful operating point at this N")
    return OpenSetPoint(mode, fpir, n, t, need, fnir, reachable, note, model_id)


__all__ = ["OpenSetPoint", "SearchMode", "TailCalibration", "calibration", "check_fpir", "expected_fpir",
           "fit_tail", "open_set_point", "parse_mode", "required_fmr"]
