"""Issue 19 item 3: the index file is encrypted at rest and private, like the database rows."""

from __future__ import annotations

import stat

import faiss
import numpy as np
import pytest

from clearsight.config import get_settings
from clearsight.gallery.index.faiss_index import FaissIndex
from clearsight.gallery.index.sealed import MAGIC, SealedIndexError, read_sealed

from .helpers import near, open_gallery, person

pytestmark = pytest.mark.unit


def _index_files():
    return sorted(p for p in get_settings().gallery_index_dir().iterdir() if ".faiss.g" in p.name)


def test_the_gallery_index_file_is_sealed_private_and_reopens():
    g = open_gallery()
    ada = person(g, "Ada", seed=1)
    person(g, "Bob", seed=2)
    g.close()  # persists the index
    files = _index_files()
    assert files, "the gallery persisted no index"
    for f in files:
        data = f.read_bytes()
        assert data.startswith(MAGIC)
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        with pytest.raises(RuntimeError):  # not a FAISS file anyone can read
            faiss.read_index(str(f))
    g = open_gallery()
    try:
        hits = g.search(near(1), "login", actor="door")
        assert hits and hits[0].identity_id == ada.id
    finally:
        g.close()


def test_sealed_files_refuse_a_wrong_key_and_tampering(tmp_path):
    x = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    idx = FaissIndex(8, kind="flat", path=tmp_path / "m.faiss", seal_key=b"k" * 32)
    idx.add(np.arange(50), x)
    idx.persist()
    part = next(tmp_path.glob("m.faiss.g*"))
    assert x.tobytes()[:32] not in part.read_bytes()  # no raw template bytes
    with pytest.raises(SealedIndexError):
        read_sealed(part, b"j" * 32, b"clearsight/index/m.faiss/0")
    reopened = FaissIndex(8, kind="flat", path=tmp_path / "m.faiss", seal_key=b"k" * 32)
    assert len(reopened) == 50
    # the wrong key: the index starts empty (the store refills it), it never reads garbage
    assert len(FaissIndex(8, kind="flat", path=tmp_path / "m.faiss", seal_key=b"j" * 32)) == 0


def test_an_unsealed_index_of_an_older_version_loads_and_is_sealed_on_persist(tmp_path):
    x = np.eye(8, dtype=np.float32)
    old = FaissIndex(8, kind="flat", path=tmp_path / "m.faiss")
    old.add(np.arange(8), x)
    old.persist()
    assert not next(tmp_path.glob("m.faiss.g*")).read_bytes().startswith(MAGIC)
    new = FaissIndex(8, kind="flat", path=tmp_path / "m.faiss", seal_key=b"k" * 32)
    assert len(new) == 8
    new.persist()
    assert all(p.read_bytes().startswith(MAGIC) for p in tmp_path.glob("m.faiss.g*"))
