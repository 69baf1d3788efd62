"""Redact: blur or pixelate every face in footage, except people who consented to appear.

For privacy-safe exports (sharing an incident clip, publishing street footage).
Safety first: faces are found with CenterFace on every frame (it finds small and
crowded faces the fast detector misses), each box is grown by a margin, and the
boxes of the previous frame are redacted too, so a face the detector misses for
one frame is still covered. A face stays visible only when its track has been
identified (vote over its best frames) as an identity with a valid consent for
the `photos` purpose (`keep_consented=True`, a gallery is required); until that
decision, and for everyone else, it is redacted. The tests check the output by
running the detector on it.

"Identified" is the platform's one recognition decision: the gallery's
configured operating point (`face.operating_point`) unless the redaction names
another, not a stricter threshold of its own, which kept nobody visible.

The `Redactor` is the `redact` frame-filter plug-in of camera pipelines
(registered below), and `redact_video` runs it on a file without a pipeline.

Purpose: `photos` ("appear in photos and footage") is the gallery purpose whose
meaning matches consent to appear in an export; it is configurable.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io.video import open_source
from ..stream.analysers import FrameView, PluginContext, register_filter
from ..stream.config import RecognizeConfig, RedactConfig, TrackConfig
from ..stream.detectors import create_stage_detector
from ..stream.recognition import GalleryIdentifier, Identifier, TrackRecognizer
from ..stream.tracking import Tracked, Tracker
from ..types import BBox
from ..vision.redaction import redact_regions

if TYPE_CHECKING:
    from ..gallery import Gallery




def consent_operating_point(config: RedactConfig, gallery: Gallery | None) -> str:
    """The operating point that decides "this is the consented person": the section's own,
    else the one the gallery (or, without one, the process settings) is configured with."""
    if config.operating_point:
        return config.operating_point
    if gallery is not None:
        return gallery.settings.face.operating_point
    from ..config import get_settings

    return get_settings().face.operating_point


class Redactor:
    """Stateful per-stream redaction (tracks remember who consented); the `redact` frame filter."""

    name = "redact"

    def __init__(self, config: RedactConfig | None = None, *, gallery: Gallery | None = None, identifier: Identifier | None = None,
                 camera: str = "redact", fps: float = 25.0) -> None:
        self.config = config or RedactConfig()
        # a low threshold on purpose: a false positive blurs a patch of wall, a miss exposes a person
        self.detector = create_stage_detector(self.config.detector, min_score=self.config.min_score)
        self._recognizer: TrackRecognizer | None = None
        self._tracker: Tracker | None = None
        self.operating_point: str | None = None
        if self.config.keep_consented:
            if identifier is None:
                if gallery is None:
                    from ..gallery import Gallery

                    gallery = Gallery.open()
                identifier = GalleryIdentifier(gallery, self.config.consent_purpose, f"redact:{camera}")
            self.operating_point = consent_operating_point(self.config, gallery)
            self._recognizer = TrackRecognizer(
                identifier, RecognizeConfig(samples=3, min_quality=0.3, operating_point=self.operating_point),
                pipeline=gallery.pipeline if gallery is not None else None)
            self._tracker = Tracker(TrackConfig(lost_s=1.0, activation_threshold=0.4, min_frames=1), fps=fps)
        self._recent: collections.deque[list[BBox]] = collections.deque(maxlen=max(1, self.config.hold_frames))
        self.consented_tracks: set[int] = set()  # live tracks left visible
        self.consented_total = 0  # tracks ever left visible: the people kept
        self.faces_redacted = 0
        self.faces_kept = 0

    def apply(self, view: FrameView, image: np.ndarray) -> np.ndarray:
        """The filter: `image` with every face redacted except consented tracks; the pipeline's
        own face tracks (fresh on frames where it detected) are redacted as well, belt and braces."""
        return self.redact(image, view.time, view.tracks if view.detected else None)

    def redact(self, rgb: np.ndarray, t: float, tracks: Sequence[Tracked] | None = None) -> np.ndarray:
        obs = self.detector.detect(rgb)
        consented: list[BBox] = []
        if self._tracker is not None and self._recognizer is not None:
            for tr in self._tracker.update(obs, t):
                if tr.track_id not in self.consented_tracks and tr.obs.face is not None and not self._recognizer.decided(tr.track_id):
                    d = self._recognizer.observe(tr.track_id, rgb, tr.obs.face, t)
                    if d is not None and d.known:
                        self.consented_tracks.add(tr.track_id)
                        self.consented_total += 1
                if tr.track_id in self.consented_tracks:
                    consented.append(tr.box)
            for tid in self._tracker.ended(t):
                self._recognizer.finish(tid, t)
                self.consented_tracks.discard(tid)
        candidates = [o.box for o in obs] + [tr.box for tr in (tracks or ()) if tr.obs.label == "face"]
        boxes = [b for b in candidates if not any(b.iou(c) > 0.5 for c in consented)]
        self.faces_kept += len(consented)
        self.faces_redacted += len(boxes)
        held = [b for bs in self._recent for b in bs if not any(b.iou(c) > 0.5 for c in consented)]
        out = redact_regions(rgb, boxes + held, self.config.mode, self.config.margin)
        self._recent.append(boxes)
        return out

    def stats(self) -> dict[str, int]:
        return {"faces_redacted": self.faces_redacted, "faces_kept": self.faces_kept, "people_kept": self.consented_total}


def _redact_filter(config: RedactConfig, ctx: PluginContext) -> Redactor:
    identifier = ctx.identifier("redact")
    gallery = ctx.gallery() if config.keep_consented and identifier is None else None
    return Redactor(config, gallery=gallery, identifier=identifier, camera=ctx.camera, fps=ctx.fps)


register_filter("redact", _redact_filter, RedactConfig,
                description="Blur every face in the output, except people who consented to appear.")


def redact_video(
    src: str | Path, dst: str | Path, *, mode: str = "blur", keep_consented: bool = False, gallery: Any | None = None,
    identifier: Identifier | None = None, margin: float = 0.25, detector: str = "centerface",
    operating_point: str | None = None,
) -> dict[str, Any]:
    """Redact a video file (or image folder) into `dst` (MP4).

    Returns counts: frames, face regions redacted and kept, `people_kept` (tracks
    left visible as consented; `consented_tracks` is its historical name) and the
    operating point that decided them (None without `keep_consented`).
    """
    from ..io.writer import VideoWriter

    cfg = RedactConfig(mode=mode, keep_consented=keep_consented, margin=margin, detector=detector,  # type: ignore[arg-type]
                       operating_point=operating_point)
    source = open_source(src)
    red = Redactor(cfg, gallery=gallery, identifier=identifier, fps=source.fps or 25.0)
    frames = 0
    with source, VideoWriter(dst, fps=source.fps or 25.0) as writer:
        for frame in source:
            writer.write(red.redact(frame.image, frame.time))
            frames += 1
    return {"frames": frames, **red.stats(), "consented_tracks": red.consented_total,
            "operating_point": red.operating_point}


def redact_image(rgb: np.ndarray, *, mode: str = "blur", margin: float = 0.25, detector: str = "centerface") -> np.ndarray:
    det = create_stage_detector(detector, min_score=RedactConfig().min_score)
    return redact_regions(rgb, [o.box for o in det.detect(rgb)], mode, margin)


__all__ = ["Redactor", "consent_operating_point", "redact_image", "redact_regions", "redact_video"]
