"""Which face embedder, alone or fused with dlib, identifies best? Open-set 1:N on LFW-gray.

Every embedder that ships inside a reachable package, on the same faces: each of
LFW-gray's 3,011 images is detected once (the default pipeline's detectors:
MediaPipe, CenterFace fallback; largest face) and that face is embedded by every
embedder, so the comparison is of embedders only. The `face_recognition` peer
runs its own pipeline (HOG + dlib ResNet), as its README uses it.

Protocol (bench/identify.py's split): people outside LFW's identification subset
(805 of 963; the subset calibrates tails and fusion weights) are split at random,
`--splits` times: N are enrolled with one image, their other images are mated
probes, every image of the other held-out people is a non-mated probe (only
images where every system, the peer included, found a face).
- FNIR at FPIR 1e-2 and 1e-3, N = 100 and 500: the oracle threshold (the
  (1 - FPIR) quantile of the measured non-mated maxima) and, for embedders with an
  open-set calibration, the calibrated one with the FPIR it actually gives;
  face_recognition's own 0.6 rule with the FPIR it actually gives.
- TAR at FMR 1e-4 over every genuine and impostor pair of the held-out people.
- Larger N (10k, 1M), *modelled*: the threshold from the impostor tail fitted on
  the calibration subset (FPIR(N, t) = 1 - (1 - FMR(t))^N, exponential tail beyond
  FMR 1e-3, see gallery/openset.py), FNIR = share of genuine pairs of the held-out
  people below it. Beyond the tail's floor nothing vouches for the rate: marked.
Fusion: score level, `vision/fused_embedding.py`: each embedder's cosine divided by
the std of its impostor scores on the calibration subset (a z-normalised sum up to
a constant), realised as one weighted, concatenated embedding.

    .venv/bin/python bench/embedders.py --embed            # fill the embedding cache (slow: run in background)
    .venv/bin/python bench/embedders.py --probe            # crop / input-scale choices on fold-1 pairs
    .venv/bin/python bench/embedders.py [--splits 20]      # the tables

Embeddings are cached in <data_dir>/bench-cache/lfw_all_<model_id>.npz (bench/identify.py reads the same files).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import require_data, table, threshold_at_fmr  # noqa: E402
from identify import (  # noqa: E402
    _compact,
    cache_dir,
    calibration_rows,
    clopper_pearson_upper,
    lfw_rows,
    pair_scores,
    rates,
    split,
    tail_entry,
)

DEFAULT_EMBEDDERS = ("dlib-resnet-onnx-flip", "faceres", "faceres-deep", "mobileface", "mobilefacenet", "facenet")
DLIB = "dlib-resnet-onnx-flip"


# ------------------------------------------------------------------ embedding cache
def _cache_file(model_id: str, shard: str = "") -> Path:
    return cache_dir() / f"lfw_all_{model_id}{'.shard' + shard.replace('/', 'of') if shard else ''}.npz"


def selected_rows(rows: list[dict[str, str]], calib_people: int) -> np.ndarray:
    """Row indices embedded: every held-out image, plus the calibration images of the
    first `calib_people` people of the identification subset (0 = all 158)."""
    cal = calibration_rows(rows)
    if calib_people:
        keep = sorted({rows[i]["identity"] for i in cal})[:calib_people]
        cal = [i for i in cal if rows[i]["identity"] in set(keep)]
    return np.sort(np.concatenate([held_out(rows), np.asarray(cal, int)]))


def embed_all(rows: list[dict[str, str]], names: list[str], log_every: int = 50, subset: np.ndarray | None = None,
              shard: str = "") -> None:
    """Detect each image once, embed its largest face with every embedder lacking a cache.
    Checkpoints every `log_every` images so an interrupted run resumes; `shard` "k/n"
    takes every n-th selected row from the k-th (several processes, merged by `load`)."""
    from clearsight.errors import ModelError
    from clearsight.face.pipeline import FacePipeline
    from clearsight.io import load_image
    from clearsight.vision.face_embedding import create_embedder, embed_faces
    from clearsight.vision.quality import assess_quality

    pipe = FacePipeline()
    todo = []
    for n in names:
        try:
            e = create_embedder(n)
        except ModelError as exc:
            print(f"# {n}: not available ({exc})", flush=True)
            continue
        done_shards = list(cache_dir().glob(f"lfw_all_{glob_escape(e.model_id)}.shard*of*.npz"))
        if _cache_file(e.model_id).exists() or _cache_file(e.model_id, shard).exists() or (done_shards and not shard):
            continue
        part = cache_dir() / f"partial_{e.model_id}{shard.replace('/', 'of')}.npz"
        if part.exists():
            z = np.load(part)
            x, q, done = z["x"], z["q"], int(z["done"])
        else:
            x, q, done = np.full((len(rows), e.dim), np.nan, np.float32), np.full(len(rows), np.nan, np.float32), 0
        todo.append({"e": e, "x": x, "q": q, "done": done, "ms": [], "part": part})
    if not todo:
        return
    order = np.arange(len(rows)) if subset is None else subset
    if shard:
        k, n = (int(v) for v in shard.split("/"))
        order = order[k::n]
    start = min(t["done"] for t in todo)
    t0 = time.perf_counter()
    for j in range(start, len(order)):
        i = int(order[j])
        rgb = load_image(rows[i]["abs"])
        faces = pipe.detect(rgb)
        face = max(faces, key=lambda f: f.box.area) if faces else None
        qual = assess_quality(rgb, face, pipe.settings).score if face is not None else np.nan
        for t in todo:
            if j < t["done"] or face is None:
                continue
            s = time.perf_counter()
            t["x"][i] = embed_faces(t["e"], rgb, [face])[0].vector
            t["ms"].append((time.perf_counter() - s) * 1000)
            t["q"][i] = qual
        if (j + 1) % log_every == 0 or j + 1 == len(order):
            for t in todo:
                t["done"] = j + 1
                np.savez(t["part"], x=t["x"], q=t["q"], done=t["done"])
            print(f"# {j + 1}/{len(order)} {time.perf_counter() - t0:.0f}s "
                  + " ".join(f"{t['e'].name}:{np.mean(t['ms'] or [0]):.0f}ms" for t in todo), flush=True)
    for t in todo:
        np.savez(_cache_file(t["e"].model_id, shard), x=t["x"], q=t["q"], model=np.asarray(t["e"].model_id),
                 ms=np.asarray(np.mean(t["ms"]) if t["ms"] else np.nan))
        t["part"].unlink(missing_ok=True)


def load(names: list[str], partial: bool = False) -> dict[str, dict[str, np.ndarray]]:
    from clearsight.errors import ModelError
    from clearsight.vision.face_embedding import create_embedder

    out = {}
    for n in names:
        try:
            mid = create_embedder(n).model_id
        except ModelError:
            continue
        f = _cache_file(mid)
        mine = list(cache_dir().glob(f"lfw_all_{glob_escape(mid)}.shard*of*.npz"))
        if f.exists() and not mine:  # the shards are this bench's own run: same faces for every embedder
            z = np.load(f, allow_pickle=False)
            out[n] = {k: z[k] for k in z.files}
            continue
        shards = sorted(cache_dir().glob(f"lfw_all_{glob_escape(mid)}.shard*of*.npz"))
        if partial:  # runs cut short: their checkpoints (rows not reached are NaN, i.e. left out)
            shards += sorted(cache_dir().glob(f"partial_{glob_escape(mid)}*of*.npz"))
        if shards:  # merge: each shard holds its rows, NaN elsewhere
            zs = [np.load(p, allow_pickle=False) for p in shards]
            x = zs[0]["x"].copy()
            q = zs[0]["q"].copy()
            for z in zs[1:]:
                have = ~np.isnan(z["x"][:, 0])
                x[have], q[have] = z["x"][have], z["q"][have]
            out[n] = {"x": x, "q": q, "model": np.asarray(mid),
                      "ms": np.asarray(np.mean([float(z["ms"]) for z in zs if "ms" in z.files] or [np.nan]))}
    return out


def glob_escape(s: str) -> str:
    import glob

    return glob.escape(s)


# ------------------------------------------------------------------ scores
def peer_held_out(rows: list[dict[str, str]], shard: str = "", partial: bool = False) -> dict[str, np.ndarray] | None:
    """face_recognition (HOG + dlib ResNet, as its README uses it) on the held-out people only:
    the peer needs no calibration set, and HOG at upsample 1 is the slowest step of this bench.
    `shard` "k/n" embeds every n-th held-out image from the k-th (merged when all are done)."""
    full = cache_dir() / "lfw_all_face_recognition.npz"  # bench/identify.py's cache, if it exists
    if full.exists():
        z = np.load(full)
        return {"x": z["x"]}
    cache = cache_dir() / "lfw_heldout_face_recognition.npz"
    if cache.exists():
        z = np.load(cache)
        return {"x": z["x"]}
    shards = sorted(p for p in cache_dir().glob("lfw_heldout_face_recognition.shard*of*.npz") if ".partial" not in p.name)
    if not shard and partial:
        shards = sorted(set(shards) | set(cache_dir().glob("lfw_heldout_face_recognition.shard*of*.partial.npz")))
    if not shard and shards:
        n = int(shards[0].name.split("of")[-1].split(".")[0])
        if len(shards) < n and not partial:
            print(f"# face_recognition: only {len(shards)} of {n} shards done", flush=True)
            return None
        x = np.load(shards[0])["x"].copy()
        for p in shards[1:]:
            z = np.load(p)["x"]
            have = ~np.isnan(z[:, 0])
            x[have] = z[have]
        return {"x": x}
    try:
        import face_recognition
    except ImportError:
        return None
    held = held_out(rows)
    if shard:
        k, n = (int(v) for v in shard.split("/"))
        held = held[k::n]
        cache = cache_dir() / f"lfw_heldout_face_recognition.shard{k}of{n}.npz"
    part = cache.with_suffix(".partial.npz")
    x = np.full((len(rows), 128), np.nan, np.float32)
    start = 0
    if part.exists():
        z = np.load(part)
        x, start = z["x"], int(z["done"])
    t0 = time.perf_counter()
    for k in range(start, len(held)):
        i = held[k]
        enc = face_recognition.face_encodings(face_recognition.load_image_file(rows[i]["abs"]))
        if enc:
            x[i] = enc[0]
        if (k + 1) % 50 == 0:
            np.savez(part, x=x, done=k + 1)
            print(f"# face_recognition {k + 1}/{len(held)} {time.perf_counter() - t0:.0f}s", flush=True)
    np.savez(cache, x=x)
    part.unlink(missing_ok=True)
    return {"x": x}


def held_out(rows: list[dict[str, str]]) -> np.ndarray:
    """People outside the identification subset: never used for calibration or fusion weights."""
    return np.array([i for i, r in enumerate(rows) if r["in_identification_subset"] != "1"])


def fuse(parts: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """Concatenate L2-normalised embeddings, each scaled by sqrt(w): the dot product is
    the w-weighted sum of the cosines (what vision/fused_embedding.py does)."""
    from clearsight.vision.fused_embedding import fuse_vectors

    return fuse_vectors([x for x, _ in parts], [w for _, w in parts])


def systems(rows: list[dict[str, str]], emb: dict[str, dict[str, np.ndarray]]) -> tuple[dict[str, np.ndarray],
                                                                                      dict[str, str], dict[str, dict]]:
    """(name -> (3011, d) templates, NaN rows where a face is missing; name -> model_id;
    member model_id -> fusion weight record): single embedders plus each fused with dlib."""
    from clearsight.vision.fused_embedding import fused_model_id, impostor_weight

    cal = np.asarray(calibration_rows(rows))
    ids = np.asarray([r["identity"] for r in rows])
    out = {n: e["x"] for n, e in emb.items()}
    mids = {n: str(e["model"]) for n, e in emb.items()}
    weights = {}
    for n, e in emb.items():
        x = e["x"][cal]
        ok = ~np.isnan(x[:, 0])
        _, imp = pair_scores(x[ok], ids[cal][ok])
        weights[n] = {"weight": impostor_weight(imp), "impostor_mean": round(float(imp.mean()), 5),
                      "impostor_std": round(float(imp.std()), 5), "impostor_pairs": int(len(imp))}
    if DLIB in emb:
        for n in emb:
            if n == DLIB:
                continue
            name = f"{DLIB} + {n}"
            w = [weights[DLIB]["weight"], weights[n]["weight"]]
            out[name] = fuse([(emb[DLIB]["x"], w[0]), (emb[n]["x"], w[1])])
            mids[name] = fused_model_id([mids[DLIB], mids[n]], w)
    return out, mids, {mids[n]: w for n, w in weights.items()}


def calibrate(rows: list[dict[str, str]], sysx: dict[str, np.ndarray], mids: dict[str, str],
              weights: dict[str, dict]) -> None:
    """Write the fusion weights and each system's open-set calibration (merged into the shipped table)."""
    import json

    from clearsight import vision
    from clearsight.gallery import openset
    from clearsight.vision import fused_embedding  # noqa: F401  (vision.fused_embedding below)

    cal = calibration_rows(rows)
    ids = np.asarray([r["identity"] for r in rows])[cal]
    wpath = Path(vision.__file__).with_name("fusion_weights.json")
    wpath.write_text(json.dumps({"calibrated_on": "LFW-gray identification subset minus fold-1 pair images "
                                 "(bench/embedders.py --calibrate)", "models": weights}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {wpath}")
    vision.fused_embedding._weights.cache_clear()
    path = Path(openset.__file__).with_name(openset.CALIBRATION_FILE)
    table_ = json.loads(path.read_text()) if path.exists() else {}
    table_.setdefault("models", {})
    crows = []
    for name, x in sysx.items():
        if mids[name] in table_["models"]:
            continue  # calibrated on the full subset by bench/identify.py --calibrate: kept
        entry = tail_entry(mids[name], x[cal], ids)
        table_["models"][mids[name]] = entry
        crows.append([name, entry["impostor_pairs"], entry["tail_u"], entry["tail_rate"], entry["fmr_floor"]])
    path.write_text(_compact(json.dumps(table_, indent=1, sort_keys=True)) + "\n")
    openset._table.cache_clear()
    table(["system", "impostor pairs", "tail from (FMR 1e-3)", "exp. rate", "FMR floor"], crows,
          f"Open-set calibration written to {path.name}")


# ------------------------------------------------------------------ tables
def openset(rows, sysx: dict[str, np.ndarray], fr, splits: int, cal_tails: dict[str, dict],  # noqa: ANN001
            ns: tuple[int, ...] = (100, 500)) -> list[list]:
    ids = np.asarray([r["identity"] for r in rows])
    ok = np.ones(len(rows), bool)
    for x in sysx.values():
        ok &= ~np.isnan(x[:, 0])
    if fr is not None:
        ok &= ~np.isnan(fr["x"][:, 0])  # the same probes for every system
    out = []
    people = {ids[i] for i in held_out(rows) if ok[i]}
    for n in ns:
        if len(people) < n + 50:
            print(f"# N = {n}: only {len(people)} held-out people have a face in every system: not measured", flush=True)
            continue
        acc: dict[str, list] = {}
        for sp in range(splits):
            gal, mated, non = split(rows, ok, n, seed=sp)
            for name, x in sysx.items():
                m, nm, _ = rates(x[gal], ids[gal], x[mated], ids[mated], x[non])
                acc.setdefault(name, []).append((m, nm))
            if fr is not None:
                m, nm, _ = rates(fr["x"][gal], ids[gal], fr["x"][mated], ids[mated], fr["x"][non], distance=True)
                acc.setdefault("face_recognition 1.3.0 (peer)", []).append((m, nm))
        for name, runs in acc.items():
            m = np.concatenate([r[0] for r in runs])
            nm = np.concatenate([r[1] for r in runs])
            row = [name, n]
            for fpir in (1e-2, 1e-3):
                t_or = float(np.quantile(nm, 1 - fpir))
                row.append(float(np.mean(m < t_or)))
                tail = cal_tails.get(name)
                if tail is not None:
                    t = tail["cal"].threshold_for(fpir, n)
                    row += [float(np.mean(m < t)), float(np.mean(nm >= t))]
                else:
                    row += [float("nan"), float("nan")]
            if name.startswith("face_recognition"):
                k = int(np.sum(nm >= -0.6))
                row += [float(np.mean(m < -0.6)), k / len(nm), clopper_pearson_upper(k, len(nm))]
            else:
                row += [float("nan")] * 3
            row += [len(m), len(nm)]
            out.append(row)
    return out


def tails(rows, sysx: dict[str, np.ndarray], mids: dict[str, str]) -> dict[str, dict]:  # noqa: ANN001
    """Each system's impostor tail: the shipped calibration when there is one (what a
    search uses), else fitted here on the calibration rows as gallery/openset.py fits it."""
    from clearsight.gallery.openset import TailCalibration, calibration, fit_tail

    cal = np.asarray(calibration_rows(rows))
    ids = np.asarray([r["identity"] for r in rows])
    out = {}
    for name, x in sysx.items():
        shipped = calibration(mids[name])
        if shipped is not None:
            out[name] = {"cal": shipped}
            continue
        xc = x[cal]
        ok = ~np.isnan(xc[:, 0])
        gen, imp = pair_scores(xc[ok], ids[cal][ok])
        entry = fit_tail(name, imp, gen)
        out[name] = {"entry": entry, "cal": TailCalibration.from_dict(name, entry)}
    return out


def verification(rows, sysx: dict[str, np.ndarray], fr, cal_tails: dict[str, dict]) -> list[list]:  # noqa: ANN001
    """TAR at FMR 1e-4 (held-out people, all pairs), and modelled FNIR at large N."""
    from clearsight.gallery.openset import required_fmr

    held = held_out(rows)
    ids = np.asarray([r["identity"] for r in rows])
    out = []
    items = list(sysx.items())
    if fr is not None:
        items.append(("face_recognition 1.3.0 (peer)", None))
    for name, x in items:
        if x is None:
            xh = fr["x"][held].astype(np.float64)
            ok = ~np.isnan(xh[:, 0])
            xh, ih = xh[ok], ids[held][ok]
            sq = (xh ** 2).sum(1)
            d = -np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * xh @ xh.T, 0))
            iu = np.triu_indices(len(ih), 1)
            same = ih[iu[0]] == ih[iu[1]]
            gen, imp = d[iu][same], d[iu][~same]
        else:
            xh = x[held]
            ok = ~np.isnan(xh[:, 0])
            gen, imp = pair_scores(xh[ok], ids[held][ok])
        t4 = threshold_at_fmr(imp, 1e-4)
        row = [name, float(np.mean(gen >= t4)), len(gen), len(imp)]
        tail = cal_tails.get(name)
        for n in (100, 10_000, 1_000_000):
            for fpir in (1e-2, 1e-3):
                if tail is None:
                    row.append(float("nan"))
                    continue
                c = tail["cal"]
                need = required_fmr(fpir, n)
                v = float(np.mean(gen < c.threshold(need)))
                # * = the FMR needed is below the calibration's floor: the exponential tail extrapolated
                row.append(f"{v:.3g}*" if need < c.fmr_floor else v)
        out.append(row)
    return out


def probe(rows: list[dict[str, str]], step: int = 3) -> None:
    """Crop and input-scale variants on LFW fold-1 pairs: AUC and TAR at FAR 1e-2."""
    import csv

    from clearsight.face.pipeline import FacePipeline
    from clearsight.io import load_image
    from clearsight.vision import facenet as fn
    from clearsight.vision.face_embedding import embed_faces
    from clearsight.vision.mobileface import Human112Embedder

    lfw = require_data("faces", "lfw_gray")
    with open(lfw / "pairs_fold1.csv") as fh:
        pairs = [(str(lfw / r["image1"]), str(lfw / r["image2"]), r["same_person"] == "1") for r in csv.DictReader(fh)][::step]
    pipe = FacePipeline()
    faces = {}
    for p in sorted({p for a, b, _ in pairs for p in (a, b)}):
        rgb = load_image(p)
        fs = pipe.detect(rgb)
        faces[p] = (rgb, max(fs, key=lambda f: f.box.area)) if fs else None
    variants = {}
    for model, dim in (("mobileface", 256), ("mobilefacenet", 192)):
        for crop in ("aligned", "box"):
            for label, scale, offset in (("0..1", 1 / 255, 0.0), ("0..255", 1.0, 0.0), ("-1..1", 1 / 127.5, -1.0)):
                if model == "mobileface" and label != "0..255":
                    continue  # 0..1 and -1..1 give cosine ~1 for every pair (measured)
                variants[f"{model} {crop} {label}"] = Human112Embedder(model, dim, crop, scale, offset)
    for zoom in (0.9, 1.0, 1.1, 1.25):
        variants[f"facenet zoom {zoom}"] = fn.FaceNetEmbedder(template=fn.facenet_template(zoom))
    out = []
    for name, e in variants.items():
        vec = {p: (embed_faces(e, *it[:1], [it[1]])[0].vector if it else None) for p, it in faces.items()}
        s = np.array([float(vec[a] @ vec[b]) if vec[a] is not None and vec[b] is not None else -9 for a, b, _ in pairs])
        same = np.array([x for _, _, x in pairs])
        gen, imp = s[same], s[~same]
        auc = float(np.mean(gen[:, None] > imp[None, :]) + 0.5 * np.mean(gen[:, None] == imp[None, :]))
        t = threshold_at_fmr(imp, 1e-2)
        out.append([name, auc, float(np.mean(gen >= t)), float(np.mean(gen)), float(np.mean(imp))])
        print(out[-1], flush=True)
    table(["variant", "AUC", "TAR@FAR1e-2", "mean genuine cos", "mean impostor cos"], out,
          f"Crop / input-scale probe, LFW-gray fold-1 ({len(pairs)} pairs)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embed", action="store_true", help="fill the embedding cache and stop")
    ap.add_argument("--probe", action="store_true")
    ap.add_argument("--probe-step", type=int, default=3, help="every k-th fold-1 pair in the probe")
    ap.add_argument("--calibrate", action="store_true", help="write fusion weights and open-set calibration first")
    ap.add_argument("--embedders", default=",".join(DEFAULT_EMBEDDERS))
    ap.add_argument("--splits", type=int, default=20)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--peer-only", action="store_true", help="fill the face_recognition cache and stop")
    ap.add_argument("--calib-people", type=int, default=0,
                    help="embed only this many calibration-subset people (0 = all 158)")
    ap.add_argument("--partial", action="store_true",
                    help="tables from the checkpoints of embedding runs still going or cut short")
    ap.add_argument("--shard", default="", help="k/n: embed every n-th selected row from the k-th (parallel runs)")
    args = ap.parse_args()
    rows = lfw_rows()
    if args.probe:
        probe(rows, args.probe_step)
        return
    names = args.embedders.split(",")
    if not args.peer_only and not args.partial:
        embed_all(rows, names, subset=selected_rows(rows, args.calib_people), shard=args.shard)
    if args.peer_only:
        peer_held_out(rows, args.shard)
        return
    if args.embed:
        return
    fr = None if args.no_peer else peer_held_out(rows, partial=args.partial)
    import os

    emb = load(names, partial=args.partial)
    sysx, mids, weights = systems(rows, emb)
    if args.calibrate:
        calibrate(rows, sysx, mids, weights)
    cal_tails = tails(rows, sysx, mids)
    load_avg = os.getloadavg()
    note = f"machine: 2 cores shared, load average {load_avg[0]:.1f} / {load_avg[1]:.1f} / {load_avg[2]:.1f}"
    ms = {n: float(e["ms"]) for n, e in emb.items() if "ms" in e}
    table(["embedder", "model_id", "dim", "ms/face (embed only)", "no face"],
          [[n, str(e["model"]), e["x"].shape[1], ms.get(n, float("nan")), int(np.isnan(e["x"][:, 0]).sum())]
           for n, e in emb.items()], f"Embedders measured ({note})")
    table(["system", "N", "FNIR @oracle FPIR 1e-2", "FNIR @cal 1e-2", "FPIR @cal 1e-2", "FNIR @oracle FPIR 1e-3",
           "FNIR @cal 1e-3", "FPIR @cal 1e-3", "FNIR @0.6 rule", "FPIR @0.6 rule", "FPIR 95% upper", "mated", "non-mated"],
          openset(rows, sysx, fr, args.splits, cal_tails),
          f"Open-set 1:N on LFW-gray, {args.splits} random galleries per N (people outside the calibration subset); "
          "cal = tail fitted on the identification subset")
    table(["system", "TAR @FMR 1e-4", "genuine", "impostor",
           "FNIR N=100 FPIR 1e-2", "N=100 1e-3", "N=10k 1e-2", "N=10k 1e-3", "N=1M 1e-2", "N=1M 1e-3"],
          verification(rows, sysx, fr, cal_tails),
          "TAR at FMR 1e-4 (held-out people, all pairs, measured) and FNIR at larger N (MODELLED from the fitted "
          "impostor tail; *: the FMR needed is below the calibration floor, the exponential tail is extrapolated)")


if __name__ == "__main__":
    main()
