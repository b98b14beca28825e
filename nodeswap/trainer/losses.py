"""The losses, as DeepFaceLab's SAEHD and AMP compute them, per sample.

Reconstruction (src->src against the src target, dst->dst against the dst target):
- masked training: images multiplied by the face mask, blurred (radius res/32) and doubled to 1 inside;
- 10 x DSSIM with a Gaussian window of res/11.6 (below res 256), or 5 x DSSIM at res/11.6 plus 5 x at res/23.2;
- + 10 x MSE;
- eyes_mouth_prio: + 300 x mean absolute error inside the eyes-and-mouth mask;
- + 10 x MSE of the predicted mask against the face mask.
AMP (Model_AMP) always masks, always weighs the eyes and mouth, always takes DSSIM at both scales, and adds a
weak dst->dst background term (0.1 x MSE outside the mask plus a tiny total variation).
GAN (gan_power > 0): the U-Net critic gives two logit maps (centre and full size) and learns real targets from
reconstructions (binary cross-entropy): src only for SAEHD, src and dst for AMP. The generator gains gan_power x
its BCE on every map, plus (masked training) 0.02 x MSE outside the src mask and a tiny total variation, which
keep the background from drifting.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor


def gaussian_window(size: int, sigma: float = 1.5) -> Tensor:
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2.0
    g = torch.exp(-(coords**2) / (2 * sigma * sigma))
    g = g / g.sum()
    return torch.outer(g, g)


def dssim(a: Tensor, b: Tensor, filter_size: int) -> Tensor:
    """(1 - SSIM) / 2 per sample (NCHW in [0, 1]); Gaussian window, sigma 1.5, valid borders, per channel."""
    filter_size = max(3, filter_size)
    channels = a.shape[1]
    window = gaussian_window(filter_size).to(a.device, a.dtype).expand(channels, 1, filter_size, filter_size)

    def blur(x: Tensor) -> Tensor:
        return F.conv2d(x, window, groups=channels)

    c1, c2 = 0.01**2, 0.03**2
    mu_a, mu_b = blur(a), blur(b)
    mu_ab, mu_aa, mu_bb = mu_a * mu_b, mu_a * mu_a, mu_b * mu_b
    luminance = (2 * mu_ab + c1) / (mu_aa + mu_bb + c1)
    cs = (2 * (blur(a * b) - mu_ab) + c2) / (blur(a * a) - mu_aa + blur(b * b) - mu_bb + c2)
    ssim = (luminance * cs).mean(dim=(2, 3))
    return ((1.0 - ssim) / 2.0).mean(dim=1)


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """leras' gaussian_blur: a kernel of max(3, int(4 sigma)) taps made odd, zero padding, per channel."""
    size = max(3, int(4 * sigma)) | 1
    window = gaussian_window(size, float(sigma)).to(x.device, x.dtype)
    channels = x.shape[1]
    return F.conv2d(x, window.expand(channels, 1, size, size), padding=size // 2, groups=channels)


def blur_mask(mask: Tensor, resolution: int) -> Tensor:
    """DeepFaceLab's training mask: Gaussian blur of radius res/32, clipped at 0.5 and doubled."""
    return torch.clamp(gaussian_blur(mask, max(1, resolution // 32)), 0.0, 0.5) * 2.0


def blur_out(target: Tensor, mask: Tensor, resolution: int) -> Tensor:
    """blur_out_mask: the target's background near the face smoothed (a blur of res/128 that leaves the face out),
    so the network learns no sharp background at the mask's edge."""
    sigma = resolution / 128
    outside = 1.0 - mask
    blurred = gaussian_blur(target * outside, sigma)
    weight = 1.0 - gaussian_blur(mask, sigma)
    weight = torch.where(weight == 0, torch.ones_like(weight), weight)
    return target * mask + (blurred / weight) * outside


def reconstruction(
    pred: Tensor,
    pred_mask: Tensor,
    target: Tensor,
    mask: Tensor,
    em_mask: Tensor,
    resolution: int,
    masked: bool,
    eyes_mouth_prio: bool,
) -> Tensor:
    """One side's loss per sample (see the module doc)."""
    soft = blur_mask(mask, resolution)
    t = target * soft if masked else target
    p = pred * soft if masked else pred
    if resolution < 256:
        loss = 10.0 * dssim(t, p, int(resolution / 11.6))
    else:
        loss = 5.0 * dssim(t, p, int(resolution / 11.6)) + 5.0 * dssim(t, p, int(resolution / 23.2))
    loss = loss + 10.0 * torch.mean((t - p) ** 2, dim=(1, 2, 3))
    if eyes_mouth_prio:
        loss = loss + 300.0 * torch.mean(torch.abs(target * em_mask - pred * em_mask), dim=(1, 2, 3))
    return loss + 10.0 * torch.mean((mask - pred_mask) ** 2, dim=(1, 2, 3))


def bce(logits: Tensor, real: bool) -> Tensor:
    labels = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, labels, reduction="none").mean(dim=(1, 2, 3))


def total_variation_mse(x: Tensor) -> Tensor:
    dy = (x[:, :, 1:, :] - x[:, :, :-1, :]) ** 2
    dx = (x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2
    return dy.sum(dim=(1, 2, 3)) + dx.sum(dim=(1, 2, 3))


def amp_reconstruction(
    pred: Tensor, pred_mask: Tensor, target: Tensor, mask: Tensor, em_mask: Tensor, resolution: int
) -> Tensor:
    """One side's loss per sample, as Model_AMP computes it."""
    soft = blur_mask(mask, resolution)
    t, p = target * soft, pred * soft
    loss = 5.0 * dssim(t, p, int(resolution / 11.6)) + 5.0 * dssim(t, p, int(resolution / 23.2))
    loss = loss + 10.0 * torch.mean((t - p) ** 2, dim=(1, 2, 3))
    loss = loss + 300.0 * torch.mean(torch.abs(target * em_mask - pred * em_mask), dim=(1, 2, 3))
    return loss + 10.0 * torch.mean((mask - pred_mask) ** 2, dim=(1, 2, 3))


def amp_background(pred: Tensor, target: Tensor, mask: Tensor, resolution: int) -> Tensor:
    """AMP's weak dst->dst background loss per sample: 0.1 x MSE outside the mask, plus a tiny total variation."""
    outside = 1.0 - blur_mask(mask, resolution)
    p = pred * outside
    return 0.1 * torch.mean((p - target * outside) ** 2, dim=(1, 2, 3)) + 1e-6 * total_variation_mse(p)


def gan_generator(fake_logits: list[Tensor], power: float) -> Tensor:
    """The generator's GAN term per sample: every logit map of every fake should read as real."""
    return power * sum((bce(logits, True) for logits in fake_logits), torch.zeros(()))


def gan_critic(real_logits: list[Tensor], fake_logits: list[Tensor], weight: float) -> Tensor:
    """The critic's loss per sample: ``weight`` x the summed BCE of real maps (ones) and fake maps (zeros);
    DeepFaceLab weighs it 0.5 in SAEHD (4 maps) and 1/8 in AMP (8 maps)."""
    terms = [bce(r, True) for r in real_logits] + [bce(f, False) for f in fake_logits]
    return weight * sum(terms, torch.zeros(()))


def gan_background(pred: Tensor, target: Tensor, mask: Tensor, resolution: int, masked: bool) -> Tensor:
    """With masked training, the GAN's generator also keeps src's background: 0.02 x MSE outside the mask and a
    tiny total variation (against random bright dots)."""
    if not masked:
        return torch.zeros(pred.shape[0], device=pred.device)
    outside = 1.0 - blur_mask(mask, resolution)
    return 1e-6 * total_variation_mse(pred) + 0.02 * torch.mean((pred * outside - target * outside) ** 2, dim=(1, 2, 3))


def style_loss(content: Tensor, style: Tensor, blur_sigma: float, weight: float) -> Tensor:
    """leras' style loss per sample: both blurred, then the squared differences of the channels' means and
    standard deviations, summed, times weight / channels."""
    if blur_sigma > 0:
        content, style = gaussian_blur(content, blur_sigma), gaussian_blur(style, blur_sigma)
    c_mean, s_mean = content.mean(dim=(2, 3)), style.mean(dim=(2, 3))
    c_std = torch.sqrt(content.var(dim=(2, 3), unbiased=False) + 1e-5)
    s_std = torch.sqrt(style.var(dim=(2, 3), unbiased=False) + 1e-5)
    return ((c_mean - s_mean) ** 2 + (c_std - s_std) ** 2).sum(dim=1) * (weight / content.shape[1])


def background_style(pred: Tensor, target: Tensor, mask: Tensor, resolution: int, power: float) -> Tensor:
    """bg_style_power's loss per sample: DSSIM and MSE of the swap against dst outside the (src) mask."""
    outside = 1.0 - torch.clamp(blur_mask(mask, resolution), 0.0, 1.0).detach()
    p, t = pred * outside, target * outside
    return 10.0 * power * (dssim(p, t, int(resolution / 11.6)) + torch.mean((p - t) ** 2, dim=(1, 2, 3)))
