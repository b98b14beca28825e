"""The command line: exit codes, messages without tracebacks, --set, --stats, nodes --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nodeswap import cli, registry
from nodeswap.registry import load_registry
from tests.toy_nodes import TOY_TYPES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def with_toys(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = load_registry(plugins=False)
    for cls in TOY_TYPES:
        reg.add(cls)
    monkeypatch.setattr(registry, "_default", reg)


def toy_graph(tmp_path: Path, **add: object) -> Path:
    data = {
        "format": "nodeswap.graph",
        "version": 1,
        "nodes": {
            "source": {"type": "test.counter", "params": {"count": 12}},
            "add": {"type": "test.add", "params": dict(add)},
            "sink": {"type": "test.recorder"},
        },
        "links": [{"from": "source.frame", "to": "add.frame"}, {"from": "add.frame", "to": "sink.frame"}],
    }
    path = tmp_path / "g.json"
    path.write_text(json.dumps(data))
    return path


def test_validate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(toy_graph(tmp_path))]) == 0
    bad = toy_graph(tmp_path, amount=1000, nope=1)
    assert cli.main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith(str(bad)) for line in err)
    assert cli.main(["validate", str(tmp_path / "missing.json")]) == 2


def test_run_with_set_and_stats(tmp_path: Path) -> None:
    stats_file = tmp_path / "out" / "stats.json"
    code = cli.main(
        [
            "run",
            str(toy_graph(tmp_path)),
            "--set",
            "add.amount=4",
            "--set",
            "source.count=9",
            "--stats",
            str(stats_file),
        ]
    )
    assert code == 0
    stats = json.loads(stats_file.read_text())
    assert stats["frames"] == 9 and set(stats) >= {"frames", "seconds", "fps", "dropped", "latency_ms", "nodes"}
    assert set(stats["latency_ms"]) == {"p50", "p95"}
    assert set(stats["nodes"]["add"]) >= {"ms_mean", "ms_p95", "calls", "errors"}


def test_run_frames_and_sequential(tmp_path: Path) -> None:
    stats_file = tmp_path / "s.json"
    assert cli.main(["run", str(toy_graph(tmp_path)), "--frames", "5", "--sequential", "--stats", str(stats_file)]) == 0
    assert json.loads(stats_file.read_text())["frames"] == 5


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "add.amount=lots"], "param 'amount'"),
        (["--set", "ghost.x=1"], "no node 'ghost'"),
        (["--set", "add"], "expected NODE.PARAM=VALUE"),
        (["--set", "add.label=broken"], "node 'add': failed to load"),
        (["--frames", "0"], "--frames must be at least 1"),
    ],
)
def test_run_user_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert cli.main(["run", str(toy_graph(tmp_path)), *args]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_nodes_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["nodes", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert any(n["type"] == "test.add" for n in listing)
    for entry in listing:
        assert set(entry) >= {"type", "title", "category", "inputs", "outputs", "params"}
        for p in entry["params"]:
            assert set(p) >= {"name", "type", "default", "min", "max", "choices", "help"}
    assert cli.main(["nodes"]) == 0
    assert "test.add  (filter)" in capsys.readouterr().out


def test_models_listing_and_fetch_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "facemesh" in out and "searched:" in out
    assert cli.main(["models", "fetch"]) == 2
    assert "name a model" in capsys.readouterr().err


def test_real_process_exit_code_and_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "nodeswap.graph", "version": 1, "nodes": {"x": {"type": "no.such"}}, "links": []}')
    proc = subprocess.run([sys.executable, "run.py", "validate", str(bad)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "node 'x': unknown node type 'no.such'" in proc.stderr and "Traceback" not in proc.stderr


def test_run_refuses_to_overwrite_its_input(tmp_path: Path, obama: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = {
        "format": "nodeswap.graph",
        "version": 1,
        "nodes": {"source": {"type": "source.media"}, "sink": {"type": "sink.video"}},
        "links": [{"from": "source.frame", "to": "sink.frame"}],
    }
    graph = tmp_path / "copy.json"
    graph.write_text(json.dumps(data))
    before = obama.stat().st_mtime
    assert cli.main(["run", str(graph), "--set", f"source.path={obama}", "--set", f"sink.path={obama}"]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert obama.stat().st_mtime == before


def test_lowest_priority_lowers_the_process_and_a_bad_one_is_a_user_error(tmp_path: Path) -> None:
    code = "import os, sys; from nodeswap.cli import main; main(sys.argv[1:]); print(os.nice(0))"
    low = subprocess.run([sys.executable, "-c", code, "--priority", "lowest", "nodes"], capture_output=True, text=True)
    assert low.returncode == 0 and low.stdout.split()[-1] == "19", low.stderr
    normal = subprocess.run([sys.executable, "-c", code, "nodes"], capture_output=True, text=True)
    assert int(normal.stdout.split()[-1]) < 19
    env = {**os.environ, "NODESWAP_PRIORITY": "turbo"}
    bad = subprocess.run([sys.executable, "run.py", "nodes"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "priority 'turbo' is not one of normal, lowest" in bad.stderr


def _no_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Empty model folders: nothing is found on this machine."""
    from nodeswap import models

    empty = tmp_path / "no_models"
    empty.mkdir()
    monkeypatch.setenv("NODESWAP_MODELS", str(empty))
    monkeypatch.setattr(models, "user_models_dir", lambda: empty / "user")
    monkeypatch.setattr(models, "cache_dir", lambda: empty / "cache")


def test_run_and_validate_name_every_missing_model_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, obama: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 24: inswapper_swap needs inswapper_128 AND w600k_r50 (and its detector yunet): both commands
    name all three, each on its node with its fetch command, before anything loads."""
    _no_models(tmp_path, monkeypatch)
    data = {
        "format": "nodeswap.graph",
        "version": 1,
        "nodes": {
            "source": {"type": "source.media", "params": {"path": str(obama)}},
            "detector": {"type": "detect.face"},
            "swap": {"type": "swap.inswapper", "params": {"source": str(obama)}},
            "merger": {"type": "merge.faces"},
            "sink": {"type": "sink.video", "params": {"path": str(tmp_path / "out.mp4")}},
        },
        "links": [
            {"from": "source.frame", "to": "detector.frame"},
            {"from": "source.frame", "to": "swap.frame"},
            {"from": "detector.faces", "to": "swap.faces"},
            {"from": "source.frame", "to": "merger.frame"},
            {"from": "swap.faces", "to": "merger.faces"},
            {"from": "merger.frame", "to": "sink.frame"},
        ],
    }
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps(data))
    assert cli.main(["validate", str(graph)]) == 2
    said_validate = capsys.readouterr().err
    assert cli.main(["run", str(graph)]) == 2
    said_run = capsys.readouterr().err
    for said in (said_validate, said_run):
        for node, model in (("swap", "inswapper_128"), ("swap", "w600k_r50"), ("detector", "yunet_dynamic")):
            assert f"node '{node}' model '{model}'" in said, said
            assert f"models fetch {model}" in said
    assert not (tmp_path / "out.mp4").exists()


def test_live_run_keeps_a_finished_output_and_ends_with_its_input(
    tmp_path: Path, obama: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 24: `run --live` into a file that exists writes a new file beside it (the finished one is kept
    byte for byte) and ends when its input ends (auto rewind is off when a file sink writes)."""
    data = {
        "format": "nodeswap.graph",
        "version": 1,
        "nodes": {
            "source": {"type": "source.media", "params": {"path": str(obama), "end": 12}},
            "sink": {"type": "sink.video", "params": {"path": str(tmp_path / "out.mp4")}},
        },
        "links": [{"from": "source.frame", "to": "sink.frame"}],
    }
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps(data))
    assert cli.main(["run", str(graph), "--offline"]) == 0
    finished = (tmp_path / "out.mp4").read_bytes()
    proc = subprocess.run(
        [sys.executable, "run.py", "run", str(graph), "--live"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.mp4").read_bytes() == finished
    assert (tmp_path / "out-live.mp4").stat().st_size > 0
    assert "out-live.mp4" in proc.stderr and "plays once" in proc.stderr
