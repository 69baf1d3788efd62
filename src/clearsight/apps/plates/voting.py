"""One read per vehicle track, by voting over the frames it was read in.

A single frame's read is often one character off (motion blur, a bolt head read as
a `1`, O/0 at a glance), while the same character is right in most other frames.
So the track keeps every read, and the result is decided per character: among the
reads of the most supported length (summed confidence), each position takes the
character with the largest summed confidence. The confidence of the result is the
reader's mean confidence over the reads that say exactly the voted text (or over
the length group when none does), times the weakest position's agreement, times
the share of the track's confidence that had that length: three frames that agree
give a high value, one frame or a split vote a low one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class Vote:
    text: str
    confidence: float
    country: str
    time: float
    crop: np.ndarray | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class VotedRead:
    text: str
    confidence: float
    country: str
    votes: int  # reads that say exactly `text`
    reads: int  # reads of the track in all
    crop: np.ndarray | None = field(default=None, compare=False)
    time: float = 0.0  # time of the read the crop comes from

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "confidence": round(self.confidence, 4), "country": self.country,
                "votes": self.votes, "reads": self.reads}


def vote(reads: list[Vote]) -> VotedRead | None:
    """The track's read, or None without any."""
    reads = [r for r in reads if r.text]
    if not reads:
        return None
    by_len: dict[int, list[Vote]] = defaultdict(list)
    for r in reads:
        by_len[len(r.text)].append(r)
    total = sum(max(r.confidence, 1e-6) for r in reads)
    group = max(by_len.values(), key=lambda g: (sum(max(r.confidence, 1e-6) for r in g), len(g)))
    chars, agreement = [], []
    for i in range(len(group[0].text)):
        w: dict[str, float] = defaultdict(float)
        for r in group:
            w[r.text[i]] += max(r.confidence, 1e-6)
        c = max(w, key=lambda k: (w[k], k))
        chars.append(c)
        agreement.append(w[c] / sum(w.values()))
    text = "".join(chars)
    cw: dict[str, float] = defaultdict(float)
    for r in group:
        cw[r.country] += max(r.confidence, 1e-6)
    country = max(cw, key=lambda k: (cw[k], k))
    exact = [r for r in group if r.text == text]
    basis = exact or group
    mean_conf = float(np.mean([r.confidence for r in basis]))
    share = sum(max(r.confidence, 1e-6) for r in group) / total
    confidence = float(np.clip(mean_conf * min(agreement) * share, 0.0, 1.0))
    best = max(basis, key=lambda r: (r.crop is not None, r.confidence))
    return VotedRead(text, confidence, country, len(exact), len(reads), best.crop, best.time)


class TrackVotes:
    """The reads of the live tracks of one camera."""

    def __init__(self, max_reads: int = 30) -> None:
        self.max_reads = max_reads
        self._reads: dict[int, list[Vote]] = defaultdict(list)
        self.attempts: dict[int, int] = defaultdict(int)

    def add(self, track_id: int, v: Vote) -> None:
        reads = self._reads[track_id]
        reads.append(v)
        if len(reads) > self.max_reads:  # keep the most confident: memory stays bounded on a parked car
            reads.remove(min(reads, key=lambda r: r.confidence))

    def result(self, track_id: int) -> VotedRead | None:
        return vote(self._reads.get(track_id, []))

    def pop(self, track_id: int) -> VotedRead | None:
        out = vote(self._reads.pop(track_id, []))
        self.attempts.pop(track_id, None)
        return out

    def __contains__(self, track_id: int) -> bool:
        return track_id in self._reads


__all__ = ["TrackVotes", "Vote", "VotedRead", "vote"]
