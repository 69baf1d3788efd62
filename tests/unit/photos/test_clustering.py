"""The incremental person rule on vectors whose answer is known by construction."""

from __future__ import annotations

import numpy as np

from clearsight.apps.photos.clustering import ClusterRule, assign_incrementally, distance_for
from clearsight.gallery.index.base import create_index


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def people(n_people: int, per: int, spread: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((n_people, 64)))
    labels = np.repeat(np.arange(n_people), per)
    return unit(centres[labels] + spread * rng.standard_normal((len(labels), 64))), labels


class Library:
    """The rule driven one photo at a time, as an import drives it."""

    def __init__(self, rule: ClusterRule, dim: int = 64) -> None:
        self.index = create_index("flat", dim)
        self.rule = rule
        self.person_of: dict[int, int] = {}
        self.next = 0

    def new_person(self) -> int:
        self.next += 1
        return self.next

    def add(self, ids: np.ndarray, vecs: np.ndarray) -> dict[int, int]:
        self.index.add(ids, vecs)
        placed = assign_incrementally(self.index, ids, vecs, lambda f: {i: self.person_of[i] for i in f},
                                      self.rule, self.new_person)
        self.person_of.update(placed)
        return placed


def test_faces_of_one_person_join_and_strangers_start_their_own():
    x, labels = people(20, 5, 0.02)
    lib = Library(ClusterRule(0.9, 2))
    for i in np.random.default_rng(1).permutation(len(x)):
        lib.add(np.array([i]), x[i : i + 1])
    got = np.array([lib.person_of[i] for i in range(len(x))])
    for p in range(20):
        assert len(set(got[labels == p])) == 1
    assert len(set(got)) == 20


def test_a_new_face_never_moves_existing_ones():
    x, _ = people(5, 4, 0.02)
    lib = Library(ClusterRule(0.9, 2))
    lib.add(np.arange(10), x[:10])
    before = dict(lib.person_of)
    lib.add(np.arange(10, 20), x[10:])
    assert {k: lib.person_of[k] for k in before} == before


def test_vote_beats_a_single_look_alike():
    """One face of person B sits closest to the probe, three faces of A are nearly as close:
    the summed vote picks A, the nearest-face rule (Immich) picks B."""
    rng = np.random.default_rng(3)
    a, b = unit(rng.standard_normal((2, 64)))
    probe = unit(0.5 * a + 0.5 * b + 0.01 * rng.standard_normal(64))
    near_b = unit(probe + 0.30 * (b - probe))  # similarity ~0.97 to the probe, ~0.87 to A's faces
    a_faces = unit(np.stack([probe + 0.38 * (a - probe) + 0.002 * rng.standard_normal(64) for _ in range(3)]))
    for vote, want in ((True, "A"), (False, "B")):
        lib = Library(ClusterRule(0.94, 1, vote=vote))
        lib.add(np.array([0, 1, 2]), a_faces)
        lib.add(np.array([3]), near_b[None])
        assert lib.person_of[3] != lib.person_of[0]  # B is its own person
        placed = lib.add(np.array([4]), probe[None])
        assert placed[4] == (lib.person_of[0] if want == "A" else lib.person_of[3])


def test_a_lonely_face_is_a_singleton_and_distance_matches_similarity():
    lib = Library(ClusterRule(0.9, 3))
    x, _ = people(3, 1, 0.0)
    lib.add(np.arange(3), x)
    assert len(set(lib.person_of.values())) == 3
    assert np.isclose(distance_for(0.9), np.linalg.norm(unit(np.array([1.0, 0])) - unit(np.array([0.9, np.sqrt(1 - 0.81)]))))
