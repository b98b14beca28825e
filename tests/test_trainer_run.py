"""Training on real faces: facesets cut from two people's clips, a small model (64 px) trained, stopped,
resumed, exported as a .dfm and run by swap.dfm in the dfm_swap preset."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nodeswap import cli  # noqa: E402
from nodeswap.trainer import checkpoint  # noqa: E402
from nodeswap.trainer.loop import Trainer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SRC_CLIP, DST_CLIP = "Kim_Jarrey_2_dfl.mp4", "Rob_Doe_0_in.mp4"  # two different people
TINY = {"archi": "df-ud", "resolution": 64, "ae_dims": 32, "e_dims": 8, "d_dims": 8, "d_mask_dims": 16}
TRAIN = {**TINY, "batch": 8, "lr": 0.0005, "eyes_mouth_prio": True}
ITERATIONS = 200


def _run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def facesets(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, media_dir: Path) -> tuple[Path, Path]:
    """64 px facesets of the two clips, cut by the extract_faceset preset."""
    root = tmp_path_factory.mktemp("facesets")
    procs = []
    for clip, name in ((SRC_CLIP, "src"), (DST_CLIP, "dst")):
        sets = [f"source.path={media_dir / 'clips' / clip}", f"faceset.path={root / name}"]
        sets += ["faceset.resolution=64", "aligner.resolution=64"]
        command = [sys.executable, "run.py", "run", "graphs/extract_faceset.json", "--frames", "150"]
        procs.append(subprocess.Popen([*command, *(a for s in sets for a in ("--set", s))], cwd=ROOT))
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    assert (root / "src" / "faceset.jsonl").is_file() and (root / "dst" / "faceset.jsonl").is_file()
    return root / "src", root / "dst"


def _recipe(tmp: Path, stages: list[dict[str, Any]]) -> str:
    path = tmp / "recipe.json"
    path.write_text(json.dumps(stages))
    return str(path)


def _train_args(model: Path, sides: tuple[Path, Path], recipe: str, *more: str) -> list[str]:
    return [
        "train",
        str(model),
        "--src",
        str(sides[0]),
        "--dst",
        str(sides[1]),
        "--recipe",
        recipe,
        "--threads",
        "1",
        *more,
    ]


@pytest.fixture(scope="module")
def trained(facesets: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("trained")
    recipe = _recipe(tmp, [{"name": "warp", "iterations": ITERATIONS, "options": TRAIN}])
    assert cli.main(_train_args(tmp / "model", facesets, recipe, "--preview-every", "100")) == 0
    return tmp / "model"


def test_training_lowers_the_logged_losses(trained: Path) -> None:
    log = checkpoint.read_log(trained)
    assert [e["iter"] for e in log] == list(range(10, ITERATIONS + 1, 10))
    assert all(set(e) == {"iter", "src_loss", "dst_loss", "seconds"} for e in log)
    first, last = log[0], log[-1]
    assert last["src_loss"] <= 0.6 * first["src_loss"], (first, last)
    assert last["dst_loss"] <= 0.6 * first["dst_loss"], (first, last)
    assert all(a["seconds"] < b["seconds"] for a, b in itertools.pairwise(log))
    preview = cv2.imread(str(trained / "preview.png"))
    assert preview is not None and preview.shape[1] == 5 * 64 and preview.shape[0] > 4 * 64
    state = checkpoint.load(trained)
    assert state is not None and state["iteration"] == ITERATIONS
    assert json.loads((trained / "recipe.json").read_text())["stages"][0]["options"]["resolution"] == 64


def test_a_trained_model_keeps_its_networks(
    trained: Path, facesets: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", str(trained), "--src", str(facesets[0]), "--dst", str(facesets[1]), "--res", "128"]
    assert cli.main(args) == 2
    assert "created with resolution 64 (asked: 128)" in capsys.readouterr().err


def test_the_exported_dfm_runs_in_swap_dfm_as_in_pytorch(
    trained: Path, facesets: tuple[Path, Path], tmp_path: Path
) -> None:
    from nodeswap.node import LoadContext
    from nodeswap.nodes.swappers import DFMSwapper
    from nodeswap.trainer.export import load_model

    out = tmp_path / "me.dfm"
    assert cli.main(["export", str(trained), str(out)]) == 0
    node = DFMSwapper("swapper", {"model": str(out), "device": "cpu"})
    node.load(LoadContext(node_id="swapper"))
    assert node.resolution == 64 and not node._morph_input
    model, _ = load_model(trained)
    crops = [cv2.imread(str(p)) for p in sorted(facesets[1].glob("*.jpg"))[:20:5]]
    for crop in crops:
        face = crop.astype(np.float32) / 255.0
        got = node._run(face)
        with torch.no_grad():
            want = model.swap(torch.from_numpy(face).permute(2, 0, 1)[None])
        for g, w in zip(got, want, strict=True):
            assert g.shape == w[0].permute(1, 2, 0).shape
            assert np.abs(g - w[0].permute(1, 2, 0).numpy()).max() < 1e-4


def test_the_dfm_swap_preset_renders_the_dst_clip(trained: Path, media_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "me.dfm"
    assert cli.main(["export", str(trained), str(model)]) == 0
    clip, out, stats = media_dir / "clips" / DST_CLIP, tmp_path / "out.mp4", tmp_path / "stats.json"
    sets = [f"source.path={clip}", f"swapper.model={model}", f"sink.path={out}"]
    proc = _run(
        "run", "graphs/dfm_swap.json", "--frames", "40", "--stats", str(stats), *(a for s in sets for a in ("--set", s))
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(stats.read_text())
    assert data["frames"] == 40 and data["nodes"]["swapper"]["errors"] == 0
    rendered, original = cv2.VideoCapture(str(out)), cv2.VideoCapture(str(clip))
    changed = []
    for _ in range(40):
        ok_a, a = rendered.read()
        ok_b, b = original.read()
        assert ok_a and ok_b
        changed.append(float(np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2).mean()))
    assert min(changed) > 0.5  # the swapped face is in every frame


def test_sigterm_saves_and_the_same_command_resumes_exactly(facesets: tuple[Path, Path], tmp_path: Path) -> None:
    total = 24
    recipe = _recipe(tmp_path, [{"iterations": total, "options": {**TRAIN, "lr_dropout": True}}])
    straight = tmp_path / "straight"
    assert cli.main(_train_args(straight, facesets, recipe, "--log-every", "1")) == 0
    stopped = tmp_path / "stopped"
    command = [sys.executable, "run.py", *_train_args(stopped, facesets, recipe, "--log-every", "1")]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while len(checkpoint.read_log(stopped)) < 4 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    state = checkpoint.load(stopped)
    assert state is not None and 4 <= state["iteration"] < total
    assert f"stopped by SIGTERM at iteration {state['iteration']}" in err
    assert cli.main(_train_args(stopped, facesets, recipe, "--log-every", "1")) == 0
    a, b = checkpoint.load(straight), checkpoint.load(stopped)
    assert a is not None and b is not None and a["iteration"] == b["iteration"] == total
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    moments = [
        (x["m"], y["m"])
        for x, y in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True)
    ]
    assert all(torch.equal(x, y) for x, y in moments)
    log_a, log_b = checkpoint.read_log(straight), checkpoint.read_log(stopped)
    assert [(e["iter"], e["src_loss"], e["dst_loss"]) for e in log_a] == [
        (e["iter"], e["src_loss"], e["dst_loss"]) for e in log_b
    ]


def test_a_two_stage_recipe_switches_at_its_iteration(
    facesets: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stages = [
        {"name": "warp", "iterations": 3, "options": {**TRAIN, "batch": 2}},
        {"name": "sharp", "iterations": 3, "reset": ["inter"], "options": {"batch": 4, "random_warp": False}},
    ]
    seen: list[tuple[int, str, int, bool, bool]] = []
    step = Trainer.step

    def spy(self: Trainer, stage: Any, src: Any, dst: Any) -> tuple[float, float]:
        inter = {id(p) for p in self.model.networks()["inter"].parameters()}
        fresh = not any(id(p) in inter for p in self.optimizer.state)
        seen.append((self.iteration, stage.name, src.warped.shape[0], np.array_equal(src.warped, src.target), fresh))
        return step(self, stage, src, dst)

    monkeypatch.setattr(Trainer, "step", spy)
    assert cli.main(_train_args(tmp_path / "m", facesets, _recipe(tmp_path, stages))) == 0
    assert [s[:4] for s in seen] == [
        (0, "warp", 2, False),
        (1, "warp", 2, False),
        (2, "warp", 2, False),
        (3, "sharp", 4, True),
        (4, "sharp", 4, True),
        (5, "sharp", 4, True),
    ]
    assert [s[4] for s in seen] == [True, False, False, True, False, False]  # inter re-initialised at 3


def test_bad_inputs_are_named_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    model = tmp_path / "model"
    cases = [
        (["train", str(model), "--src", str(empty), "--dst", str(empty)], str(empty)),
        (["train", str(model), "--src", str(empty), "--dst", str(empty), "--recipe", "fastest"], "recipe 'fastest'"),
        (["train", str(model), "--src", str(empty), "--dst", str(empty), "--device", "tpu"], "--device tpu"),
        (["export", str(model), str(tmp_path / "out.dfm")], "no such folder"),
        (["export", str(empty), str(tmp_path / "out.dfm")], "no model.pt"),
        (["export", str(empty), str(tmp_path / "out.onnx")], "must end in .dfm"),
    ]
    for args, says in cases:
        assert cli.main(args) == 2, args
        err = capsys.readouterr().err
        assert says in err and "Traceback" not in err, (args, err)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"iterations": 5, "options": {"warp": true}}]')
    assert cli.main(["train", str(model), "--src", str(empty), "--dst", str(empty), "--recipe", str(bad)]) == 2
    assert "unknown option 'warp'" in capsys.readouterr().err
    assert not model.exists()  # nothing written before the inputs are checked
