"""The layer rules of DESIGN.md, as code: a change that imports upward fails here.

The contracts live in pyproject.toml (`[tool.importlinter]`) so `lint-imports` run by
hand and this test check the same thing. grimp counts imports inside functions and
under TYPE_CHECKING too: a lazy upward import is still a dependency.
"""

from __future__ import annotations

import functools
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


# -- the shape of issue 13, as checks on the source --------------------------------------
PKG = REPO / "src" / "clearsight"


@functools.cache
def _sources() -> dict[str, str]:
    return {str(p.relative_to(PKG)): p.read_text() for p in sorted(PKG.rglob("*.py"))}


@functools.cache
def _calls_and_imports(text: str) -> frozenset[str]:
    """Dotted names the module calls or imports (`cv2.VideoCapture`, `sqlite3`), inside functions too."""
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            names.add(f"{node.value.id}.{node.attr}")
    return frozenset(names)


def test_routes_stay_thin():
    """No file in server/routes over 300 lines: the domain work lives in its area."""
    sizes = {p.name: len(p.read_text().splitlines()) for p in (PKG / "server" / "routes").glob("*.py")}
    assert sizes and {n: s for n, s in sizes.items() if s > 300} == {}


def test_one_persistence_no_raw_sqlite3_or_json_file_stores():
    """Every table goes through db/; the old key file and camera/rule JSON files are only
    read once, by the data-dir upgrade."""
    sources = _sources()
    raw = [m for m, t in sources.items() if {"sqlite3"} & _calls_and_imports(t)]
    assert raw == ["db/legacy.py"]
    old_layout = [m for m, t in sources.items() if ("keys.sqlite" in t or "rules.json" in t)]
    assert old_layout == ["db/legacy.py"]


def test_one_video_reader_and_one_writer():
    """Frames come in through io.video and go out through io.writer, for every command and app."""
    containers = {"cv2.VideoCapture", "cv2.VideoWriter", "av.open"}
    users = [m for m, t in _sources().items() if containers & _calls_and_imports(t)]
    assert users == ["io/video.py", "io/writer.py"]


def test_dead_code_stays_gone():
    from clearsight.apps.effects.stickers import Stickers
    from clearsight.gallery.protection import KeyRing
    from clearsight.models import human
    from clearsight.server import auth
    from clearsight.stream import manager

    gone = [(auth, "token_from_headers"), (manager, "mjpeg_frames_async"), (manager.CameraManager, "statuses"),
            (human, "built_path"), (KeyRing, "active_key"), (Stickers, "placements")]
    assert [f"{getattr(o, '__name__', o)}.{n}" for o, n in gone if hasattr(o, n)] == []


def test_retention_uses_the_gallerys_public_api_only():
    import ast

    tree = ast.parse((PKG / "gallery" / "retention.py").read_text())
    private = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr.startswith("_")]
    assert private == []


def test_one_mjpeg_generator():
    makers = [m for m, t in _sources().items() if "Content-Type: image/jpeg" in t]
    assert makers == ["stream/manager.py"]
