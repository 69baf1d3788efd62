"""Per-track recognition: one identity decision per person crossing the scene.

Embedding every face in every frame wastes CPU and gives one noisy answer per
frame. Instead, for each track we keep the few best-quality aligned chips seen so
far (quality = the same size/sharpness/pose score enrolment uses); once `samples`
good chips exist (or the track ends with at least one), we embed them in one batch,
search each, and vote: the identity that wins a majority of samples above the
operating point's threshold is the decision; otherwise the person is unknown.
Each track is decided exactly once.

The search is behind `Identifier` so the same voting runs against the gallery
(consent-filtered, audited: `GalleryIdentifier`) or an in-memory list
(`MemoryIdentifier`, for benchmarks and offline tools).
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..face.pipeline import FacePipeline
from ..face.verification import operating_point
from ..rules import events as ev
from ..types import Embedding, Event, Face, Match
from ..vision.face_embedding import FaceEmbedder
from ..vision.quality import assess_quality
from .analysers import AnalyserOutput, FrameView, PluginContext, register_analyser
from .config import RecognizeConfig

if TYPE_CHECKING:
    from ..gallery import Gallery


class Identifier(Protocol):
    def search(self, embedding: Embedding, top_k: int = 3) -> list[Match]: ...


class GalleryIdentifier:
    """Gallery search for one purpose (and optionally one group), as a named actor.

    The gallery returns only identities with a valid consent / legal basis for the
    purpose and writes every search to its audit log.
    """

    def __init__(self, gallery: Gallery, purpose: str, actor: str, group: str | None = None) -> None:
        self.gallery = gallery
        self.purpose = purpose
        self.actor = actor
        self.group = group

    def search(self, embedding: Embedding, top_k: int = 3) -> list[Match]:
        return list(self.gallery.search(embedding, self.purpose, actor=self.actor, top_k=top_k, group=self.group))


class MemoryIdentifier:
    """Exact cosine search over an in-memory matrix of L2-normalised templates."""

    def __init__(self, vectors: np.ndarray, identity_ids: Sequence[str], names: Sequence[str] | None = None, model: str | None = None) -> None:
        v = np.asarray(vectors, dtype=np.float32)
        self.vectors = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        self.ids = list(identity_ids)
        self.names = list(names) if names is not None else list(identity_ids)
        self.model = model

    def search(self, embedding: Embedding, top_k: int = 3) -> list[Match]:
        if self.model is not None and embedding.model != self.model:
            from ..errors import IncompatibleTemplatesError

            raise IncompatibleTemplatesError(f"templates of {embedding.model} cannot be searched in a {self.model} list")
        if not len(self.ids):
            return []
        sims = self.vectors @ embedding.vector
        k = min(top_k, len(sims))
        idx = np.argpartition(-sims, k - 1)[:k]
        idx = idx[np.argsort(-sims[idx])]
        return [Match(self.ids[i], float(sims[i]), display_name=self.names[i]) for i in idx]


@dataclass(order=True)
class _Sample:
    quality: float
    seq: int
    chip: np.ndarray = field(compare=False)
    crop: np.ndarray = field(compare=False)  # a small snapshot of the face for the event
    time: float = field(compare=False)


@dataclass(frozen=True)
class Decision:
    track_id: int
    identity_id: str | None  # None: unknown (no majority above threshold)
    display_name: str | None
    similarity: float  # best similarity among the winning votes (or best overall when unknown)
    votes: int
    samples: int
    threshold: float
    operating_point: str
    snapshot: np.ndarray | None = field(repr=False, compare=False)
    time: float = 0.0

    @property
    def known(self) -> bool:
        return self.identity_id is not None


class TrackRecognizer:
    def __init__(
        self, identifier: Identifier, config: RecognizeConfig | None = None, *, pipeline: FacePipeline | None = None,
        embedder: FaceEmbedder | None = None,
    ) -> None:
        self.config = config or RecognizeConfig()
        self.identifier = identifier
        self.pipeline = pipeline or FacePipeline(embedder=self.config.embedder)
        self._embedder = embedder
        self._samples: dict[int, list[_Sample]] = {}
        self._seen: dict[int, int] = {}
        self._decided: set[int] = set()
        self._seq = itertools.count()
        self.embeddings_computed = 0
        self.searches = 0

    @property
    def embedder(self) -> FaceEmbedder:
        if self._embedder is None:
            self._embedder = self.pipeline.embedder
        return self._embedder

    @property
    def threshold(self) -> float:
        return operating_point(self.embedder.model_id, self.config.operating_point).threshold

    def decided(self, track_id: int) -> bool:
        return track_id in self._decided

    def observe(self, track_id: int, rgb: np.ndarray, face: Face, t: float) -> Decision | None:
        """Consider one sighting; returns the track's decision the moment it is made."""
        if track_id in self._decided:
            return None
        n = self._seen.get(track_id, 0)
        self._seen[track_id] = n + 1
        if n % self.config.sample_every_n:
            return None
        q = assess_quality(rgb, face, self.pipeline.settings)
        if q.score < self.config.min_quality:
            return None
        chip = self.embedder.align(rgb, face)
        box = face.box.scaled(1.3).clip(rgb.shape[1], rgb.shape[0])
        crop = np.ascontiguousarray(rgb[int(box.y1): int(box.y2), int(box.x1): int(box.x2)])
        heap = self._samples.setdefault(track_id, [])
        item = _Sample(q.score, next(self._seq), chip, crop, t)
        if len(heap) < self.config.samples:
            heapq.heappush(heap, item)
        else:
            heapq.heappushpop(heap, item)
        if len(heap) >= self.config.samples:
            return self._decide(track_id, t)
        return None

    def finish(self, track_id: int, t: float) -> Decision | None:
        """The track ended: decide on what we have (if anything), then forget it."""
        decision = None
        if track_id not in self._decided and self._samples.get(track_id):
            decision = self._decide(track_id, t)
        self._samples.pop(track_id, None)
        self._seen.pop(track_id, None)
        self._decided.discard(track_id)
        return decision

    def _decide(self, track_id: int, t: float) -> Decision:
        samples = sorted(self._samples.pop(track_id, []), reverse=True)
        self._decided.add(track_id)
        vectors = self.embedder.embed_chips([s.chip for s in samples])
        self.embeddings_computed += len(samples)
        thr = self.threshold
        votes: dict[str, list[float]] = {}
        names: dict[str, str | None] = {}
        best_any = -1.0
        for v in vectors:
            self.searches += 1
            hits = self.identifier.search(Embedding(v, self.embedder.model_id), top_k=1)
            if not hits:
                continue
            top = hits[0]
            best_any = max(best_any, top.similarity)
            if top.similarity >= thr:
                votes.setdefault(top.identity_id, []).append(top.similarity)
                names[top.identity_id] = top.display_name
        need = self.config.min_votes or (len(samples) // 2 + 1)
        snapshot = samples[0].crop if samples else None
        if votes:
            ident, sims = max(votes.items(), key=lambda kv: (len(kv[1]), float(np.mean(kv[1]))))
            if len(sims) >= min(need, len(samples)):
                return Decision(track_id, ident, names[ident], max(sims), len(sims), len(samples), thr,
                                self.config.operating_point, snapshot, t)
        return Decision(track_id, None, None, best_any, 0, len(samples), thr, self.config.operating_point, snapshot, t)


class RecognitionAnalyser:
    """Identify each face track once (vote over best frames); emit `event_type` for decisions.

    `alert_unknown=False` means unknown people produce no event (the watchlist's
    behaviour); the general recognition stage reports them as `identity: null`.
    """

    def __init__(self, camera: str, recognizer: TrackRecognizer, *, event_type: str = ev.IDENTITY,
                 alert_unknown: bool = True, snapshots: bool = True, extra: dict[str, Any] | None = None,
                 name: str = "recognize") -> None:
        self.name = name
        self.camera = camera
        self.recognizer = recognizer
        self.event_type = event_type
        self.alert_unknown = alert_unknown
        self.snapshots = snapshots
        self.extra = extra or {}
        self.decisions: dict[int, Decision] = {}
        self.seconds = 0.0

    def _event(self, d: Decision) -> Event | None:
        self.decisions[d.track_id] = d
        if not d.known and not self.alert_unknown:
            return None
        return ev.make_event(
            self.event_type, self.camera, d.time, (d.track_id,), d.snapshot if self.snapshots else None,
            identity_id=d.identity_id, display_name=d.display_name, similarity=round(d.similarity, 4),
            votes=d.votes, samples=d.samples, threshold=round(d.threshold, 4), operating_point=d.operating_point,
            **self.extra,
        )

    def analyse(self, view: FrameView) -> AnalyserOutput:
        t0 = time.perf_counter()
        events = []
        for tr in view.tracks:
            if tr.obs.face is None or self.recognizer.decided(tr.track_id):
                continue
            d = self.recognizer.observe(tr.track_id, view.frame.image, tr.obs.face, view.time)
            if d is not None and (e := self._event(d)) is not None:
                events.append(e)
        self.seconds += time.perf_counter() - t0
        labels = {tr.track_id: label for tr in view.tracks if (label := self.label(tr.track_id))}
        return AnalyserOutput(tuple(events), labels)

    def end_track(self, track_id: int, t: float) -> list[Event]:
        d = self.recognizer.finish(track_id, t)
        if d is None:
            return []
        e = self._event(d)
        return [e] if e is not None else []

    def label(self, track_id: int) -> str | None:
        d = self.decisions.get(track_id)
        if d is None:
            return None
        return (d.display_name or d.identity_id) if d.known else "unknown"

    def close(self) -> None:
        pass


def _recognition(config: RecognizeConfig, ctx: PluginContext) -> RecognitionAnalyser:
    """The camera's `recognize` section: identify every face track against the whole gallery."""
    ident = ctx.identifier("recognize")
    pipeline = None
    if ident is None:
        gallery = ctx.gallery()
        ident = GalleryIdentifier(gallery, ctx.config.recognize_purpose, f"camera:{ctx.camera}")
        pipeline = gallery.pipeline  # the gallery's own embedder: other templates would not compare
    return RecognitionAnalyser(ctx.camera, TrackRecognizer(ident, config, pipeline=pipeline), snapshots=ctx.snapshots)


register_analyser("recognize", _recognition, RecognizeConfig,
                  description="Identify each face track once against the gallery (purpose `recognize_purpose`).",
                  emits={ev.IDENTITY: "A face track was identified against the gallery (or found unknown), once per track."})


__all__ = ["Decision", "GalleryIdentifier", "Identifier", "MemoryIdentifier", "RecognitionAnalyser", "TrackRecognizer"]
