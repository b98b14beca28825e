"""The networks, as DeepFaceLab builds them: SAEHD's DF and LIAE (with the -u and -d options) and AMP.

Layout NCHW, images BGR in [0, 1]. Every model gives the training predictions (src->src, dst->dst with their
masks) and the swap path that the .dfm export runs: dst -> encoder -> inter -> src decoder, with the dst
decoder's mask of the same face.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from .options import ModelOptions

Predictions = tuple[Tensor, Tensor, Tensor, Tensor]  # src->src, its mask, dst->dst, its mask
Swap = tuple[Tensor, Tensor, Tensor]  # dst mask, dst->src face, dst->src mask


class Downscale(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride=2, padding=kernel // 2)

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(self.conv(x), 0.1)


class Upscale(nn.Module):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch * 4, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_shuffle(F.leaky_relu(self.conv(x), 0.1), 2)


class ResidualBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv2(F.leaky_relu(self.conv1(x), 0.2))
        return F.leaky_relu(x + y, 0.2)


def pixel_norm(x: Tensor) -> Tensor:
    return x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + 1e-6)


class Encoder(nn.Module):
    """SAEHD: four 5x5 stride-2 convs (e, 2e, 4e, 8e channels), flattened."""

    def __init__(self, e_dims: int) -> None:
        super().__init__()
        chans = [3] + [e_dims * min(2**i, 8) for i in range(4)]
        self.downs = nn.Sequential(*(Downscale(a, b) for a, b in itertools.pairwise(chans)))

    def forward(self, x: Tensor) -> Tensor:
        return torch.flatten(self.downs(x), 1)


class Inter(nn.Module):
    """SAEHD: dense to ae_dims, dense to a (ae_out, low, low) map, one upscale. '-u' normalises the input."""

    def __init__(self, in_features: int, ae_dims: int, ae_out: int, low: int, norm: bool) -> None:
        super().__init__()
        self.norm, self.low, self.ae_out = norm, low, ae_out
        self.dense1 = nn.Linear(in_features, ae_dims)
        self.dense2 = nn.Linear(ae_dims, low * low * ae_out)
        self.upscale = Upscale(ae_out, ae_out)

    def forward(self, x: Tensor) -> Tensor:
        if self.norm:
            x = pixel_norm(x)
        x = self.dense2(self.dense1(x)).reshape(-1, self.ae_out, self.low, self.low)
        return self.upscale(x)  # type: ignore[no-any-return]


class Decoder(nn.Module):
    """Three upscales with residual blocks to the face, a thinner branch to its mask. '-d' (and AMP) ends with
    four 3-channel convs interleaved to twice the size (depth to space), the mask branch one upscale more."""

    def __init__(self, in_ch: int, d_dims: int, d_mask_dims: int, double: bool, amp: bool = False) -> None:
        super().__init__()
        face = (
            [in_ch, d_dims * 8, d_dims * 8, d_dims * 4, d_dims * 2]
            if amp
            else [in_ch, d_dims * 8, d_dims * 4, d_dims * 2]
        )
        self.ups = nn.ModuleList(Upscale(a, b) for a, b in itertools.pairwise(face))
        self.res = nn.ModuleList(ResidualBlock(b) for b in face[1:])
        self.interleave = double
        self.out = nn.Conv2d(face[-1], 12 if double else 3, 3 if double else 1, padding=1 if double else 0)
        mask = (
            [in_ch, d_mask_dims * 8, d_mask_dims * 8, d_mask_dims * 4, d_mask_dims * 2]
            if amp
            else [
                in_ch,
                d_mask_dims * 8,
                d_mask_dims * 4,
                d_mask_dims * 2,
            ]
        )
        if double:
            mask.append(d_mask_dims)
        self.mask_ups = nn.Sequential(*(Upscale(a, b) for a, b in itertools.pairwise(mask)))
        self.mask_out = nn.Conv2d(mask[-1], 1, 1)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        x = z
        for up, res in zip(self.ups, self.res, strict=True):
            x = res(up(x))
        x = self.out(x)
        if self.interleave:
            x = F.pixel_shuffle(x, 2)
        m = self.mask_out(self.mask_ups(z))
        return torch.sigmoid(x), torch.sigmoid(m)


class AmpEncoder(nn.Module):
    """AMP: five 5x5 stride-2 convs with residual blocks after the first and last, then a dense layer."""

    def __init__(self, e_dims: int, ae_dims: int, low: int) -> None:
        super().__init__()
        e = e_dims
        self.convs = nn.Sequential(
            Downscale(3, e), ResidualBlock(e), Downscale(e, e * 2), Downscale(e * 2, e * 4), Downscale(e * 4, e * 8)
        )
        self.last = nn.Sequential(Downscale(e * 8, e * 8), ResidualBlock(e * 8))
        self.dense = nn.Linear(low * low * e * 8, ae_dims)

    def forward(self, x: Tensor) -> Tensor:
        return self.dense(pixel_norm(torch.flatten(self.last(self.convs(x)), 1)))  # type: ignore[no-any-return]


class AmpInter(nn.Module):
    def __init__(self, ae_dims: int, inter_dims: int, low: int) -> None:
        super().__init__()
        self.low, self.inter_dims = low, inter_dims
        self.dense = nn.Linear(ae_dims, low * low * inter_dims)

    def forward(self, x: Tensor) -> Tensor:
        return self.dense(x).reshape(-1, self.inter_dims, self.low, self.low)  # type: ignore[no-any-return]


def init_weights(module: nn.Module) -> None:
    """DeepFaceLab's initialisation: Glorot-uniform kernels, zero biases."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class FaceModel(nn.Module):
    """The base: ``networks`` by name (what a recipe may reset), ``inters`` (re-initialised after pretraining)."""

    inters: tuple[str, ...] = ()

    def __init__(self, options: ModelOptions) -> None:
        super().__init__()
        self.options = options

    def networks(self) -> dict[str, nn.Module]:
        return dict(self.named_children())

    def reset(self, names: tuple[str, ...] | list[str]) -> None:
        found = self.networks()
        for name in names:
            if name not in found:
                raise KeyError(name)
            init_weights(found[name])

    def predict(self, warped_src: Tensor, warped_dst: Tensor, morph_mask: Tensor | None = None) -> Predictions:
        raise NotImplementedError

    def swap(self, dst: Tensor, morph_value: Tensor | None = None) -> Swap:
        raise NotImplementedError


class DF(FaceModel):
    inters = ("inter",)

    def __init__(self, options: ModelOptions) -> None:
        super().__init__(options)
        o = options
        low = o.resolution // (32 if o.double else 16)
        flat = o.e_dims * 8 * (o.resolution // 16) ** 2
        self.encoder = Encoder(o.e_dims)
        self.inter = Inter(flat, o.ae_dims, o.ae_dims, low, "u" in o.archi.partition("-")[2])
        self.decoder_src = Decoder(o.ae_dims, o.d_dims, o.d_mask_dims, o.double)
        self.decoder_dst = Decoder(o.ae_dims, o.d_dims, o.d_mask_dims, o.double)

    def predict(self, warped_src: Tensor, warped_dst: Tensor, morph_mask: Tensor | None = None) -> Predictions:
        src, srcm = self.decoder_src(self.inter(self.encoder(warped_src)))
        dst, dstm = self.decoder_dst(self.inter(self.encoder(warped_dst)))
        return src, srcm, dst, dstm

    def swap(self, dst: Tensor, morph_value: Tensor | None = None) -> Swap:
        code = self.inter(self.encoder(dst))
        celeb, celeb_mask = self.decoder_src(code)
        _, dst_mask = self.decoder_dst(code)
        return dst_mask, celeb, celeb_mask


class LIAE(FaceModel):
    """One decoder; the code is inter_B(x) ++ inter_AB(x) for dst, inter_AB(x) twice for src and the swap."""

    inters = ("inter_AB", "inter_B")

    def __init__(self, options: ModelOptions) -> None:
        super().__init__(options)
        o = options
        low = o.resolution // (32 if o.double else 16)
        flat = o.e_dims * 8 * (o.resolution // 16) ** 2
        norm = "u" in o.archi.partition("-")[2]
        self.encoder = Encoder(o.e_dims)
        self.inter_AB = Inter(flat, o.ae_dims, o.ae_dims * 2, low, norm)  # DeepFaceLab's names
        self.inter_B = Inter(flat, o.ae_dims, o.ae_dims * 2, low, norm)
        self.decoder = Decoder(o.ae_dims * 4, o.d_dims, o.d_mask_dims, o.double)

    def predict(self, warped_src: Tensor, warped_dst: Tensor, morph_mask: Tensor | None = None) -> Predictions:
        src_ab = self.inter_AB(self.encoder(warped_src))
        dst_code = self.encoder(warped_dst)
        src, srcm = self.decoder(torch.cat([src_ab, src_ab], 1))
        dst, dstm = self.decoder(torch.cat([self.inter_B(dst_code), self.inter_AB(dst_code)], 1))
        return src, srcm, dst, dstm

    def swap(self, dst: Tensor, morph_value: Tensor | None = None) -> Swap:
        code = self.encoder(dst)
        ab = self.inter_AB(code)
        celeb, celeb_mask = self.decoder(torch.cat([ab, ab], 1))
        _, dst_mask = self.decoder(torch.cat([self.inter_B(code), ab], 1))
        return dst_mask, celeb, celeb_mask


class AMP(FaceModel):
    """One encoder and decoder, inter_src and inter_dst. In training, src's code takes a random share
    (morph_factor) of its channels from inter_src and the rest from inter_dst; the swap takes the first
    morph_value share of dst's channels from inter_src (the .dfm's morph_value input)."""

    inters = ("inter_src", "inter_dst")

    def __init__(self, options: ModelOptions) -> None:
        super().__init__(options)
        o = options
        low = o.resolution // 32
        self.encoder = AmpEncoder(o.e_dims, o.ae_dims, low)
        self.inter_src = AmpInter(o.ae_dims, o.inter_dims, low)
        self.inter_dst = AmpInter(o.ae_dims, o.inter_dims, low)
        self.decoder = Decoder(o.inter_dims, o.d_dims, o.d_mask_dims, True, amp=True)

    def predict(self, warped_src: Tensor, warped_dst: Tensor, morph_mask: Tensor | None = None) -> Predictions:
        src_code = self.encoder(warped_src)
        src_inter = self.inter_src(src_code)
        if morph_mask is not None:
            src_inter = src_inter * morph_mask + self.inter_dst(src_code) * (1.0 - morph_mask)
        src, srcm = self.decoder(src_inter)
        dst, dstm = self.decoder(self.inter_dst(self.encoder(warped_dst)))
        return src, srcm, dst, dstm

    def swap(self, dst: Tensor, morph_value: Tensor | None = None) -> Swap:
        code = self.encoder(dst)
        from_dst = self.inter_dst(code)
        value = morph_value if morph_value is not None else torch.ones(1, device=dst.device)
        count = torch.floor(value[0] * self.options.inter_dims)
        channels = torch.arange(self.options.inter_dims, dtype=torch.float32, device=dst.device)
        mask = (channels < count).to(dst.dtype).reshape(1, -1, 1, 1)
        celeb, celeb_mask = self.decoder(self.inter_src(code) * mask + from_dst * (1.0 - mask))
        _, dst_mask = self.decoder(from_dst)
        return dst_mask, celeb, celeb_mask


def morph_mask(batch: int, inter_dims: int, factor: float, generator: torch.Generator) -> Tensor:
    """AMP's training mask: per sample, int(inter_dims * factor) channels from inter_src, chosen at random."""
    count = int(inter_dims * factor)
    order = torch.argsort(torch.rand(batch, inter_dims, generator=generator), dim=1)
    return (order < count).float().reshape(batch, inter_dims, 1, 1)


def build_model(options: ModelOptions) -> FaceModel:
    kinds: dict[str, type[FaceModel]] = {"df": DF, "liae": LIAE, "amp": AMP}
    model = kinds[options.kind](options)
    init_weights(model)
    return model


class PatchDiscriminator(nn.Module):
    """The GAN's critic: 4x4 stride-2 convs (gan_dims, doubling up to 8x) whose receptive field is about
    gan_patch_size, then one logit per patch. A plain PatchGAN, not DeepFaceLab's U-Net discriminator."""

    def __init__(self, resolution: int, patch_size: int, dims: int) -> None:
        super().__init__()
        depth_max = max(1, resolution.bit_length() - 4)
        depth = min(range(1, depth_max + 1), key=lambda n: abs(1 + 3 * (2**n - 1) - patch_size))
        layers: list[nn.Module] = []
        ch = 3
        for i in range(depth):
            out = dims * min(2**i, 8)
            layers += [nn.Conv2d(ch, out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            ch = out
        layers.append(nn.Conv2d(ch, 1, 1))
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # type: ignore[no-any-return]
