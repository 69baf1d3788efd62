"""Which face embedder should be the default? dlib ResNet vs faceres (box crop and
aligned crop) vs fused scores, same faces, same run, plus the face_recognition peer.

Every image is detected once (MediaPipe, CenterFace fallback: the default
pipeline's detectors) and the same face is embedded by every embedder, so the
comparison is of embedders only. Reported per pair set (deepface master.csv, LFW
fold 1):
- TAR at FAR 1e-2 from the pair set's own impostor pairs;
- TAR at FMR 1e-3 and accuracy at the FMR 1e-3 threshold, the threshold taken from
  the impostor pairs of LFW's identification subset with fold-1 images held out
  (the pair sets are too small to resolve 1e-3);
- accuracy at the best threshold on the pairs themselves (optimistic);
- ms per face for the embedding step alone.
Fusion: each embedder's cosine is z-normalised with the mean/std of its impostor
scores on the calibration subset, then summed (no weights fitted on test pairs).

    .venv/bin/python bench/verify_embedders.py [--quick] [--embedders dlib-resnet,faceres,faceres-aligned]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    best_accuracy,
    face_recognition_system,
    lfw_identification_subset,
    load_pair_sets,
    pair_scores,
    require_data,
    table,
    tar_at_far,
    threshold_at_fmr,
)

from clearsight.io import load_image  # noqa: E402
from clearsight.vision.face_detection import create_detector  # noqa: E402
from clearsight.vision.face_embedding import create_embedder, embed_faces  # noqa: E402


def detect_all(paths: list[str]) -> dict[str, tuple[np.ndarray, object] | None]:
    primary, fallback = create_detector("mediapipe", min_score=0.5), create_detector("centerface", min_score=0.5)
    out: dict[str, tuple[np.ndarray, object] | None] = {}
    for p in paths:
        rgb = load_image(p)
        faces = primary.detect(rgb) or fallback.detect(rgb)
        out[p] = (rgb, max(faces, key=lambda f: f.box.area)) if faces else None
    return out


def embed_all(name: str, faces: dict) -> tuple[dict[str, np.ndarray | None], float]:
    emb = create_embedder(name)
    out: dict[str, np.ndarray | None] = {}
    ms = []
    for p, item in faces.items():
        if item is None:
            out[p] = None
            continue
        t0 = time.perf_counter()
        out[p] = np.asarray(embed_faces(emb, item[0], [item[1]])[0].vector)
        ms.append((time.perf_counter() - t0) * 1000)
    return out, float(np.mean(ms)) if ms else float("nan")


def impostors(templates: dict, subset: list[tuple[str, str]]) -> np.ndarray:
    kept = [(templates[p], i) for p, i in subset if templates.get(p) is not None]
    m = np.stack([v for v, _ in kept])
    ids = np.array([i for _, i in kept])
    iu = np.triu_indices(len(ids), 1)
    return (m @ m.T)[iu][ids[iu[0]] != ids[iu[1]]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedders", default="dlib-resnet,faceres,faceres-aligned")
    ap.add_argument("--quick", action="store_true", help="skip the 1e-3 calibration subset")
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args()
    names = args.embedders.split(",")

    sets = load_pair_sets()
    lfw_root = require_data("faces", "lfw_gray")
    with open(lfw_root / "pairs_fold1.csv") as fh:
        held_out = {str(lfw_root / r[k]) for r in csv.DictReader(fh) for k in ("image1", "image2")}
    subset = [] if args.quick else [(p, i) for p, i in lfw_identification_subset() if p not in held_out]
    paths = sorted({str(ps.root / p) for ps in sets for p in ps.images} | {p for p, _ in subset})

    t0 = time.perf_counter()
    faces = detect_all(paths)
    print(f"[detected {len(paths)} images in {time.perf_counter() - t0:.0f} s]", file=sys.stderr)

    templates, ms, stats = {}, {}, {}
    for n in names:
        t0 = time.perf_counter()
        templates[n], ms[n] = embed_all(n, faces)
        if subset:
            imp = impostors(templates[n], subset)
            stats[n] = (float(imp.mean()), float(imp.std()), imp)
        print(f"[{n}: {time.perf_counter() - t0:.0f} s]", file=sys.stderr)

    def scorer(combo: tuple[str, ...]):
        def score(p1: str, p2: str) -> float:
            s = 0.0
            for n in combo:
                a, b = templates[n][p1], templates[n][p2]
                if a is None or b is None:
                    return -np.inf
                c = float(np.dot(a, b))
                s += (c - stats[n][0]) / stats[n][1] if len(combo) > 1 else c
            return s

        return score

    combos: list[tuple[str, ...]] = [(n,) for n in names]
    if subset:
        combos += [c for c in itertools.combinations(names, 2) if not (c[0].startswith("faceres") and c[1].startswith("faceres"))]

    # calibration thresholds (FMR 1e-3, 1e-2) per combination from the subset's impostors
    cal = {}
    if subset:
        kept = [(p, i) for p, i in subset if all(templates[n].get(p) is not None for n in names)]
        ids = np.array([i for _, i in kept])
        iu = np.triu_indices(len(ids), 1)
        imp_mask = ids[iu[0]] != ids[iu[1]]
        for combo in combos:
            total = np.zeros(len(iu[0]))
            for n in combo:
                m = np.stack([templates[n][p] for p, _ in kept])
                s = (m @ m.T)[iu]
                total += (s - stats[n][0]) / stats[n][1] if len(combo) > 1 else s
            imp = total[imp_mask]
            cal[combo] = (threshold_at_fmr(imp, 1e-3), threshold_at_fmr(imp, 1e-2))

    peer = None if args.no_peer else face_recognition_system()
    peer_templates = peer.run(sorted({str(ps.root / p) for ps in sets for p in ps.images})) if peer else {}

    for ps in sets:
        rows = []
        for combo in combos:
            sc = scorer(combo)
            scores = np.array([sc(str(ps.root / a), str(ps.root / b)) for a, b, _ in ps.pairs])
            same = np.array([s for _, _, s in ps.pairs])
            gen, imp = scores[same], scores[~same]
            t3 = cal.get(combo, (float("nan"),))[0]
            label = " + ".join(combo) if len(combo) > 1 else combo[0]
            rows.append([
                label if len(combo) == 1 else f"fused z-sum: {label}",
                tar_at_far(gen, imp, 1e-2),
                float(np.mean(gen >= t3)) if np.isfinite(t3) else float("nan"),
                float(np.mean((scores >= t3) == same)) if np.isfinite(t3) else float("nan"),
                best_accuracy(scores, same)[0],
                sum(ms[n] for n in combo),
            ])
        if peer:
            scores, same = pair_scores(peer, peer_templates, ps)
            rows.append([peer.name, tar_at_far(scores[same], scores[~same], 1e-2), float("nan"), float("nan"), best_accuracy(scores, same)[0], float(np.mean(peer.ms))])
        table(
            ["embedder", "TAR@FAR1e-2 (pairs)", "TAR@FMR1e-3 (calibrated)", "acc @ FMR1e-3 thr", "acc @ best thr", "ms/face (embed only; peer: end to end)"],
            rows,
            f"Embedders on {ps.name} ({len(ps.pairs)} pairs)",
        )


if __name__ == "__main__":
    main()
