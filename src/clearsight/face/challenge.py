"""Active liveness: the person does a random sequence of actions (blink, turn left,
turn right, open mouth, nod) on request, checked from the 478-point face mesh.

Why a sequence drawn per session: a passive score can be fooled by a good enough
print or screen, and a video of someone blinking and turning can be replayed. A
random order (3 of 5 actions, no repeats: 60 orders), a per-session nonce every
frame must carry, a time window per step and an expiry for the whole session mean a
recording made for one session does the wrong thing, too late, or carries the
wrong nonce for any other. Strict order is what defeats a replay: while one action
is asked for, doing another one (turning the other way, opening the mouth, nodding)
fails the session, so a recording that contains every action in some order fails
every order but its own. Blinks are the exception: people blink all the time, so a
blink when something else was asked is ignored, never counted.

An action counts when it is seen; the next one counts only after that action has
been undone (the head back, the mouth closed), so one held pose cannot complete two
steps. Movement is measured against each person's own neutral pose:
the first frontal frames of the session calibrate it (yaw, pitch, eye and mouth
opening), since head-pose estimates from a generic 3-D face carry a constant offset
of a few degrees per person and camera.

This module is pure (numbers in, decisions out, time passed in by the caller), so
tests drive it with landmark sequences measured on real frames. `LivenessSession`
below adds the models: the mesh per frame and the passive score, whose median over
the session must also say "live" for a pass (a photo turned in front of the camera
can fake a head turn to the mesh; it cannot blink).

Head pose is the DMS method (solvePnP of six mesh points on an anthropometric face
model, Farkas 1994), restated here because the face layer cannot import an app.
Left and right are the person's own: turning to their left moves the face towards
the image's right in an unmirrored camera, which is what `HeadPose.yaw > 0` means.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import cv2
import numpy as np

from ..errors import InputError

ACTIONS: dict[str, str] = {
    "blink": "Blink",
    "turn_left": "Turn your head to your left",
    "turn_right": "Turn your head to your right",
    "open_mouth": "Open your mouth",
    "nod": "Nod (look down, then back)",
}

# --- mesh geometry ------------------------------------------------------------------
_POSE_INDICES = (1, 152, 33, 263, 61, 291)
_FACE_MODEL_MM = np.array(
    [[0.0, 0.0, 0.0], [0.0, 72.0, 32.0], [-45.0, -38.0, 45.0], [45.0, -38.0, 45.0], [-25.0, 28.0, 30.0], [25.0, 28.0, 30.0]],
    dtype=np.float64,
)
# Eye aspect ratio points (corner, two upper, corner, two lower) per eye.
_EYES = ((33, 160, 158, 133, 153, 144), (362, 385, 387, 263, 373, 380))
_MOUTH_UPPER, _MOUTH_LOWER, _MOUTH_CORNERS = (82, 13, 312), (87, 14, 317), (61, 291)


@dataclass(frozen=True, slots=True)
class FaceMotion:
    """What the challenge reads from one frame: head pose (degrees; yaw > 0 = the face
    turned to the image right, pitch > 0 = looking up), eye aspect ratio (mean of both
    eyes) and mouth opening (inner-lip gap / mouth width). `faces` = meshes found."""

    yaw: float
    pitch: float
    eyes: float
    mouth: float
    faces: int = 1

    def to_dict(self) -> dict[str, float]:
        return {"yaw": round(self.yaw, 1), "pitch": round(self.pitch, 1), "eyes": round(self.eyes, 3),
                "mouth": round(self.mouth, 3), "faces": self.faces}


def _ear(p: np.ndarray, idx: tuple[int, ...]) -> float:
    c1, u1, u2, c2, l1, l2 = (p[i, :2] for i in idx)
    width = float(np.linalg.norm(c1 - c2))
    return float((np.linalg.norm(u1 - l2) + np.linalg.norm(u2 - l1)) / (2 * width)) if width > 1e-6 else 0.0


def measure(points: np.ndarray, width: int, height: int, faces: int = 1) -> FaceMotion:
    """Head pose, eye and mouth opening from a 478- (or 468-) point mesh in pixels."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 468 or p.shape[1] < 2:
        raise InputError("expected a face mesh of at least 468 points")
    f = float(width)
    cam = np.array([[f, 0, width / 2.0], [0, f, height / 2.0], [0, 0, 1]], dtype=np.float64)
    ok, rvec, _ = cv2.solvePnP(_FACE_MODEL_MM, np.ascontiguousarray(p[list(_POSE_INDICES), :2]), cam, None,
                               flags=cv2.SOLVEPNP_SQPNP)
    r, _ = cv2.Rodrigues(rvec)
    sy = math.hypot(r[0, 0], r[1, 0])
    yaw = -math.degrees(math.atan2(-r[2, 0], sy))
    pitch = -math.degrees(math.atan2(r[2, 1], r[2, 2]))
    pitch = (pitch + 180.0) % 360.0 - 180.0
    gap = np.linalg.norm(p[list(_MOUTH_UPPER), :2] - p[list(_MOUTH_LOWER), :2], axis=1).mean()
    mw = float(np.linalg.norm(p[_MOUTH_CORNERS[0], :2] - p[_MOUTH_CORNERS[1], :2]))
    return FaceMotion(yaw=yaw, pitch=pitch, eyes=(_ear(p, _EYES[0]) + _ear(p, _EYES[1])) / 2,
                      mouth=float(gap / mw) if mw > 1e-6 else 0.0, faces=faces)


# --- the challenge ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChallengeConfig:
    """Thresholds and windows. Defaults were set on real frames (bench/liveness.py):
    a deliberate head turn reaches 25-45 degrees, a nod 15-25, a closed eye falls
    below half its open aspect ratio, an open mouth's gap exceeds a third of its width."""

    steps: int = 3
    ttl_s: float = 90.0  # the whole session
    step_timeout_s: float = 10.0  # each step, from its prompt
    calibration_frames: int = 3  # frontal, neutral frames before the first prompt
    turn_deg: float = 15.0
    nod_deg: float = 10.0
    neutral_deg: float = 8.0
    frontal_deg: float = 20.0  # calibration accepts a head within this of the camera axis
    blink_ratio: float = 0.6  # closed: eye aspect ratio below this share of the neutral one
    open_ratio: float = 0.8
    mouth_open: float = 0.3  # inner-lip gap / mouth width
    mouth_closed: float = 0.15
    min_passive: float = 0.5  # median passive live score over the session, when one is given

    def __post_init__(self) -> None:
        if not 1 <= self.steps <= len(ACTIONS):
            raise InputError(f"a challenge has 1 to {len(ACTIONS)} steps")
        if self.ttl_s <= 0 or self.step_timeout_s <= 0:
            raise InputError("challenge windows must be positive")


Status = Literal["calibrating", "in_progress", "passed", "failed"]


@dataclass(frozen=True, slots=True)
class ChallengeState:
    """A snapshot for clients: where the session is, and why it ended if it did."""

    status: Status
    steps: tuple[str, ...]
    done: tuple[float, ...]  # completion time of each finished step (seconds since issue)
    current: int | None
    prompt: str
    reasons: tuple[str, ...]
    passive: float | None
    frames: int

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "passed": self.passed,
            "steps": [{"action": a, "prompt": ACTIONS[a], "done": i < len(self.done),
                       "at_s": round(self.done[i], 2) if i < len(self.done) else None} for i, a in enumerate(self.steps)],
            "current_step": self.current,
            "prompt": self.prompt,
            "reasons": list(self.reasons),
            "passive_live_score": None if self.passive is None else round(self.passive, 4),
            "frames": self.frames,
        }


def random_steps(n: int, rng: secrets.SystemRandom | Any | None = None) -> tuple[str, ...]:
    """`n` different actions in a random order (a CSPRNG unless a test passes its own)."""
    rng = rng or secrets.SystemRandom()
    return tuple(rng.sample(sorted(ACTIONS), n))


@dataclass
class ActiveChallenge:
    """One issued challenge, fed one frame's measurements at a time.

    Times are seconds on one clock the caller chooses (the server's wall clock for
    live frames, `issued_at + video time` for a clip). Not thread-safe: the caller
    serialises a session's frames.
    """

    steps: tuple[str, ...]
    nonce: str
    issued_at: float
    config: ChallengeConfig = field(default_factory=ChallengeConfig)
    status: Status = "calibrating"
    reasons: list[str] = field(default_factory=list)
    done: list[float] = field(default_factory=list)
    frames: int = 0
    _neutral: list[FaceMotion] = field(default_factory=list)
    _base: FaceMotion | None = None
    _step_started: float = 0.0
    _release: str | None = None  # the action just completed, until it is undone
    _passive: list[float] = field(default_factory=list)
    _last_t: float = -math.inf

    def __post_init__(self) -> None:
        unknown = [s for s in self.steps if s not in ACTIONS]
        if unknown or not self.steps:
            raise InputError(f"unknown challenge action(s) {unknown}; known: {', '.join(ACTIONS)}")
        if len(set(self.steps)) != len(self.steps):
            raise InputError("a challenge never repeats an action")

    @classmethod
    def issue(cls, config: ChallengeConfig | None = None, now: float | None = None, rng: Any = None) -> ActiveChallenge:
        config = config or ChallengeConfig()
        return cls(random_steps(config.steps, rng), secrets.token_urlsafe(16), time.time() if now is None else now, config)

    @property
    def expires_at(self) -> float:
        return self.issued_at + self.config.ttl_s

    @property
    def finished(self) -> bool:
        return self.status in ("passed", "failed")

    # -- decisions -----------------------------------------------------------------
    def _fail(self, reason: str) -> None:
        self.status = "failed"
        self.reasons.append(reason)

    def abandon(self, reason: str) -> ChallengeState:
        """End an unfinished challenge as failed (a clip ran out, a client gave up)."""
        if not self.finished:
            what = "calibration" if self.status == "calibrating" else \
                f"step {len(self.done) + 1} ({self.steps[len(self.done)].replace('_', ' ')})"
            self._fail(f"{reason} during {what}")
        return self.state()

    def _active(self, m: FaceMotion) -> set[str]:
        """Actions the face is doing in this frame, relative to its own neutral."""
        b, c = self._base, self.config
        assert b is not None
        dyaw, dpitch = m.yaw - b.yaw, m.pitch - b.pitch
        out = set()
        if dyaw >= c.turn_deg:
            out.add("turn_left")
        elif dyaw <= -c.turn_deg:
            out.add("turn_right")
        if dpitch <= -c.nod_deg and abs(dyaw) < c.turn_deg:
            out.add("nod")
        if m.mouth >= c.mouth_open and m.mouth - b.mouth >= c.mouth_open / 2:
            out.add("open_mouth")
        # eye openness is only read near frontal: a turned or lowered head foreshortens the eyes
        if abs(dyaw) < c.neutral_deg * 1.5 and abs(dpitch) < c.neutral_deg and m.eyes <= c.blink_ratio * b.eyes:
            out.add("blink")
        return out

    def _released(self, action: str, m: FaceMotion) -> bool:
        """The completed action has been undone, so the next one can count."""
        b, c = self._base, self.config
        assert b is not None
        if action in ("turn_left", "turn_right"):
            return abs(m.yaw - b.yaw) < c.neutral_deg
        if action == "nod":
            return m.pitch - b.pitch > -c.neutral_deg / 2
        if action == "open_mouth":
            return m.mouth < max(c.mouth_closed, b.mouth + 0.05)
        return m.eyes >= c.open_ratio * b.eyes

    def feed(self, motion: FaceMotion | None, now: float, nonce: str, passive: float | None = None) -> ChallengeState:
        """One frame: its measurements (None when no face was found), the time it was
        received, the nonce the client sent with it, and optionally its passive score."""
        if self.finished:
            return self.state()
        if not secrets.compare_digest(str(nonce), self.nonce):
            self._fail("the frame's nonce is not this session's: a replayed or foreign frame")
            return self.state()
        if now > self.expires_at:
            self._fail(f"the session expired ({self.config.ttl_s:g} s after it was issued)")
            return self.state()
        if now < self._last_t:
            self._fail("frame times went backwards")
            return self.state()
        self._last_t = now
        self.frames += 1
        if passive is not None:
            self._passive.append(float(passive))
        if motion is not None and motion.faces > 1:
            self._fail("more than one face in view")
            return self.state()
        if self.status == "calibrating":
            self._calibrate(motion, now)
        elif motion is not None or now - self._step_started > self.config.step_timeout_s:
            self._step(motion, now)
        return self.state()

    def _calibrate(self, m: FaceMotion | None, now: float) -> None:
        c = self.config
        if now - self.issued_at > c.step_timeout_s:
            self._fail(f"no frontal face with eyes open and mouth closed within {c.step_timeout_s:g} s")
            return
        if m is None or abs(m.yaw) > c.frontal_deg or abs(m.pitch) > c.frontal_deg or m.mouth > c.mouth_closed:
            return
        self._neutral.append(m)
        if len(self._neutral) >= c.calibration_frames:
            n = self._neutral
            self._base = FaceMotion(*(float(np.median([getattr(x, k) for x in n])) for k in ("yaw", "pitch", "eyes", "mouth")))
            self.status = "in_progress"
            self._step_started = now

    def _step(self, m: FaceMotion | None, now: float) -> None:
        c = self.config
        want = self.steps[len(self.done)]
        if now - self._step_started > c.step_timeout_s:
            self._fail(f"step {len(self.done) + 1} ({want.replace('_', ' ')}) not done within {c.step_timeout_s:g} s")
            return
        if m is None:
            return
        if self._release is not None:  # the last action must end before anything else counts
            if not self._released(self._release, m):
                return
            self._release = None
        active = self._active(m)
        b = self._base
        assert b is not None
        wrong = active - {want, "blink"}
        if abs(m.yaw - b.yaw) >= c.turn_deg or m.mouth < 1.5 * c.mouth_open:
            wrong -= {"open_mouth"}  # talking, or talking while turned, is not an out-of-order action
        if m.pitch - b.pitch > -1.5 * c.nod_deg or want in ("turn_left", "turn_right"):
            wrong -= {"nod"}  # heads dip a little while turning or talking
        if wrong:
            did = ", ".join(sorted(w.replace("_", " ") for w in wrong))
            self._fail(f"step {len(self.done) + 1} asked to {want.replace('_', ' ')} but the face did: {did} "
                       "(out of order: a recording made for another session?)")
            return
        if want in active:
            self.done.append(now - self.issued_at)
            self._release = want
            self._step_started = now
            if len(self.done) == len(self.steps):
                self._finish()

    def _finish(self) -> None:
        c = self.config
        if self._passive:
            med = float(np.median(self._passive))
            if med < c.min_passive:
                self._fail(f"every action was done, but the passive live score (median {med:.2f} over "
                           f"{len(self._passive)} frames) is below {c.min_passive:g}: a print or screen?")
                return
        self.status = "passed"

    def state(self) -> ChallengeState:
        current = None if self.finished or self.status == "calibrating" else len(self.done)
        if self.status == "calibrating":
            prompt = "Look at the camera"
        elif current is not None:
            prompt = ACTIONS[self.steps[current]]
        else:
            prompt = "Passed" if self.status == "passed" else "Failed"
        return ChallengeState(self.status, self.steps, tuple(self.done), current, prompt, tuple(self.reasons),
                              float(np.median(self._passive)) if self._passive else None, self.frames)

    def replay(self, motions: Sequence[tuple[float, FaceMotion | None]], nonce: str | None = None) -> ChallengeState:
        """Feed a whole sequence of (seconds after issue, motion); for clips and tests."""
        for t, m in motions:
            self.feed(m, self.issued_at + t, self.nonce if nonce is None else nonce)
            if self.finished:
                break
        return self.state()
