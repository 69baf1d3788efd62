"""Retention: what the law lets us keep, and nothing longer.

A consent that expired or was withdrawn is deleted (its grant and withdrawal stay
in the audit log). An identity left without any valid consent loses its
templates, stored images and index entries: without a legal basis the biometric
must go, while the identity record stays so a renewed consent can re-enrol it.
With `template_retention_days`, templates older than that are purged too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, not_, or_, select

from . import audit as audit_log
from .consent import valid_consent_clause
from .records import PurgeReport
from .store import ConsentRow, IdentityRow, TemplateRow, utcnow

if TYPE_CHECKING:
    from .gallery import Gallery


def purge(g: Gallery, actor: str) -> PurgeReport:
    now = utcnow()
    with g._session() as s, s.begin():
        dead = or_(ConsentRow.withdrawn_at.is_not(None),
                   (ConsentRow.expires_at.is_not(None)) & (ConsentRow.expires_at <= now))
        n_cons = s.execute(delete(ConsentRow).where(dead)).rowcount or 0
        unconsented = select(IdentityRow.id).where(not_(valid_consent_clause(IdentityRow.id, None, now)))
        cond = TemplateRow.identity_id.in_(unconsented)
        if g.gs.template_retention_days is not None:
            cond = or_(cond, TemplateRow.created_at < now - timedelta(days=g.gs.template_retention_days))
        rows = s.execute(select(TemplateRow.id, TemplateRow.identity_id, TemplateRow.image_path).where(cond)).all()
        ids = [int(r.id) for r in rows]
        for i in range(0, len(ids), 5000):
            s.execute(delete(TemplateRow).where(TemplateRow.id.in_(ids[i : i + 5000])))
        affected = sorted({r.identity_id for r in rows})
        for iid in affected:
            audit_log.append(s, actor=actor, action="retention.purge", target=iid, outcome="ok",
                             details={"templates": sum(1 for r in rows if r.identity_id == iid)})
        audit_log.append(s, actor=actor, action="retention.run", outcome="ok",
                         details={"consents": int(n_cons), "templates": len(ids), "identities": len(affected)})
    g._drop_templates(ids, [r.image_path for r in rows])
    return PurgeReport(consents_purged=int(n_cons), templates_purged=len(ids), identities_affected=len(affected))
