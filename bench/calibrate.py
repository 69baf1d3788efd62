"""Calibrate verification operating points from real impostor score distributions.

For each embedder: embed LFW's identification subset (158 people x 10 images,
minus every image used by pairs_fold1.csv so the verification benchmark stays
held out), score all cross-identity pairs (~1.2 M impostors), and put each named
operating point's threshold where the impostor false-match rate meets its target.
Writes src/clearsight/face/operating_points.json, which ships with the package.

    .venv/bin/python bench/calibrate.py [--embedder dlib-resnet ...]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, clearsight_system, lfw_identification_subset, require_data, table, threshold_at_fmr  # noqa: E402

from clearsight.face.verification import OPERATING_POINTS  # noqa: E402

OUT = REPO / "src" / "clearsight" / "face" / "operating_points.json"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedder", action="append", default=None)
    ap.add_argument("--detector", default="mediapipe")
    args = ap.parse_args()
    embedders = args.embedder or ["dlib-resnet-onnx"]

    lfw = require_data("faces", "lfw_gray")
    with open(lfw / "pairs_fold1.csv") as fh:
        held_out = {str(lfw / r[k]) for r in csv.DictReader(fh) for k in ("image1", "image2")}
    subset = [(p, i) for p, i in lfw_identification_subset() if p not in held_out]

    table_data = json.loads(OUT.read_text()) if OUT.exists() else {}
    rows = []
    for name in embedders:
        system = clearsight_system(args.detector, name)
        templates = system.run([p for p, _ in subset])
        ids = [i for p, i in subset if templates[p] is not None]
        genuine, impostor = system.genuine_impostor(templates, subset)
        model_id = system.pipeline.embedder.model_id  # type: ignore[attr-defined]
        points = {}
        for op, fmr in OPERATING_POINTS.items():
            t = threshold_at_fmr(impostor, fmr)
            points[op] = {"target_fmr": fmr, "threshold": round(t, 5)}
            rows.append([model_id, op, fmr, round(t, 4), float(np.mean(impostor >= t)), float(np.mean(genuine >= t))])
        table_data[model_id] = {
            "points": points,
            "calibrated_on": "LFW identification subset (lfw_gray, fold-1 pair images excluded)",
            "images": len(ids),
            "identities": int(len(set(ids))),
            "impostor_pairs": int(len(impostor)),
            "genuine_pairs": int(len(genuine)),
            "detector": args.detector,
            "date": date.today().isoformat(),
        }
    table(["model", "operating point", "target FMR", "threshold", "measured FMR", "TAR (same data)"], rows, "Calibrated operating points")
    OUT.write_text(json.dumps(table_data, indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
