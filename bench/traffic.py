"""Traffic benchmark.

Rules (`rules_tables()`): the `traffic` and `forward_collision` analysers on COMPOSED
video (tests/integration/traffic/scenes.py): real car photos (openalpr EU, cut along
centernet's box) and a real pedestrian (TUD-Campus) moved along scripted paths over a
real empty road (median of NGSIM US-101 frames), placed through a known ground-plane
homography; the dash-camera clips put a car's rear photo at a scripted distance ahead
of a moving camera. Everything runs through the real pipeline (centernet stage ->
ByteTrack -> analysers), so the truth (when a car stopped, its speed, when the time to
collision crossed the threshold) is exact and the detector's and tracker's errors are
all in the measurement.

- incident timing: each rule's event time against its scripted time, with the
  engine's `zone.dwell` (what a user would set up without the traffic app) beside
  `vehicle.stopped`;
- speed: median speed per car at several scripted speeds, with the 4-point
  homography and with a one-distance scale (the sprites are not to scale, so the
  uncalibrated box-height estimate is not measured here);
- forward collision: warning time against the true threshold crossing for several
  closing speeds, and false warnings at constant distances; ours (line fit of 1/size,
  TTC at the window's end) beside the textbook estimate TTC = s / (ds/dt) with the
  derivative smoothed over the same window (a finite difference of a moving average).

    .venv/bin/python bench/traffic.py [--quick] [--only rules]

All timings are wall-clock on a 2-core machine shared with other work.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import DATA, require_data, table  # noqa: E402


# ============================================================================ rules (composed scenes)
def _material():  # noqa: ANN202
    import clearsight.apps.compose  # noqa: F401 - plug-ins and the COCO stage detectors
    from clearsight.stream.detectors import create_stage_detector
    from clearsight.vision.objects import create_object_detector
    from tests.integration.traffic import scenes

    for part in (("traffic", "ngsim_us101", "frames"), ("plates", "openalpr", "endtoend"),
                 ("tracking", "pedestrians", "tud_campus")):
        require_data(*part)
    cutter = create_object_detector("centernet", min_score=0.3, letterbox=True)
    cars = scenes.vehicle_sprites(DATA, cutter, 6)
    people = scenes.person_sprites(DATA, 2)
    stage = create_stage_detector("centernet", min_score=0.3)
    return scenes, scenes.road_background(DATA), cars, people, stage


def _incident_rows(scenes, road, cars, people, stage, fps: float, variants: Sequence[int]) -> list[list[object]]:  # noqa: ANN001
    rows: list[list[object]] = []
    errors: dict[str, list[float]] = {}
    for v in variants:
        cs = [cars[(v + k) % len(cars)] for k in range(3)]
        scene = scenes.incidents_scene(road, cs, [people[v % len(people)]], fps=fps,
                                       speeding_kmh=65.0 + 7 * v, wrong_way_kmh=35.0 + 5 * v)
        arrow = scenes.image_polygon(scene.calibration, [(10, 5.5), (36, 5.5)])
        cam = scenes.camera_file(scene, count_interval_s=4.0, zones={
            "eastbound": {"direction": arrow, "speed_limit_kmh": 50},
            "no-stopping": {"stopped_after_s": 3},
            "road": {"roadway": True}})
        cam["zones"][1]["dwell_s"] = 3.0  # the peer: the engine's zone.dwell on the same zone
        events, _ = scenes.run_scene(scene.frames(), cam, fps=fps, detector=stage)
        truth = [(e, a, t + (3.0 if e == "vehicle.stopped" else 0.5 if e == "pedestrian.in_roadway" else 0.0))
                 for e, a, t in scene.truth]
        stop_truth = next(t for e, _, t in truth if e == "vehicle.stopped")
        truth.append(("zone.dwell", 2, stop_truth))
        # which crossing is whose: actor 0 drives left to right over `count`, actor 1 right to left, 3 walks
        crossing = {0: ("count", "left_to_right"), 1: ("count", "right_to_left"), 3: ("crosswalk", None)}
        used: set[int] = set()
        for etype, actor, t_true in truth:
            line, direction = crossing.get(actor, (None, None)) if etype == "traffic.crossing" else (None, None)
            cand = [(abs(e.time - t_true), i, e) for i, e in enumerate(events) if e.type == etype and i not in used
                    and (etype != "zone.dwell" or e.data.get("zone") == "no-stopping")
                    and (line is None or e.data.get("line") == line)
                    and (direction is None or e.data.get("direction") == direction)]
            if not cand:
                rows.append([v, etype, round(t_true, 2), "missed", "", ""])
                errors.setdefault(etype, []).append(float("inf"))
                continue
            _, i, e = min(cand, key=lambda c: c[0])
            used.add(i)
            err = e.time - t_true
            errors.setdefault(etype, []).append(abs(err))
            extra = e.data.get("speed_kmh", "")
            name = etype if etype != "zone.dwell" else "zone.dwell (peer for stopped)"
            if line is not None:
                name += f" ({line}, {e.data.get('class')})"
            rows.append([v, name, round(t_true, 2), round(e.time, 2), round(err, 2), extra])
        n_stop = sum(1 for e in events if e.type == "vehicle.stopped")
        n_dwell = sum(1 for e in events if e.type == "zone.dwell" and e.data.get("zone") == "no-stopping")
        rows.append([v, "(counts)", "", f"stopped {n_stop}, dwell {n_dwell}", "", ""])
    summary = [[etype, len(errs), sum(1 for x in errs if x <= 0.5), round(max(errs), 2) if errs else "n/a"]
               for etype, errs in errors.items()]
    table(["variant", "event", "true time s", "fired s", "error s", "speed km/h"], rows,
          f"Incident timing on composed clips ({fps:g} fps, centernet + ByteTrack)")
    table(["event", "scenarios", "within 0.5 s", "max |error| s"], summary, "Incident timing summary (target: 0.5 s)")
    return rows


def _queue_rows(scenes, road, cars, stage, fps: float) -> None:  # noqa: ANN001
    rows = []
    for hold in (1.0, 2.0, 3.0):
        scene = scenes.queue_scene(road, cars, fps=fps)
        by_count = {"min_vehicles": 3, "hold_s": hold}
        by_speed = {"max_speed_kmh": 5.0, "min_vehicles_for_speed": 2, "hold_s": hold}
        cam = scenes.camera_file(scene, zones={"approach": {"congestion": by_count}, "road": {"congestion": by_speed}})
        events, _ = scenes.run_scene(scene.frames(), cam, fps=fps, detector=stage)
        for zone, ground, rule, what in (("approach", scenes.QUEUE_ZONE, by_count, ">= 3 vehicles"),
                                         ("road", scenes.ROADWAY, by_speed, "mean <= 5 km/h, >= 2 vehicles")):
            t_true = scenes.congestion_truth(scene, ground, **rule)
            got = [e for e in events if e.type == "traffic.congestion" and e.data["zone"] == zone
                   and e.data["state"] == "start"]
            rows.append([what, hold, round(t_true, 2) if t_true is not None else "never",
                         round(got[0].time, 2) if got else "missed",
                         round(got[0].time - t_true, 2) if got and t_true is not None else "",
                         got[0].data["occupancy"] if got else ""])
    table(["condition", "hold_s", "true time s", "fired s", "error s", "occupancy"], rows,
          f"traffic.congestion: 3 cars queue into a zone ({fps:g} fps)")


def _speed_rows(scenes, road, cars, stage, fps: float, speeds: Sequence[float]) -> None:  # noqa: ANN001
    from clearsight.stream.calibration import Homography

    cal = Homography.fit(scenes.CALIB_IMAGE, scenes.CALIB_GROUND)
    near = cal.to_image(np.array([[0.0, 0.0], [40.0, 0.0]]))
    rows = []
    errs: dict[str, list[float]] = {"homography": [], "distance": []}
    for k, kmh in enumerate(speeds):
        v = kmh / 3.6
        lane = (3.0, 8.0, 12.5)[k % 3]
        x = scenes.kinematic(-4.0, v)
        seconds = 50.0 / v + 0.5
        actor = scenes.Actor(cars[k % len(cars)], 0.0, seconds, lambda t, x=x, lane=lane: (x(t), lane))
        scene = scenes.RoadScene(road, [actor], seconds, fps, seed=k)
        frames = list(scene.frames())
        row: list[object] = [kmh, lane]
        for name in ("homography", "distance"):
            cam = scenes.camera_file(scene)
            if name == "distance":  # one scale from the near edge: 40 m between two near lane-marking points
                cam["analysers"]["traffic"]["calibration"] = {
                    "distance": {"points": [near[0].tolist(), near[1].tolist()], "metres": 40.0},
                    "image_size": list(scenes.SIZE)}
            events, _ = scenes.run_scene(iter(frames), cam, fps=fps, detector=stage)
            med = [e.data["median_kmh"] for e in events if e.type == "vehicle.speed"]
            if not med:
                row.append("no track")
                continue
            best = max(med)  # one car: the longest-lived track carries the speed (a split track shows as 2)
            err = abs(best - kmh) / kmh
            errs[name].append(err)
            row.append(f"{best:.1f} ({(best - kmh) / kmh:+.1%})")
        rows.append(row)
    table(["true km/h", "lane y m", "4-point homography", "one known distance (near edge)"], rows,
          f"Speed per car, median over its track ({fps:g} fps); error vs the script")
    table(["calibration", "cars", "mean |error|", "max |error|"],
          [[k, len(v), f"{np.mean(v):.1%}" if v else "n/a", f"{np.max(v):.1%}" if v else "n/a"] for k, v in errs.items()],
          "Speed error summary (target: <= 10%)")


class _DerivativeTTC:
    """The textbook peer: TTC = s / (ds/dt), ds/dt from a moving average of s differenced over the window."""

    name = "ttc_derivative"

    def __init__(self, window_s: float, threshold: float, confirm: int) -> None:
        from clearsight.stream.analysers import EMPTY_OUTPUT

        self.window_s, self.threshold, self.confirm = window_s, threshold, confirm
        self._h: dict[int, list[tuple[float, float]]] = {}
        self._below: dict[int, int] = {}
        self.warnings: list[tuple[float, int, float]] = []
        self._empty = EMPTY_OUTPUT

    def analyse(self, view):  # noqa: ANN001, ANN201
        for tr in view.tracks:
            hist = self._h.setdefault(tr.track_id, [])
            hist.append((view.time, float(np.sqrt(tr.box.width * tr.box.height))))
            win = [(t, s) for t, s in hist if view.time - t <= self.window_s + 1e-9]
            ttc = None
            if len(win) >= 4 and win[-1][0] - win[0][0] >= self.window_s / 2:
                half = len(win) // 2
                t0, s0 = np.mean([w[0] for w in win[:half]]), np.mean([w[1] for w in win[:half]])
                t1, s1 = np.mean([w[0] for w in win[half:]]), np.mean([w[1] for w in win[half:]])
                ds = (s1 - s0) / (t1 - t0)
                ttc = win[-1][1] / ds if ds > 0 else None
            b = self._below.get(tr.track_id, 0)
            b = b + 1 if ttc is not None and ttc <= self.threshold else 0
            self._below[tr.track_id] = b
            if b == self.confirm:
                self.warnings.append((view.time, tr.track_id, float(ttc)))  # type: ignore[arg-type]
        return self._empty

    def end_track(self, track_id: int, t: float):  # noqa: ANN201
        return []

    def close(self) -> None:
        pass


def _fcw_rows(scenes, road, cars, stage, fps: float, closings: Sequence[float], distances: Sequence[float]) -> None:  # noqa: ANN001
    strip = scenes.dash_road(road)
    cam = {"name": "dash", "source": "drive.mp4", "detect": {"detector": "centernet", "min_score": 0.3},
           "track": {"lost_s": 1.0, "activation_threshold": 0.3, "high_conf_threshold": 0.45},
           "output": {"face_seen": "off", "snapshots": False},
           "analysers": {"forward_collision": {"ttc_warning_s": 2.0, "window_s": 0.6, "confirm": 2}}}
    rows = []
    ours_err, peer_err = [], []
    for k, closing in enumerate(closings):
        lead = cars[k % len(cars)]
        scene, t_cross = scenes.approach_scene(strip, lead, z0=max(18.0, closing * 3.2), closing=closing, hold=1.0,
                                               z_min=max(4.0, closing * 0.6), ttc_threshold=2.0, fps=fps)
        peer = _DerivativeTTC(0.6, 2.0, 2)
        events, _ = scenes.run_scene(scene.frames(), cam, fps=fps, detector=stage, analysers=[peer])
        fcw = [e for e in events if e.type == "vehicle.forward_collision"]
        ours = fcw[0].time - t_cross if fcw else None
        theirs = peer.warnings[0][0] - t_cross if peer.warnings else None
        if ours is not None:
            ours_err.append(abs(ours))
        if theirs is not None:
            peer_err.append(abs(theirs))
        rows.append([f"approach {closing:g} m/s", lead.source.split("/")[-1], round(t_cross, 2),
                     f"{ours:+.2f}" if ours is not None else "missed", len(fcw),
                     f"{theirs:+.2f}" if theirs is not None else "missed", len(peer.warnings)])
    false_ours = false_peer = 0
    for k, z in enumerate(distances):
        lead = cars[(k + 1) % len(cars)]
        scene = scenes.constant_distance_scene(strip, lead, z=z, seconds=5.0, fps=fps)
        peer = _DerivativeTTC(0.6, 2.0, 2)
        events, _ = scenes.run_scene(scene.frames(), cam, fps=fps, detector=stage, analysers=[peer])
        n = sum(1 for e in events if e.type == "vehicle.forward_collision")
        false_ours += n
        false_peer += len(peer.warnings)
        rows.append([f"constant {z:g} m", lead.source.split("/")[-1], "never", n and f"{n} false" or "none", n,
                     len(peer.warnings) and f"{len(peer.warnings)} false" or "none", len(peer.warnings)])
    table(["clip", "lead car photo", "true crossing s", "ours: error s", "ours: warnings",
           "peer s/(ds/dt): error s", "peer: warnings"], rows,
          f"Forward-collision warning at TTC 2.0 s ({fps:g} fps, window 0.6 s, 2 confirmations)")
    table(["method", "approaches warned", "within 0.5 s", "max |error| s", "false warnings (constant distance)"],
          [["ours: line fit of 1/size", len(ours_err), sum(e <= 0.5 for e in ours_err),
            round(max(ours_err), 2) if ours_err else "n/a", false_ours],
           ["peer: s / smoothed ds/dt", len(peer_err), sum(e <= 0.5 for e in peer_err),
            round(max(peer_err), 2) if peer_err else "n/a", false_peer]],
          f"Forward-collision summary ({len(closings)} approaches, {len(distances)} constant-distance clips)")


def rules_tables(quick: bool = False) -> None:
    """Incident timing, congestion, speed error and forward-collision timing on composed clips."""
    scenes, road, cars, people, stage = _material()
    fps = 10.0
    _incident_rows(scenes, road, cars, people, stage, fps, variants=(0,) if quick else (0, 1, 2))
    if not quick:
        _queue_rows(scenes, road, cars, stage, fps)
    _speed_rows(scenes, road, cars, stage, fps, speeds=(50.0, 90.0) if quick else (30.0, 50.0, 70.0, 90.0, 110.0))
    _fcw_rows(scenes, road, cars, stage, fps, closings=(6.0,) if quick else (3.0, 4.0, 5.0, 6.0, 8.0, 10.0),
              distances=(8.0,) if quick else (5.0, 6.0, 8.0, 10.0, 15.0))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer scenarios")
    ap.add_argument("--only", nargs="*", default=None, help="rules")
    a = ap.parse_args()
    if a.only is None or "rules" in a.only:
        t0 = time.perf_counter()
        rules_tables(a.quick)
        print(f"(rules: {time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
