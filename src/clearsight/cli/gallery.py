"""`clearsight enrol`, `clearsight search`, `clearsight gallery ...`, `clearsight keys rotate`.

Exit codes: 0 ok, 1 search found no open-set match (decision mode) or no candidate for review, 2 bad input
(incl. quality rejection), 3 key/model problem, 4 not found, 5 consent required.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from ..errors import ClearsightError
from .common import JsonOpt, default_actor, echo_json, quiet_runtimes

if TYPE_CHECKING:
    from ..gallery import Gallery
    from ..gallery.records import EnrolOutcome

ActorOpt = Annotated[str, typer.Option(help="who is doing this (recorded in the audit log)")]


def _open() -> Gallery:
    from ..gallery import Gallery

    quiet_runtimes()
    return Gallery.open()


def enrol(
    images: Annotated[list[Path], typer.Argument(help="one or more photos of the same person")],
    identity: Annotated[Optional[str], typer.Option("--identity", help="existing identity id")] = None,
    name: Annotated[Optional[str], typer.Option(help="create a new identity with this display name")] = None,
    external_id: Annotated[Optional[str], typer.Option(help="your id for the new identity")] = None,
    purpose: Annotated[Optional[str], typer.Option(help="record a consent for this purpose first")] = None,
    legal_basis: Annotated[str, typer.Option(help="legal basis of that consent")] = "consent",
    granted_by: Annotated[Optional[str], typer.Option(help="who granted it (default: the actor)")] = None,
    expires: Annotated[Optional[datetime], typer.Option(help="consent expiry (ISO date/time, UTC)")] = None,
    actor: ActorOpt = default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Enrol faces: detect, quality gate, embed, protect, store (consent required)."""
    if bool(identity) == bool(name):
        raise typer.BadParameter("give exactly one of --identity or --name")
    with _open() as g:
        if name:  # a new person: identity, consent and faces in one transaction, or nothing at all
            created = g.enrol_new_identity(external_id, name, images, actor=actor, purpose=purpose,
                                            legal_basis=legal_basis, granted_by=granted_by, expires_at=expires)
            ident, outcomes = created.identity, list(created.outcomes)
        else:
            ident = g.get_identity(identity)
            if purpose:
                g.add_consent(ident.id, purpose, legal_basis, granted_by or actor, expires, actor=actor)
            outcomes = [_enrol_one(g, ident.id, path, actor) for path in images]
        results: list[dict[str, Any]] = []
        for path, outcome in zip(images, outcomes):
            results.append({"image": str(path), **outcome.to_dict()})
            if as_json:
                continue
            if outcome.result is not None:
                typer.echo(f"{path}: enrolled template {outcome.result.template_id} "
                           f"(quality {outcome.result.quality.score:.2f})")
                for w in outcome.result.warnings:
                    typer.echo(f"  warning: {w}")
            else:
                typer.echo(f"{path}: {outcome.error}", err=True)
        enrolled = sum(o.ok for o in outcomes)
        if as_json:
            echo_json({"identity": g.get_identity(ident.id).to_dict(), "results": results})
        else:
            typer.echo(f"identity {ident.id} ({ident.display_name}): {enrolled} of {len(images)} enrolled")
    if enrolled == 0:
        raise typer.Exit(2)


def _enrol_one(g: Gallery, identity_id: str, path: Path, actor: str) -> EnrolOutcome:
    """A rejected photo is an outcome of enrolment (the others still count); a missing consent is not."""
    from ..gallery.errors import ConsentRequiredError
    from ..gallery.records import EnrolOutcome

    try:
        return EnrolOutcome(g.enrol(identity_id, path, actor))
    except ConsentRequiredError:
        raise
    except ClearsightError as exc:
        return EnrolOutcome(None, exc)


def search(
    image: Annotated[Path, typer.Argument(help="photo of the person to look for")],
    purpose: Annotated[str, typer.Option(help="login | kyc | access | facepay | photos (decision); watchlist | "
                                         "investigation | missing_person (candidates)")],
    top_k: Annotated[int, typer.Option(help="how many candidates")] = 5,
    group: Annotated[Optional[str], typer.Option(help="only this group / watchlist")] = None,
    mode: Annotated[Optional[str], typer.Option(help="decision | candidates (default: the purpose's)")] = None,
    fpir: Annotated[Optional[float], typer.Option(help="target false-positive identification rate "
                                                  "(default: the purpose's, GallerySettings)")] = None,
    actor: ActorOpt = default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """1:N search among identities consented for PURPOSE (audited), open-set at a target FPIR.

    Decision mode: exit 0 when one identity is the match, 1 when nobody is. Candidates
    mode (a list for human review, never a match): exit 0 when a candidate passes the
    review threshold, 1 otherwise."""
    with _open() as g:
        point = g.search_point(purpose, group, mode=mode, fpir=fpir)
        matches = g.search(image, purpose, actor, top_k=top_k, group=group, mode=mode, fpir=fpir)
    op = point.to_dict()
    if as_json:
        echo_json([{"identity_id": m.identity_id, "display_name": m.display_name, "similarity": round(m.similarity, 4),
                    "match": m.is_match, "above_threshold": m.above_threshold, "operating_point": m.operating_point,
                    "template_id": m.template_id, "templates": m.templates, **op} for m in matches])
    else:
        fnir = "n/a" if op["expected_fnir"] is None else f"{op['expected_fnir']:.0%}"
        thr = "none" if op["threshold"] is None else f"{op['threshold']:.4f}"
        typer.echo(f"{point.mode.value} mode: FPIR {point.fpir:g} over N = {point.n} identities, threshold {thr}, "
                   f"expected FNIR at this N {fnir}")
        if point.note:
            typer.echo(f"note: {point.note}")
        for m in matches:
            tag = "MATCH" if m.is_match else ("review" if m.above_threshold else "-")
            typer.echo(f"{m.similarity:.4f}  {tag:6s}  {m.identity_id}  {m.display_name}")
        if not matches:
            typer.echo("no candidates")
    if not any(m.is_match or (m.mode == "candidates" and m.above_threshold) for m in matches):
        raise typer.Exit(1)


def list_(offset: int = 0, limit: int = 100, as_json: JsonOpt = False) -> None:
    """Identities, oldest first."""
    with _open() as g:
        rows = g.list_identities(offset, limit)
    if as_json:
        echo_json([r.to_dict() for r in rows])
        return
    for r in rows:
        typer.echo(f"{r.id}  {r.template_count:3d} templates  {r.external_id or '-':20s}  {r.display_name}")


def show(identity_id: str, as_json: JsonOpt = False) -> None:
    """One identity with its consents."""
    with _open() as g:
        ident = g.get_identity(identity_id)
        consents = g.list_consents(identity_id)
    if as_json:
        echo_json({"identity": ident.to_dict(), "consents": [c.to_dict() for c in consents]})
        return
    typer.echo(f"{ident.id}  {ident.display_name}  external_id={ident.external_id}  templates={ident.template_count}")
    for c in consents:
        state = "withdrawn" if c.withdrawn_at else (f"expires {c.expires_at:%Y-%m-%d}" if c.expires_at else "no expiry")
        typer.echo(f"  consent {c.id}: {c.purpose} ({c.legal_basis}, granted by {c.granted_by}, {state})")


def export(identity_id: str, actor: ActorOpt = default_actor()) -> None:
    """Everything held about an identity, without biometric data (audited)."""
    with _open() as g:
        echo_json(g.export_identity(identity_id, actor))


def erase(identity_id: str, actor: ActorOpt = default_actor(),
          yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False) -> None:
    """Erase an identity: templates, images, consents, index entries (audited)."""
    if not yes:
        typer.confirm(f"erase identity {identity_id} and all its templates?", abort=True)
    with _open() as g:
        r = g.erase_identity(identity_id, actor)
    typer.echo(f"erased {identity_id}: {r['templates']} templates, {r['consents']} consents")


def purge(actor: ActorOpt = default_actor(), as_json: JsonOpt = False) -> None:
    """Apply retention: drop expired/withdrawn consents and templates without a legal basis."""
    with _open() as g:
        r = g.purge_expired(actor)
    if as_json:
        echo_json(r.to_dict())
    else:
        typer.echo(f"purged {r.consents_purged} consents, {r.templates_purged} templates "
                   f"({r.identities_affected} identities)")


def audit(
    verify: Annotated[bool, typer.Option("--verify", help="check the hash chain; exit 1 if tampered")] = False,
    offset: int = 0,
    limit: int = 50,
    newest_first: Annotated[bool, typer.Option("--newest-first", help="list the latest entries first")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show the audit log, or verify that nobody altered it."""
    with _open() as g:
        if verify:
            v = g.verify_audit()
            if as_json:
                echo_json(v.to_dict())
            elif v.ok:
                typer.echo(f"audit log intact: {v.checked} entries verified")
            else:
                typer.echo(f"audit log TAMPERED at entry {v.first_bad}: {v.reason} ({v.checked} verified before it)")
            if not v.ok:
                raise typer.Exit(1)
            return
        rows = g.audit_entries(offset, limit, newest_first=newest_first)
    if as_json:
        echo_json([r.to_dict() for r in rows])
        return
    for r in rows:
        typer.echo(f"{r.seq:6d} {r.at:%Y-%m-%dT%H:%M:%S}Z {r.actor:16s} {r.action:16s} {r.purpose or '-':9s} "
                   f"{r.target or '-':32s} {r.outcome}")


def rotate(actor: ActorOpt = default_actor()) -> None:
    """Re-protect every template under a new key and retire the old one."""
    with _open() as g:
        r = g.rotate_key(actor)
    typer.echo(f"new template key {r.new_key_id}: {r.templates_reprotected} templates re-protected; "
               f"retired {', '.join(r.old_key_ids) or 'none'}")


GALLERY_COMMANDS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("list", list_),
    ("show", show),
    ("export", export),
    ("erase", erase),
    ("purge", purge),
    ("audit", audit),
)
