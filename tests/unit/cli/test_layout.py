"""The shape the CLI package promises: Typer lives only in `clearsight.cli`, and only
`cli.common.fail` turns an error's exit code into the process's exit status."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
PKG = Path(__file__).resolve().parents[3] / "src" / "clearsight"
CLI = PKG / "cli"


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):  # inside functions too
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_typer_or_click_outside_the_cli_package():
    offenders = [
        str(p.relative_to(PKG))
        for p in PKG.rglob("*.py")
        if CLI not in p.parents and _imported_roots(ast.parse(p.read_text())) & {"typer", "click"}
    ]
    assert offenders == []


def test_only_fail_reads_an_errors_exit_code():
    readers = [
        f"{p.relative_to(PKG)}:{node.lineno}"
        for p in CLI.rglob("*.py")
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.Attribute) and node.attr == "exit_code"
    ]
    assert len(readers) == 1 and readers[0].startswith("cli/common.py:")
