"""Video engine benchmark: throughput, sustained real-time streams, event latency,
tracking accuracy (TUD-Campus) and watchlist precision/recall (composed scenes).

Peers measured in the same run:
- throughput and watchlist: the `face_recognition` package's own video recipe
  (`facerec_from_video_file.py`: HOG detection + encoding of every face in every
  frame, compare with `compare_faces` at tolerance 0.6, alert on every frame that matches);
- tracking: SORT and OC-SORT from the same `trackers` package on the same detections.

Run: `.venv/bin/python bench/video.py [--quick]` (about 10 minutes on 2 busy cores;
--quick about 4). All timings are wall-clock on this machine, shared with other work.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, require_data, table  # noqa: E402

from clearsight.face.pipeline import FacePipeline  # noqa: E402
from clearsight.rules import MemorySink  # noqa: E402
from clearsight.stream.config import parse_camera  # noqa: E402
from clearsight.apps.compose import build_pipeline  # noqa: E402 - pipelines with the app plug-ins (watchlist)
from clearsight.stream.recognition import MemoryIdentifier  # noqa: E402
from clearsight.stream.synthetic import background, crossing_scene, lfw_identities, make_sprite  # noqa: E402

WORK = Path("/tmp/clearsight-bench-video")


# ----------------------------------------------------------------------------- material
def compose(size: tuple[int, int], n_people: int, offset: int, seconds_each: float, fps: float, name: str,
            face_width: float | None = None, seed: int = 0):
    people = lfw_identities(DATA, n_people, per_person=2, offset=offset)
    sprites = [(p, make_sprite(ph[1])) for p, ph in people]
    scene = crossing_scene(sprites, bg=background(DATA, size), fps=fps, seconds_each=seconds_each, overlap=0.5,
                           face_width=face_width or size[0] / 10, seed=seed)
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"{name}.mp4"
    truth = scene.write(path)
    return path, people, truth


def gallery_10k(fp: FacePipeline, listed: list[tuple[str, list[Path]]], n: int = 10_000) -> MemoryIdentifier:
    """The listed people's templates (photo 0) plus real LFW templates of other people, padded to
    `n` with perturbed copies of those real templates (distractors shaped like real faces)."""
    vecs, ids = [], []
    for name, photos in listed:
        vecs.append(fp.embed(photos[0]).vector)
        ids.append(name)
    listed_names = {n for n, _ in listed}
    real = [(v, i) for v, i in _real_templates(fp) if i not in listed_names]
    rng = np.random.default_rng(0)
    base = np.stack([v for v, _ in real])
    k = 0
    while len(ids) < n:
        v = base[k % len(base)] + rng.normal(0, 0.35 / np.sqrt(base.shape[1]), base.shape[1]).astype(np.float32) * 4
        vecs.append(v / np.linalg.norm(v))
        ids.append(f"distractor-{k}")
        k += 1
    return MemoryIdentifier(np.stack(vecs), ids, model=fp.embedder.model_id)


_REAL: list[tuple[np.ndarray, str]] = []


def _real_templates(fp: FacePipeline) -> list[tuple[np.ndarray, str]]:
    """Templates of 150 LFW people (one photo each), computed once per run."""
    if not _REAL:
        from _common import lfw_identification_subset

        for path, ident in lfw_identification_subset()[::10][:150]:
            try:
                _REAL.append((fp.embed(path).vector, ident))
            except Exception:  # noqa: BLE001 - a photo without a detectable face is skipped
                continue
    return _REAL


# ----------------------------------------------------------------------------- 1. throughput
def run_pipeline(video: Path, cfg: dict, **kw) -> tuple[float, object]:
    pipe = build_pipeline(parse_camera({"name": "bench", "source": str(video), **cfg}), **kw)
    s = pipe.run()
    pipe.close()
    return s.fps, s


def peer_face_recognition_fps(video: Path, known: list[np.ndarray], max_frames: int) -> float:
    import face_recognition

    from clearsight.io.video import open_source

    n = 0
    t0 = time.perf_counter()
    for f in open_source(video):
        locs = face_recognition.face_locations(f.image)
        encs = face_recognition.face_encodings(f.image, locs)
        for e in encs:
            face_recognition.compare_faces(known, e, tolerance=0.6)
        n += 1
        if n >= max_frames:
            break
    return n / (time.perf_counter() - t0)


def bench_throughput(quick: bool) -> None:
    fp = FacePipeline()
    rows = []
    for label, size in (("720p", (1280, 720)), ("1080p", (1920, 1080))):
        video, people, _ = compose(size, 3, 20, 1.6 if quick else 2.4, 25, f"thr-{label}")
        ident = gallery_10k(fp, people[:2], 10_000)
        for stage, cfg, kw in (
            ("detect (BlazeFace)", {"track": {"enabled": False}, "output": {"face_seen": "off"}}, {}),
            ("detect + track", {}, {}),
            ("detect + track + recognise (10k list)", {"watchlist": {"samples": 3}}, {"watchlist_identifier": ident}),
            ("detect every 3rd frame + track + recognise", {"detect": {"every_n": 3}, "watchlist": {"samples": 3}},
             {"watchlist_identifier": ident}),
        ):
            fps, s = run_pipeline(video, cfg, **kw)
            rows.append((label, "clearsight", stage, round(fps, 1), s.frames))
        known = [fp.embed(ph[0]).vector for _, ph in people[:2]]
        try:
            import face_recognition

            known = [face_recognition.face_encodings(face_recognition.load_image_file(str(ph[0])))[0] for _, ph in people[:2]]
            pf = peer_face_recognition_fps(video, known, 15 if label == "1080p" else 25)
            rows.append((label, "face_recognition 1.3.0", "HOG detect + encode + compare, every frame", round(pf, 2), 15 if label == "1080p" else 25))
        except ImportError:
            rows.append((label, "face_recognition", "not installed", float("nan"), 0))
    table(("resolution", "system", "stages", "fps", "frames"), rows, "Throughput (frames per second, one camera, whole pipeline)")


# ----------------------------------------------------------------------------- 2. sustained streams
def bench_streams(quick: bool) -> None:
    video, _, _ = compose((1280, 720), 4, 40, 2.0, 25, "streams-720p")
    seconds = 6 if quick else 10
    rows = []
    for every_n in (1, 3):
        for n in (1, 2, 3, 4, 6, 8):
            pipes = [build_pipeline(parse_camera({"name": f"s{i}", "source": str(video), "detect": {"every_n": every_n},
                                                  "source_options": {"realtime": True, "drop": "latest", "loop": True}}))
                     for i in range(n)]
            threads = [threading.Thread(target=p.run, daemon=True) for p in pipes]
            for t in threads:
                t.start()
            time.sleep(seconds)
            for p in pipes:
                p.stop()
            for t in threads:
                t.join(30)
            delivered = [p.summary.frames for p in pipes]
            dropped = [p.summary.dropped for p in pipes]
            rates = [d / max(1e-9, d + x) for d, x in zip(delivered, dropped)]
            worst = min(rates)
            rows.append((f"{n}", f"every {every_n}", round(min(d / seconds for d in delivered), 1), f"{100 * (1 - worst):.0f}%",
                         "yes" if worst >= 0.95 else "no"))
            for p in pipes:
                p.close()
            if worst < 0.6:
                break
    table(("streams", "detection", "worst stream fps", "worst frames dropped", "sustained (>=95% of 25 fps)"), rows,
          "Real-time 720p streams at 25 fps (BlazeFace + ByteTrack), one 2-core machine")


# ----------------------------------------------------------------------------- 3. event latency
def bench_latency(quick: bool) -> None:
    received: list[tuple[float, dict]] = []

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):  # noqa: N802
            import json

            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((time.time(), body))
            self.send_response(204)
            self.end_headers()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/hook"
    video, people, truth = compose((1280, 720), 4, 60, 2.0, 25, "latency-720p")
    first_frame = {}
    for i, gt in enumerate(truth):
        for name, _ in gt:
            first_frame.setdefault(name, i)
    rows = []
    for every_n in (1, 3):
        received.clear()
        cfg = {"name": "lat", "source": str(video), "detect": {"every_n": every_n},
               "source_options": {"realtime": True, "drop": "latest"},
               "sinks": [{"type": "webhook", "url": url, "events": ["face.seen"], "snapshot": True, "backoff_s": 0.1}]}
        pipe = build_pipeline(parse_camera(cfg))
        t_start = time.time()
        pipe.run()
        for sink, _ in pipe.router.sinks.values():
            getattr(sink, "flush", lambda t: None)(10)
        pipe.close()
        # latency from the moment the person's first frame was "captured" (start + pts) to the webhook receiving it
        fps = 25.0
        lat = []
        for t_recv, body in received:
            # attribute to the earliest person whose first frame precedes this event
            frame = body["data"]["frame"]
            appear = min((f for f in first_frame.values() if f <= frame), key=lambda f: frame - f, default=None)
            if appear is not None:
                lat.append(t_recv - (t_start + appear / fps))
        if lat:
            rows.append((f"every {every_n}", len(lat), round(1000 * statistics.median(lat)), round(1000 * max(lat))))
    srv.shutdown()
    table(("detection", "people (face.seen webhooks)", "median ms", "max ms"), rows,
          "Event latency: person appears in a live 720p stream -> webhook receives face.seen (with snapshot)")


# ----------------------------------------------------------------------------- 4. tracking accuracy
def bench_tracking() -> None:
    from trackers import OCSORTTracker, SORTTracker

    from clearsight.stream.config import TrackConfig
    from clearsight.stream.detectors import create_stage_detector
    from clearsight.stream.evaluation import mot_scores, read_mot_csv, read_mot_detections, track_detection_rows
    from clearsight.io.video import open_source

    root = require_data("tracking", "pedestrians", "tud_campus")
    gt = read_mot_csv(root / "gt.csv")
    public = read_mot_detections(root / "public_detections" / "det.txt")
    det = create_stage_detector("opencv-hog-people")
    t0 = time.perf_counter()
    hog = []
    for f in open_source(root / "tud_campus_15fps.mp4"):
        for o in det.detect(f.image):
            hog.append((f.index + 1, o.box.x1, o.box.y1, o.box.width, o.box.height, o.score))
    hog_ms = 1000 * (time.perf_counter() - t0) / 71

    def peer(cls, dets, scale):
        import supervision as sv

        trk = cls(frame_rate=15) if cls is not OCSORTTracker else cls(frame_rate=15)
        rows = []
        by = {}
        for fr, x, y, w, h, s in dets:
            by.setdefault(fr, []).append((x, y, x + w, y + h, min(1.0, s * scale)))
        for fr in range(1, 72):
            d = by.get(fr, [])
            dd = sv.Detections(xyxy=np.array([r[:4] for r in d], dtype=np.float32).reshape(-1, 4),
                               confidence=np.array([r[4] for r in d], dtype=np.float32)) if d else sv.Detections.empty()
            out = trk.update(dd)
            for (x1, y1, x2, y2), tid in zip(out.xyxy, out.tracker_id):
                if tid >= 0:
                    rows.append((fr, int(tid), float(x1), float(y1), float(x2 - x1), float(y2 - y1)))
        return rows

    rows = []
    for det_name, dets, scale in (("public detections (shipped)", public, 0.01), (f"OpenCV HOG people ({hog_ms:.0f} ms/frame)", hog, 1.0)):
        for tname, fn in (
            ("clearsight ByteTrack adapter", lambda d=dets, s=scale: track_detection_rows(d, TrackConfig(), fps=15, score_scale=s)),
            ("trackers SORT (peer)", lambda d=dets, s=scale: peer(SORTTracker, d, s)),
            ("trackers OC-SORT (peer)", lambda d=dets, s=scale: peer(OCSORTTracker, d, s)),
        ):
            m = mot_scores(fn(), gt)
            rows.append((det_name, tname, round(m["mota"], 3), round(m["idf1"], 3), int(m["num_switches"]),
                         round(m["precision"], 3), round(m["recall"], 3)))
    table(("detections", "tracker", "MOTA", "IDF1", "ID switches", "precision", "recall"), rows,
          "Tracking on TUD-Campus (71 frames, 8 people; motmetrics, IoU >= 0.5)")


# ----------------------------------------------------------------------------- 5. watchlist accuracy
def bench_watchlist(quick: bool) -> None:
    fp = FacePipeline()
    scenes = 2 if quick else 4
    ours = {"tp": 0, "fp": 0, "fn": 0, "alerts": 0}
    peer = {"tp": 0, "fp": 0, "fn": 0, "alerts": 0}
    try:
        import face_recognition
    except ImportError:
        face_recognition = None
    for k in range(scenes):
        video, people, truth = compose((960, 540), 6, 80 + 6 * k, 2.0, 25, f"wl-{k}", face_width=90, seed=k)
        listed = people[:3]  # enrolled from photo 0; the video shows photo 1; people 3..5 are not listed
        listed_names = {n for n, _ in listed}
        ident = gallery_10k(fp, listed, 2_000)
        mem = MemorySink()
        pipe = build_pipeline(parse_camera({"name": "wl", "source": str(video), "watchlist": {"samples": 3}}),
                              watchlist_identifier=ident, extra_sinks=[(mem, "all")])
        pipe.run()
        pipe.close()
        alerted = [e.data["identity_id"] for e in mem.events if e.type == "watchlist.match"]
        ours["alerts"] += len(alerted)
        ours["tp"] += len(set(alerted) & listed_names)
        ours["fp"] += sum(1 for a in alerted if a not in listed_names) + (len(alerted) - len(set(alerted)))
        ours["fn"] += len(listed_names - set(alerted))
        if face_recognition is not None:
            from clearsight.io.video import open_source

            known = [face_recognition.face_encodings(face_recognition.load_image_file(str(ph[0])))[0] for _, ph in listed]
            names = [n for n, _ in listed]
            p_alerts = []
            wrong = 0
            for f in open_source(video):
                if f.index % 2:
                    continue  # every other frame, as its recipe suggests for speed
                small = cv2.resize(f.image, None, fx=0.5, fy=0.5)
                locs = face_recognition.face_locations(small)
                here = {n for n, _ in truth[f.index]}
                for e in face_recognition.face_encodings(small, locs):
                    hits = face_recognition.compare_faces(known, e, tolerance=0.6)
                    if any(hits):
                        who = names[int(np.argmin(face_recognition.face_distance(known, e)))]
                        p_alerts.append(who)
                        wrong += who not in here  # named someone who is not in the frame
            peer["alerts"] += len(p_alerts)
            peer["tp"] += len(set(p_alerts) & listed_names)
            peer["fn"] += len(listed_names - set(p_alerts))
            peer["fp"] += wrong
    rows = []
    for name, c, note in (("clearsight watchlist (track vote, 3 best frames, balanced)", ours, "one alert per track"),
                          ("face_recognition recipe (every 2nd frame, tolerance 0.6)", peer, "one alert per matching frame")):
        if c["alerts"] == 0 and name.startswith("face_recognition") and face_recognition is None:
            continue
        # precision per alert: the share of alerts that name the right (present, listed) person once
        precision = (c["alerts"] - c["fp"]) / max(1, c["alerts"])
        recall = c["tp"] / max(1, c["tp"] + c["fn"])
        rows.append((name, scenes * 3, c["tp"], c["fn"], round(precision, 3), round(recall, 3), c["alerts"], note))
    table(("system", "listed people crossing", "alerted", "missed", "precision (alerts)", "recall", "alerts raised", "behaviour"), rows,
          "Watchlist on composed scenes (LFW people over TUD-Campus; 3 listed + 3 unlisted per scene; 2k-entry list)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*", default=None, help="throughput streams latency tracking watchlist")
    a = ap.parse_args()
    parts = {"tracking": lambda: bench_tracking(), "watchlist": lambda: bench_watchlist(a.quick),
             "throughput": lambda: bench_throughput(a.quick), "latency": lambda: bench_latency(a.quick),
             "streams": lambda: bench_streams(a.quick)}
    for name, fn in parts.items():
        if a.only is None or name in a.only:
            t0 = time.perf_counter()
            fn()
            print(f"({name}: {time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
