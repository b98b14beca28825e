"""The trainer behaves as DeepFaceLab's SAEHD and AMP train (issue 28): which networks each stage trains, the
lr schedule, the U-Net critic, the augmentation ranges measured on samples, and the masks (XSeg from a
DeepFaceLab faceset, the brow-expanded hull, the inner mouth) on real faces."""

from __future__ import annotations

import math
import pickle
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nodeswap.trainer.augment import FLIP_CHANCE, _sample, random_affine  # noqa: E402
from nodeswap.trainer.data import FaceData, load_faces, yaw_bins  # noqa: E402
from nodeswap.trainer.loop import Settings, Trainer  # noqa: E402
from nodeswap.trainer.masks import eyes_mouth_mask, face_mask  # noqa: E402
from nodeswap.trainer.models import PatchDiscriminator, unet_layers  # noqa: E402
from nodeswap.trainer.optim import scheduled_lr  # noqa: E402
from nodeswap.trainer.options import parse_recipe  # noqa: E402

TINY = {"resolution": 64, "ae_dims": 32, "e_dims": 8, "d_dims": 8, "d_mask_dims": 16, "inter_dims": 64}


@pytest.fixture(scope="module")
def real_face(media_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """A real face: DeepFaceLive's 224 px aligned crop of a clip frame and its 468 FaceMesh points in the crop."""
    folder = sorted((media_dir / "dfl_reference" / "frames").iterdir())[0]
    crop = cv2.imread(str(folder / "crop_defaults.png"))
    data = np.load(folder / "align.npz")
    mat = data["mat_defaults"]
    points = data["lm"].astype(np.float64) @ mat[:, :2].T + mat[:, 2]
    return crop, points


def faces_of(crop: np.ndarray, points: np.ndarray, count: int, size: int = 64) -> FaceData:
    image = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    lm = points * (size / crop.shape[0])
    face = face_mask(lm, size)
    em = eyes_mouth_mask(lm, size, face)
    return FaceData(
        "real",
        np.repeat(image[None], count, 0),
        np.repeat(np.round(face * 255).astype(np.uint8)[None], count, 0),
        np.repeat(np.round(em * 255).astype(np.uint8)[None], count, 0),
        np.zeros(count, np.float32),
    )


def trainer_for(tmp_path: Path, faces: FaceData, stages: list[dict[str, object]]) -> Trainer:
    recipe = parse_recipe(stages, "t")
    settings = Settings(tmp_path / "model", recipe, recipe.total, torch.device("cpu"))
    return Trainer(settings, faces, faces, faces)


def changed_networks(trainer: Trainer, stage_index: int, iteration: int) -> set[str]:
    stage = trainer.settings.recipe.stages[stage_index]
    trainer.iteration = iteration
    trainer._begin(stage)
    before = {n: [p.detach().clone() for p in net.parameters()] for n, net in trainer.model.networks().items()}
    src, dst = trainer.batches.make(iteration, stage)
    trainer.step(stage, src, dst)
    after = trainer.model.networks()
    return {
        n
        for n, net in after.items()
        if any(not torch.equal(a, b) for a, b in zip(before[n], net.parameters(), strict=True))
    }


def test_liae_trains_inter_ab_only_while_random_warp_is_on(
    tmp_path: Path, real_face: tuple[np.ndarray, np.ndarray]
) -> None:
    faces = faces_of(*real_face, 4)
    stages = [
        {"iterations": 2, "options": {**TINY, "archi": "liae-ud", "batch": 2}},
        {"iterations": 2, "options": {"random_warp": False}},
    ]
    trainer = trainer_for(tmp_path, faces, stages)
    assert changed_networks(trainer, 0, 0) == {"encoder", "inter_AB", "inter_B", "decoder"}
    assert changed_networks(trainer, 1, 2) == {"encoder", "inter_B", "decoder"}  # Model_SAEHD: inter_AB kept
    trainer.batches.close()


def test_amp_trains_its_encoder_and_decoder_never_its_inters(
    tmp_path: Path, real_face: tuple[np.ndarray, np.ndarray]
) -> None:
    stages = [{"iterations": 2, "options": {**TINY, "archi": "amp", "batch": 2, "gan_power": 0.1}}]
    trainer = trainer_for(tmp_path, faces_of(*real_face, 4), stages)
    assert changed_networks(trainer, 0, 0) == {"encoder", "decoder"}
    trainer.batches.close()


def test_df_trains_everything(tmp_path: Path, real_face: tuple[np.ndarray, np.ndarray]) -> None:
    stages = [{"iterations": 2, "options": {**TINY, "archi": "df-ud", "batch": 2, "random_warp": False}}]
    trainer = trainer_for(tmp_path, faces_of(*real_face, 4), stages)
    assert changed_networks(trainer, 0, 0) == {"encoder", "inter", "decoder_src", "decoder_dst"}
    trainer.batches.close()


def test_lr_dropout_brings_the_cosine_schedule(tmp_path: Path, real_face: tuple[np.ndarray, np.ndarray]) -> None:
    assert scheduled_lr(5e-5, 0, True) == pytest.approx(5e-5)
    assert scheduled_lr(5e-5, 125, True) == pytest.approx(2.5e-5)
    assert scheduled_lr(5e-5, 250, True) == pytest.approx(0.0, abs=1e-12)
    assert scheduled_lr(5e-5, 500, True) == pytest.approx(5e-5)
    assert scheduled_lr(5e-5, 250, False) == 5e-5
    mean = np.mean([scheduled_lr(1.0, i, True) for i in range(500)])
    assert mean == pytest.approx(0.5)  # half the mean step of a constant rate
    stages = [{"iterations": 300, "options": {**TINY, "archi": "df-ud", "batch": 2, "lr_dropout": True}}]
    trainer = trainer_for(tmp_path, faces_of(*real_face, 4), stages)
    assert changed_networks(trainer, 0, 250) == set()  # the rate is 0 at the trough: nothing moves
    assert changed_networks(trainer, 0, 0)
    trainer.batches.close()


def receptive_field(layers: list[tuple[int, int]]) -> int:
    field, step = 0, 1
    for i, (kernel, stride) in enumerate(layers):
        field = kernel if i == 0 else field + (kernel - 1) * step
        step *= stride
    return field


@pytest.mark.parametrize(("patch", "layers", "field"), [(28, 5, 27), (16, 3, 15), (8, 2, 7), (64, 5, 63)])
def test_the_critic_is_deepfacelabs_unet_patch_discriminator(patch: int, layers: int, field: int) -> None:
    found = unet_layers(patch)
    assert len(found) == layers and receptive_field(found) == field
    assert all(k == 3 for k, _ in found) and found[0][1] == 2
    critic = PatchDiscriminator(224, patch, 64)
    widest = max(m.out_channels for m in critic.modules() if isinstance(m, torch.nn.Conv2d))
    assert widest == min(64 * 2**layers, 512)
    center, full = critic(torch.zeros(2, 3, 224, 224))
    down = math.prod(s for _, s in found)
    assert center.shape == (2, 1, 224 // down, 224 // down) and full.shape == (2, 1, 224, 224)


def test_augmentation_ranges_measured_on_samples(real_face: tuple[np.ndarray, np.ndarray]) -> None:
    rng = np.random.default_rng(3)
    scales, angles = [], []
    for _ in range(4000):
        mat = random_affine(rng, 64)
        scales.append(math.hypot(mat[0, 0], mat[1, 0]))
        angles.append(math.degrees(math.atan2(mat[1, 0], mat[0, 0])))
    assert 1 / 1.15 - 1e-6 <= min(scales) < 1 / 1.15 + 0.01 and 1.15 - 0.01 < max(scales) <= 1.15 + 1e-6
    assert 9.9 < max(np.abs(angles)) <= 10.0 + 1e-6
    faces = faces_of(*real_face, 1)
    flips = 0
    for _ in range(1000):
        _, target, _, _ = _sample(faces, 0, rng, warp=False, flip=True, recolour=None)
        unflipped = cv2.warpAffine(faces.images[0], np.eye(2, 3), (64, 64))
        mirrored = np.abs(target.astype(int) - unflipped[:, ::-1].astype(int)).mean()
        straight = np.abs(target.astype(int) - unflipped.astype(int)).mean()
        flips += mirrored < straight
    assert FLIP_CHANCE == 0.4 and abs(flips / 1000 - 0.4) < 0.05


def test_uniform_yaw_uses_128_bins_over_1_2_radians() -> None:
    degrees = np.degrees(np.linspace(-1.5, 1.5, 601)).astype(np.float32)
    bins = yaw_bins(degrees)
    assert len(bins) == 128 and sorted(np.concatenate(bins).tolist()) == list(range(601))
    beyond = np.flatnonzero(np.abs(np.radians(degrees)) >= 1.2)
    assert any(set(beyond[: len(beyond) // 2]) <= set(b.tolist()) for b in bins)  # the far sides share end bins


def test_the_hull_mask_pushes_the_brows_up(real_face: tuple[np.ndarray, np.ndarray]) -> None:
    from nodeswap.nodes.ops.align import MEAN_FACE, hull_mask, umeyama

    _, points = real_face
    plain, expanded = hull_mask(points, 224), face_mask(points, 224)
    assert (expanded >= plain - 0.01).all()  # FaceMesh's own hull already reaches above the brows
    points68 = MEAN_FACE[68] @ umeyama(MEAN_FACE[468], points)[:2, :2].T + umeyama(MEAN_FACE[468], points)[:2, 2]
    plain, expanded = hull_mask(points68, 224), face_mask(points68, 224)
    brow, eye = points68[19], points68[37]
    above = np.round(brow + 0.3 * (brow - eye)).astype(int)
    assert plain[above[1], above[0]] < 0.5 < expanded[above[1], above[0]]
    assert expanded.sum() > plain.sum() * 1.05


def test_the_priority_mask_is_the_eyes_and_the_inner_mouth(real_face: tuple[np.ndarray, np.ndarray]) -> None:
    _, points = real_face
    face = face_mask(points, 224)
    em = eyes_mouth_mask(points, 224, face)
    inner = points[[13, 14]].mean(0).round().astype(int)
    eye = points[[159, 145]].mean(0).round().astype(int)
    chin = points[152].round().astype(int)
    assert em[inner[1], inner[0]] > 0.9 and em[eye[1], eye[0]] > 0.9 and em[chin[1], chin[0]] == 0.0
    cut = face.copy()
    cut[: eye[1] + 10] = 0
    assert eyes_mouth_mask(points, 224, cut)[eye[1], eye[0]] == 0.0  # clipped to the face mask


def dfl_faceset(folder: Path, crop: np.ndarray, points68: np.ndarray, xseg: np.ndarray | None) -> Path:
    folder.mkdir()
    meta: dict[str, object] = {"face_type": "whole_face", "landmarks": points68.astype(np.float32)}
    if xseg is not None:
        meta["xseg_mask"] = np.frombuffer(cv2.imencode(".png", xseg)[1].tobytes(), np.uint8)
    _, data = cv2.imencode(".jpg", crop)
    payload = pickle.dumps(meta)
    segment = b"\xff\xef" + struct.pack(">H", len(payload) + 2) + payload
    (folder / "00001_0.jpg").write_bytes(data[:2].tobytes() + segment + data[2:].tobytes())
    return folder


def test_xseg_masks_from_a_deepfacelab_faceset_are_the_training_masks(
    tmp_path: Path, real_face: tuple[np.ndarray, np.ndarray]
) -> None:
    crop, points = real_face
    from nodeswap.nodes.ops.align import MEAN_FACE, umeyama

    mat = umeyama(MEAN_FACE[468], points)[:2]  # 68 points where this face's mean face lies
    points68 = MEAN_FACE[68] @ mat[:, :2].T + mat[:, 2]
    xseg = np.zeros((224, 224), np.uint8)
    cv2.ellipse(xseg, (112, 100), (70, 95), 0, 0, 360, 255, -1)  # a forehead-high mask, not the landmarks' hull
    with_xseg = load_faces(dfl_faceset(tmp_path / "a", crop, points68, xseg), 64)
    expected = cv2.resize(xseg, (64, 64), interpolation=cv2.INTER_CUBIC)
    assert np.abs(with_xseg.masks[0].astype(int) - expected.astype(int)).max() <= 1
    without = load_faces(dfl_faceset(tmp_path / "b", crop, points68, None), 64)
    assert np.abs(without.masks[0].astype(int) - expected.astype(int)).mean() > 10  # the hull, not the XSeg


@pytest.fixture(scope="module")
def two_faces(media_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Crops of two different people (clips), 64 px."""
    folders = sorted((media_dir / "dfl_reference" / "frames").iterdir())
    first = folders[0]
    other = next(f for f in folders if f.name.split("_f")[0] != first.name.split("_f")[0])
    return tuple(  # type: ignore[return-value]
        cv2.resize(cv2.imread(str(f / "crop_defaults.png")), (64, 64), interpolation=cv2.INTER_AREA)
        for f in (first, other)
    )


@pytest.mark.parametrize("mode", ["rct", "lct", "mkl", "idt", "sot"])
def test_every_colour_transfer_brings_the_dst_colours_over_the_whole_crop(
    mode: str, two_faces: tuple[np.ndarray, np.ndarray]
) -> None:
    from nodeswap.trainer.colour import transfer

    src, dst = two_faces
    out = transfer(mode, src, dst, np.random.default_rng(0))
    assert out.shape == src.shape and out.dtype == np.uint8
    before = np.abs(src.reshape(-1, 3).mean(0) - dst.reshape(-1, 3).mean(0)).sum()
    after = np.abs(out.reshape(-1, 3).mean(0) - dst.reshape(-1, 3).mean(0)).sum()
    assert after < (0.45 if mode == "idt" else 0.2) * before, (mode, before, after)  # idt relaxes 1/20 a turn
    grey = cv2.cvtColor(src, cv2.COLOR_BGR2GRAY).astype(float)
    assert np.corrcoef(grey.ravel(), cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).astype(float).ravel())[0, 1] > 0.8
    again = transfer(mode, src, dst, np.random.default_rng(0))
    assert np.array_equal(out, again)  # the same draws on every run


def test_random_hsv_power_shifts_only_the_src_input(two_faces: tuple[np.ndarray, np.ndarray]) -> None:
    from nodeswap.trainer.colour import hsv_shift

    src, _ = two_faces
    assert hsv_shift(src, 0.0, np.random.default_rng(0)) is src
    shifts = [
        np.abs(hsv_shift(src, 0.3, np.random.default_rng(i)).astype(int) - src.astype(int)).mean() for i in range(8)
    ]
    assert max(shifts) > 5
    faces = FaceData("s", src[None], np.full((1, 64, 64), 255, np.uint8), np.zeros((1, 64, 64), np.uint8), np.zeros(1))
    warped, target, _, _ = _sample(
        faces, 0, np.random.default_rng(1), warp=False, flip=False, recolour=None, hsv_power=0.3
    )
    assert np.abs(warped.astype(int) - target.astype(int)).mean() > 1  # the input moved, the target did not


def test_blur_out_mask_smooths_only_the_background_near_the_face(two_faces: tuple[np.ndarray, np.ndarray]) -> None:
    from nodeswap.trainer.losses import blur_out

    src, _ = two_faces
    image = torch.from_numpy(src.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 16:48, 16:48] = 1.0
    out = blur_out(image, mask, 256)
    assert torch.equal(out[..., 16:48, 16:48], image[..., 16:48, 16:48])  # the face itself is kept
    assert not torch.allclose(out[..., :16, :], image[..., :16, :])
    rough = lambda t: float((t[..., 1:, :] - t[..., :-1, :]).abs().mean())  # noqa: E731
    assert rough(out[..., :14, :]) < rough(image[..., :14, :])


@pytest.mark.parametrize("archi", ["df-t", "liae-udt", "df-c", "liae-udtc"])
def test_the_t_and_c_options_build_deepfacelabs_networks(archi: str) -> None:
    from nodeswap.trainer.models import Encoder, build_model
    from nodeswap.trainer.options import ModelOptions

    options = ModelOptions(archi, 64, 32, 8, 8, 16)
    model = build_model(options)
    src, _, _, dstm = model.predict(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
    assert src.shape == (2, 3, 64, 64) and dstm.shape == (2, 1, 64, 64)
    encoder = model.networks()["encoder"]
    assert isinstance(encoder, Encoder)
    downs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d) and m.stride == (2, 2)]
    assert len(downs) == (5 if "t" in archi else 4)
    assert options.cos == ("c" in archi) and options.tall == ("t" in archi)


@pytest.mark.parametrize("archi", ["df-x", "amp-u", "liae-", "df-uu", "dfl"])
def test_unknown_archi_options_are_named(archi: str) -> None:
    from nodeswap.errors import UserError

    with pytest.raises(UserError, match="archi"):
        parse_recipe([{"iterations": 1, "options": {**TINY, "archi": archi}}], "t")


def test_the_t_recipe_is_a_recipe_file() -> None:
    from nodeswap.trainer.options import load_recipe

    recipe = load_recipe("saehd-t")
    assert recipe.model.archi == "liae-udt" and recipe.model.ae_dims == 512 and recipe.model.tall
    assert all(s.options.blur_out_mask and s.options.uniform_yaw for s in recipe.stages)
    assert recipe.stages[-1].options.gan_power == 0.1 and not recipe.stages[-1].options.random_warp


def test_face_style_teaches_only_the_src_decoder_and_bg_style_the_code_too(
    tmp_path: Path, real_face: tuple[np.ndarray, np.ndarray]
) -> None:
    from nodeswap.trainer.losses import style_loss

    same = torch.rand(2, 3, 32, 32)
    assert torch.allclose(style_loss(same, same, 2, 1.0), torch.zeros(2), atol=1e-6)
    assert (style_loss(same, same * 0.5, 2, 1.0) > 0).all()
    stages = [{"iterations": 2, "options": {**TINY, "archi": "df-ud", "batch": 2}}]
    trainer = trainer_for(tmp_path, faces_of(*real_face, 4), stages)
    options, model = trainer.settings.recipe.stages[0].options, trainer.model
    src, dst = trainer.batches.make(0, trainer.settings.recipe.stages[0])
    wd, td = torch.from_numpy(dst.warped), torch.from_numpy(dst.target)
    ms = torch.from_numpy(src.mask)
    for power, code_learns in (("face_style_power", False), ("bg_style_power", True)):
        model.zero_grad(set_to_none=True)
        pred_dst, pred_dstm = model.decoder_dst(model.code(wd))  # type: ignore[operator]
        loss = trainer._style_losses(options.__class__(**{power: 10.0}), wd, td, ms, pred_dst, pred_dstm)
        assert (loss > 0).all()
        loss.mean().backward()
        grads = {
            n: any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
            for n, net in model.networks().items()
        }
        assert grads["decoder_src"] and not grads["decoder_dst"]
        assert grads["encoder"] == code_learns and grads["inter"] == code_learns
    trainer.batches.close()


def test_true_face_trains_a_code_critic_that_is_saved_and_resumed(
    tmp_path: Path, real_face: tuple[np.ndarray, np.ndarray]
) -> None:
    from nodeswap.errors import UserError

    stages = [{"iterations": 2, "options": {**TINY, "archi": "df-ud", "batch": 2, "true_face_power": 0.01}}]
    trainer = trainer_for(tmp_path, faces_of(*real_face, 4), stages)
    trainer._begin(trainer.settings.recipe.stages[0])
    assert trainer.code_critic is not None
    before = [p.detach().clone() for p in trainer.code_critic.net.parameters()]
    changed_networks(trainer, 0, 0)
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.code_critic.net.parameters(), strict=True))
    from nodeswap.trainer import checkpoint

    state = {**trainer.snapshot(), "rng": checkpoint.rng_states()}
    restored = Trainer(trainer.settings, trainer.src, trainer.dst, trainer.pretrain, state=state)
    assert restored.code_critic is not None
    for a, b in zip(trainer.code_critic.net.parameters(), restored.code_critic.net.parameters(), strict=True):
        assert torch.equal(a, b)
    trainer.batches.close()
    restored.batches.close()
    with pytest.raises(UserError, match="true_face_power works with df models only"):
        parse_recipe([{"iterations": 1, "options": {**TINY, "archi": "liae-ud", "true_face_power": 0.01}}], "t")
    with pytest.raises(UserError, match="style powers"):
        parse_recipe([{"iterations": 1, "options": {**TINY, "archi": "amp", "bg_style_power": 1.0}}], "t")
