"""`cabin.occupancy` and `cabin.phone_use` from one frame at a time, debounced over frames.

People: the COCO detector's `person` boxes (centernet by default, measured on
in-car frames in `bench/retail.py`), merged with MoveNet MultiPose people, whose
keypoints give the faces (nose, eyes, ears) and hands (wrists). A phone is in use
when a COCO `cell phone` box lies within `near` times its own size of a face or a
wrist keypoint; a phone on the seat or the dashboard is not use.

Why debounced: a single frame misses a person turned away or finds a phone in a
reflection; an event fires when the same answer held for `stable_frames`
analysed frames, and `cabin.phone_use` once per episode.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ...rules.events import make_event
from ...stream.analysers import AnalyserOutput, BoxOverlay, FrameView, PluginContext, TextOverlay, register_analyser
from ...types import BBox, Event

OCCUPANCY = "cabin.occupancy"
PHONE_USE = "cabin.phone_use"
EMITS = {
    OCCUPANCY: "the number of people in the cabin changed (held for `stable_frames` analysed frames)",
    PHONE_USE: "a phone is held next to a face or in a hand (once per episode)",
}
FACE_POINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
HAND_POINTS = ("left_wrist", "right_wrist")


class CabinConfig(BaseModel):
    """In-cabin occupancy and phone use."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="False keeps the section but runs nothing.")
    detector: str = Field(default="centernet", description="COCO object detector (vision.objects) for people and phones.")
    person_score: float = Field(default=0.4, ge=0.05, le=1, description="Least score of a person box that counts "
                                "as an occupant.")
    phone_score: float = Field(default=0.3, ge=0.05, le=1, description="Least score of a `cell phone` box.")
    near: float = Field(default=1.5, gt=0, le=10, description="A phone is in use when a face or wrist keypoint is "
                        "within this many phone-box sizes of the phone's centre.")
    use_pose: bool = Field(default=True, description="Find faces and hands with MoveNet MultiPose (needed for "
                           "phone use; false: occupancy from the detector alone and no phone events).")
    every_s: float = Field(default=1.0, ge=0, le=60, description="Analyse at most one frame per this many seconds.")
    stable_frames: int = Field(default=3, ge=1, le=100, description="Analysed frames an answer must hold before an "
                               "event.")


@dataclass(frozen=True, slots=True)
class CabinState:
    occupants: int
    people: tuple[BBox, ...]
    phones: tuple[BBox, ...]
    phones_in_use: tuple[BBox, ...]

    @property
    def phone_use(self) -> bool:
        return bool(self.phones_in_use)


def _near(box: BBox, points: Sequence[tuple[float, float]], factor: float) -> bool:
    cx, cy = box.center
    size = max(box.width, box.height, 1.0)
    return any(np.hypot(x - cx, y - cy) <= factor * size for x, y in points)


class CabinObserver:
    """One frame -> occupants and phones (no state: the analyser debounces)."""

    def __init__(self, config: CabinConfig | None = None) -> None:
        from ...vision.objects import create_object_detector

        self.config = config or CabinConfig()
        c = self.config
        self._det = create_object_detector(c.detector, min_score=min(c.person_score, c.phone_score))
        self._pose = None
        if c.use_pose:
            from ...vision.pose import create_pose_estimator

            self._pose = create_pose_estimator("movenet-multipose")

    def observe(self, rgb: np.ndarray) -> CabinState:
        c = self.config
        dets = self._det.detect(rgb, ["person", "cell phone"])
        people = [d.box for d in dets if d.label == "person" and d.score >= c.person_score]
        phones = [d.box for d in dets if d.label == "cell phone" and d.score >= c.phone_score]
        faces_hands: list[tuple[float, float]] = []
        if self._pose is not None:
            for p in self._pose.estimate(rgb):  # type: ignore[attr-defined]
                vis = p.visible(0.3)
                pts = [vis[n] for n in FACE_POINTS + HAND_POINTS if n in vis]
                faces_hands += pts
                # a pose whose face or shoulders no detected person box holds is one more person
                # (a passenger half hidden behind a seat is found by one model and not the other)
                if p.score >= 0.3 and pts and not any(b.iou(p.box) > 0.3 or _inside(pts[0], b) for b in people):
                    people.append(p.box)
        in_use = tuple(b for b in phones if _near(b, faces_hands, c.near))
        return CabinState(len(people), tuple(people), tuple(phones), in_use)


def _inside(pt: tuple[float, float], b: BBox) -> bool:
    return b.x1 <= pt[0] <= b.x2 and b.y1 <= pt[1] <= b.y2


@dataclass
class _Debounce:
    n: int
    recent: collections.deque = field(default_factory=collections.deque)

    def push(self, v: object) -> object | None:
        """The value once the last `n` pushes agree, else None."""
        self.recent.append(v)
        while len(self.recent) > self.n:
            self.recent.popleft()
        return v if len(self.recent) == self.n and all(x == v for x in self.recent) else None


class CabinAnalyser:
    name = "cabin"

    def __init__(self, config: CabinConfig, observer: CabinObserver | None = None) -> None:
        self.config = config
        self.observer = observer or CabinObserver(config)
        self._next = float("-inf")
        self._occ = _Debounce(config.stable_frames)
        self._phone = _Debounce(config.stable_frames)
        self.occupants: int | None = None
        self.phone_in_use = False
        self.last: CabinState | None = None

    def analyse(self, view: FrameView) -> AnalyserOutput:
        if view.time < self._next:
            return self._output(())
        self._next = view.time + self.config.every_s
        st = self.observer.observe(view.frame.image)
        self.last = st
        events: list[Event] = []
        occ = self._occ.push(st.occupants)
        if occ is not None and occ != self.occupants:
            events.append(make_event(OCCUPANCY, view.camera, view.time, (), None, count=occ, previous=self.occupants,
                                     frame=view.frame.index))
            self.occupants = occ  # type: ignore[assignment]
        use = self._phone.push(st.phone_use)
        if use is True and not self.phone_in_use:
            events.append(make_event(PHONE_USE, view.camera, view.time, (), None, phones=len(st.phones_in_use),
                                     boxes=[b.to_dict() for b in st.phones_in_use], frame=view.frame.index))
        if use is not None:
            self.phone_in_use = bool(use)
        return self._output(tuple(events))

    def _output(self, events: tuple[Event, ...]) -> AnalyserOutput:
        overlays: list = [TextOverlay((10.0, 24.0), f"occupants {self.occupants if self.occupants is not None else '?'}")]
        if self.last is not None:
            overlays += [BoxOverlay(b, "phone", (255, 80, 80)) for b in self.last.phones_in_use]
        return AnalyserOutput(events=events, overlays=tuple(overlays))

    def end_track(self, track_id: int, t: float) -> list[Event]:
        return []

    def close(self) -> None:
        pass


def _cabin(config: CabinConfig, ctx: PluginContext) -> CabinAnalyser:
    return CabinAnalyser(config)


register_analyser("cabin", _cabin, CabinConfig, emits=EMITS,
                  description="In-cabin occupancy and phone use next to a face or hand (no identities).")
