"""Sign-up against a government ID (KYC) and phone log-in, for a lending app.

- `flow`: the KYC decision (document portrait and MRZ, liveness, 1:1 in ID-photo
  mode, duplicate search) with its reasons;
- `login`: 1:1 against the enrolled identity plus a consumed liveness proof, with a
  lock-out kept in the database;
- `evidence`: what a flow knows about the live person, and the audit of consuming it;
- `store`: KYC sessions, lock-outs and their audit entries;
- `specimen`: composed specimen documents for tests and measurements (no real ID
  material exists to test with).
"""

from .evidence import LivenessEvidence
from .flow import FAIL, PASS, REVIEW, KycCheck, KycResult
from .login import LoginResult, login
from .store import KycStore, LoginLockedError

__all__ = ["FAIL", "PASS", "REVIEW", "KycCheck", "KycResult", "KycStore", "LivenessEvidence", "LoginLockedError",
           "LoginResult", "login"]
