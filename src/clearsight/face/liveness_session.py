"""A liveness session: one issued active challenge fed live frames or a clip, with the
passive score of every frame, and a single-use proof for the flows that need a
live person (KYC sign-up, phone log-in).

Why the proof is single-use and carries a frame: a flow that matches a face must
match the face that did the challenge. `reference_frame()` is the most frontal
neutral frame of the session with the best passive score, for the 1:1 against an
ID portrait or the enrolled identity; `consume()` hands the proof out once, so one
passed challenge cannot open two log-ins. Frames stay in memory only for the
session's life; nothing is written.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import InputError
from ..types import BBox, Face, Landmarks
from .challenge import ActiveChallenge, ChallengeConfig, ChallengeState, FaceMotion, measure
from .liveness import PassiveLiveness


class LivenessSessionNotFound(InputError):
    code = "liveness_session_not_found"
    http_status = 404


class LivenessSessionLimit(InputError):
    code = "liveness_session_limit"
    http_status = 409


class LivenessNotPassedError(InputError):
    code = "liveness_not_passed"
    http_status = 409


def faces_in_view(meshes: list[Landmarks]) -> int:
    """Faces at least half as wide as the largest: a bystander far behind is not a second
    person taking part, a second face next to the user (or a photo held up beside them) is."""
    if not meshes:
        return 0
    widths = [float(np.ptp(m.xy()[:, 0])) for m in meshes]
    return sum(w >= 0.5 * max(widths) for w in widths)


def face_from_mesh(mesh: Landmarks) -> Face:
    """A Face built from a mesh alone (the tracker found it; no detector ran)."""
    p = mesh.xy()
    five = np.array([p[[33, 133]].mean(0), p[[362, 263]].mean(0), p[1], p[61], p[291]], np.float32)
    x1, y1 = p[:468].min(0)
    x2, y2 = p[:468].max(0)
    return Face(BBox(float(x1), float(y1), float(x2), float(y2)), 1.0, Landmarks(five), "face-mesh", mesh)


class LivenessSession:
    """Not thread-safe: the caller serialises one session's frames (the pool's lock)."""

    def __init__(self, config: ChallengeConfig | None = None, passive: PassiveLiveness | None = None,
                 now: float | None = None, steps: tuple[str, ...] | None = None) -> None:
        if steps:  # a chosen order: measurements and tests; a service always draws one
            self.challenge = ActiveChallenge(tuple(steps), secrets.token_urlsafe(16), time.time() if now is None else now,
                                             config or ChallengeConfig(steps=len(steps)))
        else:
            self.challenge = ActiveChallenge.issue(config, now)
        self._mesh: Any = None  # the tracker, built with the first frame: issuing a challenge stays cheap
        self._passive = passive
        self._best: tuple[float, np.ndarray] | None = None
        self.consumed = False
        self.last: dict[str, Any] | None = None

    @property
    def nonce(self) -> str:
        return self.challenge.nonce

    def issue_dict(self) -> dict[str, Any]:
        """What a client needs to run the challenge (the nonce goes with every frame)."""
        from .challenge import ACTIONS

        c = self.challenge
        return {"nonce": c.nonce, "steps": [{"action": a, "prompt": ACTIONS[a]} for a in c.steps],
                "issued_at": c.issued_at, "expires_at": c.expires_at, "ttl_s": c.config.ttl_s,
                "step_timeout_s": c.config.step_timeout_s}

    def feed(self, rgb: np.ndarray, nonce: str, now: float | None = None) -> dict[str, Any]:
        """One frame: mesh, motion, passive score, then the challenge's decision."""
        now = time.time() if now is None else now
        if self.challenge.finished:
            return {"frame": None, **self.challenge.state().to_dict()}
        if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise InputError("expected an RGB image (H, W, 3)")
        meshes = []
        if nonce == self.challenge.nonce:
            if self._mesh is None:
                from ..vision.landmarks import FaceMesh

                self._mesh = FaceMesh(max_faces=2, static=False)
            meshes = self._mesh.process(rgb)
        motion: FaceMotion | None = None
        passive: float | None = None
        if meshes:
            meshes = sorted(meshes, key=lambda m: -float(np.ptp(m.xy()[:, 0])))  # the user: the largest face
            n = faces_in_view(meshes)
            motion = measure(meshes[0].points, rgb.shape[1], rgb.shape[0], faces=n)
            if self._passive is not None and n == 1:
                try:
                    passive = self._passive.check(rgb, face_from_mesh(meshes[0])).live_score
                except InputError:  # face too small for the cues: the frame still counts for the motion
                    passive = None
        state = self.challenge.feed(motion, now, nonce, passive)
        if motion is not None and passive is not None and self._base_frontal(motion):
            if self._best is None or passive > self._best[0]:
                self._best = (passive, rgb.copy())
        self.last = {"face": motion.to_dict() if motion else None,
                     "frame_live_score": None if passive is None else round(passive, 4)}
        return {"frame": self.last, **state.to_dict()}

    def _base_frontal(self, m: FaceMotion) -> bool:
        return abs(m.yaw) < 12 and abs(m.pitch) < 15 and m.mouth < 0.15

    def run(self, frames: Iterator[tuple[float, np.ndarray]]) -> ChallengeState:
        """A whole clip: (seconds from its start, RGB frame); its times are the clock."""
        t0 = self.challenge.issued_at
        for t, rgb in frames:
            self.feed(rgb, self.nonce, t0 + t)
            if self.challenge.finished:
                break
        return self.challenge.abandon("the clip ended")

    def result(self) -> ChallengeState:
        st = self.challenge.state()
        if not self.challenge.finished and time.time() > self.challenge.expires_at:
            self.challenge.feed(None, time.time(), self.nonce)
            st = self.challenge.state()
        return st

    def reference_frame(self) -> np.ndarray | None:
        return None if self._best is None else self._best[1]

    def consume(self) -> dict[str, Any]:
        """The proof of a passed challenge, once: the next call (another log-in) is refused."""
        st = self.result()
        if not st.passed:
            raise LivenessNotPassedError(f"the liveness challenge has not passed ({st.status}: {'; '.join(st.reasons) or st.prompt})")
        if self.consumed:
            raise LivenessNotPassedError("this liveness session was already used; start a new one")
        self.consumed = True
        return {"nonce": self.nonce, "steps": list(self.challenge.steps), "completed_s": list(st.done),
                "passive_live_score": st.passive, "reference_frame": self.reference_frame()}

    def close(self) -> None:
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None
        self._best = None


def clip_motions(frames: Iterator[tuple[float, np.ndarray]]) -> list[tuple[float, FaceMotion | None]]:
    """(time, motion) of every frame of a clip (the mesh tracks across frames), for
    replaying one recording against many challenges (measurements, tests)."""
    from ..vision.landmarks import FaceMesh

    mesh = FaceMesh(max_faces=2, static=False)
    try:
        out: list[tuple[float, FaceMotion | None]] = []
        for t, rgb in frames:
            found = sorted(mesh.process(rgb), key=lambda m: -float(np.ptp(m.xy()[:, 0])))
            out.append((t, measure(found[0].points, rgb.shape[1], rgb.shape[0], faces=faces_in_view(found)) if found else None))
        return out
    finally:
        mesh.close()
