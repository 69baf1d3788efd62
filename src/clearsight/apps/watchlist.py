"""Watchlist: alert when a tracked face is an identity on a watchlist.

Who can alert: only identities the gallery returns for the `watchlist` purpose,
i.e. those with a valid (unexpired, not withdrawn) watchlist consent or legal
basis, optionally restricted to one group (e.g. "banned-from-store"). The gallery
applies that filter and audits every search, with the camera as the actor.

One alert per track: the track is identified once, by a vote over its best-quality
frames (`stream.recognition`), so a person walking through the scene for ten
seconds produces one `watchlist.match` with the best snapshot and score, not 250.
Unknown people produce no event at all.
"""

from __future__ import annotations

from typing import Any

from ..rules.events import WATCHLIST_MATCH
from ..stream.config import WatchlistConfig
from ..stream.pipeline import RecognitionAnalyser
from ..stream.recognition import GalleryIdentifier, Identifier, TrackRecognizer


class WatchlistAnalyser(RecognitionAnalyser):
    @classmethod
    def from_config(cls, camera: str, config: WatchlistConfig, *, gallery: Any | None = None,
                    identifier: Identifier | None = None, snapshots: bool = True) -> WatchlistAnalyser:
        pipeline = None
        if identifier is None:
            if gallery is None:
                from ..gallery import Gallery

                gallery = Gallery.open()
            identifier = GalleryIdentifier(gallery, "watchlist", actor=f"camera:{camera}", group=config.group)
            # the gallery's own embedder: templates of another model would not be comparable
            pipeline = getattr(gallery, "pipeline", None)
        recognizer = TrackRecognizer(identifier, config, pipeline=pipeline)
        return cls(camera, recognizer, event_type=WATCHLIST_MATCH, alert_unknown=False, snapshots=snapshots,
                   extra={"group": config.group})

    @property
    def alerts(self) -> dict[int, str]:
        """track id -> identity id of every alert raised so far."""
        return {tid: d.identity_id for tid, d in self.decisions.items() if d.known and d.identity_id}


__all__ = ["WatchlistAnalyser"]
