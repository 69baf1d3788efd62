"""Photo library: clustering faces by person, measured on real faces, and import speed.

1. Clustering the 3,011 LFW-gray photos of 963 people (one template per photo: the
   largest face, as `bench/identify.py` caches them): pairwise precision, recall and
   F1, and BCubed F, for each candidate (dlib's Chinese whispers, scikit-learn's DBSCAN
   and HDBSCAN, Immich's incremental scheme, and the library's incremental rule), each
   at a sweep of its threshold, next to the peer recipe a user would pick
   (face_recognition embeddings + dlib Chinese whispers at 0.5). Photos where no face
   was found count as singletons. The incremental schemes see the photos in a random
   order, one at a time, and in folder order (the import's: LFW keeps one person a folder);
   the library's window rule (`assign_window`) sees them a window of photos at a time, as the
   import groups them. Error classes: merges (false pairs inside
   predicted people) and splits (true people spread over several predicted people).
2. Import speed: `PhotoLibrary.import_dir` (EXIF, hash, thumbnail, every face detected
   and embedded, clustering, sealed templates, SQL) on N LFW photos, seconds per 1,000.
3. Scale: the incremental rule against a collection of 1M synthetic templates (FAISS,
   the gallery's index class): assignment latency per face and the collection's memory.

    .venv/bin/python bench/photos.py [--import-photos 300] [--scale 1000000]

Embeddings are cached in <data_dir>/bench-cache (shared with bench/identify.py).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table  # noqa: E402
from identify import lfw_rows, ours  # noqa: E402

from clearsight.apps.photos.clustering import (ClusterRule, assign_incrementally, assign_window,  # noqa: E402
                                               chinese_whispers, dbscan, distance_for, hdbscan)
from clearsight.gallery.index.base import create_index  # noqa: E402


# ------------------------------------------------------------------ the peer, in checkpointed shards
def peer_shard(rows: list[dict], shard: int, shards: int) -> None:
    """face_recognition exactly as its README uses it (HOG, upsample 1) on every `shards`-th
    photo, saved every 50 photos: on a shared machine the run may not finish, and a partial
    set still compares both systems on the same photos."""
    import face_recognition

    from identify import cache_dir

    path = cache_dir() / f"photos_peer_fr.{shard}of{shards}.npz"
    done: dict[int, np.ndarray] = {}
    if path.exists():
        z = np.load(path)
        done = dict(zip(z["i"].tolist(), z["x"]))
    todo = [i for i in range(shard, len(rows), shards) if i not in done]
    for n, i in enumerate(todo, 1):
        enc = face_recognition.face_encodings(face_recognition.load_image_file(rows[i]["abs"]))
        done[i] = np.asarray(enc[0], np.float32) if enc else np.full(128, np.nan, np.float32)
        if n % 50 == 0 or n == len(todo):
            keys = sorted(done)
            np.savez(path.with_suffix(".tmp.npz"), i=np.array(keys), x=np.stack([done[k] for k in keys]))
            os.replace(path.with_suffix(".tmp.npz"), path)
            print(f"# peer shard {shard}: {len(done)} photos", flush=True)


def peer_partial(n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(vectors with NaN rows where not computed, computed mask) from the shards and the full cache."""
    from identify import cache_dir

    full = cache_dir() / "lfw_all_face_recognition.npz"
    if full.exists():
        x = np.load(full)["x"]
        return x, np.ones(len(x), bool)
    x, have = np.full((n, 128), np.nan, np.float32), np.zeros(n, bool)
    for f in cache_dir().glob("photos_peer_fr.*of*.npz"):
        z = np.load(f)
        x[z["i"]], have[z["i"]] = z["x"], True
    return (x, have) if have.any() else None


# ------------------------------------------------------------------ metrics
def pair_counts(pred: np.ndarray, truth: np.ndarray) -> tuple[int, int, int]:
    """(true-positive pairs, predicted pairs, true pairs) from the contingency table."""
    _, t_inv = np.unique(truth, return_inverse=True)
    _, p_inv = np.unique(pred, return_inverse=True)
    cont = np.zeros((p_inv.max() + 1, t_inv.max() + 1), np.int64)
    np.add.at(cont, (p_inv, t_inv), 1)
    c2 = lambda x: (x * (x - 1) // 2).sum()  # noqa: E731
    return int(c2(cont)), int(c2(cont.sum(1))), int(c2(cont.sum(0)))


def scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tp, pp, tt = pair_counts(pred, truth)
    p = tp / pp if pp else 1.0
    r = tp / tt if tt else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    # BCubed
    bp, br = [], []
    for i in range(len(pred)):
        same_c = pred == pred[i]
        same_l = truth == truth[i]
        both = np.count_nonzero(same_c & same_l)
        bp.append(both / np.count_nonzero(same_c))
        br.append(both / np.count_nonzero(same_l))
    bpm, brm = float(np.mean(bp)), float(np.mean(br))
    # error classes
    people = len(np.unique(pred))
    merged = sum(len(np.unique(truth[pred == c])) > 1 for c in np.unique(pred))
    split = sum(len(np.unique(pred[truth == t])) > 1 for t in np.unique(truth))
    return {"P": p, "R": r, "F1": f, "BF": 2 * bpm * brm / (bpm + brm), "people": people,
            "false_pairs": pp - tp, "missed_pairs": tt - tp, "merged": merged, "split": split}


def with_singletons(labels_kept: np.ndarray, kept: np.ndarray, n: int) -> np.ndarray:
    out = np.empty(n, np.int64)
    out[kept] = labels_kept
    nxt = labels_kept.max(initial=-1) + 1
    for i in np.flatnonzero(~kept):
        out[i], nxt = nxt, nxt + 1
    return out


def incremental(x: np.ndarray, rule: ClusterRule, order: np.ndarray) -> np.ndarray:
    """One photo at a time into a FAISS collection, as the library imports."""
    index = create_index("flat", x.shape[1], threads=1)  # one query at a time: OpenMP only spins
    person_of: dict[int, int] = {}
    counter = iter(range(10**9))
    for i in order:
        index.add(np.array([i]), x[i : i + 1])
        person_of.update(assign_incrementally(index, np.array([i]), x[i : i + 1],
                                              lambda ids: {j: person_of[j] for j in ids}, rule, lambda: next(counter)))
    return np.array([person_of[i] for i in range(len(x))])


def windowed(x: np.ndarray, rule: ClusterRule, order: np.ndarray, window: int) -> np.ndarray:
    """`window` photos at a time (`assign_window`), as the import groups them (`photos.group_every`)."""
    index = create_index("flat", x.shape[1], threads=1)
    person_of: dict[int, int] = {}
    counter = iter(range(10**9))
    for start in range(0, len(order), window):
        ids = np.asarray(order[start : start + window])
        index.add(ids, x[ids])
        person_of.update(assign_window(index, ids, x[ids], lambda ids: {j: person_of[j] for j in ids}, rule,
                                       lambda: next(counter)))
    return np.array([person_of[i] for i in range(len(x))])


# ------------------------------------------------------------------ 1. clustering quality
def clustering(rows: list[dict], ours_x: np.ndarray, peer_x: np.ndarray | None,
               subset: np.ndarray | None = None) -> None:
    """`subset`: the photos the peer was run on (all, when its run finished)."""
    if subset is not None and not subset.all():
        rows, ours_x, peer_x = [r for r, k in zip(rows, subset) if k], ours_x[subset], peer_x[subset]
    truth = np.array([r["identity"] for r in rows])
    n = len(rows)
    kept = ~np.isnan(ours_x).any(1)
    x = ours_x[kept] / np.linalg.norm(ours_x[kept], axis=1, keepdims=True)
    order = np.random.default_rng(0).permutation(len(x))
    results = []

    def run(name: str, param: str, fn) -> None:  # noqa: ANN001
        t0 = time.perf_counter()
        labels = fn()
        s = scores(with_singletons(np.asarray(labels), kept, n), truth)
        results.append([name, param, s["P"], s["R"], s["F1"], s["BF"], s["people"], s["merged"], s["split"],
                        f"{time.perf_counter() - t0:.1f}"])
        print("#", results[-1], flush=True)

    for sim in (0.93, 0.94, 0.95, 0.96):
        d = distance_for(sim)
        run("dlib Chinese whispers", f"cos>={sim}", lambda d=d: chinese_whispers(x, d))
    for sim in (0.94, 0.95, 0.96):
        d = distance_for(sim)
        run("sklearn DBSCAN min_samples=2", f"cos>={sim}", lambda d=d: dbscan(x, d, 2))
    for method in ("eom", "leaf"):
        run("sklearn HDBSCAN min_cluster=2", f"selection {method}", lambda method=method: hdbscan(x, 2, method))
    for vote, name in ((False, "Immich incremental (nearest face)"), (True, "library incremental (vote)")):
        for sim, mf in ((0.94, 2), (0.945, 2), (0.95, 2), (0.945, 3)):
            run(name, f"cos>={sim} min_faces={mf}",
                lambda sim=sim, mf=mf, vote=vote: incremental(x, ClusterRule(sim, mf, vote=vote), order))
    # arrival order: random (above), and folder order, the import's (LFW: one person a folder,
    # so a person's photos arrive in a row, like an event's burst in a real library)
    folder = np.argsort(np.array([r["path"] for r, k in zip(rows, kept) if k]), kind="stable")
    for sim in (0.94, 0.945, 0.95):
        run("Immich incremental (nearest face), FOLDER order", f"cos>={sim}",
            lambda sim=sim: incremental(x, ClusterRule(sim, 2, vote=False), folder))
    for sim, window, share in ((0.945, 16, 2 / 3), (0.945, 32, 2 / 3), (0.94, 32, 2 / 3), (0.95, 32, 2 / 3),
                               (0.945, 32, 0.5), (0.945, 32, 0.75), (0.945, 32, 1.0)):
        for oname, o in (("random", order), ("FOLDER", folder)):
            run(f"window rule (assign_window), {oname} order", f"cos>={sim} window={window} share={share:.2f}",
                lambda sim=sim, window=window, share=share, o=o: windowed(
                    x, ClusterRule(sim, 2, vote=False, join_share=share), o, window))
    if peer_x is not None:
        pk = ~np.isnan(peer_x).any(1)
        px = peer_x[pk]
        for thr in (0.5, 0.45, 0.4):
            t0 = time.perf_counter()
            labels = chinese_whispers(px, thr)
            s = scores(with_singletons(np.asarray(labels), pk, n), truth)
            results.append([f"PEER face_recognition + dlib CW ({int((~pk).sum())} no face)", f"dist<{thr}",
                            s["P"], s["R"], s["F1"], s["BF"], s["people"], s["merged"], s["split"],
                            f"{time.perf_counter() - t0:.1f}"])
    table(["algorithm", "parameter", "pairwise P", "pairwise R", "pairwise F1", "BCubed F",
           f"people ({len(set(truth))} true)",
           "merged people", "split people", "s"], results,
          f"Clustering LFW-gray: {n} photos, {len(set(truth))} people ({int((~kept).sum())} photos without a face "
          "found by ours)")


# ------------------------------------------------------------------ 2. import speed
def import_speed(rows: list[dict], count: int, workers: list[int | None]) -> None:
    """Import the first `count` photos (a fresh library per run) and score the library's own
    people against the truth: the speed and the grouping of exactly what a user runs.
    (Section 1 scores one cached template per photo; an import embeds every face.)"""
    from sqlalchemy import select

    from clearsight.apps.photos.library import PhotoLibrary
    from clearsight.config import Settings
    from clearsight.db.tables.photos import PhotoFaceRow, PhotoRow

    results = []
    for w in workers:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "photos"
            identity = {}
            for r in rows[:count]:
                dst = src / Path(r["path"]).parent.name / Path(r["path"]).name
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(r["abs"], dst)
                identity[str(dst.resolve())] = r["identity"]
            settings = Settings(data_dir=Path(tmp) / "data", models_dir=Settings().model_dir)
            if w is not None:
                settings.photos.workers = w
            lib = PhotoLibrary.open(settings)
            lib.pipeline.embedder, lib.pipeline.detector, lib.pipeline.fallback  # models load outside the timing
            lib.keys.protector.transform(np.zeros((1, lib.pipeline.embedder.dim), np.float32), lib.keys.active)
            load0 = os.getloadavg()[0]
            c0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            report = lib.import_dir(src, actor="bench")
            wall = time.perf_counter() - t0
            c1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
            # the library's people, scored per photo: a photo belongs to the person of its largest
            # face (the truth labels one person a photo); photos without a face are singletons
            people = lib.people_with_photos()
            largest: dict[str, tuple[float, str]] = {}
            with lib.transaction() as sess:
                for path, person, x1, y1, x2, y2 in sess.execute(
                        select(PhotoRow.path, PhotoFaceRow.person_id, PhotoFaceRow.x1, PhotoFaceRow.y1,
                               PhotoFaceRow.x2, PhotoFaceRow.y2).join(PhotoRow, PhotoRow.id == PhotoFaceRow.photo_id)):
                    area = (x2 - x1) * (y2 - y1)
                    if path not in largest or area > largest[path][0]:
                        largest[path] = (area, person)
            lib.close()
        paths = sorted(identity)
        truth = np.array([identity[p] for p in paths])
        kept = np.array([p in largest for p in paths])
        pid = {p: i for i, p in enumerate(sorted({v[1] for v in largest.values()}))}
        labels = np.array([pid[largest[p][1]] for p in paths if p in largest], np.int64)
        s = scores(with_singletons(labels, kept, len(paths)), truth)
        results.append([w or getattr(settings.photos, "workers", None) or settings.threads, report.imported, report.faces, wall, wall / report.imported * 1000,
                        cpu / report.imported * 1000, s["F1"], s["BF"], s["merged"], s["split"], len(people),
                        f"{load0:.1f} / {os.getloadavg()[0]:.1f}"])
        print("#", results[-1], flush=True)
    table(["workers", "photos", "faces", "wall s", "s / 1,000 photos (wall)", "CPU s / 1,000 photos",
           "pairwise F1", "BCubed F", "merged people", "split people", "library people",
           "load (1 min) before / after"], results,
          "Import: `clearsight photos import` on LFW-gray photos (target <= 60 s / 1,000 on 2 cores), "
          "and the grouping it made")


# ------------------------------------------------------------------ 3. scale
def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def scale(n: int, probes: int = 200) -> None:
    """Synthetic people (5 faces each, spread like real same-person pairs) in the library's
    collection class; then new faces assigned one at a time. Persons of the stored faces
    come from arithmetic, as the library's come from one SQL query per photo."""
    rng = np.random.default_rng(1)
    dim, per = 128, 5
    people = n // per
    centres = rng.standard_normal((people, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    before = rss_mb()
    index = create_index("auto", dim, threads=1)
    t0 = time.perf_counter()
    for start in range(0, n, 100_000):
        ids = np.arange(start, min(n, start + 100_000))
        v = centres[ids // per] + 0.02 * rng.standard_normal((len(ids), dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        index.add(ids, v)
    build = time.perf_counter() - t0
    mem = rss_mb() - before
    extra: dict[int, int] = {}
    rule = ClusterRule(0.945, 2)
    who = rng.integers(0, people, probes)
    q = centres[who] + 0.02 * rng.standard_normal((probes, dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    counter = iter(range(people, 10**9))
    lat, right = [], 0
    for i in range(probes):
        fid = np.array([n + i])
        t = time.perf_counter()
        index.add(fid, q[i : i + 1])
        placed = assign_incrementally(index, fid, q[i : i + 1],
                                      lambda ids: {j: (j // per if j < n else extra[j]) for j in ids},
                                      rule, lambda: next(counter))
        lat.append((time.perf_counter() - t) * 1000)
        extra.update(placed)
        right += placed[n + i] == who[i]
    d = index.describe()
    table(["faces", "index", "build s", "assign ms p50", "assign ms p95", "joined the right person",
           "collection RSS MB", "load (1 min)"],
          [[n, d.get("factory") or d.get("kind", "?"), build, float(np.percentile(lat, 50)),
            float(np.percentile(lat, 95)), f"{right}/{probes}", mem, os.getloadavg()[0]]],
          f"Incremental assignment against a collection of {n:,} synthetic templates (one face at a time)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--import-photos", type=int, default=200)
    ap.add_argument("--workers", type=int, nargs="*", default=[0],
                    help="import workers to measure (0: the default, `photos.workers`)")
    ap.add_argument("--scale", type=int, default=1_000_000)
    ap.add_argument("--skip", nargs="*", default=[], choices=["clustering", "peer", "import", "scale"])
    ap.add_argument("--peer-shard", type=int, nargs=2, metavar=("I", "N"),
                    help="only compute shard I of N of the peer's embeddings (checkpointed), then exit")
    a = ap.parse_args()
    if a.peer_shard:
        peer_shard(lfw_rows(), *a.peer_shard)
        return
    print("machine:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    rows = lfw_rows()
    if "clustering" not in a.skip:
        o = ours(rows)
        p = None if "peer" in a.skip else peer_partial(len(rows))
        if p is None:
            clustering(rows, o["x"], None)
        else:
            if not p[1].all():
                clustering(rows, o["x"], None)  # ours on every photo, then both on the photos the peer got to
            clustering(rows, o["x"], p[0], p[1])
    if "import" not in a.skip:
        import_speed(rows, a.import_photos, [w or None for w in a.workers])
    if "scale" not in a.skip:
        scale(a.scale)
    print("machine:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
