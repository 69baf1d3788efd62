"""Train the passive-liveness classifier on NUAA printed-photo attacks, evaluate it
leave-subject-out, and write the small coefficients file the product ships.

What it reads: `../shared/data/liveness/nuaa_print` (8 subjects, 50 live and 50
printed-photo frames each; research/evaluation material, see its SOURCE.md), by
path, never copied. Labels come from `labels.csv`'s `label` column; the subject
column only groups the folds. File names, pose codes, sessions and glasses codes
are never features.

Per frame: the largest face (BlazeFace, MediaPipe mesh), the two networks' logits
and the texture/frequency cues of `clearsight.face.liveness` (`crop`: the face
only; `frame`: also the context around it, where a print's edges and the fingers
holding it show).

Evaluation: for each subject, a classifier trained on the other 7 scores that
subject's frames; AUC is over the pooled held-out scores (and per subject). The
regularisation strength is fixed in advance (L2 = 1.0 on standardised cues), not
tuned on the held-out subjects.

The shipped file (`src/clearsight/face/liveness_classifier.json`) is the same fit
on all 8 subjects; its sha256 is pinned in `clearsight.models.registry`.
Rerunning gives the same file (deterministic L-BFGS from zeros, 6 decimals).

    PYTHONPATH=src .venv/bin/python bench/train_liveness.py [--cache /tmp/nuaa_cues.npz] [--write]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, require_data, table  # noqa: E402

OUT = REPO / "src" / "clearsight" / "face" / "liveness_classifier.json"
L2 = 1.0


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    pos, neg = np.asarray(pos, np.float64), np.asarray(neg, np.float64)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def _rejpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def extract(root: Path, cache: Path | None, jpeg: int | None = None) -> dict[str, np.ndarray]:
    """Cue vectors of every NUAA frame with a face: crop, frame, raw model probs, label, subject.
    `jpeg`: re-encode each frame at this quality first (what a browser or phone upload does)."""
    if cache is not None and cache.is_file():
        z = np.load(cache, allow_pickle=False)
        return {k: z[k] for k in z.files}
    from clearsight.face.liveness import PassiveLiveness
    from clearsight.face.pipeline import FacePipeline
    from clearsight.io import load_image

    pipe = FacePipeline(fallback_detector=None)
    lv = PassiveLiveness(method="models")
    rows = list(csv.DictReader(open(root / "labels.csv")))
    crop, frame, raw, label, subject, missed = [], [], [], [], [], 0
    t0 = time.perf_counter()
    for r in rows:
        rgb = load_image(root / r["path"])
        if jpeg is not None:
            rgb = _rejpeg(rgb, jpeg)
        faces = pipe.detect(rgb, mesh=True)
        if not faces:
            missed += 1
            continue
        face = max(faces, key=lambda f: f.box.area)
        a, l = lv.raw_scores(rgb, face)
        c = lv.cues(rgb, face, (a, l))
        crop.append(c["crop"])
        frame.append(c["frame"])
        raw.append([a, l])
        label.append(1 if r["label"] == "live" else 0)
        subject.append(int(r["subject"]))
    print(f"[{len(rows)} frames, {missed} without a face, {time.perf_counter() - t0:.0f} s]", file=sys.stderr)
    out = {"crop": np.asarray(crop), "frame": np.asarray(frame), "raw": np.asarray(raw),
           "label": np.asarray(label), "subject": np.asarray(subject), "missed": np.asarray(missed)}
    if cache is not None:
        np.savez(cache, **out)
    return out


def leave_subject_out(x: np.ndarray, y: np.ndarray, subj: np.ndarray, names: list[str]) -> np.ndarray:
    """Held-out live probability of every row, each from a model that never saw its subject."""
    from clearsight.face.liveness import fit_logistic

    out = np.zeros(len(y))
    for s in np.unique(subj):
        test = subj == s
        clf = fit_logistic(x[~test], y[~test], names, l2=L2)
        out[test] = clf.probability(x[test])
    return out


def rates(score: np.ndarray, y: np.ndarray, t: float = 0.5) -> tuple[float, float]:
    """(APCER: attacks accepted as live, BPCER: live faces rejected) at threshold t."""
    return float(np.mean(score[y == 0] >= t)), float(np.mean(score[y == 1] < t))


def evaluate(d: dict[str, np.ndarray]) -> list[list[object]]:
    from clearsight.face.liveness import CALIBRATION, cue_names

    names = cue_names()
    y, subj, raw = d["label"], d["subject"], d["raw"]
    lg = np.log(np.clip(raw, 1e-6, 1 - 1e-6) / (1 - np.clip(raw, 1e-6, 1 - 1e-6)))
    old = 1 / (1 + np.exp(-CALIBRATION["slope"] * (lg.mean(1) - CALIBRATION["threshold"])))
    scores = {
        "antispoof net alone (raw)": raw[:, 0],
        "liveness net alone (raw)": raw[:, 1],
        "old score: calibrated mean of both (shipped before)": old,
        "LR over the two nets' logits (LOSO)": leave_subject_out(lg, y, subj, ["a", "l"]),
        "LR, face crop cues + nets (LOSO)": leave_subject_out(d["crop"], y, subj, names["crop"]),
        "LR, full frame: crop + context cues (LOSO)": leave_subject_out(d["frame"], y, subj, names["frame"]),
    }
    rows = []
    for label, s in scores.items():
        per = [auc(s[(subj == k) & (y == 1)], s[(subj == k) & (y == 0)]) for k in np.unique(subj)]
        apcer, bpcer = rates(s, y)
        rows.append([label, auc(s[y == 1], s[y == 0]), min(per), float(np.mean(per)), apcer, bpcer])
    return rows


def train(d: dict[str, np.ndarray]) -> dict[str, object]:
    from clearsight.face.liveness import cue_names, fit_logistic

    names = cue_names()
    y = d["label"]
    models = {m: fit_logistic(d[m], y, names[m], l2=L2).to_dict() for m in ("frame", "crop")}
    return {
        "what": "passive liveness: logistic regression over cues of clearsight.face.liveness (live = 1)",
        "trained_by": "bench/train_liveness.py",
        "data": "NUAA Photograph Imposter Database (raw), subjects 0001-0008, 400 live + 400 print webcam frames "
                "(shared/data/liveness/nuaa_print); research/evaluation material, no licence stated",
        "attacks": "printed photographs only (no screens, no masks)",
        "l2": L2,
        "n": {"live": int((y == 1).sum()), "print": int((y == 0).sum())},
        "models": models,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path, default=None, help="cue cache (.npz); reused when present")
    ap.add_argument("--write", action="store_true", help=f"write {OUT.relative_to(REPO)}")
    args = ap.parse_args()
    d = extract(require_data("liveness", "nuaa_print"), args.cache)
    table(["score", "AUC (pooled)", "AUC worst subject", "AUC mean of subjects", "APCER @0.5", "BPCER @0.5"],
          evaluate(d), f"NUAA print attacks, leave-subject-out over 8 subjects (live n={int(d['label'].sum())}, "
          f"print n={int((d['label'] == 0).sum())}, frames without a face: {int(d['missed'])})")
    if args.write:
        OUT.write_text(json.dumps(train(d), indent=1) + "\n")
        from clearsight.models.registry import sha256_file

        print(f"wrote {OUT.relative_to(REPO)} sha256 {sha256_file(OUT)}")


if __name__ == "__main__":
    main()
