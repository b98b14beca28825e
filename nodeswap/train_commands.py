"""The ``train`` and ``export`` commands: their arguments here, their work in the ``trainer`` package.

The trainer needs PyTorch (the ``train`` extra); it is imported only when one of these commands runs, so the
core never imports torch, and a missing extra is one readable error.
"""

from __future__ import annotations

import argparse
import importlib
from types import ModuleType

from .errors import UserError

INSTALL_HINT = (
    'pip install -e ".[train]" (CPU-only PyTorch: add --extra-index-url https://download.pytorch.org/whl/cpu)'
)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    train = sub.add_parser(
        "train",
        help="train a face model (DeepFaceLab SAEHD / AMP) from two facesets; needs the train extra",
        description="Train a face model on src (the face to become) and dst (the face to replace). Running "
        "the same command again resumes from the last checkpoint.",
    )
    train.add_argument("model_dir", metavar="MODEL_DIR", help="folder of the model (created, or resumed)")
    train.add_argument("--src", required=True, metavar="FACESET", help="faceset of the face to become")
    train.add_argument("--dst", required=True, metavar="FACESET", help="faceset of the face to replace (yours)")
    train.add_argument(
        "--recipe",
        metavar="quick|saehd|saehd-t|amp|FILE.json",
        help="stages to train (default: the model's own, or quick for a new model)",
    )
    train.add_argument("--res", type=_positive, metavar="N", help="resolution of a new model (overrides the recipe)")
    train.add_argument("--batch", type=_positive, metavar="N", help="batch size (overrides the recipe)")
    train.add_argument("--iters", type=_positive, metavar="N", help="stop at iteration N (default: the recipe's end)")
    train.add_argument("--device", default="auto", metavar="auto|cpu|cuda:N", help="where to train (default: auto)")
    train.add_argument("--save-every", type=_positive, default=1000, metavar="N", help="checkpoint every N iterations")
    train.add_argument(
        "--preview-every", type=_positive, default=200, metavar="N", help="preview.png every N iterations"
    )
    train.add_argument(
        "--log-every", type=_positive, default=10, metavar="N", help="train.jsonl line every N iterations"
    )
    train.add_argument("--pretrain", metavar="FACESET", help="faces for pretrain stages (default: src and dst pooled)")
    train.add_argument("--seed", type=int, default=0, help="seed of a new model (a resumed one keeps its own)")
    train.add_argument("--threads", type=_positive, metavar="N", help="CPU threads for PyTorch (default: all cores)")
    export = sub.add_parser(
        "export",
        help="export a trained model as a DeepFaceLab .dfm for swap.dfm and DeepFaceLive; needs the train extra",
    )
    export.add_argument("model_dir", metavar="MODEL_DIR")
    export.add_argument("out", metavar="OUT.dfm")


def _trainer() -> ModuleType:
    try:
        return importlib.import_module("nodeswap.trainer.cli")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("torch", "trainer"):
            raise UserError(f"training needs PyTorch and the trainer package: {INSTALL_HINT}") from None
        raise


def cmd_train(args: argparse.Namespace) -> int:
    return int(_trainer().train(args))


def cmd_export(args: argparse.Namespace) -> int:
    return int(_trainer().export(args))
