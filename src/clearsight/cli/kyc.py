"""`clearsight kyc ID.jpg SELFIE.jpg [--video CLIP --steps a,b,c]` and `clearsight kyc --challenge`.

Offline, the active challenge is checked from a clip against the order the person
was asked for: `clearsight kyc --challenge` draws a random order and prints it; the
applicant records the clip doing it; `--video CLIP --steps ORDER` checks the clip
for that order (strictly: an action out of order fails it). A clip proves only what
its recording shows; the service (`POST /v1/kyc/sessions`) adds the nonce and the
server's clock that stop a recording from being replayed.

Exit codes: 0 pass, 1 fail, 3 review (a person must look: like `verify`'s
inconclusive), 2 bad input, 4 not found, 5 consent required.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import InputError
from .common import default_actor, quiet_runtimes

EXIT = {"pass": 0, "fail": 1, "review": 3}


def kyc(
    document: Annotated[Optional[Path], typer.Argument(help="photo of the ID document (passport page or ID card)")] = None,
    selfie: Annotated[Optional[Path], typer.Argument(help="the applicant's selfie (default with --video: the "
                                                     "clip's best frontal frame)")] = None,
    video: Annotated[Optional[Path], typer.Option(help="a clip of the applicant doing --steps (active liveness)")] = None,
    steps: Annotated[Optional[str], typer.Option(help="the order printed by --challenge, e.g. turn_left,blink,open_mouth")] = None,
    challenge: Annotated[bool, typer.Option("--challenge", help="draw a random order of actions, print it and exit")] = False,
    n_steps: Annotated[int, typer.Option("--n-steps", help="actions in a --challenge")] = 3,
    enrol: Annotated[bool, typer.Option("--enrol", help="on pass, enrol the applicant (consents kyc and login)")] = False,
    external_id: Annotated[Optional[str], typer.Option(help="customer id to enrol under")] = None,
    actor: Annotated[Optional[str], typer.Option(help="who runs the check (audit log); default cli:<user>")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    max_seconds: Annotated[float, typer.Option(help="read at most this much of the clip")] = 60.0,
) -> None:
    """Sign-up check against a government ID: portrait, MRZ, liveness, 1:1, duplicates.

    Exit 0 pass, 1 fail, 3 review. Without --video the decision is at best review.
    """
    quiet_runtimes()
    from ..face.challenge import ACTIONS, ChallengeConfig, random_steps

    if challenge:
        order = random_steps(ChallengeConfig(steps=n_steps).steps)
        if as_json:
            typer.echo(json.dumps({"steps": list(order), "prompts": [ACTIONS[a] for a in order]}))
        else:
            typer.echo("Record a clip: look at the camera for a second, then, in this order:")
            for i, a in enumerate(order):
                typer.echo(f"  {i + 1}. {ACTIONS[a]}")
            typer.echo(f"then run: clearsight kyc ID.jpg [SELFIE.jpg] --video CLIP --steps {','.join(order)}")
        raise typer.Exit(0)
    if document is None:
        raise InputError("give the ID document photo (and a selfie, or --video), or --challenge")
    if selfie is None and video is None:
        raise InputError("give a selfie, or --video (its best frontal frame is the selfie)")
    if video is not None and not steps:
        raise InputError("--video needs --steps: the order the applicant was asked for (clearsight kyc --challenge)")
    result, session_id = _run(document, selfie, video, steps, enrol, external_id, actor or default_actor(), max_seconds)
    out = {"session_id": session_id, **result.to_dict()}
    if as_json:
        typer.echo(json.dumps(out, default=str))
    else:
        typer.echo(f"{result.decision.upper()}  (KYC session {session_id})")
        for r in result.reasons:
            typer.echo(f"  - {r}")
        c = result.checks
        doc = c.get("document") or {}
        typer.echo(f"  portrait on document: {'found' if doc.get('portrait_found') else 'NOT found'}")
        m = (result.document or {}).get("mrz")
        if m:
            typer.echo(f"  MRZ {m['format']}: {'valid' if m['valid'] else 'INVALID'} check digits; "
                       f"{m['given_names']} {m['surname']}, {m['document_number']}, expires {m['expiry_date']}")
        sp = c.get("selfie_vs_portrait")
        if sp:
            typer.echo(f"  selfie vs portrait: {sp['decision']} (similarity {sp['similarity']:.3f}, threshold "
                       f"{sp['threshold']:.3f}, {sp['operating_point']}, ID-photo mode)")
        lv = c.get("liveness") or {}
        typer.echo(f"  liveness: {lv.get('kind')}{' passed' if lv.get('passed') else ''}"
                   + (f", passive score {lv['passive_live_score']:.2f}" if lv.get("passive_live_score") is not None else ""))
        d = c.get("duplicate") or {}
        typer.echo(f"  already enrolled: {'YES ' + str(d.get('identity_id')) if d.get('found') else 'no'} "
                   f"(N={d.get('n')}, FPIR {d.get('fpir')})")
        if result.identity_id:
            typer.echo(f"  enrolled as identity {result.identity_id}")
    raise typer.Exit(EXIT[result.decision])


def _run(document: Path, selfie: Path | None, video: Path | None, steps: str | None, enrol: bool,
         external_id: str | None, actor: str, max_seconds: float):  # noqa: ANN202
    from ..apps.kyc import KycCheck, KycStore, evidence
    from ..apps.kyc.flow import PASS, audit_details
    from ..config import get_settings
    from ..face.liveness import PassiveLiveness
    from ..face.pipeline import FacePipeline
    from ..gallery import Gallery
    from ..io import load_image

    settings = get_settings()
    doc_rgb = load_image(document)
    selfie_rgb = load_image(selfie) if selfie is not None else None
    pipe = FacePipeline()
    passive = PassiveLiveness()
    store = KycStore.open(settings)
    gallery = Gallery.open(settings, pipeline=pipe)
    try:
        sess = store.create_session(actor, actor, None)
        store.claim(actor, sess.id)
        ev = evidence.NO_LIVENESS
        if video is not None:
            from ..face.challenge import ChallengeConfig
            from ..face.liveness_session import LivenessSession
            from .liveness import _video_frames

            order = tuple(s.strip() for s in (steps or "").split(",") if s.strip())
            live = LivenessSession(ChallengeConfig(steps=len(order), ttl_s=max_seconds + 30), passive, now=0.0,
                                   steps=order)
            try:
                live.run(_video_frames(video, max_seconds))
                ev = evidence.consume(live, f"clip:{video.name}")
            finally:
                live.close()
            evidence.audit_consumed(store, actor, "kyc", ev, sess.id)
        check = KycCheck(pipe, gallery, settings, passive)
        result = check.run(doc_rgb, selfie_rgb, ev, actor)
        if enrol and result.decision == PASS:
            face = selfie_rgb if selfie_rgb is not None else ev.reference_frame
            result = dataclasses.replace(result, identity_id=check.enrol(result, face, actor, external_id))
        store.decide(sess.id, actor, result.decision, list(result.reasons), result.checks, audit_details(result))
        return result, sess.id
    finally:
        gallery.close()
        store.close()
