"""Footage search: index recorded video by face tracks, find a person in it by a photo (issue 18).

    from clearsight.apps.footage import FootageLibrary
    lib = FootageLibrary.open()
    lib.index_video("cam3-2026-11-02.mp4", actor="ops:anna")
    lib.search("probe.jpg", purpose="missing_person", legal_basis="vital_interests", actor="ops:anna")

`indexer` finds tracks and their best shots; `library` stores and searches them in a
collection of their own (see its notes on separation from the gallery).
"""

from .library import FOOTAGE_PURPOSES, FootageLibrary
from .records import FootageHit, FootageSearch, FootageSearchRefused, FootageVideo, IndexReport, clock

__all__ = ["FOOTAGE_PURPOSES", "FootageHit", "FootageLibrary", "FootageSearch", "FootageSearchRefused",
           "FootageVideo", "IndexReport", "clock"]
