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
        for p in python_files("nodeswap", "nodes")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert big == []
