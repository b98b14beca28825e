"""Layering rules: the core never imports dearpygui; only nodeswap/runtime.py imports onnxruntime."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in (ROOT / folder).rglob("*.py")]


def test_only_the_editor_imports_dearpygui() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in python_files("nodeswap", "nodes")
        if "dearpygui" in imported_modules(p) and "editor" not in p.parts
    ]
    assert offenders == []


def test_only_runtime_imports_onnxruntime() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in python_files("nodeswap", "nodes", "benchmarks")
        if "onnxruntime" in imported_modules(p) and p != ROOT / "nodeswap" / "runtime.py"
    ]
    assert offenders == []


def test_files_stay_small() -> None:
    big = [
        f"{p.relative_to(ROOT)}: {n}"
        for p in python_files("nodeswap", "nodes", "cluster")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert big == []


def _full_imports(path: Path) -> set[str]:
    """Dotted module names imported by ``path`` (absolute imports; relative ones resolved within nodes/)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module if node.level == 0 else f"nodes.{node.module}"
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_the_core_imports_no_node_module() -> None:
    """Built-in nodes come through the nodeswap.nodes entry point, as plugins do."""
    offenders = [str(p.relative_to(ROOT)) for p in python_files("nodeswap") if "nodes" in imported_modules(p)]
    assert offenders == []


def test_nodes_share_code_through_ops_not_each_other() -> None:
    modules = {p.stem for p in (ROOT / "nodes").glob("*.py")} - {"__init__", "values"}
    offenders = [
        f"{p.name} imports {name}"
        for p in (ROOT / "nodes").glob("*.py")
        for name in _full_imports(p)
        if name.startswith("nodes.") and name.split(".")[1] in modules
    ]
    assert offenders == []


def test_the_heavy_extras_stay_out_of_the_core() -> None:
    banned = {"torch", "ray", "dearpygui"}
    offenders = [
        f"{p.relative_to(ROOT)}: {', '.join(sorted(imported_modules(p) & banned))}"
        for p in python_files("nodeswap")
        if imported_modules(p) & banned and "editor" not in p.parts
    ]
    assert offenders == []
