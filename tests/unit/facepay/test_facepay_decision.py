"""The gate's margin rule and the consent index behind its search (issue 17).

The margin ("the next candidate at least `min_margin` behind") guards against two
riders who look alike; a rider enrolled with several photos must not be ambiguous
with themself."""

from __future__ import annotations

import numpy as np
from sqlalchemy import text

from clearsight.gallery.consent import Purpose
from clearsight.gallery.store import IdentityRow, TemplateRow
from clearsight.types import Embedding

from .helpers import MODEL, emb, rider, vec


def near(seed: int, noise_seed: int, scale: float) -> Embedding:
    v = vec(seed) + scale * np.random.default_rng(noise_seed).standard_normal(128).astype(np.float32) / np.sqrt(128)
    return Embedding(v / np.linalg.norm(v), MODEL)


def test_a_rider_with_several_photos_is_not_ambiguous_with_themself(fp):
    for s in range(10, 16):
        rider(fp, s)
    e = fp.enrol_rider("three photos", [emb(1), near(1, 101, 0.05), near(1, 102, 0.05)], actor="test")
    d = fp.decider.decide_template(near(1, 103, 0.05), actor="gate:test")
    # each of the rider's templates is within 0.05 of the probe: a per-template margin would be ambiguous
    assert d.identity_id == e.rider.identity_id, d
    assert d.unsure is None
    assert d.second is None or d.similarity - d.second >= fp.decider.fs.min_margin


def test_two_riders_who_look_alike_are_ambiguous(fp):
    for s in range(10, 16):
        rider(fp, s)
    rider(fp, 1, name="one")
    fp.enrol_rider("look-alike", [near(1, 201, 0.02)], actor="test")
    d = fp.decider.decide_template(emb(1), actor="gate:test")
    assert d.identity_id is None
    assert d.unsure is not None and d.unsure.value == "ambiguous"
    assert d.second is not None and d.similarity - d.second < fp.decider.fs.min_margin


def test_the_consent_check_probes_the_identity_purpose_index_without_statistics(fp):
    """Every rider holds the same purpose: without statistics SQLite took the purpose index
    and scanned every consent per candidate (seconds per search at 2,000 riders)."""
    g = fp.gallery
    if g._repo.engine.dialect.name != "sqlite":  # noqa: SLF001
        return
    for s in range(10, 40):
        rider(fp, s)
    from sqlalchemy import func, select

    from clearsight.gallery import policy
    from clearsight.gallery.store import utcnow

    stmt = (select(TemplateRow.identity_id, func.count(TemplateRow.id))
            .join(IdentityRow, IdentityRow.id == TemplateRow.identity_id).where(TemplateRow.model == MODEL))
    stmt = policy.eligible(stmt, Purpose.FACEPAY, None, None, utcnow()).group_by(TemplateRow.identity_id)
    with g._repo.session() as s:  # noqa: SLF001
        s.execute(text("DROP TABLE IF EXISTS sqlite_stat1"))
        compiled = stmt.compile(s.get_bind(), compile_kwargs={"literal_binds": True})
        plan = " | ".join(str(r[-1]) for r in s.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_consents_identity_purpose" in plan, plan
    assert "ix_consents_purpose" not in plan.replace("ix_consents_identity_purpose", ""), plan
