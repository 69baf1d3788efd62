"""Composed traffic videos: real vehicle and pedestrian photos moved over a real, empty road, with exact truth.

Why composed: no public road video comes with the ground truth a rule needs (the
second a car stopped, its true speed in km/h, a ground-plane calibration). Here:

- the road is the per-pixel median of NGSIM US-101 frames (real highway CCTV), which
  removes the traffic and leaves the empty road; a crop of it is enlarged so that
  lanes are about as wide as the pasted cars;
- vehicles are real car photos (openalpr end-to-end set, EU), each cut out along the
  box the real detector (centernet) finds in it; pedestrians are real people of
  TUD-Campus cut out along their ground-truth boxes;
- each actor follows a scripted path in metres on the ground; a fixed homography
  (`CALIB_IMAGE` <-> `CALIB_GROUND`, the calibration the camera file is given)
  places its bottom centre in the image. So every speed, stop and crossing time is
  known exactly, and the analyser is tested through the same calibration an
  administrator would click.

The dash-camera scenes put a car's rear photo ahead of a moving camera: its image
size follows f*W/Z for a scripted distance Z(t), so the time to collision Z/v is
known at every frame.

Everything is generated in memory, deterministically; nothing is written to the repo.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from clearsight.io import load_image
from clearsight.io.video import Frame, VideoSource
from clearsight.stream.calibration import Homography

FPS = 10.0
SIZE = (640, 480)
# the calibration of the composed road view: four image points and their ground coordinates (metres; x along
# the road, y across it); a mild perspective (the far edge is narrower), like a pole-mounted camera
CALIB_IMAGE = ((40.0, 450.0), (600.0, 450.0), (570.0, 130.0), (70.0, 130.0))
CALIB_GROUND = ((0.0, 0.0), (40.0, 0.0), (40.0, 20.0), (0.0, 20.0))
CAR_HEIGHT_PX = 62.0  # on-screen height of a pasted car at the near edge (scaled with the local ground scale)
PERSON_HEIGHT_PX = 150.0


@dataclass(frozen=True)
class Sprite:
    image: np.ndarray  # RGB
    label: str
    source: str


def road_background(data: Path, size: tuple[int, int] = SIZE) -> np.ndarray:
    """The empty road: median of NGSIM frames (traffic removed), the lanes enlarged 2.5x."""
    frames = sorted((data / "traffic" / "ngsim_us101" / "frames").glob("*.jpg"))[::6]
    med = np.median(np.stack([load_image(f) for f in frames]), axis=0).astype(np.uint8)
    crop = med[176:368, 192:448]
    return cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC)


def vehicle_sprites(data: Path, detector: object, n: int = 4) -> list[Sprite]:
    """Real car photos cut along the car the detector finds (the largest, confident, frame-filling one)."""
    root = data / "plates" / "openalpr"
    out: list[Sprite] = []
    with open(root / "endtoend_groundtruth.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["country"] == "eu"]
    for r in rows:
        rgb = load_image(root / r["image"])
        h, w = rgb.shape[:2]
        cars = [d for d in detector.detect(rgb, ["car"]) if d.score >= 0.5 and d.box.area >= 0.25 * w * h]  # type: ignore[attr-defined]
        if not cars:
            continue
        b = max(cars, key=lambda d: d.box.area).box
        out.append(Sprite(np.ascontiguousarray(rgb[int(b.y1): int(b.y2), int(b.x1): int(b.x2)]), "car", r["image"]))
        if len(out) == n:
            break
    return out


def person_sprites(data: Path, n: int = 2) -> list[Sprite]:
    """Real pedestrians of TUD-Campus (frame 1), cut along their ground-truth boxes."""
    root = data / "tracking" / "pedestrians" / "tud_campus"
    rgb = load_image(root / "frames" / "000001.jpg")
    with open(root / "gt.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["frame"] == "1"]
    rows.sort(key=lambda r: -float(r["bb_height"]))
    out = []
    for r in rows[:n]:
        x, y, w, h = (float(r[k]) for k in ("bb_left", "bb_top", "bb_width", "bb_height"))
        x1, y1 = max(0, int(x)), max(0, int(y))
        out.append(Sprite(np.ascontiguousarray(rgb[y1: int(y + h), x1: int(x + w)]), "person", f"tud_campus id {r['id']}"))
    return out


# ---------------------------------------------------------------- paths on the ground
def kinematic(x0: float, v0: float, segments: Sequence[tuple[float, float]] = ()) -> Callable[[float], float]:
    """Distance along a lane (m) at time t from the actor's start: speed v0 (m/s), then (duration, acceleration)
    segments in turn; speed never goes below zero (a braking car stops and stays)."""

    def x(t: float) -> float:
        pos, v, left = x0, v0, t
        for dur, acc in segments:
            d = min(left, dur)
            if acc < 0 and v + acc * d < 0:  # stops within the segment
                ts = -v / acc
                pos += v * ts + 0.5 * acc * ts * ts
                v = 0.0
            else:
                pos += v * d + 0.5 * acc * d * d
                v += acc * d
            left -= d
            if left <= 0:
                return pos
        return pos + v * left

    return x


@dataclass
class Actor:
    sprite: Sprite
    start: float  # seconds
    end: float
    ground: Callable[[float], tuple[float, float]]  # time since clip start -> ground (x, y) in metres
    height_px: float = CAR_HEIGHT_PX

    def at(self, t: float) -> tuple[float, float] | None:
        return self.ground(t) if self.start <= t <= self.end else None


@dataclass
class RoadScene:
    """A fixed camera over the road; `truth` holds the expected events (type, actor index, time s)."""

    background: np.ndarray
    actors: list[Actor]
    seconds: float
    fps: float = FPS
    seed: int = 0
    truth: list[tuple[str, int, float]] = field(default_factory=list)
    speeds_kmh: dict[int, float] = field(default_factory=dict)  # actor -> true constant speed, where it has one

    @property
    def calibration(self) -> Homography:
        return Homography.fit(CALIB_IMAGE, CALIB_GROUND)

    def image_point(self, ground: tuple[float, float]) -> tuple[float, float]:
        p = self.calibration.to_image(np.array([ground]))[0]
        return float(p[0]), float(p[1])

    def frames(self) -> Iterator[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        cal = self.calibration
        H, W = self.background.shape[:2]
        near = _local_scale(cal, (20.0, 0.0))
        n = int(round(self.seconds * self.fps))
        for i in range(n):
            t = i / self.fps
            canvas = self.background.astype(np.float32)
            placed = []
            for a in self.actors:
                g = a.at(t)
                if g is None:
                    continue
                u, v = cal.to_image(np.array([g]))[0]
                placed.append((v, a, u, _local_scale(cal, g) / near))
            for v, a, u, s in sorted(placed, key=lambda p: p[0]):  # far first: nearer actors cover farther ones
                _paste(canvas, a.sprite.image, u, v, a.height_px * s)
            canvas += rng.normal(0, 2.0, canvas.shape).astype(np.float32)
            yield np.clip(canvas, 0, 255).astype(np.uint8)


def _local_scale(cal: Homography, g: tuple[float, float]) -> float:
    """Pixels per metre across the road at ground point g (how big things look there)."""
    a, b = cal.to_image(np.array([g, (g[0], g[1] + 1.0)]))
    return float(np.hypot(*(b - a)))


def _paste(canvas: np.ndarray, sprite: np.ndarray, u: float, v: float, height: float) -> None:
    """Paste `sprite` scaled to `height` px with its bottom centre at (u, v); clipped at the frame edges."""
    H, W = canvas.shape[:2]
    sh, sw = sprite.shape[:2]
    h = max(2, int(round(height)))
    w = max(2, int(round(sw * h / sh)))
    img = cv2.resize(sprite, (w, h), interpolation=cv2.INTER_AREA if h < sh else cv2.INTER_LINEAR)
    ox, oy = int(round(u - w / 2)), int(round(v - h))
    x1, y1, x2, y2 = max(0, ox), max(0, oy), min(W, ox + w), min(H, oy + h)
    if x2 > x1 and y2 > y1:
        canvas[y1:y2, x1:x2] = img[y1 - oy: y2 - oy, x1 - ox: x2 - ox]


class ArraySource(VideoSource):
    """Frames from memory, timed from 0 at `fps` (a file opened at t=0)."""

    def __init__(self, frames: Sequence[np.ndarray] | Iterator[np.ndarray], fps: float, name: str = "composed") -> None:
        super().__init__(name)
        self._frames = frames
        self.fps = fps

    def frames(self) -> Iterator[Frame]:
        for i, rgb in enumerate(self._frames):
            self.stats.decoded += 1
            self.stats.delivered += 1
            yield Frame(rgb, i, i / self.fps, i / self.fps, self.name)


# ---------------------------------------------------------------- the scenes
KMH = 3.6
# the camera zones of the incidents scene, in ground metres (converted to image pixels for the camera file)
EASTBOUND = ((10.0, 0.5), (36.0, 0.5), (36.0, 10.5), (10.0, 10.5))  # lanes 1-2, allowed direction +x
NO_STOPPING = ((4.0, 10.5), (36.0, 10.5), (36.0, 14.5), (4.0, 14.5))  # lane 3
ROADWAY = ((2.0, 0.0), (38.0, 0.0), (38.0, 15.0), (2.0, 15.0))
COUNT_LINE = ((25.0, 0.0), (25.0, 15.0))
CROSSWALK_LINE = ((27.0, 10.0), (33.0, 10.0))  # across the pedestrian's path, along the cars' (they never cross it)


def incidents_scene(bg: np.ndarray, cars: Sequence[Sprite], people: Sequence[Sprite], *, fps: float = FPS,
                    speeding_kmh: float = 72.0, wrong_way_kmh: float = 40.0) -> RoadScene:
    """One clip, four incidents: a speeding car (lane 1, +x), a wrong-way car (lane 2, -x), a car that brakes and
    stops in the no-stopping lane (lane 3), and a pedestrian who walks onto the road."""
    v1, v2 = speeding_kmh / KMH, wrong_way_kmh / KMH
    lane1, lane2, lane3 = 3.0, 8.0, 12.5
    x1 = kinematic(-4.0, v1)
    x2 = kinematic(50.0, -v2)
    # lane 3: 36 km/h, brakes at 5 m/s^2 from x=12 (1.6 s after the start at t=0.4) and stops 2 s later at x=22
    x3 = kinematic(-4.0, 10.0, [(1.6, 0.0), (3.0, -5.0)])
    ped_x, ped_y0, ped_v = 30.0, 19.0, 1.4
    actors = [
        Actor(cars[0], 1.0, 4.0, lambda t: (x1(t - 1.0), lane1)),
        Actor(cars[1], 0.0, 5.5, lambda t: (x2(t), lane2)),
        Actor(cars[2], 0.4, 99.0, lambda t: (x3(t - 0.4), lane3)),
        Actor(people[0], 2.0, 99.0, lambda t: (ped_x, ped_y0 - ped_v * (t - 2.0)), PERSON_HEIGHT_PX),
    ]
    seconds = 9.0
    t_fast = 1.0 + (EASTBOUND[0][0] + 4.0) / v1  # the speeding car's bottom centre enters the zone
    t_wrong = (50.0 - EASTBOUND[1][0]) / v2
    t_stop = 0.4 + 1.6 + 2.0  # stands still from here
    t_ped = 2.0 + (ped_y0 - ROADWAY[2][1]) / ped_v  # steps into the roadway
    scene = RoadScene(bg, actors, seconds, fps)
    scene.truth = [("vehicle.speeding", 0, t_fast), ("vehicle.wrong_way", 1, t_wrong),
                   ("vehicle.stopped", 2, t_stop), ("pedestrian.in_roadway", 3, t_ped),
                   ("traffic.crossing", 0, 1.0 + (COUNT_LINE[0][0] + 4.0) / v1),
                   ("traffic.crossing", 1, (50.0 - COUNT_LINE[0][0]) / v2),
                   ("traffic.crossing", 3, 2.0 + (ped_y0 - CROSSWALK_LINE[0][1]) / ped_v)]
    scene.speeds_kmh = {0: speeding_kmh, 1: wrong_way_kmh}
    return scene


QUEUE_ZONE = ((6.0, 1.0), (38.0, 1.0), (38.0, 7.0), (6.0, 7.0))


def queue_scene(bg: np.ndarray, cars: Sequence[Sprite], *, fps: float = FPS) -> RoadScene:
    """Three cars arrive one after another in lane 1 and queue (stop bumper to bumper): the zone fills."""
    lane = 4.0
    actors = []
    stops = [35.0, 27.0, 19.0]  # where each stops (bottom centre), 8 m apart
    arrivals = []
    for k, (stop_x, sprite) in enumerate(zip(stops, cars)):
        start = 1.2 * k
        v0, acc = 10.0, -5.0
        brake_at = stop_x - v0 * v0 / (2 * -acc)  # starts braking here to stop at stop_x
        x = kinematic(-4.0, v0, [((brake_at + 4.0) / v0, 0.0), (3.0, acc)])
        actors.append(Actor(sprite, start, 99.0, lambda t, x=x, s=start: (x(t - s), lane)))
        arrivals.append(start + (QUEUE_ZONE[0][0] + 4.0) / v0)  # its bottom centre enters the zone
    scene = RoadScene(bg, actors, 8.0, fps, seed=1)
    scene.truth = [("traffic.congestion", -1, max(arrivals))]  # + hold_s: the camera file's threshold
    return scene


# ---------------------------------------------------------------- the dash camera
DASH_SIZE = (640, 360)
FOCAL_PX = 640.0
HORIZON_Y = 150.0
CAM_HEIGHT_M = 1.3
CAR_WIDTH_M = 1.8


@dataclass
class DashScene:
    """A camera looking ahead from a moving car; a lead car at scripted distance Z(t) (metres)."""

    road: np.ndarray  # a tall strip of road texture that scrolls by as the ego car drives
    lead: Sprite
    distance: Callable[[float], float]
    seconds: float
    fps: float = FPS
    lateral: Callable[[float], float] = lambda t: 0.0  # metres, + to the right
    ego_speed_px: float = 40.0  # texture scroll per second
    seed: int = 0

    def frames(self) -> Iterator[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        W, H = DASH_SIZE
        strip = self.road
        n = int(round(self.seconds * self.fps))
        for i in range(n):
            t = i / self.fps
            off = int(round(t * self.ego_speed_px)) % (strip.shape[0] - H)
            canvas = strip[strip.shape[0] - H - off: strip.shape[0] - off].astype(np.float32)
            z = self.distance(t)
            width = FOCAL_PX * CAR_WIDTH_M / z
            sh, sw = self.lead.image.shape[:2]
            height = width * sh / sw
            u = W / 2 + FOCAL_PX * self.lateral(t) / z
            v = HORIZON_Y + FOCAL_PX * CAM_HEIGHT_M / z
            _paste(canvas, self.lead.image, u, v, height)
            canvas += rng.normal(0, 2.0, canvas.shape).astype(np.float32)
            yield np.clip(canvas, 0, 255).astype(np.uint8)


def dash_road(bg: np.ndarray) -> np.ndarray:
    """A tall strip of road texture for the dash camera to scroll over (the road background, twice)."""
    W, H = DASH_SIZE
    road = cv2.resize(bg, (W, int(W * bg.shape[0] / bg.shape[1])))
    return np.concatenate([road, road[::-1]], axis=0)


def approach_scene(road: np.ndarray, lead: Sprite, *, z0: float = 20.0, closing: float = 6.0, hold: float = 2.0,
                   z_min: float = 5.0, ttc_threshold: float = 2.0, fps: float = FPS) -> tuple[DashScene, float]:
    """The lead car keeps its distance for `hold` s, then the gap closes at `closing` m/s until `z_min`.
    Returns the scene and the time its true TTC crosses `ttc_threshold`."""

    def z(t: float) -> float:
        return max(z_min, z0 - closing * max(0.0, t - hold))

    t_cross = hold + (z0 - closing * ttc_threshold) / closing
    seconds = hold + (z0 - z_min) / closing + 0.5
    return DashScene(road, lead, z, seconds, fps), t_cross


def constant_distance_scene(road: np.ndarray, lead: Sprite, *, z: float = 10.0, seconds: float = 5.0,
                            fps: float = FPS) -> DashScene:
    """The lead car stays `z` m ahead (a little weave), while the road goes by."""
    return DashScene(road, lead, lambda t: z + 0.15 * np.sin(2.1 * t), seconds, fps,
                     lateral=lambda t: 0.25 * np.sin(1.3 * t), seed=2)


def image_polygon(scene_calibration: Homography, ground: Sequence[tuple[float, float]]) -> list[list[float]]:
    """Ground polygon (metres) -> image pixels, rounded, for a camera file."""
    pts = scene_calibration.to_image(np.asarray(ground, dtype=np.float64))
    return [[round(float(x), 1), round(float(y), 1)] for x, y in pts]


def camera_file(scene: RoadScene, **traffic: object) -> dict:
    """The camera file an administrator would write for the incidents scene (zones drawn from the ground plan)."""
    cal = scene.calibration
    line = image_polygon(cal, COUNT_LINE)
    return {
        "name": "composed-road",
        "source": "composed.mp4",
        "detect": {"detector": "centernet", "min_score": 0.3},
        "track": {"lost_s": 1.5, "activation_threshold": 0.3, "high_conf_threshold": 0.45},
        "output": {"face_seen": "off", "snapshots": False},
        "zones": [{"name": "eastbound", "polygon": image_polygon(cal, EASTBOUND)},
                  {"name": "no-stopping", "polygon": image_polygon(cal, NO_STOPPING)},
                  {"name": "road", "polygon": image_polygon(cal, ROADWAY)},
                  {"name": "approach", "polygon": image_polygon(cal, QUEUE_ZONE)}],
        "lines": [{"name": "count", "points": line},
                  {"name": "crosswalk", "points": image_polygon(cal, CROSSWALK_LINE)}],
        "analysers": {"traffic": {
            "calibration": {"points": [{"image": list(i), "ground": list(g)} for i, g in zip(CALIB_IMAGE, CALIB_GROUND)],
                            "image_size": list(SIZE)},
            **traffic}},
    }


def run_scene(frames: Iterator[np.ndarray], camera: dict, *, fps: float = FPS, detector: object | None = None,
              analysers: Sequence[object] = ()) -> tuple[list, object]:
    """Run a composed clip through the real pipeline (detector, tracker, plug-ins); its events and the pipeline."""
    from clearsight.apps.compose import build_pipeline
    from clearsight.rules import MemorySink
    from clearsight.stream.config import parse_camera

    cfg = parse_camera(camera)
    mem = MemorySink()
    kw = {"detector": detector} if detector is not None else {}
    pipe = build_pipeline(cfg, source=ArraySource(frames, fps), extra_sinks=[(mem, "all")], analysers=analysers, **kw)
    try:
        pipe.run()
    finally:
        pipe.close()
    return list(mem.events), pipe


def congestion_truth(scene: RoadScene, zone: Sequence[tuple[float, float]], *, min_vehicles: int | None = None,
                     max_speed_kmh: float | None = None, min_vehicles_for_speed: int = 2, hold_s: float = 0.0,
                     step: float = 0.01) -> float | None:
    """When a zone (ground polygon) first counts as congested by the script: the condition of
    `CongestionConfig` on the true positions and speeds, held `hold_s`. None: never."""
    poly = np.asarray(zone, dtype=np.float32).reshape(-1, 1, 2)
    since = None
    for t in np.arange(0.0, scene.seconds, step):
        inside = []
        for a in scene.actors:
            if a.sprite.label != "car" or a.at(t) is None:
                continue
            p = a.at(t)
            if cv2.pointPolygonTest(poly, (float(p[0]), float(p[1])), False) < 0:
                continue
            p0, p1 = a.ground(max(a.start, t - step)), a.ground(t + step)
            dt = t + step - max(a.start, t - step)
            inside.append(float(np.hypot(p1[0] - p0[0], p1[1] - p0[1])) / dt * KMH)
        cond = (min_vehicles is not None and len(inside) >= min_vehicles) or (
            max_speed_kmh is not None and len(inside) >= min_vehicles_for_speed and float(np.mean(inside)) <= max_speed_kmh)
        since = (since if since is not None else float(t)) if cond else None
        if since is not None and t - since >= hold_s - 1e-9:
            return float(t)
    return None
