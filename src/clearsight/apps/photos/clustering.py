"""Grouping library faces by person: the incremental rule the library runs, and the
batch algorithms it was chosen against (`bench/photos.py`).

Why incremental: a library grows a few photos at a time, and re-clustering 100,000
faces to place one new photo would reorder people under the user's feet and undo
their merges and splits. The rule is Immich's (a face is a *core* face when at least
`min_faces` faces, itself included, lie within the distance; a core face joins the
person of its nearest assigned neighbour or starts a person; a non-core face waits
until the end of the batch, then joins the nearest assigned neighbour within the
distance or becomes a singleton). A variant chooses the person by summed similarity
over the matches (a local Chinese-whispers vote, `vote=True`); on LFW-gray it was no
better at the best threshold (bench/photos.py), so the default is Immich's nearest
face. Every face ends in a person (singletons included), because the library lists
every face under someone.

Arrival order matters. Fed one photo at a time in folder order (the import's order, and a
real library's: one event = many photos of the same people in a row), the per-face rule
drops from pairwise F1 0.898 (random order) to 0.809 on LFW-gray: a person's first face
meets a false neighbour and every later face of that person follows it into the wrong
person. So the import groups a *window* of photos at once (`assign_window`): the window's
new faces are first clustered among themselves (Chinese whispers at the same similarity),
then each window cluster joins an existing person only when at least `join_share` (2/3) of
its faces choose that person, else it starts one. One false neighbour can no longer drag a
whole burst along (folder order 0.935, random order 0.893: bench/photos.py).

Vectors are L2-normalised; similarity is the inner product. Neighbours come from a
`VectorIndex` (the library's FAISS collection), so the rule costs one k-NN query per
face whatever the library's size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ...gallery.index.base import VectorIndex

#: neighbours looked at per face: enough for min_faces and the vote, cheap at 1M faces
NEIGHBOURS = 16


@dataclass(frozen=True)
class ClusterRule:
    """`similarity`: the least cosine similarity of two faces of one person;
    `min_faces`: faces (itself included) within it that make a face a core face;
    `vote`: pick the person by summed similarity (True) or by the nearest face (False, Immich);
    `join_share`: in `assign_window`, the least share of a window cluster's faces that must
    choose an existing person for the cluster to join them (2/3: best measured, bench/photos.py)."""

    similarity: float
    min_faces: int = 2
    vote: bool = True
    join_share: float = 2 / 3


@dataclass(frozen=True)
class Assignment:
    face_id: int
    person: int | None  # an existing person's key, or None: start a new person
    core: bool


def _choose(matches: list[tuple[float, int]], person_of: Mapping[int, int | str], vote: bool) -> int | str | None:
    scored = [(s, person_of[i]) for s, i in matches if i in person_of]
    if not scored:
        return None
    if not vote:
        return max(scored, key=lambda sp: sp[0])[1]
    totals: dict[int | str, float] = {}
    for s, p in scored:
        totals[p] = totals.get(p, 0.0) + s
    return max(totals.items(), key=lambda kv: kv[1])[0]


def assign_incrementally(index: VectorIndex, ids: np.ndarray, vectors: np.ndarray,
                         persons: Callable[[list[int]], Mapping[int, int | str]], rule: ClusterRule,
                         new_person: Callable[[], int | str]) -> dict[int, int | str]:
    """Place the new faces `ids` (already in `index`): `persons(face_ids)` tells the
    person of those faces that have one; `new_person()` makes a person key.
    Returns the new faces' persons."""
    ids = np.asarray(ids, dtype=np.int64)
    k = min(NEIGHBOURS, max(1, len(index)))
    scores, hits = index.search(np.asarray(vectors, dtype=np.float32), k)
    fresh = set(ids.tolist())
    person_of = dict(persons(sorted({int(h) for h in hits.ravel() if h >= 0 and int(h) not in fresh})))
    placed: dict[int, int | str] = {}
    deferred: list[tuple[int, list[tuple[float, int]]]] = []
    for fid, srow, hrow in zip(ids.tolist(), scores, hits):
        matches = [(float(s), int(h)) for s, h in zip(srow, hrow) if h >= 0 and h != fid and s >= rule.similarity]
        if len(matches) + 1 < rule.min_faces:
            deferred.append((fid, matches))
            continue
        p = _choose(matches, person_of, rule.vote)
        person_of[fid] = placed[fid] = new_person() if p is None else p
    for fid, matches in deferred:  # non-core faces: join a neighbour's person, else stand alone
        p = _choose(matches, person_of, rule.vote)
        person_of[fid] = placed[fid] = new_person() if p is None else p
    return placed


def whispers(vectors: np.ndarray, similarity: float, rounds: int = 20) -> np.ndarray:
    """Chinese whispers over the pairs at least `similarity` alike, deterministic (nodes in
    order, ties to the smallest label): labels 0..k-1 in order of first appearance. For the
    few dozen faces of an import window; dlib's version (random order) is the batch baseline."""
    v = np.asarray(vectors, dtype=np.float32)
    n = len(v)
    adj = (v @ v.T) >= similarity
    np.fill_diagonal(adj, False)
    labels = np.arange(n)
    for _ in range(rounds):
        changed = False
        for i in range(n):
            nb = labels[adj[i]]
            if not len(nb):
                continue
            counts = np.bincount(nb)
            best = int(np.flatnonzero(counts == counts.max())[0])
            if best != labels[i]:
                labels[i], changed = best, True
        if not changed:
            break
    _, first = np.unique(labels, return_index=True)
    remap = {int(labels[j]): k for k, j in enumerate(sorted(first))}
    return np.array([remap[int(lab)] for lab in labels], dtype=np.int64)


def assign_window(index: VectorIndex, ids: np.ndarray, vectors: np.ndarray,
                  persons: Callable[[list[int]], Mapping[int, int | str]], rule: ClusterRule,
                  new_person: Callable[[], int | str]) -> dict[int, int | str]:
    """Place a window of new faces `ids` (already in `index`) together: cluster them among
    themselves, then let each cluster join the person most of its faces choose (each face
    chooses as the per-face rule would, among faces *outside* the window) when at least
    `rule.join_share` of them do, else start a person. A one-face window is the per-face
    rule. Existing faces never move. Returns the new faces' persons."""
    ids = np.asarray(ids, dtype=np.int64)
    vectors = np.asarray(vectors, dtype=np.float32)
    if not len(ids):
        return {}
    fresh = set(ids.tolist())
    # a window may hold many faces of one person: look past them for the library's faces
    k = min(NEIGHBOURS + len(ids), max(1, len(index)))
    scores, hits = index.search(vectors, k)
    person_of = dict(persons(sorted({int(h) for h in hits.ravel() if h >= 0 and int(h) not in fresh})))
    choice: list[int | str | None] = []
    for srow, hrow in zip(scores, hits):
        matches = [(float(s), int(h)) for s, h in zip(srow, hrow)
                   if h >= 0 and int(h) not in fresh and s >= rule.similarity][:NEIGHBOURS]
        choice.append(_choose(matches, person_of, rule.vote))
    groups = whispers(vectors, rule.similarity)
    placed: dict[int, int | str] = {}
    for g in range(int(groups.max()) + 1):
        members = np.flatnonzero(groups == g)
        votes: dict[int | str, int] = {}
        for m in members:
            if choice[m] is not None:
                votes[choice[m]] = votes.get(choice[m], 0) + 1
        best = max(votes.items(), key=lambda kv: kv[1]) if votes else None
        p = (best[0] if best is not None and best[1] >= math.ceil(rule.join_share * len(members) - 1e-9)
             else new_person())
        for m in members:
            placed[int(ids[m])] = p
    return placed


# -- the batch algorithms measured against it (bench/photos.py) ----------------------
def _singletons_for_noise(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels).copy()
    nxt = labels.max(initial=-1) + 1
    for i in np.flatnonzero(labels < 0):
        labels[i], nxt = nxt, nxt + 1
    return labels


def chinese_whispers(vectors: np.ndarray, max_distance: float) -> np.ndarray:
    """dlib's Chinese whispers over the graph of pairs closer than `max_distance` (Euclidean)."""
    import dlib

    return np.asarray(dlib.chinese_whispers_clustering([dlib.vector(v.astype(float).tolist()) for v in vectors],
                                                       float(max_distance)))


def dbscan(vectors: np.ndarray, max_distance: float, min_samples: int = 2) -> np.ndarray:
    from sklearn.cluster import DBSCAN

    return _singletons_for_noise(DBSCAN(eps=max_distance, min_samples=min_samples).fit_predict(vectors))


def hdbscan(vectors: np.ndarray, min_cluster_size: int = 2, method: str = "eom") -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    return _singletons_for_noise(HDBSCAN(min_cluster_size=min_cluster_size, min_samples=1,
                                         cluster_selection_method=method).fit_predict(vectors))


def distance_for(similarity: float) -> float:
    """Euclidean distance of unit vectors with this cosine similarity."""
    return float(np.sqrt(max(0.0, 2.0 - 2.0 * similarity)))
