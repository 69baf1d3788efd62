"""The layer rules of DESIGN.md, as code: a change that imports upward fails here.

The contracts live in pyproject.toml (`[tool.importlinter]`) so `lint-imports` run by
hand and this test check the same thing. grimp counts imports inside functions and
under TYPE_CHECKING too: a lazy upward import is still a dependency.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), str(REPO / "pyproject.toml"), "--no-cache"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _area_graph() -> dict[str, set[str]]:
    import grimp

    graph = grimp.build_graph("clearsight", exclude_type_checking_imports=False, cache_dir=None)
    areas = sorted({m.split(".")[1] for m in graph.modules if m.count(".") >= 1})
    return {
        a: {b for b in areas if a != b and graph.direct_import_exists(
            importer=f"clearsight.{a}", imported=f"clearsight.{b}", as_packages=True)}
        for a in areas
    }


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, or None: depth-first search with an explicit path."""
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(v: str, path: list[str]) -> list[str] | None:
        state[v] = 1
        for w in sorted(edges[v]):
            if state.get(w) == 1:
                return path[path.index(w):] + [w]
            if w not in state and (found := visit(w, path + [w])):
                return found
        state[v] = 2
        return None

    for v in sorted(edges):
        if v not in state and (found := visit(v, [v])):
            return found
    return None


def test_no_import_cycle_between_top_level_areas():
    assert _cycle(_area_graph()) is None


def test_the_cycle_finder_finds_cycles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
