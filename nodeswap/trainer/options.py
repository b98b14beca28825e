"""Model and training options (DeepFaceLab's names) and recipes: JSON lists of stages.

A recipe is a list of stages, each ``{"name", "iterations", "options", "reset", "dst"}``; a stage's options
add to the previous stage's. The model options (archi, resolution and the dims) shape the networks: they are
set in the first stage and fixed for the model's life. The others (batch, lr, warp, colour transfer, GAN, ...)
may change from one stage to the next. ``reset`` names networks re-initialised when the stage starts (DFL's
"delete inter_AB.npy"); ``"dst": "src"`` trains src on both sides (AMP's src-src stage).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from nodeswap.errors import UserError

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
RECIPE_NAMES = {"quick": "quick.json", "saehd": "saehd_faq.json", "saehd-t": "saehd_t.json", "amp": "amp_faq.json"}
ARCHIS = ("df", "liae", "amp")  # df and liae take DeepFaceLab's options after a dash: u, d, t, c (liae-udt)
ARCHI_OPTIONS = "udtc"
CT_MODES = ("none", "rct", "lct", "mkl", "idt", "sot")
STAGE_KEYS = {"name", "iterations", "options", "reset", "dst", "note"}


@dataclass(frozen=True)
class ModelOptions:
    """What shapes the networks; fixed when the model is created."""

    archi: str = "liae-ud"
    resolution: int = 224
    ae_dims: int = 256
    e_dims: int = 64
    d_dims: int = 64
    d_mask_dims: int = 22
    inter_dims: int = 1024  # AMP only

    @property
    def kind(self) -> str:
        return self.archi.split("-")[0]

    @property
    def opts(self) -> str:
        return self.archi.partition("-")[2]

    @property
    def double(self) -> bool:
        """DFL's '-d': the decoder's last step doubles the resolution (lowest dense res = res / 32)."""
        return self.kind == "amp" or "d" in self.opts

    @property
    def norm(self) -> bool:
        """'-u': pixel-normalise the encoder's output."""
        return "u" in self.opts

    @property
    def tall(self) -> bool:
        """'-t': a deeper encoder (five downscales, two residual blocks) and decoder (four upscales)."""
        return "t" in self.opts

    @property
    def cos(self) -> bool:
        """'-c': x cos(x) in place of leaky ReLU."""
        return "c" in self.opts


@dataclass(frozen=True)
class TrainOptions:
    """What a stage may change (DeepFaceLab's defaults)."""

    batch: int = 8
    lr: float = 5e-5
    masked_training: bool = True
    eyes_mouth_prio: bool = False
    uniform_yaw: bool = False
    random_warp: bool = True
    random_src_flip: bool = False
    random_dst_flip: bool = True
    ct_mode: str = "none"
    random_hsv_power: float = 0.0  # src inputs only, 0-0.3
    true_face_power: float = 0.0  # df only, 0-1: a critic pulls dst's code towards src's
    face_style_power: float = 0.0  # 0-100: the swap learns dst's colours inside the mask
    bg_style_power: float = 0.0  # 0-100: the swap learns dst's background outside the mask
    blur_out_mask: bool = False  # blur the background near the mask in the targets
    lr_dropout: bool = False
    clipgrad: bool = False
    gan_power: float = 0.0
    gan_patch_size: int = 0  # 0: resolution // 8
    gan_dims: int = 16
    pretrain: bool = False
    morph_factor: float = 0.33  # AMP: share of the code taken from inter_src in training

    def effective(self) -> TrainOptions:
        """Pretraining forces what DeepFaceLab forces: no warp, flips, uniform yaw, no GAN, lr dropout, styles, hsv."""
        if not self.pretrain:
            return self
        forced = {"random_warp": False, "random_src_flip": True, "random_dst_flip": True, "uniform_yaw": True}
        quiet = replace(self, face_style_power=0.0, bg_style_power=0.0, true_face_power=0.0, random_hsv_power=0.0)
        return replace(quiet, **forced, gan_power=0.0, lr_dropout=False, ct_mode="none")


MODEL_KEYS = {f.name for f in fields(ModelOptions)}
TRAIN_KEYS = {f.name for f in fields(TrainOptions)}


@dataclass(frozen=True)
class Stage:
    name: str
    start: int  # first iteration of the stage (the model's iteration count when it starts)
    end: int  # the count when it is done
    options: TrainOptions
    reset: tuple[str, ...] = ()
    dst_is_src: bool = False


@dataclass(frozen=True)
class Recipe:
    name: str
    model: ModelOptions
    stages: tuple[Stage, ...]
    source: list[dict[str, Any]]  # the stages with the overrides folded in: saved beside the model

    @property
    def total(self) -> int:
        return self.stages[-1].end

    def stage_at(self, iteration: int) -> Stage:
        """The stage that trains ``iteration`` (the last one past the end)."""
        return next((s for s in self.stages if iteration < s.end), self.stages[-1])


def _typed(value: Any, default: Any, key: str, where: str) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise UserError(f"{where}: option '{key}' must be true or false, not {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"{where}: option '{key}' must be a whole number, not {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{where}: option '{key}' must be a number, not {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise UserError(f"{where}: option '{key}' must be text, not {value!r}")
    return value


def check_model(model: ModelOptions, where: str) -> None:
    kind, dash, opts = model.archi.partition("-")
    bad_opts = (kind == "amp" and dash) or (dash and not opts) or len(set(opts)) != len(opts)
    if kind not in ARCHIS or bad_opts or set(opts) - set(ARCHI_OPTIONS):
        raise UserError(
            f"{where}: archi '{model.archi}' is not df or liae with DeepFaceLab's options u, d, t, c after a dash "
            "(df, liae-ud, liae-udt, ...), nor amp"
        )
    step = 32 if model.double else 16
    if not 64 <= model.resolution <= 640 or model.resolution % step:
        raise UserError(
            f"{where}: resolution {model.resolution} must be 64-640 and a multiple of {step} for {model.archi}"
        )
    for key, low, high in (("ae_dims", 8, 1024), ("e_dims", 4, 256), ("d_dims", 4, 256), ("d_mask_dims", 16, 256)):
        value = getattr(model, key)
        if not low <= value <= high:
            raise UserError(f"{where}: {key} {value} must be {low}-{high}")
    if model.kind == "amp" and not 32 <= model.inter_dims <= 2048:
        raise UserError(f"{where}: inter_dims {model.inter_dims} must be 32-2048")


def check_train(options: TrainOptions, where: str) -> None:
    problems = []
    if options.batch < 1:
        problems.append(f"batch {options.batch} must be at least 1")
    if not 0 < options.lr < 1:
        problems.append(f"lr {options.lr} must be between 0 and 1")
    if options.ct_mode not in CT_MODES:
        problems.append(f"ct_mode '{options.ct_mode}' is not one of {', '.join(CT_MODES)}")
    if not 0.0 <= options.gan_power <= 5.0:
        problems.append(f"gan_power {options.gan_power} must be 0-5")
    if not 4 <= options.gan_dims <= 512:
        problems.append(f"gan_dims {options.gan_dims} must be 4-512")
    if options.gan_patch_size and not 3 <= options.gan_patch_size <= 640:
        problems.append(f"gan_patch_size {options.gan_patch_size} must be 3-640 (0: resolution / 8)")
    if not 0.0 <= options.random_hsv_power <= 0.3:
        problems.append(f"random_hsv_power {options.random_hsv_power} must be 0-0.3")
    if not 0.0 <= options.true_face_power <= 1.0:
        problems.append(f"true_face_power {options.true_face_power} must be 0-1")
    for key in ("face_style_power", "bg_style_power"):
        if not 0.0 <= getattr(options, key) <= 100.0:
            problems.append(f"{key} {getattr(options, key)} must be 0-100")
    if not 0.1 <= options.morph_factor <= 0.5:
        problems.append(f"morph_factor {options.morph_factor} must be 0.1-0.5")
    if problems:
        raise UserError(f"{where}: {'; '.join(problems)}")


def parse_recipe(data: Any, name: str, overrides: dict[str, Any] | None = None) -> Recipe:
    """A recipe from its JSON (a list of stages); ``overrides`` (--res, --batch) apply to every stage."""
    if not isinstance(data, list) or not data:
        raise UserError(f'recipe {name}: expected a JSON list of stages, each {{"iterations": N, "options": {{...}}}}')
    model_values: dict[str, Any] = {}
    train = TrainOptions()
    stages: list[Stage] = []
    source: list[dict[str, Any]] = []  # the stages with the overrides folded in, saved beside the model
    start = 0
    for number, entry in enumerate(data, 1):
        where = f"recipe {name}, stage {number}"
        if not isinstance(entry, dict):
            raise UserError(f"{where}: expected an object with iterations and options")
        unknown = set(entry) - STAGE_KEYS
        if unknown:
            raise UserError(
                f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(STAGE_KEYS))})"
            )
        iterations = entry.get("iterations")
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise UserError(f"{where}: 'iterations' must be a whole number of at least 1, not {iterations!r}")
        options = entry.get("options", {})
        if not isinstance(options, dict):
            raise UserError(f"{where}: 'options' must be an object")
        options = {**options, **(overrides or {})} if number == 1 else {**options, **_train_only(overrides)}
        changes = {}
        for key, value in options.items():
            if key in MODEL_KEYS:
                if number > 1 and key not in (overrides or {}):
                    raise UserError(f"{where}: '{key}' shapes the networks: set it in the first stage only")
                model_values[key] = _typed(value, getattr(ModelOptions, key), key, where)
            elif key in TRAIN_KEYS:
                changes[key] = _typed(value, getattr(TrainOptions, key), key, where)
            else:
                known = ", ".join(sorted(MODEL_KEYS | TRAIN_KEYS))
                raise UserError(f"{where}: unknown option '{key}' (options: {known})")
        train = replace(train, **changes)
        check_train(train, where)
        reset = entry.get("reset", [])
        if not isinstance(reset, list) or not all(isinstance(r, str) for r in reset):
            raise UserError(f"{where}: 'reset' must be a list of network names")
        dst = entry.get("dst", "dst")
        if dst not in ("dst", "src"):
            raise UserError(f'{where}: \'dst\' must be "dst" or "src" (train src-src), not {dst!r}')
        source.append({**entry, "options": options})
        label = str(entry.get("name") or f"stage {number}")
        stages.append(Stage(label, start, start + iterations, train, tuple(reset), dst == "src"))
        start += iterations
    model = ModelOptions(**model_values)
    check_model(model, f"recipe {name}")
    for stage in stages:
        o = stage.options
        if o.true_face_power and model.kind != "df":
            raise UserError(f"recipe {name}, stage '{stage.name}': true_face_power works with df models only")
        if (o.face_style_power or o.bg_style_power) and model.kind == "amp":
            raise UserError(f"recipe {name}, stage '{stage.name}': the style powers are SAEHD's (df, liae), not AMP's")
    return Recipe(name, model, tuple(stages), source)


def _train_only(overrides: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (overrides or {}).items() if k in TRAIN_KEYS}


def recipe_file(name: str) -> Path:
    """The file of a recipe given by name (quick, saehd, amp) or path."""
    if name in RECIPE_NAMES:
        return RECIPES_DIR / RECIPE_NAMES[name]
    if (RECIPES_DIR / f"{name}.json").is_file() and "/" not in name:
        return RECIPES_DIR / f"{name}.json"
    path = Path(name).expanduser()
    if path.suffix.lower() != ".json" or not path.is_file():
        what = "no such file" if path.suffix.lower() == ".json" else "not a recipe name or .json file"
        raise UserError(f"recipe '{name}': {what} (use {', '.join(RECIPE_NAMES)} or a FILE.json)")
    return path


def load_recipe(name: str, overrides: dict[str, Any] | None = None) -> Recipe:
    path = recipe_file(name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"recipe {path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"recipe {path}: not valid JSON ({exc})") from None
    return parse_recipe(data, name if name in RECIPE_NAMES else str(path), overrides)
