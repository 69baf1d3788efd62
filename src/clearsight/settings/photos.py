"""The photo library: where it lives, how faces are grouped by person, thumbnail sizes.

The clustering defaults are the ones `bench/photos.py` measured best on LFW-gray with
the default embedder; a different embedder needs its own `similarity`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class PhotoSettings(BaseModel):
    library_dir: Path | None = Field(
        None, description="Thumbnails, face crops and the library's face index. None: <data_dir>/photos."
    )
    similarity: float = Field(
        0.945, gt=0, lt=1,
        description="Least cosine similarity between two faces of one person when grouping the library "
        "(bench/photos.py: best pairwise F1 on LFW-gray with the default embedder).",
    )
    min_faces: int = Field(
        2, ge=1, le=50,
        description="Faces (itself included) within `similarity` that make a face a core face in the per-face rule "
        "(Immich's, `assign_incrementally`, measured in bench/photos.py); the import's window rule "
        "(`group_every`) does not use it.",
    )
    vote: bool = Field(
        False, description="Join the person with the largest summed similarity among the neighbours (True) or the "
        "person of the single nearest face (False, Immich).",
    )
    thumb_size: int = Field(320, ge=32, le=2048, description="Longest side of a photo thumbnail, in pixels.")
    face_thumb_size: int = Field(128, ge=32, le=512, description="Side of a face crop thumbnail, in pixels.")
    persist_every: int = Field(
        200, ge=1, description="Photos imported between two saves of the face index (it is rebuilt from the "
        "database anyway after a crash)."
    )
    workers: int | None = Field(
        None, ge=1, le=64, description="Photos an import prepares at once (read, detect, embed, thumbnails), each "
        "model call on one core; storing stays in order in one thread. None: the `threads` setting (on 2 cores, 2 "
        "workers of 1 thread beat 1 worker of 2 threads: bench/photos.py).")
    commit_every: int = Field(
        32, ge=1, le=10_000, description="Most photos an import writes in one transaction (1: one commit a photo). "
        "A crash loses at most the open transaction's photos, which the next run imports again.")
    commit_s: float = Field(
        0.5, gt=0, le=60, description="Most seconds one import transaction stays open (it holds the database's "
        "write lock meanwhile).")
    group_every: int = Field(
        32, ge=1, le=1000, description="Photos an import groups by person at once: their faces are clustered "
        "together, then each cluster joins the person 2/3 of its faces choose, else starts one, so a burst of "
        "photos of one person is not dragged into someone else by one false match (1: photo by photo; at most "
        "`commit_every`: a transaction holds whole windows; "
        "bench/photos.py: folder-order F1 0.809 at 1, 0.937 at 32 on LFW-gray).")
    search_limit: int = Field(1000, gt=0, le=100_000, description="Most photos one search returns.")
