"""Layering rules, read from the code's imports.

The wheel installs one namespace, ``nodeswap``. Inside it the core (everything but the sub-packages below) never
imports dearpygui, PyTorch or Ray; ``nodes`` (the built-in nodes) reach the core only through entry points;
``editor`` imports dearpygui, ``trainer`` PyTorch and ``cluster`` Ray; only nodeswap/runtime.py imports onnxruntime.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nodeswap"
OUTER = {"editor", "nodes", "trainer", "cluster"}  # sub-packages that sit above (or beside) the core


def imported_modules(path: Path) -> set[str]:
    """Dotted names of the modules ``path`` imports (absolute imports, and relative ones resolved)."""
    package = ".".join(path.relative_to(ROOT).parent.parts)
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def top_level(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in (ROOT / folder).rglob("*.py")]


def core_files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] not in OUTER]


def sub_package(name: str) -> list[Path]:
    return list((PACKAGE / name).rglob("*.py"))


def test_only_the_editor_imports_dearpygui() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in python_files("nodeswap")
        if "dearpygui" in top_level(p) and p.relative_to(PACKAGE).parts[0] != "editor"
    ]
    assert offenders == []


def test_only_runtime_imports_onnxruntime() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in python_files("nodeswap", "benchmarks")
        if "onnxruntime" in top_level(p) and p != PACKAGE / "runtime.py"
    ]
    assert offenders == []


def test_files_stay_small() -> None:
    big = [
        f"{p.relative_to(ROOT)}: {n}"
        for p in python_files("nodeswap")
        if p.relative_to(PACKAGE).parts[0] != "trainer" and (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert big == []


def test_everything_imports_through_the_one_namespace() -> None:
    """No module imports the old top-level names that the wheel no longer installs."""
    offenders = [
        f"{p.relative_to(ROOT)}: {name}"
        for p in python_files("nodeswap", "tests", "benchmarks")
        for name in top_level(p) & {"nodes", "trainer", "cluster"}
    ]
    assert offenders == []


def test_the_core_imports_no_node_module() -> None:
    """Built-in nodes come through the nodeswap.nodes entry point, as plugins do."""
    offenders = [
        str(p.relative_to(ROOT))
        for p in core_files()
        if any(n == "nodeswap.nodes" or n.startswith("nodeswap.nodes.") for n in imported_modules(p))
    ]
    assert offenders == []


def test_nodes_share_code_through_ops_not_each_other() -> None:
    modules = {p.stem for p in (PACKAGE / "nodes").glob("*.py")} - {"__init__", "values"}
    offenders = [
        f"{p.name} imports {name}"
        for p in (PACKAGE / "nodes").glob("*.py")
        for name in imported_modules(p)
        if name.startswith("nodeswap.nodes.") and name.split(".")[2] in modules
    ]
    assert offenders == []


def test_the_heavy_extras_stay_out_of_the_core() -> None:
    banned = {"torch", "ray", "dearpygui"}
    offenders = [
        f"{p.relative_to(ROOT)}: {', '.join(sorted(top_level(p) & banned))}"
        for p in core_files()
        if top_level(p) & banned
    ]
    assert offenders == []


def test_torch_only_in_the_trainer_and_ray_only_in_the_cluster() -> None:
    offenders = [
        f"{p.relative_to(ROOT)}: {name}"
        for p in python_files("nodeswap")
        for name, home in (("torch", "trainer"), ("ray", "cluster"))
        if name in top_level(p) and p.relative_to(PACKAGE).parts[0] != home
    ]
    assert offenders == []
