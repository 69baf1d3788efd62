"""Shared by the gallery tests: galleries on SQLite or PostgreSQL, synthetic templates.

Synthetic templates carry the real embedder's model id so the calibrated
operating points apply; tests that need real faces live in tests/integration.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import numpy as np
import pytest

from clearsight.types import Embedding

MODEL = "dlib-resnet-v1"
DIM = 128
PG_BASE = "postgresql+psycopg://{user}@127.0.0.1:5432/test"


def vec(seed: int, dim: int = DIM) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def emb(seed: int) -> Embedding:
    return Embedding(vec(seed), MODEL)


def near(seed: int, noise: float = 0.05, jitter_seed: int = 10_000) -> Embedding:
    v = vec(seed) + noise * vec(seed + jitter_seed)
    return Embedding(v / np.linalg.norm(v), MODEL)


def _pg_user() -> str | None:
    try:
        import psycopg
    except ImportError:
        return None
    for user in ("postgres", "root"):
        try:
            psycopg.connect(host="127.0.0.1", port=5432, dbname="test", user=user, connect_timeout=3).close()
            return user
        except Exception:  # noqa: BLE001 - any failure means: no server for us
            continue
    return None


@contextmanager
def pg_schema_url():
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards, so
    parallel test runs never share tables."""
    user = _pg_user()
    if user is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (database test, trust auth)")
    import psycopg

    schema = f"cs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host="127.0.0.1", port=5432, dbname="test", user=user, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield PG_BASE.format(user=user) + f"?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(host="127.0.0.1", port=5432, dbname="test", user=user, autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def open_gallery(url: str | None = None, **options):  # noqa: ANN003, ANN201
    from clearsight.gallery import Gallery
    from clearsight.settings import GallerySettings

    return Gallery.open(model_id=MODEL, gallery=GallerySettings(database_url=url, **options))


def person(g, name: str, purpose: str | None = "login", seed: int | None = None, actor: str = "tester"):  # noqa: ANN001, ANN201
    """An identity with a consent for `purpose` and (if seed) one template."""
    ident = g.create_identity(None, name, actor=actor)
    if purpose:
        g.add_consent(ident.id, purpose, "consent", "the data subject", actor=actor)
    if seed is not None:
        g.enrol_embedding(ident.id, emb(seed), actor)
    return ident
