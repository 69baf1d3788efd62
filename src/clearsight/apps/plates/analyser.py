"""The `plates` camera analyser: one plate read per vehicle track, alerts on hot-list plates only.

Reading is the expensive part (a text detector and recogniser per vehicle), so it is
budgeted: every `every_n_frames` processed frames, at most `max_vehicles_per_frame`
vehicles are read, those with the fewest attempts first (a new car is read before a
parked one is read again), and a track stops being read once its vote is settled
(`min_votes` frames agree exactly) or it has had `max_reads_per_track` attempts. All
chosen vehicles go to the reader in one call, with their boxes.

Per track the frames' reads are voted (`voting`) into ONE `plate.read`, emitted as
soon as the vote settles (a hot-list alert should not wait for the car to leave) or,
failing that, when the track ends. The read goes to the plate store with the
camera's purpose and its crop (sealed at rest); then, and only then, the store is
asked whether the plate is on an active hot-list (a recorded legal basis, not
expired, alerting on): each such list gives one `plate.hotlist_match`. No hot-list,
no alert, whatever the plate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ...rules.events import make_event
from ...stream.analysers import AnalyserOutput, FrameView, PluginContext, register_analyser
from ...types import BBox, Event
from .voting import TrackVotes, Vote, VotedRead

if TYPE_CHECKING:
    from ...vision.plates import PlateRead
    from .store import PlateStore

log = logging.getLogger("clearsight.plates")

PLATE_READ = "plate.read"
PLATE_HOTLIST_MATCH = "plate.hotlist_match"
EMITS = {
    PLATE_READ: "one voted licence-plate read per vehicle track (text, confidence, country, crop)",
    PLATE_HOTLIST_MATCH: "a voted read is on an active hot-list (recorded legal basis, not expired)",
}

Reader = Callable[[np.ndarray, list[BBox]], "list[PlateRead]"]


class PlatesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reader: str | None = Field(
        None, description="Plate reader by name (`clearsight models` lists them). None: the licence-clean default "
        "for `country`.")
    country: Literal["auto", "cn", "eu", "us", "br"] = Field(
        "auto", description="Plate formats to expect; auto tries every format the reader knows.")
    vehicle_classes: list[str] = Field(
        ["car", "bus", "truck", "motorcycle"], min_length=1,
        description="Track classes whose boxes are searched for plates.")
    every_n_frames: int = Field(3, ge=1, le=100, description="Read plates on every n-th processed frame.")
    max_vehicles_per_frame: int = Field(
        2, ge=1, le=32, description="Most vehicles read on one frame (the budget); the least-read go first.")
    min_vehicle_width: float = Field(
        60, ge=0, description="Vehicles narrower than this (pixels) are not read: their plates are too small.")
    min_votes: int = Field(
        3, ge=1, le=50, description="Frames that must agree exactly before the read is emitted while the track lives.")
    max_reads_per_track: int = Field(
        12, ge=1, le=200, description="Most read attempts per track; after that the vote is taken as it is.")
    min_confidence: float = Field(
        0.3, ge=0, le=1, description="Voted reads below this confidence are dropped, never stored nor matched.")
    store: bool = Field(
        True, description="Store reads in the plate store (purpose, retention, audit) and check them against the "
        "hot-lists. Off: events only, and no hot-list alerts.")
    purpose: str | None = Field(
        None, max_length=32, description="Purpose recorded with this camera's reads. None: `plates.purpose`.")
    read_crops: bool = Field(
        False, description="Attach the plate crop to every `plate.read` event too. Off: the crop is kept only in the "
        "plate store, where each view is audited; `plate.hotlist_match` alerts always carry it.")


def _default_reader(config: PlatesConfig) -> Reader:
    from ...vision.plates import create_plate_reader, read_plates

    if config.reader:
        reader = create_plate_reader(config.reader)
        return lambda rgb, boxes: list(reader.read(rgb, vehicle_boxes=boxes))
    return lambda rgb, boxes: list(read_plates(rgb, country=config.country, vehicle_boxes=boxes))


def _owner(plate: BBox, vehicles: list[tuple[int, BBox]]) -> int | None:
    """The track whose box holds the plate's centre (the smallest, when boxes overlap)."""
    cx, cy = plate.center
    inside = [(b.area, tid) for tid, b in vehicles if b.x1 <= cx <= b.x2 and b.y1 <= cy <= b.y2]
    return min(inside)[1] if inside else None


def _crop(image: np.ndarray, box: BBox, margin: float = 0.15) -> np.ndarray | None:
    h, w = image.shape[:2]
    b = BBox(box.x1 - margin * box.width, box.y1 - margin * box.height,
             box.x2 + margin * box.width, box.y2 + margin * box.height).clip(w, h)
    x1, y1, x2, y2 = (int(round(v)) for v in b.as_xyxy())
    return np.ascontiguousarray(image[y1:y2, x1:x2]) if x2 > x1 + 1 and y2 > y1 + 1 else None


class PlateAnalyser:
    name = "plates"

    def __init__(self, camera: str, config: PlatesConfig, *, reader: Reader | None = None,
                 store: PlateStore | None = None, snapshots: bool = True) -> None:
        self.camera = camera
        self.config = config
        self._reader = reader
        self._store = store
        self.snapshots = snapshots
        self.votes = TrackVotes(max_reads=config.max_reads_per_track)
        self.decided: dict[int, VotedRead] = {}  # track id -> the read emitted for it
        self._vehicle: dict[int, str] = {}  # track id -> its (voted) class when last read
        self._frames = 0

    # -- lazies -----------------------------------------------------------------
    @property
    def reader(self) -> Reader:
        if self._reader is None:
            self._reader = _default_reader(self.config)
        return self._reader

    @property
    def store(self) -> PlateStore | None:
        if not self.config.store:
            return None
        if self._store is None:
            from .store import PlateStore

            # the process's settings: the CLI and `clearsight serve` set the data dir in the environment
            self._store = PlateStore.open()
        return self._store

    # -- the analyser contract ----------------------------------------------------
    def analyse(self, view: FrameView) -> AnalyserOutput:
        events: list[Event] = []
        self._frames += 1
        if view.detected and (self._frames - 1) % self.config.every_n_frames == 0:
            for tid in self._read(view):
                r = self.votes.result(tid)
                if r is not None and (r.votes >= self.config.min_votes
                                      or self.votes.attempts[tid] >= self.config.max_reads_per_track):
                    events.extend(self._decide(tid, view.time, final=False))
        return AnalyserOutput(events=tuple(events), labels={tid: r.text for tid, r in self.decided.items()})

    def end_track(self, track_id: int, t: float) -> Sequence[Event]:
        out = [] if track_id in self.decided else self._decide(track_id, t, final=True)
        self.decided.pop(track_id, None)
        self._vehicle.pop(track_id, None)
        self.votes.pop(track_id)
        return out

    def close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()

    # -- reading ------------------------------------------------------------------
    def _candidates(self, view: FrameView) -> list[tuple[int, BBox]]:
        c = self.config
        out = []
        for t in view.tracks:
            label = getattr(t, "label", None) or t.obs.label
            if (label in c.vehicle_classes and t.track_id not in self.decided and t.box.width >= c.min_vehicle_width
                    and self.votes.attempts[t.track_id] < c.max_reads_per_track):
                out.append((t.track_id, t.box.clip(view.frame.width, view.frame.height)))
                self._vehicle[t.track_id] = label
        out.sort(key=lambda tb: (self.votes.attempts[tb[0]], -tb[1].area))
        return out[: c.max_vehicles_per_frame]

    def _read(self, view: FrameView) -> list[int]:
        vehicles = self._candidates(view)
        if not vehicles:
            return []
        image = view.frame.image
        plates = self.reader(image, [b for _, b in vehicles])
        for tid, _ in vehicles:
            self.votes.attempts[tid] += 1
        best: dict[int, PlateRead] = {}  # one plate per vehicle and frame: a sticker or a sign is not a second plate
        for p in plates:
            tid = _owner(p.box, vehicles)
            if tid is not None and p.text and (tid not in best or p.confidence > best[tid].confidence):
                best[tid] = p
        for tid, p in best.items():
            self.votes.add(tid, Vote(p.text, float(p.confidence), p.country, view.time, _crop(image, p.box)))
        return [tid for tid, _ in vehicles]

    def _decide(self, track_id: int, t: float, *, final: bool) -> list[Event]:
        r = self.votes.result(track_id)
        if r is None or r.confidence < self.config.min_confidence:
            return []
        self.decided[track_id] = r
        snapshot = r.crop if self.snapshots and r.crop is not None else None
        read_snapshot = snapshot if self.config.read_crops else None
        data: dict[str, object] = {**r.to_dict(), "vehicle": self._vehicle.get(track_id), "track_end": final}
        store = self.store
        hits = []
        if store is not None:
            from ...io import encode_jpeg

            jpeg = encode_jpeg(r.crop, quality=90) if r.crop is not None else None
            try:
                data["read_id"] = store.record(camera=self.camera, at=r.time or t, text=r.text,
                                               confidence=r.confidence, country=r.country, track_id=track_id,
                                               votes=r.votes, crop_jpeg=jpeg, purpose=self.config.purpose)
                hits = store.hits(r.text, camera=self.camera)
            except Exception:  # noqa: BLE001 - a store outage must not stop the camera; the event still goes out
                log.exception("camera %s: plate store unavailable", self.camera)
        events = [make_event(PLATE_READ, self.camera, t, (track_id,), read_snapshot, **data)]
        for h in hits:
            events.append(make_event(PLATE_HOTLIST_MATCH, self.camera, t, (track_id,), snapshot,
                                     text=r.text, confidence=round(r.confidence, 4), country=r.country,
                                     vehicle=data["vehicle"], read_id=data.get("read_id"), **h.to_dict()))
        return events


def _plates(config: PlatesConfig, ctx: PluginContext) -> PlateAnalyser:
    return PlateAnalyser(ctx.camera, config, snapshots=ctx.snapshots)


register_analyser(
    "plates", _plates, PlatesConfig,
    description="Read licence plates of vehicle tracks: one voted read per track; alert on hot-list plates only.",
    emits=EMITS,
)


__all__ = ["EMITS", "PLATE_HOTLIST_MATCH", "PLATE_READ", "PlateAnalyser", "PlatesConfig"]
