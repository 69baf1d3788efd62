"""Template protection: keyed orthogonal transform + AES-GCM, key files, rotation."""

from __future__ import annotations

import os
import stat
import threading

import numpy as np
import pytest
from sqlalchemy import text

from clearsight.gallery import TemplateKeyError
from clearsight.gallery.protection import (
    ENV_KEY,
    ENV_PREVIOUS,
    Protector,
    encode_key,
    key_id,
    load_keyring,
    orthogonal_matrix,
)

from .helpers import emb, near, open_gallery, person, vec

pytestmark = pytest.mark.unit

K1, K2 = bytes(range(32)), bytes(range(1, 33))


def test_transform_is_orthogonal_deterministic_and_key_specific():
    m = orthogonal_matrix(K1, 128)
    assert np.allclose(m @ m.T, np.eye(128), atol=1e-4)
    assert np.array_equal(m, orthogonal_matrix(K1, 128))
    a, b = vec(1), vec(2)
    assert np.isclose(float((m @ a) @ (m @ b)), float(a @ b), atol=1e-5)
    # the same face under two keys: unrelated vectors (revocation by re-keying)
    m2 = orthogonal_matrix(K2, 128)
    assert abs(float((m @ a) @ (m2 @ a))) < 0.35


def test_encrypt_roundtrip_bound_to_identity():
    from clearsight.gallery.protection import KeyRing

    p = Protector(KeyRing({key_id(K1): K1}, key_id(K1), "test"))
    t = p.transform(vec(3))
    kid, nonce, ct = p.protect(vec(3), b"id-a")
    assert np.allclose(p.decrypt(kid, nonce, ct, b"id-a"), t)
    with pytest.raises(TemplateKeyError):
        p.decrypt(kid, nonce, ct, b"id-b")  # a row moved to another identity
    other = Protector(KeyRing({key_id(K1): K2}, key_id(K1), "test"))
    with pytest.raises(TemplateKeyError):
        other.decrypt(kid, nonce, ct, b"id-a")  # wrong key
    with pytest.raises(TemplateKeyError):
        p.decrypt("unknown", nonce, ct, b"id-a")


def test_key_file_created_private_and_unsafe_file_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    path = tmp_path / "keys.json"
    ring = load_keyring(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(path).active == ring.active  # stable across starts
    os.chmod(path, 0o644)
    with pytest.raises(TemplateKeyError, match="chmod 600"):
        load_keyring(path)


def test_env_key_overrides_file(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_KEY, K1.hex())
    monkeypatch.setenv(ENV_PREVIOUS, encode_key(K2))
    ring = load_keyring(tmp_path / "never-created.json")
    assert ring.active == key_id(K1) and set(ring.keys) == {key_id(K1), key_id(K2)}
    assert not (tmp_path / "never-created.json").exists()
    monkeypatch.setenv(ENV_KEY, "too-short")
    with pytest.raises(TemplateKeyError):
        load_keyring(tmp_path / "x.json")


def test_gallery_with_wrong_env_key_cannot_read_templates(monkeypatch):
    monkeypatch.setenv(ENV_KEY, K1.hex())
    g = open_gallery()
    a = person(g, "Ada", "login", seed=5)
    g.close()
    monkeypatch.setenv(ENV_KEY, K2.hex())
    g2 = open_gallery()
    with pytest.raises(TemplateKeyError):
        g2.search(emb(5), "login", "t")
    g2.close()
    monkeypatch.setenv(ENV_KEY, K1.hex())
    g3 = open_gallery()
    assert g3.search(emb(5), "login", "t")[0].identity_id == a.id
    g3.close()


def test_rotation_reprotects_everything_while_searching(monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    g = open_gallery()
    people = [person(g, f"p{i}", "login", seed=200 + i) for i in range(40)]
    old = g.stats()["key_id"]
    with g._session() as s:
        before = {r[0]: r[1] for r in s.execute(text("SELECT id, ciphertext FROM templates"))}
    errors, done = [], threading.Event()

    def searcher() -> None:
        i = 0
        while not done.is_set():
            try:
                m = g.search(near(200 + i % 40), "login", "kiosk", top_k=1)
                if m[0].identity_id != people[i % 40].id:
                    errors.append(f"wrong hit for {i % 40}")
            except Exception as exc:  # noqa: BLE001 - any failure during rotation is the bug
                errors.append(repr(exc))
            i += 1

    th = threading.Thread(target=searcher)
    th.start()
    try:
        rep = g.rotate_key("security-officer")
    finally:
        done.set()
        th.join()
    assert errors == []
    assert rep.old_key_ids == [old] and rep.templates_reprotected == 40
    assert g.stats()["key_id"] == rep.new_key_id != old
    ring = load_keyring(g._keys.path)
    assert set(ring.keys) == {rep.new_key_id}  # the old key is gone: old copies are revoked
    with g._session() as s:
        after = dict(s.execute(text("SELECT id, ciphertext FROM templates")).all())
        kids = {r[0] for r in s.execute(text("SELECT DISTINCT key_id FROM templates"))}
    assert kids == {rep.new_key_id}
    assert all(after[i] != before[i] for i in before)
    for i in (0, 17, 39):
        assert g.search(emb(200 + i), "login", "t")[0].identity_id == people[i].id
    g.close()
    g2 = open_gallery()  # a fresh process follows the new key
    assert g2.search(emb(210), "login", "t")[0].identity_id == people[10].id
    assert [e.outcome for e in g2.audit_entries(action="keys.rotate")] == ["started", "ok"]
    g2.close()


def test_other_process_follows_a_rotation(monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    a_g, b_g = open_gallery(), open_gallery()
    ada = person(a_g, "Ada", "login", seed=301)
    assert b_g.search(emb(301), "login", "t")[0].identity_id == ada.id
    a_g.rotate_key("officer")
    assert b_g.search(emb(301), "login", "t")[0].identity_id == ada.id
    a_g.close()
    b_g.close()
