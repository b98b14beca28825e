"""The trainer's parts without media: recipes, networks, losses, batches, checkpoints, the AMP export."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nodeswap.errors import UserError  # noqa: E402
from nodeswap.trainer import checkpoint  # noqa: E402
from nodeswap.trainer.augment import Batches, random_warp_maps  # noqa: E402
from nodeswap.trainer.data import FaceData, yaw_bins  # noqa: E402
from nodeswap.trainer.losses import blur_mask, dssim  # noqa: E402
from nodeswap.trainer.models import build_model, morph_mask  # noqa: E402
from nodeswap.trainer.options import ModelOptions, load_recipe, parse_recipe  # noqa: E402

TINY = {"resolution": 64, "ae_dims": 32, "e_dims": 8, "d_dims": 8, "d_mask_dims": 16, "inter_dims": 64}


def test_shipped_recipes_transcribe_the_faq() -> None:
    saehd = load_recipe("saehd")
    assert saehd.model == ModelOptions("liae-ud", 224, 256, 64, 64, 22)
    names = [s.name for s in saehd.stages]
    assert names == ["pretrain", "train", "uniform yaw + LCT", "lr dropout", "random warp off", "GAN"]
    pretrain, train, yaw, lrd, nowarp, gan = saehd.stages
    assert pretrain.options.pretrain and not train.options.pretrain
    assert pretrain.options.batch == 8 and pretrain.options.eyes_mouth_prio
    assert yaw.options.uniform_yaw and yaw.options.ct_mode == "lct" and not yaw.options.lr_dropout
    assert lrd.options.lr_dropout and lrd.options.random_warp and not nowarp.options.random_warp
    assert gan.options.gan_power == 0.1 and gan.options.gan_dims == 32 and not gan.options.random_warp
    assert [s.start for s in saehd.stages] == [0, 1_000_000, 2_000_000, 2_650_000, 3_300_000, 3_950_000]
    amp = load_recipe("amp")
    assert amp.model.kind == "amp" and amp.model.inter_dims == 1024 and amp.model.d_mask_dims == 22
    assert amp.stages[0].dst_is_src and amp.stages[0].options.lr_dropout
    assert amp.stages[0].options.morph_factor == 0.5
    assert amp.stages[1].reset == ("inter_dst",) and amp.stages[1].options.ct_mode == "lct"
    quick = load_recipe("quick")
    assert quick.model.resolution == 96 and quick.total > 0


def test_a_recipe_stage_inherits_and_overrides() -> None:
    recipe = parse_recipe(
        [
            {"iterations": 5, "options": {"archi": "df", **TINY, "batch": 2}},
            {"iterations": 7, "options": {"random_warp": False}},
        ],
        "test",
        {"batch": 3},
    )
    first, second = recipe.stages
    assert (first.start, first.end, second.start, second.end) == (0, 5, 5, 12)
    assert first.options.batch == second.options.batch == 3
    assert first.options.random_warp and not second.options.random_warp
    assert recipe.stage_at(4) is first and recipe.stage_at(5) is second and recipe.stage_at(99) is second
    assert recipe.source[0]["options"]["batch"] == 3  # what is saved beside the model


@pytest.mark.parametrize(
    ("stages", "says"),
    [
        ({"iterations": 5}, "expected a JSON list"),
        ([{"iterations": 0}], "'iterations' must be"),
        ([{"iterations": 5, "options": {"warp": True}}], "unknown option 'warp'"),
        ([{"iterations": 5, "options": {"archi": "xyz"}}], "archi 'xyz'"),
        ([{"iterations": 5, "options": {"resolution": 100}}], "multiple of 32"),
        ([{"iterations": 5, "options": {"ct_mode": "pca"}}], "ct_mode 'pca'"),
        ([{"iterations": 5, "options": {"batch": "8"}}], "whole number"),
        ([{"iterations": 5}, {"iterations": 5, "options": {"resolution": 128}}], "first stage only"),
        ([{"iterations": 5, "dst": "other"}], "'dst' must be"),
    ],
)
def test_bad_recipes_are_named(stages: object, says: str) -> None:
    with pytest.raises(UserError, match=says):
        parse_recipe(stages, "bad.json")


def test_unknown_recipe_name_lists_the_known_ones() -> None:
    with pytest.raises(UserError, match="quick, saehd, saehd-t, amp"):
        load_recipe("fastest")


def test_pretraining_forces_what_deepfacelab_forces() -> None:
    recipe = parse_recipe([{"iterations": 1, "options": {"pretrain": True, "gan_power": 0.5, "lr_dropout": True}}], "p")
    forced = recipe.stages[0].options.effective()
    assert not forced.random_warp and forced.uniform_yaw and forced.random_src_flip
    assert forced.gan_power == 0.0 and not forced.lr_dropout and forced.ct_mode == "none"


@pytest.mark.parametrize("archi", ["df", "df-ud", "liae", "liae-ud", "amp"])
def test_every_architecture_gives_faces_and_masks_at_its_resolution(archi: str) -> None:
    torch.manual_seed(0)
    model = build_model(ModelOptions(archi=archi, **TINY))
    x = torch.rand(2, 3, 64, 64)
    mask = morph_mask(2, 64, 0.5, torch.Generator().manual_seed(1)) if archi == "amp" else None
    src, srcm, dst, dstm = model.predict(x, x.flip(0), mask)
    assert src.shape == dst.shape == (2, 3, 64, 64) and srcm.shape == dstm.shape == (2, 1, 64, 64)
    dst_mask, celeb, celeb_mask = model.swap(x, torch.tensor([0.75]) if archi == "amp" else None)
    assert celeb.shape == (2, 3, 64, 64) and dst_mask.shape == celeb_mask.shape == (2, 1, 64, 64)
    assert float(celeb.detach().min()) >= 0.0 and float(celeb.detach().max()) <= 1.0  # sigmoid outputs
    assert set(model.inters) <= set(model.networks())


def test_amp_morph_mask_takes_its_share_of_channels_per_sample() -> None:
    mask = morph_mask(4, 100, 0.33, torch.Generator().manual_seed(3))
    assert mask.shape == (4, 100, 1, 1)
    assert [int(row.sum()) for row in mask] == [33] * 4
    assert not torch.equal(mask[0], mask[1])  # a different choice per sample


def test_amp_morph_value_moves_the_swap_from_dst_to_src() -> None:
    torch.manual_seed(0)
    model = build_model(ModelOptions(archi="amp", **TINY)).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        none, full = (model.swap(x, torch.tensor([v]))[1] for v in (0.0, 1.0))
        own = model.decoder(model.inter_dst(model.encoder(x)))[0]
        src = model.decoder(model.inter_src(model.encoder(x)))[0]
    assert torch.allclose(none, own) and torch.allclose(full, src) and not torch.allclose(none, full)


def test_dssim_is_zero_for_the_same_image_and_grows_with_noise() -> None:
    a = torch.rand(2, 3, 64, 64)
    noisy = (a + 0.2 * torch.randn_like(a)).clamp(0, 1)
    assert float(dssim(a, a, 5).max()) < 1e-6
    assert float(dssim(a, noisy, 5).min()) > 0.05


def test_the_training_mask_is_one_inside_and_soft_at_the_edge() -> None:
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 16:48, 16:48] = 1.0
    soft = blur_mask(mask, 64)
    assert float(soft[0, 0, 32, 32]) == 1.0 and float(soft[0, 0, 2, 2]) == 0.0
    assert 0.0 < float(soft[0, 0, 32, 15]) < 1.0


def _faces(n: int, size: int = 64) -> FaceData:
    rng = np.random.default_rng(0)
    masks = np.zeros((n, size, size), np.uint8)
    masks[:, 10:54, 12:52] = 255
    return FaceData(
        "synthetic",
        rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8),
        masks,
        masks // 4,
        np.linspace(-40, 40, n).astype(np.float32),
    )


def test_batch_i_is_the_same_every_time_and_warp_bends_only_the_input() -> None:
    recipe = parse_recipe([{"iterations": 9, "options": {**TINY, "batch": 3, "ct_mode": "rct"}}], "t")
    batches = Batches(_faces(6), _faces(5), _faces(6), seed=7)
    stage = recipe.stages[0]
    first, again, other = batches.make(4, stage), batches.make(4, stage), batches.make(5, stage)
    assert np.array_equal(first[0].warped, again[0].warped) and np.array_equal(first[1].target, again[1].target)
    assert not np.array_equal(first[0].target, other[0].target)
    assert first[0].warped.shape == (3, 3, 64, 64) and first[0].mask.shape == (3, 1, 64, 64)
    assert not np.array_equal(first[0].warped, first[0].target)
    prefetched = batches.get(4, stage, stage)
    assert np.array_equal(prefetched[0].warped, first[0].warped)
    assert np.array_equal(batches.get(5, stage, None)[0].warped, other[0].warped)
    batches.close()


def test_random_warp_moves_inner_points_only() -> None:
    map_x, map_y = random_warp_maps(np.random.default_rng(0), 64)
    grid = np.arange(64, dtype=np.float32)
    assert np.abs(map_x[0] - grid).max() < 1e-3 and np.abs(map_y[:, 0] - grid).max() < 1e-3
    assert np.abs(map_x - grid[None]).max() > 0.5


def test_uniform_yaw_bins_hold_every_face_once() -> None:
    yaws = np.array([0, 1, 2, 3, 40, 41, -50], np.float32)
    bins = yaw_bins(yaws, 8)
    assert sorted(np.concatenate(bins).tolist()) == list(range(7))
    assert any(b.tolist() == [6] for b in bins)  # the lone profile face has a bin of its own


def test_checkpoints_are_written_whole_and_restore_every_rng(tmp_path: Path) -> None:
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    checkpoint.save(tmp_path, {"iteration": 3, "weights": torch.arange(4)})
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    state = checkpoint.load(tmp_path)
    assert state is not None and state["iteration"] == 3 and torch.equal(state["weights"], torch.arange(4))
    checkpoint.set_rng_states(state["rng"])
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], again[0]) and np.array_equal(expected[1], again[1]) and expected[2] == again[2]
    assert [p.name for p in tmp_path.iterdir()] == [checkpoint.CHECKPOINT]  # no temporary file left


def test_a_file_that_is_not_a_checkpoint_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / checkpoint.CHECKPOINT).write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not a checkpoint"):
        checkpoint.load(tmp_path)


def test_the_log_is_trimmed_to_the_checkpoint(tmp_path: Path) -> None:
    for i in (10, 20, 30):
        checkpoint.append_log(tmp_path, {"iter": i, "src_loss": 1.0, "dst_loss": 1.0, "seconds": 0.0})
    checkpoint.trim_log(tmp_path, 20)
    assert [e["iter"] for e in checkpoint.read_log(tmp_path)] == [10, 20]
    assert json.loads((tmp_path / checkpoint.LOG).read_text().splitlines()[-1])["iter"] == 20


def test_an_amp_dfm_takes_morph_value_and_swap_dfm_feeds_it(tmp_path: Path) -> None:
    from nodeswap import dfm
    from nodeswap.node import LoadContext
    from nodeswap.nodes.swappers import DFMSwapper
    from nodeswap.trainer.export import onnx_bytes

    torch.manual_seed(0)
    model = build_model(ModelOptions(archi="amp", **TINY)).eval()
    data = onnx_bytes(model)
    signature = dfm.check_bytes(data, "amp.dfm")
    assert signature.morph_input == "morph_value:0" and signature.resolution == 64
    assert signature.outputs == ("out_face_mask:0", "out_celeb_face:0", "out_celeb_face_mask:0")
    (tmp_path / "amp.dfm").write_bytes(data)
    face = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    results = []
    for morph in (0.3, 0.9):
        node = DFMSwapper("swapper", {"model": str(tmp_path / "amp.dfm"), "device": "cpu", "morph_factor": morph})
        node.load(LoadContext(node_id="swapper"))
        got = node._run(face)
        with torch.no_grad():
            want = model.swap(torch.from_numpy(face).permute(2, 0, 1)[None], torch.tensor([morph]))
        for g, w in zip(got, want, strict=True):
            assert np.abs(g - w[0].permute(1, 2, 0).numpy()).max() < 1e-4
        results.append(got[1])
    assert np.abs(results[0] - results[1]).max() > 1e-3  # the morph value reaches the model


def test_a_write_that_fails_leaves_the_previous_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "model.pt"
    target.write_bytes(b"previous")

    def broken(handle: object) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        checkpoint.write_atomic(target, broken)
    assert target.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["model.pt"]
