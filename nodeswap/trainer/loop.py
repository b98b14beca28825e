"""The training loop: stages, steps, the log, previews, checkpoints, stopping and resuming.

Resuming is exact: the checkpoint holds the iteration, the weights, the optimiser's moments, the GAN critic,
the pending log sums and the torch, numpy and Python RNG states; batch ``i`` and the random draws of step
``i`` (lr dropout, AMP's morph mask) come from generators seeded with (seed, i). On the CPU the arithmetic
is deterministic (torch.use_deterministic_algorithms, a fixed thread count), so a run stopped and resumed ends
with the same weights as one that never stopped.
"""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from nodeswap.errors import UserError

from . import checkpoint
from .augment import Batches, Side
from .data import FaceData
from .losses import (
    amp_background,
    amp_reconstruction,
    background_style,
    bce,
    blur_mask,
    blur_out,
    gan_background,
    gan_critic,
    gan_generator,
    reconstruction,
    style_loss,
)
from .models import DF, CodeDiscriminator, FaceModel, PatchDiscriminator, build_model, code_resolution, morph_mask
from .optim import AdaBelief, scheduled_lr
from .options import Recipe, Stage, TrainOptions
from .preview import render, save_png


@dataclass(frozen=True)
class Settings:
    model_dir: Path
    recipe: Recipe
    target: int  # train until the model has done this many iterations
    device: torch.device
    seed: int = 0
    save_every: int = 1000
    preview_every: int = 200
    log_every: int = 10


@dataclass
class Pending:
    """Loss sums since the last log line."""

    src: float = 0.0
    dst: float = 0.0
    count: int = 0


class StopSignals:
    """Ctrl-C and SIGTERM ask the loop to stop after the current iteration (it then saves); a second Ctrl-C
    stops at once, without saving."""

    def __init__(self) -> None:
        self.signum = 0
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> StopSignals:
        for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
            if sig is not None:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def generator(device: torch.device, seed: int, iteration: int, salt: int) -> torch.Generator:
    """A generator for the random draws of one step, the same on every run."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(np.random.SeedSequence([seed, iteration, salt]).generate_state(1, np.uint64)[0]) >> 1)
    return gen


@dataclass
class Critic:
    net: PatchDiscriminator
    optimizer: AdaBelief
    shape: tuple[int, int]  # patch size, dims


@dataclass
class CodeCritic:
    """true_face_power's critic of the inter's code."""

    net: CodeDiscriminator
    optimizer: AdaBelief


@dataclass
class Trainer:
    settings: Settings
    src: FaceData
    dst: FaceData
    pretrain: FaceData
    state: dict[str, Any] | None = None
    iteration: int = 0
    seconds: float = 0.0
    pretrained: bool = False
    pending: Pending = field(default_factory=Pending)
    critic: Critic | None = None
    code_critic: CodeCritic | None = None

    def __post_init__(self) -> None:
        s = self.settings
        torch.manual_seed(s.seed)
        self.model: FaceModel = build_model(s.recipe.model).to(s.device)
        self.optimizer = AdaBelief(self.model.parameters(), lr=5e-5)
        self._check_resets()
        if self.state is not None:
            self._restore(self.state)
            self.state = None
        self.batches = Batches(self.src, self.dst, self.pretrain, s.seed)

    def _check_resets(self) -> None:
        names = self.model.networks()
        for stage in self.settings.recipe.stages:
            unknown = [n for n in stage.reset if n not in names]
            if unknown:
                raise UserError(
                    f"recipe {self.settings.recipe.name}, stage '{stage.name}': cannot reset {', '.join(unknown)}: "
                    f"the {self.settings.recipe.model.archi} model's networks are {', '.join(names)}"
                )

    # --- checkpoints

    def snapshot(self) -> dict[str, Any]:
        critic = self.critic
        return {
            "model_options": asdict(self.settings.recipe.model),
            "iteration": self.iteration,
            "seconds": self.seconds,
            "seed": self.settings.seed,
            "pretrained": self.pretrained,
            "pending": asdict(self.pending),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "critic": None if critic is None else critic.net.state_dict(),
            "critic_optimizer": None if critic is None else critic.optimizer.state_dict(),
            "critic_shape": None if critic is None else list(critic.shape),
            "code_critic": None if self.code_critic is None else self.code_critic.net.state_dict(),
            "code_critic_optimizer": None if self.code_critic is None else self.code_critic.optimizer.state_dict(),
        }

    def _restore(self, state: dict[str, Any]) -> None:
        checkpoint.load_weights(self.model, state["model"], self.settings.model_dir)
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration, self.seconds = int(state["iteration"]), float(state["seconds"])
        self.pretrained = bool(state["pretrained"])
        self.pending = Pending(**state["pending"])
        if state.get("critic") is not None:
            patch, dims = state["critic_shape"]
            self.critic = self._new_critic((int(patch), int(dims)))
            checkpoint.load_weights(self.critic.net, state["critic"], self.settings.model_dir)
            self.critic.optimizer.load_state_dict(state["critic_optimizer"])
        if state.get("code_critic") is not None:
            self.code_critic = self._new_code_critic()
            checkpoint.load_weights(self.code_critic.net, state["code_critic"], self.settings.model_dir)
            self.code_critic.optimizer.load_state_dict(state["code_critic_optimizer"])
        checkpoint.set_rng_states(state["rng"])

    def save(self) -> None:
        checkpoint.save(self.settings.model_dir, self.snapshot())

    def save_preview(self) -> Path:
        path = self.settings.model_dir / checkpoint.PREVIEW
        save_png(path, render(self.model, self.src, self.dst, self.settings.device))
        return path

    # --- one iteration

    def _new_critic(self, shape: tuple[int, int]) -> Critic:
        net = PatchDiscriminator(self.settings.recipe.model.resolution, shape[0], shape[1]).to(self.settings.device)
        return Critic(net, AdaBelief(net.parameters(), lr=5e-5), shape)

    def _new_code_critic(self) -> CodeCritic:
        model = self.settings.recipe.model
        net = CodeDiscriminator(model.ae_dims, code_resolution(model)).to(self.settings.device)
        return CodeCritic(net, AdaBelief(net.parameters(), lr=5e-5))

    def _begin(self, stage: Stage) -> None:
        """Re-initialise what the stage resets (once, at its first iteration) and the inters after pretraining,
        as DeepFaceLab does; create or re-create the GAN critic when its shape changes."""
        names = list(stage.reset) if self.iteration == stage.start else []
        if self.pretrained and not stage.options.pretrain:
            names += [n for n in self.model.inters if n not in names]
        if names:
            self.model.reset(names)
            networks = self.model.networks()
            self.optimizer.reset_state(p for n in names for p in networks[n].parameters())
            tqdm.write(f"re-initialised {', '.join(names)}", file=sys.stderr)
        self.pretrained = stage.options.pretrain
        options = stage.options.effective()
        if options.gan_power > 0:
            shape = (options.gan_patch_size or self.settings.recipe.model.resolution // 8, options.gan_dims)
            if self.critic is None or self.critic.shape != shape:
                self.critic = self._new_critic(shape)
        if options.true_face_power > 0 and self.code_critic is None:
            self.code_critic = self._new_code_critic()

    def _tensors(self, side: Side) -> tuple[torch.Tensor, ...]:
        device = self.settings.device
        return tuple(torch.from_numpy(a).to(device) for a in (side.warped, side.target, side.mask, side.em_mask))

    def step(self, stage: Stage, src: Side, dst: Side) -> tuple[float, float]:
        """One update of the model (and the critic); the mean src and dst losses."""
        s, options = self.settings, stage.options.effective()
        res = s.recipe.model.resolution
        ws, ts, ms, ems = self._tensors(src)
        wd, td, md, emd = self._tensors(dst)
        if options.blur_out_mask:
            ts, td = blur_out(ts, ms, res), blur_out(td, md, res)
        morph = None
        if s.recipe.model.kind == "amp":
            cpu_gen = generator(torch.device("cpu"), s.seed, self.iteration, 1)
            morph = morph_mask(len(ws), s.recipe.model.inter_dims, options.morph_factor, cpu_gen).to(s.device)
        self.model.train()
        pred_src, pred_srcm, pred_dst, pred_dstm = self.model.predict(ws, wd, morph)
        masked, prio = options.masked_training, options.eyes_mouth_prio
        amp = s.recipe.model.kind == "amp"
        if amp:  # Model_AMP's own loss: always masked, always eyes and mouth, and a weak dst background term
            src_loss = amp_reconstruction(pred_src, pred_srcm, ts, ms, ems, res)
            dst_loss = amp_reconstruction(pred_dst, pred_dstm, td, md, emd, res)
            total = (src_loss + dst_loss + amp_background(pred_dst, td, md, res)).mean()
        else:
            src_loss = reconstruction(pred_src, pred_srcm, ts, ms, ems, res, masked, prio)
            src_loss = src_loss + self._style_losses(options, wd, td, ms, pred_dst, pred_dstm)
            dst_loss = reconstruction(pred_dst, pred_dstm, td, md, emd, res, masked, prio)
            total = (src_loss + dst_loss).mean()
        critic = self.critic if options.gan_power > 0 else None
        fakes: list[torch.Tensor] = []
        reals: list[torch.Tensor] = []
        if critic is not None:  # SAEHD judges src->src; AMP src->src and dst->dst
            sides = [(pred_src, ts, ms), (pred_dst, td, md)] if amp else [(pred_src, ts, ms)]
            for pred, target, mask in sides:
                soft = blur_mask(mask, res) if masked or amp else torch.ones_like(mask)
                fakes.append(pred * soft)
                reals.append(target * soft)
            fake_logits = [logits for fake in fakes for logits in critic.net(fake)]
            generator_loss = gan_generator(fake_logits, options.gan_power)
            generator_loss = generator_loss + gan_background(pred_src, ts, ms, res, masked or amp)
            total = total + generator_loss.mean()
        code_critic = self.code_critic if options.true_face_power > 0 else None
        codes: tuple[torch.Tensor, torch.Tensor] | None = None
        if code_critic is not None and isinstance(self.model, DF):  # src's code should read as dst's
            codes = (self.model.code(ws), self.model.code(wd))
            total = total + options.true_face_power * bce(code_critic.net(codes[0]), True).mean()
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()  # type: ignore[no-untyped-call]
        networks = self.model.networks()
        for name in set(networks) - set(self.model.trained(options.random_warp)):
            for p in networks[name].parameters():  # DeepFaceLab leaves these weights as they are in this stage
                p.grad = None
        trained = [p for p in self.model.parameters() if p.grad is not None]
        if options.clipgrad:
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
        lr = scheduled_lr(options.lr, self.iteration, options.lr_dropout)
        dropout = generator(s.device, s.seed, self.iteration, 2) if options.lr_dropout else None
        self.optimizer.step_with(lr, dropout)
        if critic is not None:
            critic.optimizer.zero_grad(set_to_none=True)
            real_logits = [logits for real in reals for logits in critic.net(real)]
            fake_logits = [logits for fake in fakes for logits in critic.net(fake.detach())]
            critic_loss = gan_critic(real_logits, fake_logits, 1.0 / 8.0 if amp else 0.5).mean()
            critic_loss.backward()  # type: ignore[no-untyped-call]
            if options.clipgrad:
                torch.nn.utils.clip_grad_norm_(critic.net.parameters(), 1.0)
            critic_dropout = generator(s.device, s.seed, self.iteration, 3) if options.lr_dropout else None
            critic.optimizer.step_with(lr, critic_dropout)
        if code_critic is not None and codes is not None:
            code_critic.optimizer.zero_grad(set_to_none=True)
            src_code, dst_code = (c.detach() for c in codes)
            code_loss = 0.5 * (bce(code_critic.net(dst_code), True) + bce(code_critic.net(src_code), False)).mean()
            code_loss.backward()  # type: ignore[no-untyped-call]
            code_dropout = generator(s.device, s.seed, self.iteration, 4) if options.lr_dropout else None
            code_critic.optimizer.step_with(lr, code_dropout)
        return float(src_loss.mean().item()), float(dst_loss.mean().item())

    def _style_losses(
        self,
        options: TrainOptions,
        warped_dst: torch.Tensor,
        target_dst: torch.Tensor,
        mask_src: torch.Tensor,
        pred_dst: torch.Tensor,
        pred_dstm: torch.Tensor,
    ) -> torch.Tensor:
        """face_style_power and bg_style_power (SAEHD), added to src's loss: the swap of the dst input learns
        dst's colours inside the mask and dst's background outside it."""
        res = self.settings.recipe.model.resolution
        loss = torch.zeros(len(warped_dst), device=warped_dst.device)
        if options.face_style_power:
            swapped, swapped_mask = self.model.src_from_dst(warped_dst, detach_code=True)
            content, style = swapped * swapped_mask.detach(), (pred_dst * pred_dstm).detach()
            loss = loss + style_loss(content, style, res // 8, 10000.0 * options.face_style_power / 100.0)
        if options.bg_style_power:
            swapped, _ = self.model.src_from_dst(warped_dst)
            loss = loss + background_style(swapped, target_dst, mask_src, res, options.bg_style_power / 100.0)
        return loss

    # --- the run

    def _log(self) -> dict[str, Any]:
        p = self.pending
        entry = {
            "iter": self.iteration,
            "src_loss": round(p.src / max(p.count, 1), 6),
            "dst_loss": round(p.dst / max(p.count, 1), 6),
            "seconds": round(self.seconds, 3),
        }
        checkpoint.append_log(self.settings.model_dir, entry)
        self.pending = Pending()
        return entry

    def run(self) -> int:
        """Train to the target; 0 when reached, 130 / 143 when Ctrl-C / SIGTERM stopped it (after saving)."""
        s = self.settings
        s.model_dir.mkdir(parents=True, exist_ok=True)
        checkpoint.trim_log(s.model_dir, self.iteration)
        if self.iteration >= s.target:
            tqdm.write(f"{s.model_dir}: already at iteration {self.iteration} (target {s.target})", file=sys.stderr)
            self.batches.close()
            return 0
        stage_now: Stage | None = None
        stop = StopSignals()
        bar = tqdm(total=s.target, initial=self.iteration, unit="it", dynamic_ncols=True, file=sys.stderr)
        try:
            with stop:
                last = time.perf_counter()
                while self.iteration < s.target and not stop.signum:
                    stage = s.recipe.stage_at(self.iteration)
                    if stage is not stage_now:
                        stage_now = stage
                        bar.write(describe(stage, s.recipe), file=sys.stderr)
                    self._begin(stage)
                    upcoming = s.recipe.stage_at(self.iteration + 1) if self.iteration + 1 < s.target else None
                    src, dst = self.batches.get(self.iteration, stage, upcoming)
                    src_loss, dst_loss = self.step(stage, src, dst)
                    self.iteration += 1
                    now = time.perf_counter()
                    self.seconds += now - last
                    last = now
                    self.pending.src += src_loss
                    self.pending.dst += dst_loss
                    self.pending.count += 1
                    if self.iteration % s.log_every == 0:
                        entry = self._log()
                        bar.set_postfix(src=f"{entry['src_loss']:.4f}", dst=f"{entry['dst_loss']:.4f}", refresh=False)
                    if self.iteration % s.preview_every == 0:
                        self.save_preview()
                    if self.iteration % s.save_every == 0:
                        self.save()
                    bar.update(1)
        finally:
            bar.close()
            self.batches.close()
        self.save()
        self.save_preview()
        if stop.signum:
            name = "SIGTERM" if stop.signum != signal.SIGINT else "Ctrl-C"
            print(f"stopped by {name} at iteration {self.iteration}: saved {s.model_dir}", file=sys.stderr)
            return 130 if stop.signum == signal.SIGINT else 143
        print(f"done: iteration {self.iteration}, saved {s.model_dir}", file=sys.stderr)
        return 0


def describe(stage: Stage, recipe: Recipe) -> str:
    """One line naming a stage, its iterations and its options that differ from the defaults."""
    changed = {k: v for k, v in asdict(stage.options).items() if v != getattr(TrainOptions, k)}
    extra = (" (src-src)" if stage.dst_is_src else "") + (f", reset {', '.join(stage.reset)}" if stage.reset else "")
    number = recipe.stages.index(stage) + 1
    options = ", ".join(f"{k}={v}" for k, v in changed.items()) or "defaults"
    return (
        f"stage {number}/{len(recipe.stages)} '{stage.name}' (iterations {stage.start}-{stage.end}){extra}: {options}"
    )
