"""The one architectural rule (STYLE.md): imports point one way.

topology -> stdlib only; cpuset -> stdlib + topology; actors -> no runner;
nothing imports runner.  Checked on the source text with `ast`, so a lazy
import inside a function counts too.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = {"topology", "cpuset", "actors", "runner", "tests", "bench"}
ALLOWED = {
    "topology": {"topology"},
    "cpuset": {"topology", "cpuset"},
    "actors": {"topology", "cpuset", "actors"},
}
THIRD_PARTY_ALLOWED = {
    "topology": set(),
    "cpuset": set(),
    "actors": {"trio", "structlog", "msgpack"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def package_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_its_layer_allows(package: str) -> None:
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    allowed = ALLOWED[package] | THIRD_PARTY_ALLOWED[package] | stdlib
    offenders = {
        f"{path.relative_to(ROOT)}: {root}"
        for path in package_files(package)
        for root in imported_roots(path)
        if root not in allowed
    }
    assert sorted(offenders) == []


def test_nothing_imports_runner() -> None:
    sources = [p for pkg in ("topology", "cpuset", "actors", "bench") for p in package_files(pkg)]
    assert [str(p) for p in sources if "runner" in imported_roots(p)] == []


def test_layering_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f() -> None:\n    import trio\n    from cpuset import tree\n")
    assert imported_roots(bad) == {"trio", "cpuset"}
