"""Gallery configuration.

A pydantic model the lead wires into `Settings` as `gallery`; until then (and for
tools that only need the gallery) it is read from `CLEARSIGHT_GALLERY__*`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:  # config.py imports this module to wire `Settings.gallery`
    from ..config import Settings


class GallerySettings(BaseModel):
    # None: sqlite:///<data_dir>/gallery.db (WAL). A PostgreSQL URL shares one store
    # between services: postgresql+psycopg://user@host/db
    database_url: str | None = None
    # auto: exact (flat) search while the gallery is small, a compressed index with
    # exact re-ranking once it passes `exact_max` templates.
    index: Literal["auto", "flat", "compressed", "milvus"] = "auto"
    exact_max: int = 250_000
    # faiss index_factory string of the compressed index, or "auto": chosen by size,
    # IVF{nlist},PQ128x4fs,Refine(SQ8) with nlist ~ 4*sqrt(n); the gallery then
    # re-ranks its shortlist exactly from the store (bench/search.py measures it)
    compressed_factory: str = "auto"
    compressed_k_factor: int = 8
    # IVF lists probed per query: probe_factor * sqrt(nlist) (12: recall@1 0.996-0.999
    # against exact search at 1M and 10M on LFW-fitted vectors, bench/search.py)
    ivf_probe_factor: float = 12.0
    # early stop: every query first probes first_probe_factor * sqrt(nlist) lists and
    # stops there when its best hit beats its 10th by stop_gap (cosine); the rest probe
    # all. "auto": 0.012 at 1M, 0.008 at 10M, log-interpolated, measured on LFW-fitted
    # vectors of the default embedder (bench/search.py); 0 turns it off.
    ivf_first_probe_factor: float = 2.0
    ivf_stop_gap: float | Literal["auto"] = "auto"
    # the compressed index is split into this many shards searched by parallel
    # threads: single-query latency / shards on that many free cores
    index_shards: int = 2
    # FAISS OpenMP threads per search. One request = one thread: concurrency comes
    # from concurrent requests, and spinning OpenMP threads on a busy machine cost
    # 10-100x (measured); raise it for batch scans on an idle machine.
    index_threads: int = 1
    # directory of the persisted index (None: <data_dir>/gallery-index)
    index_dir: Path | None = None
    # Milvus: a file path runs milvus-lite embedded; http://host:19530 a cluster
    milvus_uri: str | None = None
    milvus_collection: str = "clearsight_templates"
    # Template-protection key ring (None: <data_dir>/template_keys.json, 0600).
    # CLEARSIGHT_TEMPLATE_KEY (env) overrides it. Put it on another volume than the DB.
    key_file: Path | None = None
    # keep an encrypted copy of each enrolment image (erasure deletes it)
    store_images: bool = False
    # templates older than this are purged by `purge_expired` (None: kept while consented)
    template_retention_days: int | None = None
    # SQLite durability: FULL survives power loss, NORMAL survives process crashes
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    # persist the index file after this many changes (the store is the truth anyway)
    persist_every: int = 1000
    # check the store for other writers' changes before each search
    sync_on_search: bool = True


class _GalleryFromEnv(GallerySettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLEARSIGHT_GALLERY__", extra="ignore")


def gallery_settings(settings: Settings | None = None) -> GallerySettings:
    from ..config import get_settings

    settings = settings or get_settings()
    wired = getattr(settings, "gallery", None)
    if isinstance(wired, GallerySettings):
        return wired
    return GallerySettings(**_GalleryFromEnv().model_dump())


def database_url(gs: GallerySettings, settings: Settings) -> str:
    if gs.database_url:
        url = gs.database_url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return f"sqlite:///{settings.ensure_data_dir() / 'gallery.db'}"


def index_dir(gs: GallerySettings, settings: Settings) -> Path:
    return gs.index_dir or settings.data_dir / "gallery-index"


def key_file(gs: GallerySettings, settings: Settings) -> Path:
    return gs.key_file or settings.data_dir / "template_keys.json"
