"""The identity gallery: its store, its vector index and template protection.

Paths left as None resolve against the data dir in `clearsight.config.Settings`
(`gallery_database_url`, `gallery_index_dir`, `template_key_file`): one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class GallerySettings(BaseModel):
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the gallery store. None: sqlite:///<data_dir>/gallery.db (WAL). A PostgreSQL "
        "URL shares one store between services: postgresql+psycopg://user@host/db.",
    )
    index: Literal["auto", "flat", "compressed", "milvus"] = Field(
        "auto",
        description="Vector index. auto: exact (flat) search while the gallery is small, a compressed index with "
        "exact re-ranking once it passes `exact_max` templates; milvus: a Milvus server or cluster.",
    )
    exact_max: int = Field(250_000, gt=0, description="Templates up to which `auto` searches exactly.")
    compressed_factory: str = Field(
        "auto",
        description="faiss index_factory string of the compressed index, or auto: IVF{nlist},PQ128x4fs,Refine(SQ8) "
        "with nlist ~ 4*sqrt(n); the gallery re-ranks its shortlist exactly from the store (bench/search.py).",
    )
    compressed_k_factor: int = Field(8, gt=0, description="Shortlist size of the compressed index, as a multiple of k.")
    ivf_probe_factor: float = Field(
        12.0, gt=0,
        description="IVF lists probed per query: probe_factor * sqrt(nlist) (12: recall@1 0.996-0.999 against exact "
        "search at 1M and 10M, bench/search.py).",
    )
    ivf_first_probe_factor: float = Field(
        2.0, gt=0,
        description="Early stop: every query first probes first_probe_factor * sqrt(nlist) lists and stops there "
        "when its best hit beats its 10th by `ivf_stop_gap`; the rest probe all.",
    )
    ivf_stop_gap: float | Literal["auto"] = Field(
        "auto",
        description="Cosine margin of the early stop. auto: 0.012 at 1M, 0.008 at 10M, log-interpolated, measured "
        "for recall@1 >= 0.99 (bench/search.py); 0 turns the early stop off.",
    )
    index_shards: int = Field(
        2, gt=0,
        description="Shards of the compressed index, searched by parallel threads: single-query latency / shards "
        "on that many free cores.",
    )
    index_threads: int = Field(
        1, gt=0,
        description="FAISS OpenMP threads per search. One request = one thread; spinning OpenMP threads on a busy "
        "machine cost 10-100x (measured). Raise it for batch scans on an idle machine.",
    )
    index_dir: Path | None = Field(None, description="Directory of the persisted index. None: <data_dir>/gallery-index.")
    milvus_uri: str | None = Field(
        None, description="Milvus: a file path runs milvus-lite embedded; http://host:19530 a server or cluster."
    )
    milvus_collection: str = Field("clearsight_templates", description="Milvus collection of the templates.")
    milvus_token: str | None = Field(
        None, description="Milvus: credentials of a server or cluster with authentication on ('user:password', or "
        "an API key). None: no authentication.",
    )
    key_file: Path | None = Field(
        None,
        description="Template-protection key ring. None: <secrets_dir>/template_keys.json (0600), or the one an older "
        "data dir already holds. The environment "
        "variable CLEARSIGHT_TEMPLATE_KEY overrides it. Put it on another volume than the database.",
    )
    store_images: bool = Field(False, description="Keep an encrypted copy of each enrolment image (erasure deletes it).")
    template_retention_days: int | None = Field(
        None, gt=0, description="Templates older than this are purged by retention. None: kept while consented."
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL", description="SQLite durability: FULL survives power loss, NORMAL survives process crashes."
    )
    persist_every: int = Field(
        1000, gt=0, description="Persist the index file after this many changes (the store is the truth anyway)."
    )
    sync_on_search: bool = Field(True, description="Check the store for other writers' changes before each search.")
    decision_fpir: float = Field(
        1e-3, gt=0, le=0.5,
        description="Open-set 1:N, decision mode (access, login, kyc, photos): the false-positive identification "
        "rate a search holds over the gallery's current size N, i.e. the share of strangers matched to someone. "
        "The threshold rises with N (gallery/openset.py).",
    )
    facepay_fpir: float = Field(
        1e-4, gt=0, le=0.5,
        description="Open-set 1:N FPIR of the `facepay` purpose: a false positive pays with someone else's account.",
    )
    candidates_fpir: float = Field(
        1e-2, gt=0, le=0.5,
        description="Candidates mode (watchlist, investigation, missing_person): the FPIR of the threshold that marks "
        "a candidate as worth a human's review. Never an automatic match.",
    )
    openset_max_fnir: float = Field(
        0.5, gt=0, le=1,
        description="A search whose operating point is expected to miss more than this share of enrolled people is "
        "reported as unreachable at this N (the embedder is the limit); the FPIR is still held, never relaxed.",
    )
