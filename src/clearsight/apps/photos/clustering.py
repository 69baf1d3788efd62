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

Vectors are L2-normalised; similarity is the inner product. Neighbours come from a
`VectorIndex` (the library's FAISS collection), so the rule costs one k-NN query per
face whatever the library's size.
"""

from __future__ import annotations

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
    `vote`: pick the person by summed similarity (True) or by the nearest face (False, Immich)."""

    similarity: float
    min_faces: int = 2
    vote: bool = True


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
