"""The numbers of issue 13's closing table, computed from a source tree (not counted by hand).

    python scripts/arch_metrics.py [REPO_ROOT ...]      # default: this checkout

For each tree: lines in the five largest modules; the graph of top-level areas of
`src/clearsight` (grimp, counting imports inside functions and under TYPE_CHECKING, as
tests/unit/test_architecture.py does) and its cycles; the persistence mechanisms found in
the code; and the ways state is held (typed service-state objects, `app.state` attributes,
module-level mutable state, `global` rebinding). Compare two trees with
`git worktree add --detach /tmp/before <sha>` and pass both roots.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path


def largest_modules(src: Path, n: int = 5) -> list[tuple[str, int]]:
    sizes = [(str(p.relative_to(src)), len(p.read_text().splitlines())) for p in src.rglob("*.py")]
    return sorted(sizes, key=lambda s: -s[1])[:n]


_GRAPH = """
import sys, grimp
sys.path.insert(0, sys.argv[1])
g = grimp.build_graph("clearsight", exclude_type_checking_imports=False, cache_dir=None)
assert next(iter(g.modules)) and all(m.startswith("clearsight") for m in g.modules)
areas = sorted({m.split(".")[1] for m in g.modules if m.count(".") >= 1})
for a in areas:
    for b in areas:
        if a != b and g.direct_import_exists(importer=f"clearsight.{a}", imported=f"clearsight.{b}", as_packages=True):
            print(a, b)
print("#areas", *areas)
"""


def area_graph(src: Path) -> tuple[list[str], dict[str, set[str]]]:
    """In a subprocess, so each tree's `clearsight` is the one found (never the installed one)."""
    out = subprocess.run([sys.executable, "-c", _GRAPH, str(src.parent)], capture_output=True, text=True,
                         check=True, cwd="/").stdout.splitlines()
    areas = out[-1].split()[1:]
    edges: dict[str, set[str]] = {a: set() for a in areas}
    for line in out[:-1]:
        a, b = line.split()
        edges[a].add(b)
    return areas, edges


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components with more than one area: each is a knot of import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


# -- persistence ---------------------------------------------------------------------------
PERSISTENCE = {
    "raw sqlite3": re.compile(r"^\s*import sqlite3|^\s*from sqlite3 import", re.M),
    "SQLAlchemy engine": re.compile(r"\bcreate_engine\("),
    "Alembic environment": re.compile(r"context\.run_migrations\("),
    "JSON file written": re.compile(r"write_text\(json\.dumps|json\.dump\("),
}


def persistence(src: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {k: [] for k in PERSISTENCE}
    for p in sorted(src.rglob("*.py")):
        text = p.read_text()
        for name, pattern in PERSISTENCE.items():
            if pattern.search(text):
                found[name].append(str(p.relative_to(src)))
    return found


# -- state ---------------------------------------------------------------------------------
def _mutable(value: ast.expr | None) -> bool:
    if isinstance(value, (ast.Dict, ast.List, ast.Set)):
        return True
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return value.func.id in {"dict", "list", "set", "OrderedDict", "defaultdict"} or value.func.id[:2] == "_S"
    return False


def _is_app_state(node: ast.expr) -> bool:
    """`app.state` or `<anything>.app.state`."""
    if not (isinstance(node, ast.Attribute) and node.attr == "state"):
        return False
    owner = node.value
    return (isinstance(owner, ast.Name) and owner.id == "app") or (isinstance(owner, ast.Attribute) and owner.attr == "app")


def state(src: Path) -> dict[str, list[str]]:
    """Where the code keeps things that change while it runs.

    `app.state.X` attributes; module-level names rebound with `global`; module-level
    mutable containers or session objects with a lower-case name (upper-case names are
    registries and constants, filled at import); `@lru_cache` singletons."""
    out: dict[str, list[str]] = {"app.state attributes": [], "global rebinding": [],
                                 "module-level mutable objects": [], "lru_cache functions": []}
    for p in sorted(src.rglob("*.py")):
        rel = str(p.relative_to(src))
        tree = ast.parse(p.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _is_app_state(node.value):
                out["app.state attributes"].append(f"app.state.{node.attr}")
            elif (isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"getattr", "setattr"}
                  and len(node.args) >= 2 and _is_app_state(node.args[0]) and isinstance(node.args[1], ast.Constant)):
                out["app.state attributes"].append(f"app.state.{node.args[1].value}")
            elif isinstance(node, ast.Global):
                out["global rebinding"] += [f"{rel}:{n}" for n in node.names]
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for d in node.decorator_list:
                    f = d.func if isinstance(d, ast.Call) else d
                    if (getattr(f, "id", None) or getattr(f, "attr", None)) in {"lru_cache", "cache"}:
                        out["lru_cache functions"].append(f"{rel}:{node.name}")
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            for t in targets:
                if isinstance(t, ast.Name) and not t.id.isupper() and not t.id.startswith("__") and _mutable(node.value):
                    out["module-level mutable objects"].append(f"{rel}:{t.id}")
    out["app.state attributes"] = sorted(set(out["app.state attributes"]))
    return out


def service_state_any(src: Path) -> int:
    """`Any` annotations in the service-state module."""
    p = src / "server" / "state.py"
    return len(re.findall(r"\bAny\b", p.read_text())) if p.exists() else 0


def report(root: Path) -> None:
    src = root / "src" / "clearsight"
    sha = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    total = sum(len(p.read_text().splitlines()) for p in src.rglob("*.py"))
    print(f"## {root} @ {sha}: {sum(1 for _ in src.rglob('*.py'))} modules, {total} lines")
    print("largest modules:", ", ".join(f"{m} {n}" for m, n in largest_modules(src)))
    areas, edges = area_graph(src)
    sccs = strongly_connected(edges)
    mutual = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if a in edges.get(b, ())})
    print(f"areas ({len(areas)}): {' '.join(areas)}; {sum(map(len, edges.values()))} area-to-area edges")
    print(f"import cycles: {len(sccs)} knot(s) {[len(c) for c in sccs]} areas: {sccs}; "
          f"{len(mutual)} pairs import each other: {mutual}")
    for name, files in persistence(src).items():
        print(f"persistence, {name}: {len(files)} {files}")
    for name, items in state(src).items():
        print(f"state, {name}: {len(items)} {items}")
    print(f"state, Any in server/state.py: {service_state_any(src)}")


if __name__ == "__main__":
    for arg in sys.argv[1:] or [str(Path(__file__).resolve().parents[1])]:
        report(Path(arg).resolve())
