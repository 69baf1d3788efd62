"""KYC on composed specimen documents, and the flow-level liveness checks.

There is no ID-document material in shared/: each document is composed at run time
(`clearsight.apps.kyc.specimen`): a Utopia data page (TD3 passport or TD1 card, ICAO
specimen-style MRZ with computed check digits, fictional names) whose portrait is an
LFW photo of a person with two or more photos, then "photographed" (on a table, in
perspective, turned up to 12 degrees, every fourth one upside down, uneven light and
glare, blur, noise, JPEG 80). The selfie is the same person's second LFW photo
(grayscale, 250x250). Nothing is written to disk.

Tables:
- document reading: page outline found, portrait found (and on the printed portrait),
  MRZ found, all check digits valid, fields exact (document number and surname);
- 1:1 selfie vs document portrait in ID-photo mode at strict (FMR 1e-4), genuine and
  impostor (the next person's selfie), with face_recognition's 0.6 rule on the same
  crops side by side;
- decision distribution without liveness, and with a passed active proof (the proof
  is assumed: LFW has no video), for genuine and impostor applicants;
- flow-level replay: a consumed liveness proof offered again (KYC, log-in).
`--active` adds the active-challenge tables of bench/liveness_active.py (pass rate
on a real clip, replays against other orders, print and screen attacks).

    PYTHONPATH=src python bench/kyc.py [--people 40] [--active]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import require_data, table  # noqa: E402


def people(n: int) -> list[tuple[str, str, str]]:
    root = require_data("faces", "lfw_gray")
    by: dict[str, list[str]] = {}
    for r in csv.DictReader(open(root / "images.csv")):
        by.setdefault(r["identity"], []).append(str(root / r["path"]))
    multi = sorted((k, sorted(v)) for k, v in by.items() if len(v) >= 2)
    step = max(1, len(multi) // n)
    return [(k, v[0], v[1]) for k, v in multi[::step][:n]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=40)
    ap.add_argument("--active", action="store_true", help="also the active-challenge tables (slow)")
    args = ap.parse_args()

    import tempfile

    os.environ.setdefault("CLEARSIGHT_DATA_DIR", tempfile.mkdtemp(prefix="bench-kyc-"))
    os.environ.setdefault("CLEARSIGHT_SECRETS_DIR", tempfile.mkdtemp(prefix="bench-kyc-keys-"))
    from clearsight.config import Settings, get_settings

    if "CLEARSIGHT_MODELS_DIR" not in os.environ:
        os.environ["CLEARSIGHT_MODELS_DIR"] = str(Settings(data_dir=Path.home() / ".local/share/clearsight").model_dir)
    get_settings.cache_clear()
    from clearsight.apps.kyc import KycCheck, evidence
    from clearsight.apps.kyc.specimen import compose, photograph
    from clearsight.face.document import DocumentReader
    from clearsight.face.pipeline import FacePipeline
    from clearsight.face.verification import verify_gated
    from clearsight.gallery import Gallery
    from clearsight.io import load_image

    try:
        import face_recognition as fr
    except ImportError:
        fr = None
    settings = get_settings()
    pipe = FacePipeline()
    reader = DocumentReader(pipe)
    gallery = Gallery.open(settings, pipeline=pipe)
    check = KycCheck(pipe, gallery, settings, reader=reader)
    sample = people(args.people)
    load = os.getloadavg()
    t0 = time.time()
    doc_rows: Counter = Counter()
    fmt_rows: dict[str, Counter] = {"TD3": Counter(), "TD1": Counter()}
    gen, imp, fr_gen, fr_imp = [], [], [], []
    decisions: dict[str, Counter] = {k: Counter() for k in ("genuine, no liveness", "genuine, active proof",
                                                           "impostor, active proof")}
    reasons: Counter = Counter()
    for i, (name, first, second) in enumerate(sample):
        portrait, selfie = load_image(first), load_image(second)
        impostor = load_image(sample[(i + 1) % len(sample)][2])
        fmt = "TD1" if i % 3 == 2 else "TD3"
        spec = compose(portrait, i + 1, fmt=fmt, seed=i)
        photo = photograph(spec.page, seed=i, upside_down=(i % 4 == 3))
        d = reader.read(photo)
        c = fmt_rows[fmt]
        c["docs"] += 1
        c["page"] += d.page_found
        c["portrait"] += d.portrait is not None
        c["mrz found"] += d.mrz is not None
        c["mrz valid"] += bool(d.mrz and d.mrz.valid)
        c["fields exact"] += bool(d.mrz and d.mrz.valid and d.mrz.document_number == spec.document_number
                                  and d.mrz.surname == spec.surname)
        c["repaired"] += bool(d.mrz and d.mrz.valid and d.mrz.repairs)
        if d.portrait is not None:
            me, port = pipe.primary_template(selfie), pipe.primary_template(d.portrait.crop)
            other = pipe.primary_template(impostor)
            gen.append(verify_gated(me.embedding, me.quality, port.embedding, port.quality, "strict", id_photo=True,
                                    settings=pipe.settings).decision.value)
            imp.append(verify_gated(other.embedding, other.quality, port.embedding, port.quality, "strict",
                                    id_photo=True, settings=pipe.settings).decision.value)
            if fr is not None:
                enc_p = fr.face_encodings(d.portrait.crop)
                enc_s, enc_o = fr.face_encodings(selfie), fr.face_encodings(impostor)
                if enc_p and enc_s:
                    fr_gen.append(bool(fr.face_distance([enc_p[0]], enc_s[0])[0] <= 0.6))
                if enc_p and enc_o:
                    fr_imp.append(bool(fr.face_distance([enc_p[0]], enc_o[0])[0] <= 0.6))
        for label, face, ev in (
                ("genuine, no liveness", selfie, evidence.NO_LIVENESS),
                ("genuine, active proof", selfie, evidence.LivenessEvidence("active", True, session_id="assumed",
                                                                            reference_frame=selfie)),
                ("impostor, active proof", impostor, evidence.LivenessEvidence("active", True, session_id="assumed",
                                                                               reference_frame=impostor))):
            r = check.decide(d, face, ev, "bench")
            decisions[label][r.decision] += 1
            for x in r.reasons:
                reasons[(label, x.split(" (")[0].split(":")[0][:70])] += 1
        print(f"{i + 1}/{len(sample)} {fmt} portrait={d.portrait is not None} mrz_valid={bool(d.mrz and d.mrz.valid)} "
              f"1:1={gen[-1] if gen else '-'} ({time.time() - t0:.0f} s)", flush=True)

    n = len(sample)
    note = f"{n} composed documents from LFW, load average at start {load[0]:.1f} on {os.cpu_count()} cores"
    rows = []
    for fmt, c in fmt_rows.items():
        if c["docs"]:
            rows.append([fmt, c["docs"], f"{c['page']}/{c['docs']}", f"{c['portrait']}/{c['docs']}",
                         f"{c['mrz found']}/{c['docs']}", f"{c['mrz valid']}/{c['docs']}",
                         f"{c['fields exact']}/{c['docs']}", c["repaired"]])
    tot = sum(fmt_rows.values(), Counter())
    rows.append(["all", n, f"{tot['page']}/{n}", f"{tot['portrait']}/{n}", f"{tot['mrz found']}/{n}",
                 f"{tot['mrz valid']}/{n} ({tot['mrz valid'] / n:.0%})", f"{tot['fields exact']}/{n}", tot["repaired"]])
    table(["format", "documents", "page outline found", "portrait found", "MRZ found", "MRZ check digits valid",
           "number and surname exact", "valid after an O/0 repair"], rows,
          f"Reading composed, photographed ID documents (PP-OCRv4; {note})")

    def share(xs: list, v: object) -> str:
        return f"{sum(x == v for x in xs)}/{len(xs)} ({sum(x == v for x in xs) / max(1, len(xs)):.0%})"

    table(["system", "genuine: match (TAR)", "genuine: inconclusive (gate)", "impostor: match (false)"], [
        ["clearsight, ID-photo mode, strict (FMR 1e-4)", share(gen, "match"), share(gen, "inconclusive"),
         share(imp, "match")],
        ["face_recognition, distance <= 0.6", share(fr_gen, True) if fr else "not installed", "-",
         share(fr_imp, True) if fr else "-"],
    ], f"1:1 selfie vs document portrait (portrait found by the reader; {note})")
    table(["applicant", "pass", "review", "fail"],
          [[k, v["pass"], v["review"], v["fail"]] for k, v in decisions.items()],
          "KYC decisions (the active proof is assumed: LFW has no video; duplicates: empty gallery)")
    table(["applicant", "reason", "count"], [[k, r, c] for (k, r), c in sorted(reasons.items())],
          "Reasons given")

    # -- the same proof twice: a replayed session at flow level
    from clearsight.face.challenge import ChallengeConfig
    from clearsight.face.liveness_session import LivenessSession

    refused = 0
    for _ in range(20):
        s = LivenessSession(ChallengeConfig(steps=1), steps=("blink",))
        s.challenge.status = "passed"  # a session that passed (its frames are not the point here)
        first = evidence.consume(s, "x")
        again = evidence.consume(s, "x")
        refused += first.passed and not again.passed
        s.close()
    table(["replay", "refused"], [["a consumed liveness proof offered again (KYC submit or log-in)", f"{refused}/20"]],
          "Flow-level replay")
    gallery.close()
    if args.active:
        from liveness_active import active_section

        from clearsight.face.liveness import PassiveLiveness

        active_section(PassiveLiveness())
    print(f"\n(total {time.time() - t0:.0f} s; load average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
