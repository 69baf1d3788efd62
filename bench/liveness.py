"""Liveness, passive and active, measured on real data where there is any.

0. NUAA printed-photo attacks (8 subjects, 400 live + 400 print webcam frames),
   leave-subject-out: the two networks alone, their old calibrated mean, and the
   trained classifier (face crop cues; full frame = crop + context cues), also on
   the same frames re-encoded as JPEG quality 70 (what an upload does to texture).
   Training and the cue cache: bench/train_liveness.py.

1. liveness/antispoof_samples: per-image scores of the 4 labelled images
   (2 spoof, 2 live). A smoke test: 4 images prove nothing statistically.
2. Self-made presentation attacks, stated as such: every colour photo of a real
   face in faces/deepface_pairs and faces/face_recognition_examples is the "live"
   sample (a camera photo of a person), and two renderings of it are the attacks:
   - screen replay: shown on a display (reduced resolution, RGB sub-pixel stripes,
     backlight contrast and blue cast, glare) and re-photographed (perspective, the
     camera's resampling makes moire, sensor noise, JPEG);
   - print: ink gamut (lower contrast and saturation, warm paper), rotated halftone
     screen, paper grain, slight bending and uneven light, re-photographed, JPEG.
   These are simulations: real attacks vary far more; a model that fails them will
   fail real ones, one that passes them has not been shown to pass real ones.
Reports AUC (live vs each attack) per model and for the combined score, the
equal-error threshold, and a logistic calibration of the combined raw score
(the constants of clearsight.face.liveness.CALIBRATION), and the trained score.
3. Active challenge (clearsight.face.challenge) on real frames:
   - pass rate on real faces: the only real clip with head motion is
     face_recognition's short_hamilton_clip.mp4 (a singer, not following prompts):
     the orders he actually performs, from several start frames; blink and nod
     are not performed in any real clip in shared/: unmeasured;
   - replay: the same recording against every other order (2 and 3 steps), and
     against a new session's nonce;
   - print attack: each NUAA subject's printed-photo frames (moved, rotated, bent
     by hand) as a sequence, against all 60 three-step orders, with and without
     the passive gate;
   - screen attack (simulated, stated as such): the singer's frames rendered as a
     re-photographed screen, against the orders the clip contains.
No liveness peer installs offline (face_recognition has none); the networks alone
are the baseline column.

    PYTHONPATH=src .venv/bin/python bench/liveness.py [--cache /tmp/nuaa_cues.npz] [--jpeg-cache /tmp/nuaa_cues_q70.npz]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import require_data, table  # noqa: E402

from clearsight.face.liveness import PassiveLiveness  # noqa: E402
from clearsight.face.pipeline import FacePipeline  # noqa: E402
from clearsight.io import load_image  # noqa: E402


def _jpeg(img: np.ndarray, q: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _recapture(img: np.ndarray, rng: np.random.Generator, out_hw: tuple[int, int]) -> np.ndarray:
    """A camera photographing a flat rectangle: mild perspective, resampling, noise."""
    h, w = img.shape[:2]
    j = 0.04
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = (src + rng.uniform(-j, j, (4, 2)) * [w, h]).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(20, 20, 20))
    out = cv2.resize(warped, (out_hw[1], out_hw[0]), interpolation=cv2.INTER_LINEAR)  # no anti-aliasing: moire
    out = out.astype(np.float32) + rng.normal(0, 3.0, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def screen_replay(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = rgb.shape[:2]
    # the display: fewer pixels than the photo, each drawn as R, G, B stripes
    px = 3
    small = cv2.resize(rgb, (max(8, w // 2), max(8, h // 2)), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (small.shape[1] * px, small.shape[0] * px), interpolation=cv2.INTER_NEAREST).astype(np.float32)
    stripes = np.zeros((1, px, 3), np.float32)
    for c in range(3):
        stripes[0, c, c] = 1.0
    # sub-pixel stripes, softened by the lens (full-strength stripes hid the face from
    # the detector in 2 of 3 renderings in a first run)
    big *= np.tile(stripes, (1, small.shape[1], 1)) * 0.9 + 0.7
    # backlight: lifted blacks, cooler white point, glare blob
    big = big * 0.8 + 30
    big[..., 2] *= 1.08
    yy, xx = np.mgrid[0 : big.shape[0], 0 : big.shape[1]]
    cy, cx = rng.uniform(0.2, 0.8) * big.shape[0], rng.uniform(0.2, 0.8) * big.shape[1]
    big += 70 * np.exp(-(((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (0.25 * big.shape[1]) ** 2)))[..., None]
    big = np.clip(big, 0, 255).astype(np.uint8)
    return _jpeg(_recapture(big, rng, (h, w)), 80)


def print_attack(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = rgb.shape[:2]
    f = rgb.astype(np.float32) / 255.0
    gray = f.mean(-1, keepdims=True)
    f = gray + (f - gray) * 0.7  # ink gamut: less saturated
    f = 0.1 + f * 0.78  # paper white and ink black
    f *= np.array([1.04, 1.0, 0.9], np.float32)  # warm paper
    # halftone screen at 45 degrees, ~ 3 px period
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = 3.2
    screen = 0.5 + 0.5 * np.cos(2 * np.pi * (xx + yy) / (period * 1.414)) * np.cos(2 * np.pi * (xx - yy) / (period * 1.414))
    f = f * (0.82 + 0.18 * screen[..., None])
    f += rng.normal(0, 0.025, (h, w, 1)).astype(np.float32)  # paper grain
    # bent paper and uneven light
    dx = (4 * np.sin(yy / h * np.pi)).astype(np.float32)
    f = cv2.remap(f, xx + dx, yy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    f *= (0.85 + 0.25 * (xx / w))[..., None]
    img = np.clip(cv2.GaussianBlur(f, (0, 0), 0.8) * 255, 0, 255).astype(np.uint8)
    return _jpeg(_recapture(img, rng, (h, w)), 85)


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    pos, neg = np.asarray(pos), np.asarray(neg)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    gt = (pos[:, None] > neg[None, :]).mean()
    eq = (pos[:, None] == neg[None, :]).mean()
    return float(gt + 0.5 * eq)


def eer_threshold(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    best = (1.0, 0.5)
    for t in np.unique(np.concatenate([pos, neg])):
        frr, far = float(np.mean(pos < t)), float(np.mean(neg >= t))
        if abs(frr - far) < best[0]:
            best = (abs(frr - far), float(t))
    t = best[1]
    return t, (float(np.mean(pos < t)) + float(np.mean(neg >= t))) / 2


def platt(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Logistic fit p = 1/(1+exp(-a (x - t))) by maximum likelihood, classes weighted
    equally (there are two attack renderings per live photo); returns (a, t)."""
    from scipy.optimize import minimize

    w = np.where(y == 1, 0.5 / max(1, (y == 1).sum()), 0.5 / max(1, (y == 0).sum()))

    def nll(params: np.ndarray) -> float:
        a, t = params
        z = a * (x - t)
        return float(np.sum(w * (np.logaddexp(0, -z) * y + np.logaddexp(0, z) * (1 - y))))

    res = minimize(nll, x0=[1.0, float(np.median(x))], method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 4000})
    return float(res.x[0]), float(res.x[1])


def nuaa_section(cache: Path | None, jpeg_cache: Path | None) -> None:
    from train_liveness import L2, auc as auc2, evaluate, extract, rates  # noqa: E402

    from clearsight.face.liveness import cue_names, fit_logistic

    root = require_data("liveness", "nuaa_print")
    d = extract(root, cache)
    table(["score", "AUC (pooled)", "AUC worst subject", "AUC mean of subjects", "APCER @0.5", "BPCER @0.5"],
          evaluate(d), f"NUAA print attacks, leave-subject-out, 8 subjects (live n={int(d['label'].sum())}, "
          f"print n={int((d['label'] == 0).sum())}, no face: {int(d['missed'])})")
    if jpeg_cache is None:
        return
    q = extract(root, jpeg_cache, jpeg=70)
    if len(q["label"]) != len(d["label"]) or not np.array_equal(q["subject"], d["subject"]):
        print("[JPEG set found other faces than the original set: skipped]", file=sys.stderr)
        return
    rows = []
    names = cue_names()
    for mode in ("crop", "frame"):
        for train_on, label in ((("orig",), "trained on originals"), (("orig", "q70"), "trained on originals + JPEG q70")):
            p = np.zeros(len(d["label"]))
            for s_ in np.unique(d["subject"]):
                tr = d["subject"] != s_
                x = np.concatenate([d[mode][tr]] + ([q[mode][tr]] if "q70" in train_on else []))
                y = np.concatenate([d["label"][tr]] + ([q["label"][tr]] if "q70" in train_on else []))
                clf = fit_logistic(x, y, names[mode], l2=L2)
                p[~tr] = clf.probability(q[mode][~tr])
            y = q["label"]
            rows.append([mode, label, auc2(p[y == 1], p[y == 0]), *rates(p, y)])
    table(["cues", "training", "AUC on JPEG q70 frames (LOSO)", "APCER @0.5", "BPCER @0.5"], rows,
          "NUAA frames re-encoded as JPEG quality 70 (an upload), leave-subject-out")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--save", default=None, help="write the raw scores as JSON here")
    ap.add_argument("--cache", type=Path, default=None, help="NUAA cue cache (bench/train_liveness.py --cache)")
    ap.add_argument("--jpeg-cache", type=Path, default=None, help="NUAA cue cache of the JPEG q70 copies (computed when absent)")
    ap.add_argument("--skip", default="", help="comma list of sections to skip: nuaa,smoke,simulated,active")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    if "nuaa" not in skip:
        nuaa_section(args.cache, args.jpeg_cache)
    pipe = FacePipeline(fallback_detector=None)
    lv = PassiveLiveness(method="models")
    trained = PassiveLiveness()
    if "active" not in skip:
        from liveness_active import active_section  # noqa: E402

        active_section(trained)
    if "smoke" in skip and "simulated" in skip:
        return

    def scores(rgb: np.ndarray) -> tuple[float, float, float] | None:
        faces = pipe.detect(rgb, mesh=True)
        if not faces:
            return None
        r = trained.check(rgb, max(faces, key=lambda f: f.box.area))
        return r.antispoof, r.liveness, r.live_score

    smoke = require_data("liveness", "antispoof_samples")
    rows = []
    with open(smoke / "labels.csv") as fh:
        for r in csv.DictReader(fh):
            s = scores(load_image(smoke / r["image"]))
            if s is None:
                rows.append([r["image"], r["label"], "no face", "", "", ""])
                continue
            rows.append([r["image"], r["label"], s[0], s[1], lv.calibrate(lv.feature(s[0], s[1])), s[2]])
    table(["image", "label", "antispoof (real)", "liveness (live)", f"old live_score ({lv.score}, calibrated)",
           "trained live_score"], rows, "Smoke set: liveness/antispoof_samples (4 images)")
    if "simulated" in skip:
        return

    faces_root = require_data("faces")
    paths = sorted((faces_root / "deepface_pairs").glob("*.jpg")) + sorted((faces_root / "face_recognition_examples").rglob("*.jpg"))
    rng = np.random.default_rng(0)
    res: dict[str, list[tuple[float, float, float]]] = {"live": [], "screen": [], "print": []}
    missed = {k: 0 for k in res}
    t0 = time.perf_counter()
    for p in paths:
        rgb = load_image(p)
        if rgb.std(axis=2).mean() < 2:  # grayscale photo: colour cues absent, skip
            continue
        for kind, img in (("live", rgb), ("screen", screen_replay(rgb, rng)), ("print", print_attack(rgb, rng))):
            s = scores(img)
            if s is None:
                missed[kind] += 1
            else:
                res[kind].append(s)
    print(f"[{len(paths)} source photos in {time.perf_counter() - t0:.0f} s]", file=sys.stderr)

    arr = {k: np.asarray(v) for k, v in res.items()}
    if args.save:
        Path(args.save).write_text(json.dumps({k: v.tolist() for k, v in arr.items()}))
    feats = {
        "antispoof": lambda a: logit(a[:, 0]),
        "liveness": lambda a: logit(a[:, 1]),
        "mean of both (logits)": lambda a: (logit(a[:, 0]) + logit(a[:, 1])) / 2,
        "trained classifier (NUAA prints)": lambda a: logit(a[:, 2]),
    }
    rows, cal_rows = [], []
    for label, f in feats.items():
        live, screen, prt = f(arr["live"]), f(arr["screen"]), f(arr["print"])
        neg = np.concatenate([screen, prt])
        t, eer = eer_threshold(live, neg)
        slope, thr = platt(np.concatenate([live, neg]), np.concatenate([np.ones(len(live)), np.zeros(len(neg))]))
        rows.append([label, float(np.median(live)), float(np.median(screen)), float(np.median(prt)),
                     auc(live, screen), auc(live, prt), auc(live, neg), eer])
        if not label.startswith("trained"):
            cal_rows.append([label, t, slope, thr])
    table(["score (logit)", "median live", "median screen", "median print", "AUC live vs screen", "AUC live vs print",
           "AUC live vs all", "EER"], rows,
          f"Self-made attacks (simulated; live n={len(arr['live'])}, screen n={len(arr['screen'])}, print n={len(arr['print'])}, "
          f"no face found: {missed})")
    table(["score", "EER threshold (logit)", "logistic slope", "logistic 0.5 point (logit)"], cal_rows,
          "Calibration (logistic fit on the logit; paste the chosen row into liveness.CALIBRATION)")


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


if __name__ == "__main__":
    main()
