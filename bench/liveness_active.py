"""The active-challenge part of bench/liveness.py (see its docstring for what and why)."""

from __future__ import annotations

import csv
import itertools
import secrets
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import require_data, table  # noqa: E402

from clearsight.face.challenge import ACTIONS, ActiveChallenge, ChallengeConfig, FaceMotion, measure  # noqa: E402
from clearsight.face.liveness_session import face_from_mesh, faces_in_view  # noqa: E402
from clearsight.vision.landmarks import FaceMesh  # noqa: E402

HAMILTON = ("faces", "face_recognition_examples", "examples", "short_hamilton_clip.mp4")
Track = list[tuple[float, FaceMotion | None, float | None]]


def _clip(first: int, last: int) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(require_data(*HAMILTON)))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    out = []
    for i in range(last + 1):
        ok, bgr = cap.read()
        if not ok:
            break
        if i >= first:
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return out, fps


def track(frames: list[np.ndarray], dt: float, passive, static: bool = False) -> Track:
    """(t, motion, passive score) per frame; `static` for frames that are not one video."""
    mesh = FaceMesh(max_faces=2, static=static)
    out: Track = []
    try:
        for k, rgb in enumerate(frames):
            found = sorted(mesh.process(rgb), key=lambda m: -float(np.ptp(m.xy()[:, 0])))
            n = faces_in_view(found)
            m = measure(found[0].points, rgb.shape[1], rgb.shape[0], faces=n) if found else None
            p = None
            if found and n == 1 and passive is not None:
                try:
                    p = passive.check(rgb, face_from_mesh(found[0])).live_score
                except Exception:  # noqa: BLE001 - a face too small for the cues: motion only
                    p = None
            out.append((k * dt, m, p))
    finally:
        mesh.close()
    return out


def run(order: tuple[str, ...], tr: Track, gate: bool = True, nonce: str | None = None) -> str:
    ch = ActiveChallenge(order, "n", 0.0, ChallengeConfig(steps=len(order)))
    for t, m, p in tr:
        ch.feed(m, t, "n" if nonce is None else nonce, p if gate else None)
        if ch.finished:
            break
    return ch.state().status


def active_section(passive) -> None:
    from liveness import screen_replay  # noqa: E402

    # -- real clip: the orders the singer performs, from several start frames
    frames, fps = _clip(80, 212)
    full = track(frames, 1 / fps, passive)
    did = [("open_mouth", "turn_right"), ("turn_right",), ("open_mouth",)]
    rows = []
    starts = list(range(0, 24, 3))  # frames 80..101: calibration on whatever comes first
    for order in did:
        res = [run(order, [(t - full[s][0], m, p) for t, m, p in full[s:]]) for s in starts]
        rows.append([" -> ".join(order), f"{sum(r == 'passed' for r in res)}/{len(res)}"])
    for order in (("open_mouth", "turn_right", "turn_left"), ("turn_right", "turn_left")):
        res = [run(order, [(t - full[s][0], m, p) for t, m, p in full[s:]]) for s in starts]
        rows.append([" -> ".join(order) + " (left turn shallow, singing)", f"{sum(r == 'passed' for r in res)}/{len(res)}"])
    rows.append(["nod", "unmeasured: no real clip in shared/ shows it on request"])
    table(["order (what the clip shows)", "passed / start frames"], rows,
          f"Active challenge, pass rate on a real face (short_hamilton_clip.mp4 frames 80-212, {len(starts)} start frames, "
          "passive gate on)")

    # -- blinks: NUAA live frames of one recording each (subject, session), in order, 4 fps
    root = require_data("liveness", "nuaa_print")
    rows_csv = list(csv.DictReader(open(root / "labels.csv")))
    from clearsight.io import load_image

    rows = []
    found = 0
    sessions = sorted({(r["subject"], r["session"]) for r in rows_csv if r["label"] == "live"})
    for subj, sess in sessions:
        mine = sorted((r for r in rows_csv if r["label"] == "live" and r["subject"] == subj and r["session"] == sess),
                      key=lambda r: int(r["pic_no"]))
        tr = track([load_image(root / r["path"]) for r in mine], 0.25, None, static=True)
        ch = ActiveChallenge(("blink",), "n", 0.0, ChallengeConfig(steps=1, step_timeout_s=1e6, ttl_s=1e6))
        for t, m, _ in tr:
            ch.feed(m, t, "n")
        st = ch.state()
        if st.passed:
            found += 1
            rows.append([f"{subj}/{sess}", len(mine), mine[round(st.done[0] / 0.25)]["pic_no"]])
    table(["recording", "frames", "blink counted at picture"], rows,
          f"Blinks (not on request) counted in NUAA live recordings: {found} of {len(sessions)} recordings "
          "(checked by eye once: 0002/323, 0004/466, 0008/123 eyes closed; 0001/101 half closed, looking down)")

    # -- replay: the recording against every other order, and with an old nonce
    base = [(t - full[18][0], m, p) for t, m, p in full[18:]]  # from frame 98
    rows = []
    for n in (1, 2, 3):
        orders = list(itertools.permutations(ACTIONS, n))
        passed = [o for o in orders if run(o, base) == "passed"]
        rows.append([f"{n} step(s)", len(orders), len(passed), 1 - len(passed) / len(orders),
                     ", ".join(" -> ".join(o) for o in passed) or "-"])
    rows.append(["any order, frames carrying the recorded session's nonce", 60,
                 sum(run(o, base, nonce=secrets.token_urlsafe(8)) == "passed" for o in itertools.permutations(ACTIONS, 3)),
                 1.0, "-"])
    table(["replayed against", "orders", "passed", "rejection rate", "orders the recording passes"], rows,
          "Replay of one real recording (frames 98-212) against new sessions (random order of 3 of 5: 60 orders)")

    # -- print attacks: NUAA print frames per subject as a sequence
    rows = []
    orders3 = list(itertools.permutations(ACTIONS, 3))
    total = {"gate": 0, "nogate": 0, "n": 0}
    for subj in sorted({r["subject"] for r in rows_csv}):
        mine = sorted((r for r in rows_csv if r["subject"] == subj and r["label"] == "print"),
                      key=lambda r: (r["session"], int(r["pic_no"])))
        tr = track([load_image(root / r["path"]) for r in mine], 0.2, passive, static=True)
        g = sum(run(o, tr) == "passed" for o in orders3)
        ng = sum(run(o, tr, gate=False) == "passed" for o in orders3)
        med = float(np.median([p for _, _, p in tr if p is not None])) if any(p is not None for _, _, p in tr) else float("nan")
        rows.append([subj, len(mine), med, f"{ng}/60", f"{g}/60"])
        total["gate"] += g
        total["nogate"] += ng
        total["n"] += 60
    rows.append(["all", "", "", f"{total['nogate']}/{total['n']}", f"{total['gate']}/{total['n']}"])
    table(["subject", "print frames", "median passive score (in-sample: the shipped model saw these subjects)",
           "orders passed (motion only)", "orders passed (with passive gate)"],
          rows, "Printed-photo attacks (NUAA, photo moved/rotated/bent by hand) against the active challenge, 5 fps")

    # -- screen attack (simulated): the singer's frames on a re-photographed screen
    rng = np.random.default_rng(0)
    sframes = [screen_replay(f, rng) for f in frames[18:]]
    st = track(sframes, 1 / fps, passive)
    rows = []
    for order in did:
        med = float(np.median([p for _, _, p in st if p is not None]))
        rows.append([" -> ".join(order), run(order, st, gate=False), run(order, st), med])
    real_med = float(np.median([p for _, _, p in base if p is not None]))
    rows.append(["(the real frames, for comparison)", "", "", real_med])
    table(["order the recording contains", "motion only", "with passive gate", "median passive score"], rows,
          "Screen replay of the real recording (SIMULATED rendering: sub-pixel stripes, glare, moire, JPEG)")
