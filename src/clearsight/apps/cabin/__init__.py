"""In-cabin safety (ride-hailing, next to driver monitoring): how many people are in the
car, and whether someone holds a phone to the face or in the hand.

No one is identified and nothing about a person is estimated beyond "a person is
there" and "a phone is next to a face or hand". Smoking is not detected: no
packaged model we could ship (with a licence and a checksum) recognises a
cigarette; COCO has no such class. Importing this package registers the `cabin`
analyser (camera file: `analysers: {cabin: {...}}`).
"""

from __future__ import annotations

from .analyser import EMITS, OCCUPANCY, PHONE_USE, CabinAnalyser, CabinConfig, CabinObserver, CabinState

__all__ = ["EMITS", "OCCUPANCY", "PHONE_USE", "CabinAnalyser", "CabinConfig", "CabinObserver", "CabinState"]
