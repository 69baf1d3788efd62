"""Open-set 1:N identification and quality-gated verification, measured on real faces.

1. Open-set 1:N on LFW-gray (963 people, 3,011 images). People outside the
   calibration subset (`in_identification_subset == 0`, so the calibration table
   never saw them) are split at random, many times: N of them are enrolled (one
   image each), their other images are mated probes, every image of everyone else
   is a non-mated probe. FNIR at FPIR 1e-2 and 1e-3 for N = 100 and 500, from the
   shipped calibration (`gallery/openset_calibration.json`) and from the oracle
   threshold on the measured non-mated maxima, side by side with the peer a user
   would pick instead: face_recognition's own 0.6 distance rule, with the FPIR it
   actually gives. The model FPIR(N, t) = 1 - (1 - FMR(t))^N is checked against the
   measured FPIR at each threshold.
2. Decision-mode acceptance: all non-mated probes against galleries of N = 100,
   measured FPIR and its 95% upper bound (Clopper-Pearson).
3. Multi-photo enrolment (identification subset, 158 people x 10 images): 1 vs 3
   templates per identity, quality-weighted fusion vs best-of.
4. Verify on degraded ID portraits (fold-1 pairs; the second image downscaled to
   a 40-60 px face, print/scan blur, JPEG quality 30): TAR at strict and the false
   matches on different-person pairs, normal mode vs ID-photo mode.

    .venv/bin/python bench/identify.py [--calibrate] [--splits 20]

`--calibrate` rewrites the calibration table from the identification subset.
Embeddings are cached in <data_dir>/bench-cache (delete it to recompute).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import require_data, table  # noqa: E402


# ------------------------------------------------------------------ embeddings
def lfw_rows() -> list[dict[str, str]]:
    lfw = require_data("faces", "lfw_gray")
    with open(lfw / "images.csv") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["abs"] = str(lfw / r["path"])
    return rows


def cache_dir() -> Path:
    from clearsight.config import get_settings

    d = get_settings().data_dir / "bench-cache"
    d.mkdir(parents=True, exist_ok=True)
    return d


def ours(rows: list[dict[str, str]]) -> dict[str, np.ndarray]:
    """Our default pipeline on every image: vector (NaN when no face) and quality score."""
    from clearsight.errors import NoFaceError
    from clearsight.face.pipeline import FacePipeline

    pipe = FacePipeline()
    model = pipe.embedder.model_id
    cache = cache_dir() / f"lfw_all_{model}.npz"
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        return {k: z[k] for k in z.files}
    xs, qs = [], []
    t0 = time.perf_counter()
    for i, r in enumerate(rows):
        try:
            t = pipe.primary_template(r["abs"])
            xs.append(np.asarray(t.embedding.vector, np.float32))
            qs.append(t.quality.score)
        except NoFaceError:
            xs.append(np.full(128, np.nan, np.float32))
            qs.append(np.nan)
        if i % 500 == 0:
            print(f"# ours {i}/{len(rows)} {time.perf_counter() - t0:.0f}s", flush=True)
    out = {"x": np.stack(xs), "q": np.asarray(qs, np.float32), "model": np.asarray(model)}
    np.savez(cache, **out)
    return out


def peer(rows: list[dict[str, str]]) -> dict[str, np.ndarray] | None:
    """face_recognition exactly as its README uses it (HOG, upsample 1)."""
    cache = cache_dir() / "lfw_all_face_recognition.npz"
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        return {k: z[k] for k in z.files}
    try:
        import face_recognition
    except ImportError:
        return None
    xs = []
    t0 = time.perf_counter()
    for i, r in enumerate(rows):
        enc = face_recognition.face_encodings(face_recognition.load_image_file(r["abs"]))
        xs.append(np.asarray(enc[0], np.float32) if enc else np.full(128, np.nan, np.float32))
        if i % 500 == 0:
            print(f"# face_recognition {i}/{len(rows)} {time.perf_counter() - t0:.0f}s", flush=True)
    out = {"x": np.stack(xs)}
    np.savez(cache, **out)
    return out


# ------------------------------------------------------------------ degraded ID portraits
def degrade(path: str, face_width: float, seed: int) -> bytes:
    """An LFW photo as a small printed-and-scanned document portrait: the face downscaled
    to 40-60 px, print/scan blur and noise, a little lost contrast, JPEG quality 30."""
    import cv2

    rng = np.random.default_rng(seed)
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    target = rng.uniform(40, 60)
    scale = target / max(face_width, 1.0)
    small = cv2.resize(img, (max(8, round(img.shape[1] * scale)), max(8, round(img.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small.astype(np.float32), (0, 0), rng.uniform(0.5, 0.9))  # print dot spread + scan optics
    small = 0.85 * small + 18 + rng.normal(0, 3, small.shape)  # paper white, ink black, sensor noise
    small = np.clip(small, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 30])
    return buf.tobytes()


def shrink(path: str, face_width: float, face_px: float) -> bytes:
    """A clean photo whose face is `face_px` wide (the 26-px case of issue #16)."""
    import cv2

    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    scale = face_px / max(face_width, 1.0)
    small = cv2.resize(img, (max(8, round(img.shape[1] * scale)), max(8, round(img.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA)
    return cv2.imencode(".png", small)[1].tobytes()


QFIELDS = ("face_size", "sharpness", "brightness", "yaw", "pitch", "roll", "low_det")


def _q_row(q) -> list[float]:  # noqa: ANN001
    return [q.face_size, q.sharpness, q.brightness, q.pose.yaw, q.pose.pitch, q.pose.roll,
            float("low_detection_score" in q.reasons)]


def _q_report(row: np.ndarray):  # noqa: ANN202
    from clearsight.types import HeadPose, QualityReport

    return QualityReport(0.0, True, ("low_detection_score",) if row[6] else (), float(row[0]), float(row[1]),
                         float(row[2]), HeadPose(float(row[3]), float(row[4]), float(row[5])))


def templates_of(name: str, sources: list[tuple[str, object]], embedder: str | None = None) -> dict[str, np.ndarray]:
    """Template + quality fields of each (key, image source), cached under `name`."""
    from clearsight.errors import NoFaceError
    from clearsight.face.pipeline import FacePipeline

    pipe = FacePipeline(embedder=embedder)
    cache = cache_dir() / f"{name}_{pipe.embedder.model_id}.npz"
    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        return {k: z[k] for k in z.files}
    xs, qs, boxes = [], [], []
    t0 = time.perf_counter()
    for i, (_key, src) in enumerate(sources):
        src = src() if callable(src) else src
        try:
            t = pipe.primary_template(src)
            xs.append(np.asarray(t.embedding.vector, np.float32))
            qs.append(_q_row(t.quality))
            boxes.append(t.face.box.width)
        except NoFaceError:
            xs.append(np.full(128, np.nan, np.float32))
            qs.append([np.nan] * len(QFIELDS))
            boxes.append(np.nan)
        if i % 400 == 0:
            print(f"# {name} {i}/{len(sources)} {time.perf_counter() - t0:.0f}s", flush=True)
    out = {"x": np.stack(xs), "q": np.asarray(qs, np.float32), "w": np.asarray(boxes, np.float32),
           "keys": np.asarray([k for k, _ in sources]), "model": np.asarray(pipe.embedder.model_id)}
    np.savez(cache, **out)
    return out


# ------------------------------------------------------------------ calibration
def held_out_fold1(rows: list[dict[str, str]]) -> set[str]:
    lfw = require_data("faces", "lfw_gray")
    with open(lfw / "pairs_fold1.csv") as fh:
        return {str(lfw / r[k]) for r in csv.DictReader(fh) for k in ("image1", "image2")}


def pair_scores(x: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = x @ x.T
    iu = np.triu_indices(len(ids), 1)
    same = ids[iu[0]] == ids[iu[1]]
    return s[iu][same], s[iu][~same]


def calibration_rows(rows: list[dict[str, str]]) -> list[int]:
    """The calibration set: LFW's identification subset minus the fold-1 pair images."""
    hold = held_out_fold1(rows)
    return [i for i, r in enumerate(rows) if r["in_identification_subset"] == "1" and r["abs"] not in hold]


def tail_entry(model: str, x: np.ndarray, ids: np.ndarray) -> dict:
    """One embedder's open-set calibration entry (single and 3-photo fused templates)."""
    from clearsight.errors import InputError
    from clearsight.gallery import openset

    ok = ~np.isnan(x[:, 0])
    ids = ids[ok]
    gen, imp = pair_scores(x[ok], ids)
    entry = openset.fit_tail(model, imp, gen)
    # identities enrolled with 3 photos: the fused (mean, renormalised) template against everyone else
    xo, by = x[ok], {}
    for j, p in enumerate(ids):
        by.setdefault(p, []).append(j)
    multi = [p for p, js in by.items() if len(js) >= 4]
    fused = np.stack([xo[by[p][:3]].mean(0) for p in multi])
    fused /= np.linalg.norm(fused, axis=1, keepdims=True)
    fs = fused @ xo.T
    owner = np.asarray(multi)[:, None] == ids[None, :]
    used = np.zeros_like(owner)
    for a, p in enumerate(multi):
        used[a, by[p][:3]] = True
    try:
        entry["fused"] = openset.fit_tail(model, fs[~owner], fs[owner & ~used])
        entry["fused"]["calibrated_on"] = f"mean of 3 photos of {len(multi)} people against every other person's photos"
    except InputError:  # too few people with 4+ photos to resolve the fused tail: single-template tail only
        pass
    entry["calibrated_on"] = (f"LFW-gray identification subset minus fold-1 pair images: {int(ok.sum())} images of "
                              f"{len(set(ids))} people")
    return entry


def calibrate(rows: list[dict[str, str]], base: dict[str, np.ndarray]) -> None:
    import json

    from clearsight.gallery import openset
    from clearsight.face.verification import OPERATING_POINTS

    sub = calibration_rows(rows)
    # other embedders' entries (bench/embedders.py --calibrate) are kept
    existing = Path(openset.__file__).with_name(openset.CALIBRATION_FILE)
    out: dict = json.loads(existing.read_text()) if existing.exists() else {}
    out.setdefault("models", {})
    crows = []
    # the default embedder from the all-images cache, plain dlib embedded here
    plain = templates_of("lfw_calib", [(rows[i]["abs"], rows[i]["abs"]) for i in sub], embedder="dlib-resnet-onnx")
    for model, x in ((str(base["model"]), base["x"][sub]), (str(plain["model"]), plain["x"])):
        entry = tail_entry(model, x, np.asarray([rows[i]["identity"] for i in sub]))
        out["models"][model] = entry
        crows.append([model, entry["impostor_pairs"], entry["genuine_pairs"], entry["tail_u"], entry["tail_rate"],
                      entry["fmr_floor"], entry["max_impostor"]])
        f = entry["fused"]
        crows.append([model + " fused x3", f["impostor_pairs"], f["genuine_pairs"], f["tail_u"], f["tail_rate"],
                      f["fmr_floor"], f["max_impostor"]])
    table(["model", "impostor pairs", "genuine pairs", "tail from (FMR 1e-3)", "exp. rate", "FMR floor", "max impostor"],
          crows, "Open-set calibration (impostor tail)")
    path = Path(openset.__file__).with_name(openset.CALIBRATION_FILE)
    path.write_text(_compact(json.dumps(out, indent=1, sort_keys=True)) + "\n")
    print(f"wrote {path}")

    # ID-photo cross-quality points: clean photo vs degraded portrait of different people
    deg = degraded_subset(rows, sub, base)
    xc, xd = base["x"][sub], deg["x"]
    ok = ~np.isnan(xc[:, 0]) & ~np.isnan(xd[:, 0])
    ids = np.asarray([rows[i]["identity"] for i in sub])
    s = xc[ok] @ xd[ok].T
    diff = ids[ok][:, None] != ids[ok][None, :]
    imp, gen = s[diff], s[~diff]
    from _common import threshold_at_fmr

    pts, prow = {}, []
    for name, fmr in OPERATING_POINTS.items():
        t = threshold_at_fmr(imp, fmr)
        pts[name] = {"target_fmr": fmr, "threshold": round(t, 5)}
        prow.append([name, fmr, round(t, 4), float(np.mean(gen >= t))])
    table(["point", "target FMR", "threshold", "TAR (same data)"], prow,
          f"ID-photo cross-quality points ({len(imp):,} impostor, {len(gen):,} genuine clean-vs-degraded pairs)")
    from clearsight import face as face_pkg

    idp = Path(face_pkg.__file__).with_name("id_photo_points.json")
    idp.write_text(json.dumps({str(base["model"]): {
        "points": pts, "calibrated_on": "LFW-gray identification subset minus fold-1 pair images: clean photo vs "
        "the same set degraded (face 40-60 px, print/scan blur and noise, JPEG 30), different people",
        "impostor_pairs": int(len(imp)), "genuine_pairs": int(len(gen))}}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {idp}")


def _compact(text: str) -> str:
    """Number lists on one line: a calibration table a reviewer can read in a diff."""
    import re

    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)


def degraded_subset(rows: list[dict[str, str]], idx: list[int], base: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    widths = face_widths(rows)
    return templates_of("lfw_degraded_calib", [
        (rows[i]["abs"], (lambda i=i: degrade(rows[i]["abs"], widths[i], 1000 + i))) for i in idx])


def face_widths(rows: list[dict[str, str]]) -> np.ndarray:
    """Detected face width of every LFW image (cached), to scale degraded copies to a face size."""
    from clearsight.face.pipeline import FacePipeline

    cache = cache_dir() / "lfw_face_widths.npy"
    if cache.exists():
        return np.load(cache)
    pipe = FacePipeline()
    w = []
    for r in rows:
        faces = pipe.detect(r["abs"])
        w.append(max(faces, key=lambda f: f.box.area).box.width if faces else 110.0)
    arr = np.asarray(w, np.float32)
    np.save(cache, arr)
    return arr


# ------------------------------------------------------------------ open-set 1:N
def clopper_pearson_upper(k: int, n: int, conf: float = 0.95) -> float:
    from scipy.stats import beta

    return 1.0 if k >= n else float(beta.ppf(conf, k + 1, n - k))


def split(rows: list[dict[str, str]], ok: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gallery image per enrolled person, mated probes, non-mated probes) as row indices.
    Enrolled people are drawn from those outside the calibration subset."""
    rng = np.random.default_rng(seed)
    by: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        if ok[i]:
            by.setdefault(r["identity"], []).append(i)
    in_subset = {r["identity"] for r in rows if r["in_identification_subset"] == "1"}
    held = sorted(p for p in by if p not in in_subset)
    multi = [p for p in held if len(by[p]) >= 2]
    single = [p for p in held if len(by[p]) < 2]
    take = list(rng.permutation(multi))[: n]
    if len(take) < n:
        take += list(rng.permutation(single))[: n - len(take)]
    enrolled = set(take)
    gal = np.array([by[p][0] for p in take])
    mated = np.array([i for p in take for i in by[p][1:]])
    non = np.array([i for p, ix in by.items() if p not in enrolled for i in ix])
    return gal, mated, non


def rates(gx: np.ndarray, gids: np.ndarray, px: np.ndarray, pids: np.ndarray, nx: np.ndarray,
          distance: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(best score of each mated probe if its top-1 is its mate else -inf, non-mated maxima)."""
    if distance:
        def score(a: np.ndarray) -> np.ndarray:
            d = np.sqrt(np.maximum((a ** 2).sum(1)[:, None] + (gx ** 2).sum(1)[None, :] - 2 * a @ gx.T, 0))
            return -d
    else:
        def score(a: np.ndarray) -> np.ndarray:
            return a @ gx.T
    sm = score(px)
    top = sm.argmax(1)
    mated = np.where(gids[top] == pids, sm.max(1), -np.inf)
    return mated, score(nx).max(1), sm.max(1)


def openset_tables(rows: list[dict[str, str]], base: dict[str, np.ndarray], fr: dict[str, np.ndarray] | None,
                   splits: int) -> None:
    from clearsight.gallery.openset import SearchMode, calibration, expected_fpir, open_set_point

    model = str(base["model"])
    cal = calibration(model)
    ids = np.asarray([r["identity"] for r in rows])
    ok = ~np.isnan(base["x"][:, 0])
    if fr is not None:
        ok &= ~np.isnan(fr["x"][:, 0])  # the same probes for both systems
    out, check = [], []
    for n in (100, 500):
        acc: dict[str, list] = {}
        for sp in range(splits):
            gal, mated, non = split(rows, ok, n, seed=sp)
            systems = [("clearsight " + model, base["x"], False)]
            if fr is not None:
                systems.append(("face_recognition 1.3.0", fr["x"], True))
            for name, x, dist in systems:
                m, nm, _ = rates(x[gal], ids[gal], x[mated], ids[mated], x[non], distance=dist)
                acc.setdefault(name, []).append((m, nm))
        for name, runs in acc.items():
            m = np.concatenate([r[0] for r in runs])
            nm = np.concatenate([r[1] for r in runs])
            for fpir in (1e-2, 1e-3):
                t_or = float(np.quantile(nm, 1 - fpir))
                fnir_or = float(np.mean(m < t_or))
                if name.startswith("clearsight"):
                    pt = open_set_point(model, SearchMode.DECISION, fpir, n)
                    t = pt.threshold
                    k = int(np.sum(nm >= t))
                    out.append([name, n, fpir, "calibrated", round(t, 4), k / len(nm),
                                clopper_pearson_upper(k, len(nm)), float(np.mean(m < t)), pt.expected_fnir,
                                len(nm), len(m)])
                out.append([name, n, fpir, "oracle (measured)", round(-t_or if name.startswith("face_rec") else t_or, 4),
                            float(np.mean(nm >= t_or)), float("nan"), fnir_or, float("nan"), len(nm), len(m)])
            if name.startswith("face_recognition"):
                t = -0.6
                k = int(np.sum(nm >= t))
                out.append([name, n, "-", "its own 0.6 rule", 0.6, k / len(nm), clopper_pearson_upper(k, len(nm)),
                            float(np.mean(m < t)), float("nan"), len(nm), len(m)])
            else:
                for t in np.linspace(0.90, 0.97, 8):
                    check.append([n, round(float(t), 3), cal.fmr(float(t)), expected_fpir(cal.fmr(float(t)), n),
                                  float(np.mean(nm >= t)), len(nm)])
    table(["system", "N", "target FPIR", "threshold", "value", "FPIR measured", "FPIR 95% upper", "FNIR measured",
           "FNIR expected", "non-mated", "mated"], out,
          f"Open-set 1:N on LFW-gray, {splits} random galleries per N (enrolled people never in the calibration set)")
    table(["N", "threshold", "FMR(t) calibrated", "FPIR model 1-(1-FMR)^N", "FPIR measured", "non-mated"], check,
          "Is FPIR(N, t) = 1 - (1 - FMR(t))^N right? model vs measured maxima")


def acceptance(rows: list[dict[str, str]], base: dict[str, np.ndarray]) -> None:
    """Decision mode through the real Gallery (store, consent filter, audit): N = 100,
    every non-mated LFW-gray probe."""
    import os
    import tempfile

    from clearsight.types import Embedding

    model = str(base["model"])
    ok = ~np.isnan(base["x"][:, 0])
    ids = np.asarray([r["identity"] for r in rows])
    gal, mated, non = split(rows, ok, 100, seed=12345)
    from clearsight.config import get_settings

    before = os.environ.get("CLEARSIGHT_DATA_DIR")
    with tempfile.TemporaryDirectory() as d:
        os.environ["CLEARSIGHT_DATA_DIR"] = d
        get_settings.cache_clear()
        from clearsight.gallery import Gallery

        g = Gallery.open(model_id=model)
        who = {}
        for i in gal:
            ident = g.create_identity(None, ids[i], actor="bench")
            g.add_consent(ident.id, "access", "consent", "bench", actor="bench")
            g.enrol_embedding(ident.id, Embedding(base["x"][i], model), "bench")
            who[ident.id] = ids[i]
        fp = 0
        t0 = time.perf_counter()
        for i in non:
            hits = g.search(Embedding(base["x"][i], model), "access", "bench", top_k=1)
            fp += bool(hits and hits[0].is_match)
        ms = (time.perf_counter() - t0) * 1000 / len(non)
        tp = 0
        for i in mated:
            hits = g.search(Embedding(base["x"][i], model), "access", "bench", top_k=1)
            tp += bool(hits and hits[0].is_match and who[hits[0].identity_id] == ids[i])
        pt = g.search_point("access")
        g.close()
    if before is None:  # back to the real data dir (the embedding cache lives there)
        os.environ.pop("CLEARSIGHT_DATA_DIR", None)
    else:
        os.environ["CLEARSIGHT_DATA_DIR"] = before
    get_settings.cache_clear()
    table(["N", "target FPIR", "threshold", "non-mated probes", "false positives", "FPIR", "95% upper", "<= 1e-2",
           "FNIR", "expected FNIR", "ms/search"],
          [[100, pt.fpir, round(pt.threshold, 4), len(non), fp, fp / len(non), clopper_pearson_upper(fp, len(non)),
            clopper_pearson_upper(fp, len(non)) <= 1e-2, 1 - tp / len(mated), pt.expected_fnir, round(ms, 2)]],
          "Acceptance: decision mode (access) through Gallery.search, N = 100 (shared 2-core machine)")


# ------------------------------------------------------------------ multi-photo enrolment
def multiphoto(rows: list[dict[str, str]], base: dict[str, np.ndarray], splits: int) -> None:
    """158 people x 10 images: 100 enrolled with 1 or 3 photos, the rest of their photos
    mated probes; non-mated: every image of the other people."""
    from clearsight.gallery.openset import SearchMode, open_set_point

    model = str(base["model"])
    x, q = base["x"], base["q"]
    ok = ~np.isnan(x[:, 0])
    by: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        if ok[i] and r["in_identification_subset"] == "1":
            by.setdefault(r["identity"], []).append(i)
    people = sorted(p for p, ix in by.items() if len(ix) >= 5)
    # every image of people outside the subset (a subset person's images beyond its first 10 are mated!)
    others = np.array([i for i, r in enumerate(rows) if ok[i] and r["identity"] not in by])
    res: dict[str, list] = {}
    for sp in range(splits):
        rng = np.random.default_rng(100 + sp)
        enrolled = list(rng.permutation(people))[:100]
        rest = [p for p in people if p not in set(enrolled)]
        non = np.concatenate([others, np.array([i for p in rest for i in by[p]])])
        for k in (1, 3):
            probes = np.array([i for p in enrolled for i in by[p][3:]])
            pid = np.array([rows[i]["identity"] for i in probes])
            gids = np.array(enrolled)
            for rule in (("single",) if k == 1 else ("best-of", "score mean", "mean", "quality-weighted")):
                def scores(px: np.ndarray) -> np.ndarray:
                    if rule == "single":
                        return px @ x[[by[p][0] for p in enrolled]].T
                    sims = np.stack([px @ x[[by[p][j] for p in enrolled]].T for j in range(k)], 0)
                    if rule == "best-of":
                        return sims.max(0)
                    if rule == "score mean":
                        return sims.mean(0)
                    w = np.ones((k, len(enrolled))) if rule == "mean" else np.stack(
                        [np.clip(q[[by[p][j] for p in enrolled]], 0.05, 1) for j in range(k)])
                    mean = np.einsum("kn,knd->nd", w, np.stack([x[[by[p][j] for p in enrolled]] for j in range(k)]))
                    mean /= np.linalg.norm(mean, axis=1, keepdims=True)
                    return px @ mean.T
                sm = scores(x[probes])
                m = np.where(gids[sm.argmax(1)] == pid, sm.max(1), -np.inf)
                nm = scores(x[non]).max(1)
                res.setdefault(f"{k} photo{'s' if k > 1 else ''}, {rule}", []).append((m, nm))
    out = []
    for name, runs in res.items():
        m = np.concatenate([r[0] for r in runs])
        nm = np.concatenate([r[1] for r in runs])
        row = [name]
        for fpir in (1e-2, 1e-3):
            fused = 0 if name.startswith("1 photo") or "best-of" in name or "score" in name else 100
            t = open_set_point(model, SearchMode.DECISION, fpir, 100, n_fused=fused).threshold
            row += [float(np.mean(nm >= t)), float(np.mean(m < t))]
        t_or = float(np.quantile(nm, 0.99))
        row += [float(np.mean(m < t_or)), len(m), len(nm)]
        out.append(row)
    table(["enrolment", "FPIR @cal 1e-2", "FNIR @cal 1e-2", "FPIR @cal 1e-3", "FNIR @cal 1e-3", "FNIR @oracle FPIR 1e-2",
           "mated", "non-mated"], out,
          f"Multi-photo enrolment, N = 100 of LFW's 158 x 10 subset, {splits} splits (probes: photos 4-10)")


# ------------------------------------------------------------------ verify on ID portraits
def verify_id(rows: list[dict[str, str]]) -> None:
    from clearsight.config import get_settings
    from clearsight.face.verification import verify_gated
    from clearsight.types import Embedding

    lfw = require_data("faces", "lfw_gray")
    with open(lfw / "pairs_fold1.csv") as fh:
        pairs = [(str(lfw / r["image1"]), str(lfw / r["image2"]), r["same_person"].strip() == "1")
                 for r in csv.DictReader(fh)]
    index = {r["abs"]: i for i, r in enumerate(rows)}
    widths = face_widths(rows)
    a_keys = sorted({a for a, _b, _s in pairs})
    b_keys = sorted({b for _a, b, _s in pairs})
    clean = templates_of("lfw_fold1_a", [(k, k) for k in a_keys])
    deg = templates_of("lfw_fold1_b_degraded",
                       [(k, (lambda k=k: degrade(k, widths[index[k]], index[k]))) for k in b_keys])
    tiny = templates_of("lfw_fold1_b_26px", [(k, (lambda k=k: shrink(k, widths[index[k]], 26))) for k in b_keys])
    model = str(clean["model"])
    fs = get_settings().face
    out = []
    for label, db in (("degraded portrait (40-60 px, print/scan, JPEG 30)", deg), ("clean photo shrunk to a 26-px face", tiny)):
        ai = {k: i for i, k in enumerate(clean["keys"])}
        bi = {k: i for i, k in enumerate(db["keys"])}
        for mode in (False, True):
            for op in ("strict", "balanced"):
                dec = {"same": [], "diff": []}
                for a, b, same in pairs:
                    xa, xb = clean["x"][ai[a]], db["x"][bi[b]]
                    if np.isnan(xa[0]) or np.isnan(xb[0]):
                        dec["same" if same else "diff"].append("no_face")
                        continue
                    v = verify_gated(Embedding(xa, model), _q_report(clean["q"][ai[a]]), Embedding(xb, model),
                                     _q_report(db["q"][bi[b]]), op, id_photo=mode, settings=fs)
                    dec["same" if same else "diff"].append(v.decision.value)
                s, d = np.asarray(dec["same"]), np.asarray(dec["diff"])
                out.append([label, "ID-photo" if mode else "normal", op, float(np.mean(s == "match")),
                            float(np.mean(s == "inconclusive")), float(np.mean(s == "no_face")),
                            int(np.sum(d == "match")), len(s), len(d)])
    table(["portrait", "mode", "point", "TAR (match)", "inconclusive (same)", "no face (same)",
           "false matches (diff.)", "same pairs", "diff. pairs"], out,
          "Verify: clean photo vs document portrait, LFW fold-1 pairs (image 2 degraded)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embed-only", action="store_true")
    ap.add_argument("--calibrate", action="store_true", help="rewrite the calibration tables first")
    ap.add_argument("--splits", type=int, default=20)
    ap.add_argument("--no-peer", action="store_true", help="leave face_recognition out")
    ap.add_argument("--skip", default="", help="comma list of sections to skip: openset,acceptance,multi,verify")
    args = ap.parse_args()
    rows = lfw_rows()
    base = ours(rows)
    fr = None if args.no_peer else peer(rows)
    if args.embed_only:
        return
    if args.calibrate:
        calibrate(rows, base)
    skip = set(args.skip.split(","))
    if "openset" not in skip:
        openset_tables(rows, base, fr, args.splits)
    if "acceptance" not in skip:
        acceptance(rows, base)
    if "multi" not in skip:
        multiphoto(rows, base, args.splits)
    if "verify" not in skip:
        verify_id(rows)


if __name__ == "__main__":
    main()
