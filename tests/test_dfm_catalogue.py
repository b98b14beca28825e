"""DeepFaceLive's public DFM models in the manifest, the DFM signature shared by swap.dfm and the download
check, and the sha256 recorded at a first download (no network: fake download functions and file:// URLs)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from nodeswap import cli, dfm, models
from nodeswap.errors import NodeLoadError, UserError
from nodeswap.node import LoadContext
from nodeswap.nodes.swappers import DFMSwapper
from tests import onnx_builders as ob

RELEASES = "https://github.com/iperov/DeepFaceLive/releases/download/"


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty model folders: NODESWAP_MODELS, the user's models folder (returned) and the cache."""
    for name in ("env", "user", "cache"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("NODESWAP_MODELS", str(tmp_path / "env"))
    monkeypatch.setattr(models, "user_models_dir", lambda: tmp_path / "user")
    monkeypatch.setattr(models, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.delenv(models.MIRROR_ENV, raising=False)
    return tmp_path / "user"


def serve(data: bytes, calls: list[str] | None = None) -> Callable[[str, object], bytes]:
    """A download function that returns ``data`` for any URL (and notes the URLs asked for)."""

    def download(url: str, progress: object) -> bytes:
        if calls is not None:
            calls.append(url)
        return data

    return download


def test_the_catalogue_is_deepfacelives_list() -> None:
    entries = [m for m in models.manifest().values() if m.role == "dfm"]
    assert len(entries) == 31  # modelhub/DFLive/DFMModel.py at c0aee1f7
    for info in entries:
        assert info.file == f"{info.name}.dfm" and re.fullmatch(r"[A-Za-z_0-9]+", info.name)
        assert len(info.urls) == 1 and info.urls[0].startswith(RELEASES) and info.urls[0].endswith("/" + info.file)
        assert info.sha256 is None and info.size is None  # not published
        assert info.licence and "DFMModel.py" in info.source and info.title
    by_name = {m.name: m for m in entries}
    assert by_name["Keanu_Reeves"].urls == (RELEASES + "KEANU_REEVES/Keanu_Reeves.dfm",)
    assert by_name["Jesse_Stat_320"].urls == (RELEASES + "JESSE_STAT/Jesse_Stat_320.dfm",)  # the tag is not the name
    assert "Mr. Bean" in by_name["Mr_Bean"].title
    assert dfm.catalogue() == [m.file for m in entries]


def test_one_signature_check_for_the_node_and_the_download(tmp_path: Path) -> None:
    plain = ob.build_dfm(tmp_path / "plain.dfm", res=32)
    morph = ob.build_dfm(tmp_path / "morph.dfm", res=64, morph=True)
    sig = dfm.check_bytes(plain.read_bytes(), "plain.dfm")
    assert (sig.face_input, sig.morph_input, sig.resolution) == ("in_face:0", "", 32)
    assert sig.outputs == ("out_face_mask:0", "out_celeb_face:0", "out_celeb_face_mask:0")
    assert dfm.check_bytes(morph.read_bytes(), "morph.dfm").morph_input == "morph_value:0"
    node = DFMSwapper("swap", {"model": str(morph), "device": "cpu"})
    node.load(LoadContext("swap"))
    assert (node.resolution, node._morph_input) == (64, "morph_value:0")
    # the same refusal, word for word, from the bytes and from the node's session
    odd = ob.build_inswapper(tmp_path / "odd.dfm")
    with pytest.raises(dfm.DfmError) as from_bytes:
        dfm.check_bytes(odd.read_bytes(), "odd.dfm")
    with pytest.raises(NodeLoadError) as from_node:
        DFMSwapper("swap", {"model": str(odd), "device": "cpu"}).load(LoadContext("swap"))
    assert "expected input 'in_face:0'" in str(from_bytes.value)
    assert str(from_node.value) == f"node 'swap': {from_bytes.value}"
    with pytest.raises(dfm.DfmError, match="not an ONNX model"):
        dfm.check_bytes(b"<html>rate limited</html>", "x.dfm")
    with pytest.raises(dfm.DfmError, match="no output 'out_celeb_face_mask:0'"):
        dfm.check_signature([("in_face:0", ["?", 8, 8, 3])], ["out_face_mask:0", "out_celeb_face:0"], "x.dfm")
    with pytest.raises(dfm.DfmError, match="fixed square size"):
        dfm.check_signature([("in_face:0", ["?", 8, 16, 3])], list(dfm.OUTPUTS), "x.dfm")


def test_fetch_checks_the_dfm_and_records_its_first_sha256(folders: Path, tmp_path: Path) -> None:
    good = ob.build_dfm(tmp_path / "a.dfm", res=32).read_bytes()
    other = ob.build_dfm(tmp_path / "b.dfm", res=64).read_bytes()  # a valid DFM, but not the same file
    calls: list[str] = []
    saved = models.fetch("Keanu_Reeves", progress=False, download=serve(good, calls))
    assert saved == folders / "Keanu_Reeves.dfm" and saved.read_bytes() == good
    assert calls == [RELEASES + "KEANU_REEVES/Keanu_Reeves.dfm"]
    known = json.loads((folders / models.KNOWN_HASHES).read_text())["files"]["Keanu_Reeves.dfm"]
    assert known["sha256"] == models.sha256_of(saved) and known["url"] == calls[0]
    assert models.recorded_sha256("Keanu_Reeves.dfm", folders) == known["sha256"]
    assert models.fetch("Keanu_Reeves", progress=False, download=serve(good)) == saved  # the same again: fine
    # a later download that differs is refused and the first one is kept
    with pytest.raises(UserError, match=r"differs from [0-9a-f]{64}, recorded at its first download.*refused"):
        models.fetch("Keanu_Reeves", progress=False, download=serve(other))
    assert saved.read_bytes() == good
    assert sorted(p.name for p in folders.iterdir()) == ["Keanu_Reeves.dfm", models.KNOWN_HASHES]
    # something that is not a DFM is refused, nothing left behind, no sha256 recorded
    for junk in (b"<html>not found</html>", ob.build_inswapper(tmp_path / "i.onnx").read_bytes()):
        with pytest.raises(UserError, match=r"Amber_Song.*not a DFM model.*file refused"):
            models.fetch("Amber_Song", progress=False, download=serve(junk))
    assert sorted(p.name for p in folders.iterdir()) == ["Keanu_Reeves.dfm", models.KNOWN_HASHES]
    assert models.recorded_sha256("Amber_Song.dfm", folders) is None


def test_verify_reports_a_file_that_changed_since_its_first_download(
    folders: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = ob.build_dfm(tmp_path / "a.dfm", res=32).read_bytes()
    saved = models.fetch("Keanu_Reeves", progress=False, download=serve(good))
    info = models.manifest()["Keanu_Reeves"]
    assert models.file_problem(info, saved, verify=True) is None
    assert cli.main(["models", "verify"]) == 0
    assert re.search(r"Keanu_Reeves\s+dfm\s+ok ", capsys.readouterr().out)
    saved.write_bytes(ob.build_dfm(tmp_path / "b.dfm", res=64).read_bytes())
    assert "differs from the one recorded at its first download" in str(models.file_problem(info, saved, True))
    assert models.file_problem(info, saved) is None  # the quick look (size) cannot tell
    assert cli.main(["models", "verify"]) == 2
    assert re.search(r"Keanu_Reeves .*CORRUPT .*models fetch Keanu_Reeves", capsys.readouterr().out)
    # a catalogue file the user put there themselves (no recorded sha256): judged by its content
    (folders.parent / "env" / "Joker.dfm").write_bytes(b"not onnx")
    assert "not a DFM model" in str(
        models.file_problem(models.manifest()["Joker"], folders.parent / "env" / "Joker.dfm", True)
    )


def test_models_fetch_by_name_from_a_mirror_with_progress(
    folders: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real download path (urllib, file:// URLs), from the folder NODESWAP_MODEL_MIRROR names."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    good = ob.build_dfm(mirror / "Tim_Chrys.dfm", res=32).read_bytes()
    monkeypatch.setenv(models.MIRROR_ENV, str(mirror))
    seen: list[tuple[int, int | None]] = []
    saved = models.fetch("Tim_Chrys", progress=lambda done, total: seen.append((done, total)))
    assert saved.read_bytes() == good and seen and seen[-1] == (len(good), len(good))
    saved.unlink()
    assert cli.main(["models", "fetch", "Tim_Chrys"]) == 0
    assert f"Tim_Chrys: saved to {folders / 'Tim_Chrys.dfm'}" in capsys.readouterr().out
    # not in the mirror: the published URL is tried next (here it cannot be reached: both are named)
    monkeypatch.setattr(models, "_download", lambda url, progress: (_ for _ in ()).throw(OSError(f"no {url}")))
    with pytest.raises(UserError, match=r"mirror/Zahar_Lupin\.dfm.*releases/download/ZAHAR_LUPIN"):
        models.fetch("Zahar_Lupin")


def test_fetch_all_leaves_the_dfm_catalogue_to_fetching_by_name(
    folders: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fetched: list[str] = []
    monkeypatch.setattr(models, "fetch", lambda name: fetched.append(name) or Path(name))
    assert cli.main(["models", "fetch", "--all"]) == 0
    assert "facemesh" in fetched and not any(models.manifest()[n].role == "dfm" for n in fetched)
    capsys.readouterr()
