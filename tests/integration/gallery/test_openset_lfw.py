"""Open-set decision mode on real faces (a reduced form of bench/identify.py's acceptance).

100 LFW-gray people who are NOT in the calibration subset are enrolled (one photo
each); 120 photos of other people are the non-mated probes. Decision mode at its
default FPIR (1e-3) must hold: the measured FPIR stays at or below 1e-2 (the bench
checks the 95% upper bound over every non-mated LFW-gray probe). Candidates mode on
the same gallery is never a match.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.conftest import data_path

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lfw_split():
    lfw = data_path("faces", "lfw_gray")
    with open(lfw / "images.csv") as fh:
        rows = list(csv.DictReader(fh))
    calibrated = {r["identity"] for r in rows if r["in_identification_subset"] == "1"}
    rows = [r for r in rows if r["identity"] not in calibrated]
    by: dict[str, list[str]] = {}
    for r in rows:
        by.setdefault(r["identity"], []).append(str(lfw / r["path"]))
    people = sorted(by)
    multi = [p for p in people if len(by[p]) >= 2]
    enrolled = multi[::2][:100]  # every other multi-photo person: a spread over the alphabet
    others = [p for p in people if p not in set(enrolled)]
    non_mated = [by[p][0] for p in others[::3]][:120]
    mated = [(p, by[p][1]) for p in enrolled[:10]]
    return [(p, by[p][0]) for p in enrolled], mated, non_mated


def test_decision_mode_holds_its_fpir_and_candidates_never_match(lfw_split, _isolated_data_dir):
    from clearsight.errors import NoFaceError
    from clearsight.face.pipeline import default_pipeline
    from clearsight.gallery import Gallery

    enrolled, mated, non_mated = lfw_split
    pipe = default_pipeline()

    def embed(path):
        try:
            return pipe.embed(path)
        except NoFaceError:
            return None

    from clearsight.settings import GallerySettings

    g = Gallery.open(gallery=GallerySettings(sqlite_synchronous="NORMAL"))
    who = {}
    for name, path in enrolled:
        e = embed(path)
        if e is None:
            continue
        out = g.enrol_new_identity(None, name, [e], actor="t", purpose="access")
        who[out.identity.id] = name
    n = len(who)
    assert n >= 95

    probes = [e for e in map(embed, non_mated) if e is not None]
    false_pos, scores = 0, []
    for e in probes:
        hits = g.search(e, "access", "t", top_k=2)
        assert sum(h.is_match for h in hits) <= 1 and all(h.n == n and h.fpir == 1e-3 for h in hits)
        false_pos += hits[0].is_match
        scores.append(hits[0].similarity)
    assert len(probes) >= 110
    assert false_pos / len(probes) <= 1e-2, (false_pos, len(probes))
    # the stranger scores are real: some come near the 1:1 'balanced' point, where 1:N would have failed
    assert max(scores) > 0.90

    right = wrong = 0
    for name, path in mated:
        e = embed(path)
        if e is None:
            continue
        hits = g.search(e, "access", "t", top_k=1)
        if hits[0].is_match:
            right += who[hits[0].identity_id] == name
            wrong += who[hits[0].identity_id] != name
        # the same probe in candidates mode: a list for review, never a match
        cands = g.search(e, "access", "t", top_k=3, mode="candidates")
        assert cands and not any(c.is_match for c in cands) and all(c.mode == "candidates" for c in cands)
    assert wrong == 0 and right >= 1
    point = g.search_point("access")
    assert point.n == n and 0 < point.expected_fnir < 1
    g.close()
    assert np.isfinite(point.threshold)
