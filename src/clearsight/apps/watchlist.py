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

from typing import TYPE_CHECKING

from ..rules.events import WATCHLIST_MATCH
from ..stream.analysers import PluginContext, register_analyser
from ..stream.config import WatchlistConfig
from ..stream.recognition import GalleryIdentifier, Identifier, RecognitionAnalyser, TrackRecognizer

if TYPE_CHECKING:
    from ..gallery import Gallery


class WatchlistAnalyser(RecognitionAnalyser):
    @classmethod
    def from_config(cls, camera: str, config: WatchlistConfig, *, gallery: Gallery | None = None,
                    identifier: Identifier | None = None, snapshots: bool = True) -> WatchlistAnalyser:
        pipeline = None
        if identifier is None:
            if gallery is None:
                from ..gallery import Gallery

                gallery = Gallery.open()
            identifier = GalleryIdentifier(gallery, "watchlist", actor=f"camera:{camera}", group=config.group)
            # the gallery's own embedder: templates of another model would not be comparable
            pipeline = gallery.pipeline
        recognizer = TrackRecognizer(identifier, config, pipeline=pipeline)
        return cls(camera, recognizer, event_type=WATCHLIST_MATCH, alert_unknown=False, snapshots=snapshots,
                   extra={"group": config.group}, name="watchlist")

    @property
    def alerts(self) -> dict[int, str]:
        """track id -> identity id of every alert raised so far."""
        return {tid: d.identity_id for tid, d in self.decisions.items() if d.known and d.identity_id}


def _watchlist(config: WatchlistConfig, ctx: PluginContext) -> WatchlistAnalyser:
    identifier = ctx.identifier("watchlist")
    return WatchlistAnalyser.from_config(ctx.camera, config, gallery=None if identifier else ctx.gallery(),
                                         identifier=identifier, snapshots=ctx.snapshots)


register_analyser("watchlist", _watchlist, WatchlistConfig,
                  description="Alert once per track when a face is an identity on the watchlist.",
                  emits={WATCHLIST_MATCH: "A face track matched an identity on the watchlist, once per track."})


__all__ = ["WatchlistAnalyser"]
