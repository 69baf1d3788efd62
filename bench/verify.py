"""1:1 verification accuracy and speed, Clearsight vs the `face_recognition` package, same run.

For each pair set (deepface master.csv, LFW fold 1) and each system:
- accuracy at the system's default decision threshold (ours: the calibrated
  `balanced` point, FMR 1e-3; face_recognition: its documented 0.6 distance), at
  thresholds calibrated for FMR 1e-2 and 1e-3 *the same way for every system* (from
  the impostor pairs below), and at the best threshold found on the pairs
  themselves (optimistic, as papers report it);
- TAR at FAR 1e-2 using the pair set's own impostor pairs, and TAR at FMR 1e-3 with
  the threshold taken from ~1.1 M impostor pairs of LFW's identification subset
  (held out from fold 1) — the pair sets alone are too small to resolve 1e-3;
- failures to detect (a pair with a missing face counts as "different");
- ms per face, end to end (decode + detect + align + embed), one process, one image at a time.

    .venv/bin/python bench/verify.py [--quick] [--systems default,flip,peer]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    FaceSystem,
    accuracy_at,
    best_accuracy,
    clearsight_system,
    face_recognition_system,
    lfw_identification_subset,
    load_pair_sets,
    pair_scores,
    require_data,
    table,
    tar_at_far,
    threshold_at_fmr,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--systems", default="default,peer")
    ap.add_argument("--quick", action="store_true", help="skip the 1e-3 calibration set (faster)")
    args = ap.parse_args()

    require_data("faces")
    sets = load_pair_sets()
    lfw_root = require_data("faces", "lfw_gray")
    with open(lfw_root / "pairs_fold1.csv") as fh:
        held_out = {str(lfw_root / r[k]) for r in csv.DictReader(fh) for k in ("image1", "image2")}
    subset = [] if args.quick else [(p, i) for p, i in lfw_identification_subset() if p not in held_out]

    factories = {
        "default": lambda: clearsight_system(),
        "flip": lambda: clearsight_system(embedder="dlib-resnet-flip"),
        "onnx": lambda: clearsight_system(embedder="dlib-resnet-onnx"),
        "onnx-flip": lambda: clearsight_system(embedder="dlib-resnet-onnx-flip"),
        "centerface": lambda: clearsight_system(detector="centerface", fallback=None),
        "faceres": lambda: clearsight_system(embedder="faceres"),
        "peer": face_recognition_system,
    }
    systems = []
    for key in args.systems.split(","):
        s = factories[key]()
        if s is None:
            print(f"skipping {key}: not installed")
            continue
        systems.append(s)

    results: dict[str, list[list[object]]] = {ps.name: [] for ps in sets}
    speed_rows = []
    for system in systems:
        t0 = time.perf_counter()
        templates: dict = {}
        for ps in sets:
            templates.update(system.run([str(ps.root / p) for p in ps.images]))
        eval_ms = list(system.ms)
        eval_failures = system.failures
        t_1e2 = t_1e3 = float("nan")
        if subset:
            templates.update(system.run([p for p, _ in subset if p not in templates]))
            _, imp_cal = system.genuine_impostor(templates, subset)
            t_1e2, t_1e3 = threshold_at_fmr(imp_cal, 1e-2), threshold_at_fmr(imp_cal, 1e-3)
        default_t = system.default_threshold
        if default_t is None:
            from clearsight.face.verification import operating_point

            default_t = operating_point(system.pipeline.embedder.model_id, "balanced").threshold  # type: ignore[attr-defined]
        for ps in sets:
            scores, same = pair_scores(system, templates, ps)
            acc_best, _ = best_accuracy(scores, same)
            gen, imp = scores[same], scores[~same]
            missing = sum(1 for a, b, _ in ps.pairs if templates[str(ps.root / a)] is None or templates[str(ps.root / b)] is None)
            results[ps.name].append(
                [
                    system.name,
                    accuracy_at(scores, same, default_t),
                    accuracy_at(scores, same, t_1e2) if np.isfinite(t_1e2) else float("nan"),
                    accuracy_at(scores, same, t_1e3) if np.isfinite(t_1e3) else float("nan"),
                    acc_best,
                    tar_at_far(gen, imp, 1e-2),
                    float(np.mean(gen >= t_1e3)) if np.isfinite(t_1e3) else float("nan"),
                    f"{sum(1 for p in ps.images if templates[str(ps.root / p)] is None)} img / {missing} pairs",
                ]
            )
        ms = np.asarray(eval_ms)
        speed_rows.append([system.name, len(ms), float(np.mean(ms)), float(np.median(ms)), float(np.percentile(ms, 90)), eval_failures])
        print(f"[{system.name}: {time.perf_counter() - t0:.0f} s]", file=sys.stderr)

    headers = [
        "system",
        "acc @ default threshold",
        "acc @ FMR1e-2 (calibrated)",
        "acc @ FMR1e-3 (calibrated)",
        "acc @ best threshold",
        "TAR@FAR1e-2 (pairs)",
        "TAR@FMR1e-3 (calibrated)",
        "no face",
    ]
    for name, rows in results.items():
        table(headers, rows, f"Verification: {name}")
    peer = next((r for r in speed_rows if r[0].startswith("face_recognition")), None)
    rows = []
    for r in speed_rows:
        rows.append([*r, f"{peer[2] / r[2]:.1f}x" if peer else "-"])
    table(["system", "images", "ms/face mean", "ms/face median", "ms/face p90", "no face", "speed vs face_recognition"], rows, "End-to-end speed (decode + detect + align + embed)")


if __name__ == "__main__":
    main()
