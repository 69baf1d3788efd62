"""Retail cameras are face-free: people are counted, never identified or profiled.

A camera file that runs a retail analyser is refused when it would:
- recognise anyone (`recognize`, `watchlist`, a recognising analyser, or a
  redaction that keeps consented people visible, which identifies them);
- detect faces instead of people (the detection stage must be a person detector);
- store raw crops of people (the engine's per-track snapshots, `output.face_seen:
  per_track` with `output.snapshots: true`, are crops of the unredacted frame);
- show unblurred faces in its output video or live view (a `redact` section is
  required: the redaction filter blurs every frame the camera outputs).

Its own pictures (`retail.queue` snapshots) are blurred by `snapshot.blurred_crop`.
Demographics are never estimated: no analyser here looks at a face at all.
"""

from __future__ import annotations

from ...stream.config import CameraConfig, CameraConfigError
from ...stream.detectors import create_stage_detector

RECOGNISING = ("recognize", "watchlist")
FACE_DETECTORS = ("mediapipe", "centerface", "dlib-hog")


class FaceFreeError(CameraConfigError):
    """A retail or in-cabin camera asked for something that would identify or expose people."""

    code = "not_face_free"


def person_detector_label(name: str, options: dict | None = None) -> str:
    """What the detection stage finds: "person" only for a person detector (an object detector
    counts as one when its `classes` are just `person`)."""
    if name in FACE_DETECTORS:
        return "face"
    try:
        return str(create_stage_detector(name, **(options or {})).label)
    except Exception:  # noqa: BLE001 - an unknown detector is refused elsewhere with its own message
        return "unknown"


def check_face_free(config: CameraConfig, app: str = "retail") -> None:
    """Raise `FaceFreeError` naming the first thing that breaks the face-free rule."""
    where = f"camera {config.name!r} runs {app} analytics, which are face-free"
    for name in RECOGNISING:
        section = getattr(config, name, None)
        if (section is not None and getattr(section, "enabled", True)) or name in config.analysers:
            raise FaceFreeError(f"{where}: remove the `{name}` section (no face recognition on {app} cameras)")
    if config.redact is not None and config.redact.keep_consented:
        raise FaceFreeError(f"{where}: `redact.keep_consented` identifies people; set it to false")
    label = person_detector_label(config.detect.detector, config.detect.options)
    if label != "person":
        raise FaceFreeError(f"{where}: `detect.detector` must be a person detector (e.g. centernet with "
                            f"`options: {{classes: [person]}}`, or opencv-hog-people), not {config.detect.detector!r} "
                            f"finding {label}s")
    if config.output.snapshots and config.output.face_seen == "per_track":
        raise FaceFreeError(f"{where}: per-track snapshots store unblurred crops of people; set `output.face_seen: off` "
                            "or `output.snapshots: false`")
    if config.redact is None or not config.redact.enabled:
        raise FaceFreeError(f"{where}: add `redact: {{mode: blur}}` so every output frame has its faces blurred")
