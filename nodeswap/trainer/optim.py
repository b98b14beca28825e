"""AdaBelief as DeepFaceLab runs it (no bias correction; epsilon float32's resolution, 1e-6), with
learning-rate dropout.

LR dropout (DeepFaceLab's 'lr_dropout'): each weight's update is kept with probability 0.3 and dropped
otherwise, a fresh draw every step, from a generator the caller seeds (so a resumed run draws the same). With it
DeepFaceLab also turns on its cosine schedule: the rate swings between lr and 0 every 500 iterations.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor

LR_DROPOUT_KEEP = 0.3
LR_COS_PERIOD = 500
EPSILON = 1e-6  # DeepFaceLab: np.finfo(float32).resolution


def scheduled_lr(lr: float, iteration: int, lr_dropout: bool) -> float:
    """The rate of one iteration: with lr dropout, lr x (cos(2 pi iteration / 500) + 1) / 2, else lr."""
    if not lr_dropout:
        return lr
    return lr * (math.cos(2.0 * math.pi * iteration / LR_COS_PERIOD) + 1.0) / 2.0


class AdaBelief(torch.optim.Optimizer):
    def __init__(self, params: Iterable[Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": EPSILON})

    @torch.no_grad()
    def step_with(self, lr: float, dropout: torch.Generator | None = None) -> None:
        """One update at ``lr``; ``dropout``: keep each weight's update with probability 0.3."""
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                m, v = state["m"], state["v"]
                m.mul_(beta1).add_(p.grad, alpha=1.0 - beta1)
                diff = p.grad - m
                v.mul_(beta2).addcmul_(diff, diff, value=1.0 - beta2)
                update = m / (v.sqrt() + group["eps"]) * -lr
                if dropout is not None:
                    keep = torch.rand(p.shape, generator=dropout, device=p.device) < LR_DROPOUT_KEEP
                    update = update * keep
                p.add_(update)

    def reset_state(self, params: Iterable[Tensor]) -> None:
        """Forget the moments of ``params`` (networks re-initialised by a recipe)."""
        for p in params:
            self.state.pop(p, None)
