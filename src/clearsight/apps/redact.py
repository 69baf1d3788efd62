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

Purpose: `photos` ("appear in photos and footage") is the gallery purpose whose
meaning matches consent to appear in an export; it is configurable.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..io.video import Frame, open_source
from ..stream.config import RecognizeConfig, RedactConfig, TrackConfig
from ..stream.detectors import create_stage_detector
from ..stream.recognition import GalleryIdentifier, Identifier, TrackRecognizer
from ..stream.tracking import Tracked, Tracker
from ..types import BBox


SMALL_FACE_PX = 64


def redact_regions(rgb: np.ndarray, boxes: Sequence[BBox], mode: str = "blur", margin: float = 0.25) -> np.ndarray:
    """A copy of `rgb` with every box (grown by `margin`) made unrecognisable.

    Small faces get a larger margin: a detector finds a small head from its outline
    and the body under it as much as from its features, so a blur limited to the
    face box leaves a head-shaped blob that still reads as a face. The blur is a
    4x4 area downscale smoothed back up: no feature survives it, whatever the size.
    """
    out = np.ascontiguousarray(rgb.copy())
    h, w = out.shape[:2]
    for box in boxes:
        m = margin + (1.0 if max(box.width, box.height) < SMALL_FACE_PX else 0.0)
        b = box.scaled(1.0 + m).clip(w, h)
        x1, y1, x2, y2 = int(b.x1), int(b.y1), int(np.ceil(b.x2)), int(np.ceil(b.y2))
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        roi = out[y1:y2, x1:x2]
        rh, rw = roi.shape[:2]
        if mode == "pixelate":
            cells = max(3, min(8, min(rw, rh) // 12))
            small = cv2.resize(roi, (cells, cells), interpolation=cv2.INTER_AREA)
            out[y1:y2, x1:x2] = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_NEAREST)
        elif mode == "fill":
            out[y1:y2, x1:x2] = roi.reshape(-1, 3).mean(axis=0).astype(np.uint8)
        else:
            small = cv2.resize(roi, (4, 4), interpolation=cv2.INTER_AREA)
            smooth = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_LINEAR)
            k = max(3, (min(rw, rh) // 4) | 1)
            out[y1:y2, x1:x2] = cv2.GaussianBlur(smooth, (k, k), 0)
    return out


class Redactor:
    """Stateful per-stream redaction (tracks remember who consented)."""

    def __init__(self, config: RedactConfig | None = None, *, gallery: Any | None = None, identifier: Identifier | None = None,
                 camera: str = "redact", fps: float = 25.0) -> None:
        self.config = config or RedactConfig()
        # a low threshold on purpose: a false positive blurs a patch of wall, a miss exposes a person
        self.detector = create_stage_detector(self.config.detector, min_score=self.config.min_score)
        self._recognizer: TrackRecognizer | None = None
        self._tracker: Tracker | None = None
        if self.config.keep_consented:
            if identifier is None:
                if gallery is None:
                    from ..gallery import Gallery

                    gallery = Gallery.open()
                identifier = GalleryIdentifier(gallery, self.config.consent_purpose, f"redact:{camera}")
            self._recognizer = TrackRecognizer(identifier, RecognizeConfig(samples=3, min_quality=0.3, operating_point="strict"),
                                               pipeline=getattr(gallery, "pipeline", None))
            self._tracker = Tracker(TrackConfig(lost_s=1.0, activation_threshold=0.4, min_frames=1), fps=fps)
        self._recent: collections.deque[list[BBox]] = collections.deque(maxlen=max(1, self.config.hold_frames))
        self.consented_tracks: set[int] = set()  # live tracks left visible
        self.consented_total = 0  # tracks ever left visible
        self.faces_redacted = 0
        self.faces_kept = 0

    def apply(self, frame: Frame, tracks: Sequence[Tracked] | None = None) -> np.ndarray:
        """The frame with every face redacted except consented tracks; `tracks` (the
        pipeline's own face tracks) are redacted as well, belt and braces."""
        rgb = frame.image
        obs = self.detector.detect(rgb)
        consented: list[BBox] = []
        if self._tracker is not None and self._recognizer is not None:
            for tr in self._tracker.update(obs, frame.time):
                if tr.track_id not in self.consented_tracks and tr.obs.face is not None and not self._recognizer.decided(tr.track_id):
                    d = self._recognizer.observe(tr.track_id, rgb, tr.obs.face, frame.time)
                    if d is not None and d.known:
                        self.consented_tracks.add(tr.track_id)
                        self.consented_total += 1
                if tr.track_id in self.consented_tracks:
                    consented.append(tr.box)
            for tid in self._tracker.ended(frame.time):
                self._recognizer.finish(tid, frame.time)
                self.consented_tracks.discard(tid)
        candidates = [o.box for o in obs] + [t.box for t in (tracks or ()) if t.obs.label == "face"]
        boxes = [b for b in candidates if not any(b.iou(c) > 0.5 for c in consented)]
        self.faces_kept += len(consented)
        self.faces_redacted += len(boxes)
        held = [b for bs in self._recent for b in bs if not any(b.iou(c) > 0.5 for c in consented)]
        out = redact_regions(rgb, boxes + held, self.config.mode, self.config.margin)
        self._recent.append(boxes)
        return out


def redact_video(
    src: str | Path, dst: str | Path, *, mode: str = "blur", keep_consented: bool = False, gallery: Any | None = None,
    identifier: Identifier | None = None, margin: float = 0.25, detector: str = "centerface",
) -> dict[str, Any]:
    """Redact a video file (or image folder) into `dst` (MP4). Returns counts."""
    from ..io.writer import VideoWriter

    cfg = RedactConfig(mode=mode, keep_consented=keep_consented, margin=margin, detector=detector)  # type: ignore[arg-type]
    source = open_source(src)
    red = Redactor(cfg, gallery=gallery, identifier=identifier, fps=source.fps or 25.0)
    frames = 0
    with VideoWriter(dst, fps=source.fps or 25.0) as writer:
        for frame in source:
            writer.write(red.apply(frame))
            frames += 1
    return {"frames": frames, "faces_redacted": red.faces_redacted, "faces_kept": red.faces_kept,
            "consented_tracks": red.consented_total}


def redact_image(rgb: np.ndarray, *, mode: str = "blur", margin: float = 0.25, detector: str = "centerface") -> np.ndarray:
    det = create_stage_detector(detector, min_score=RedactConfig().min_score)
    return redact_regions(rgb, [o.box for o in det.detect(rgb)], mode, margin)


__all__ = ["Redactor", "redact_image", "redact_regions", "redact_video"]
