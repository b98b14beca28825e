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


def activation(x: Tensor, alpha: float, cos: bool) -> Tensor:
    """DeepFaceLab's activation: leaky ReLU, or x cos(x) with the '-c' option."""
    return x * torch.cos(x) if cos else F.leaky_relu(x, alpha)


class Downscale(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int = 5, cos: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride=2, padding=kernel // 2)
        self.cos = cos

    def forward(self, x: Tensor) -> Tensor:
        return activation(self.conv(x), 0.1, self.cos)


class Upscale(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, cos: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch * 4, 3, padding=1)
        self.cos = cos

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_shuffle(activation(self.conv(x), 0.1, self.cos), 2)


class ResidualBlock(nn.Module):
    def __init__(self, ch: int, cos: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)
        self.cos = cos

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv2(activation(self.conv1(x), 0.2, self.cos))
        return activation(x + y, 0.2, self.cos)


def pixel_norm(x: Tensor) -> Tensor:
    return x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + 1e-6)


class Encoder(nn.Module):
    """SAEHD: four 5x5 stride-2 convs (e, 2e, 4e, 8e channels), flattened. '-t': five (e, 2e, 4e, 8e, 8e) with a
    residual block after the first and the last."""

    def __init__(self, e_dims: int, tall: bool = False, cos: bool = False) -> None:
        super().__init__()
        e = e_dims
        layers: list[nn.Module]
        if tall:
            layers = [Downscale(3, e, cos=cos), ResidualBlock(e, cos)]
            layers += [
                Downscale(a, b, cos=cos) for a, b in ((e, 2 * e), (2 * e, 4 * e), (4 * e, 8 * e), (8 * e, 8 * e))
            ]
            layers.append(ResidualBlock(8 * e, cos))
        else:
            chans = [3] + [e * min(2**i, 8) for i in range(4)]
            layers = [Downscale(a, b, cos=cos) for a, b in itertools.pairwise(chans)]
        self.downs = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return torch.flatten(self.downs(x), 1)


class Inter(nn.Module):
    """SAEHD: dense to ae_dims, dense to a (ae_out, low, low) map, one upscale ('-t': none). '-u' normalises the
    input."""

    def __init__(
        self, in_features: int, ae_dims: int, ae_out: int, low: int, norm: bool, tall: bool = False, cos: bool = False
    ) -> None:
        super().__init__()
        self.norm, self.low, self.ae_out = norm, low, ae_out
        self.dense1 = nn.Linear(in_features, ae_dims)
        self.dense2 = nn.Linear(ae_dims, low * low * ae_out)
        self.upscale = None if tall else Upscale(ae_out, ae_out, cos)

    def forward(self, x: Tensor) -> Tensor:
        if self.norm:
            x = pixel_norm(x)
        x = self.dense2(self.dense1(x)).reshape(-1, self.ae_out, self.low, self.low)
        return x if self.upscale is None else self.upscale(x)


class Decoder(nn.Module):
    """Three upscales with residual blocks to the face, a thinner branch to its mask. '-d' (and AMP) ends with
    DeepFaceLab's four 3-channel convs (one 1x1, three 3x3), interleaved to twice the size (depth to space: the
    first conv gives the top-left pixel of each 2x2 block, then top-right, bottom-left, bottom-right), the mask
    branch one upscale more."""

    def __init__(
        self, in_ch: int, d_dims: int, d_mask_dims: int, double: bool, tall: bool = False, cos: bool = False
    ) -> None:
        super().__init__()
        face = (
            [in_ch, d_dims * 8, d_dims * 8, d_dims * 4, d_dims * 2]
            if tall
            else [in_ch, d_dims * 8, d_dims * 4, d_dims * 2]
        )
        self.ups = nn.ModuleList(Upscale(a, b, cos) for a, b in itertools.pairwise(face))
        self.res = nn.ModuleList(ResidualBlock(b, cos) for b in face[1:])
        self.interleave = double
        self.out = nn.Conv2d(face[-1], 3, 1)
        self.out_more = nn.ModuleList(nn.Conv2d(face[-1], 3, 3, padding=1) for _ in range(3) if double)
        mask = (
            [in_ch, d_mask_dims * 8, d_mask_dims * 8, d_mask_dims * 4, d_mask_dims * 2]
            if tall
            else [
                in_ch,
                d_mask_dims * 8,
                d_mask_dims * 4,
                d_mask_dims * 2,
            ]
        )
        if double:
            mask.append(d_mask_dims)
        self.mask_ups = nn.Sequential(*(Upscale(a, b, cos) for a, b in itertools.pairwise(mask)))
        self.mask_out = nn.Conv2d(mask[-1], 1, 1)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        x = z
        for up, res in zip(self.ups, self.res, strict=True):
            x = res(up(x))
        if self.interleave:
            blocks = torch.stack([self.out(x), *(conv(x) for conv in self.out_more)], 2)  # N, 3, 4, H, W
            x = F.pixel_shuffle(blocks.flatten(1, 2), 2)
        else:
            x = self.out(x)
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


def encoded_size(o: ModelOptions) -> int:
    """Features out of the SAEHD encoder: 8 e_dims channels at 1/16 of the side ('-t': 1/32, rounded up)."""
    side = -(-o.resolution // (32 if o.tall else 16))
    return o.e_dims * 8 * side * side


class FaceModel(nn.Module):
    """The base: ``networks`` by name (what a recipe may reset), ``inters`` (re-initialised after pretraining)."""

    inters: tuple[str, ...] = ()

    def __init__(self, options: ModelOptions) -> None:
        super().__init__()
        self.options = options

    def networks(self) -> dict[str, nn.Module]:
        return dict(self.named_children())

    def trained(self, random_warp: bool) -> tuple[str, ...]:
        """The networks the optimiser updates (DeepFaceLab's trainable weights); the others keep their weights."""
        return tuple(self.networks())

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

    def src_from_dst(self, warped_dst: Tensor, detach_code: bool = False) -> tuple[Tensor, Tensor]:
        """DeepFaceLab's pred_src_dst in training: dst's code through src's decoder (``detach_code``: no gradient
        into the code, its ``_no_code_grad`` twin). The style losses judge it."""
        raise NotImplementedError


class DF(FaceModel):
    inters = ("inter",)

    def __init__(self, options: ModelOptions) -> None:
        super().__init__(options)
        o = options
        low, flat = o.resolution // (32 if o.double else 16), encoded_size(o)
        self.encoder = Encoder(o.e_dims, o.tall, o.cos)
        self.inter = Inter(flat, o.ae_dims, o.ae_dims, low, o.norm, o.tall, o.cos)
        self.decoder_src = Decoder(o.ae_dims, o.d_dims, o.d_mask_dims, o.double, o.tall, o.cos)
        self.decoder_dst = Decoder(o.ae_dims, o.d_dims, o.d_mask_dims, o.double, o.tall, o.cos)

    def predict(self, warped_src: Tensor, warped_dst: Tensor, morph_mask: Tensor | None = None) -> Predictions:
        src, srcm = self.decoder_src(self.inter(self.encoder(warped_src)))
        dst, dstm = self.decoder_dst(self.inter(self.encoder(warped_dst)))
        return src, srcm, dst, dstm

    def swap(self, dst: Tensor, morph_value: Tensor | None = None) -> Swap:
        code = self.inter(self.encoder(dst))
        celeb, celeb_mask = self.decoder_src(code)
        _, dst_mask = self.decoder_dst(code)
        return dst_mask, celeb, celeb_mask

    def code(self, x: Tensor) -> Tensor:
        """The inter's code of a face (what the true-face critic judges)."""
        return self.inter(self.encoder(x))  # type: ignore[no-any-return]

    def src_from_dst(self, warped_dst: Tensor, detach_code: bool = False) -> tuple[Tensor, Tensor]:
        code = self.code(warped_dst)
        return self.decoder_src(code.detach() if detach_code else code)  # type: ignore[no-any-return]


class LIAE(FaceModel):
    """One decoder; the code is inter_B(x) ++ inter_AB(x) for dst, inter_AB(x) twice for src and the swap."""

    inters = ("inter_AB", "inter_B")

    def __init__(self, options: ModelOptions) -> None:
        super().__init__(options)
        o = options
        low, flat = o.resolution // (32 if o.double else 16), encoded_size(o)
        self.encoder = Encoder(o.e_dims, o.tall, o.cos)
        self.inter_AB = Inter(flat, o.ae_dims, o.ae_dims * 2, low, o.norm, o.tall, o.cos)  # DeepFaceLab's names
        self.inter_B = Inter(flat, o.ae_dims, o.ae_dims * 2, low, o.norm, o.tall, o.cos)
        self.decoder = Decoder(o.ae_dims * 4, o.d_dims, o.d_mask_dims, o.double, o.tall, o.cos)

    def trained(self, random_warp: bool) -> tuple[str, ...]:
        """Without random warp, DeepFaceLab's SAEHD leaves inter_AB as it is and trains the rest."""
        return tuple(self.networks()) if random_warp else ("encoder", "inter_B", "decoder")

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

    def src_from_dst(self, warped_dst: Tensor, detach_code: bool = False) -> tuple[Tensor, Tensor]:
        ab = self.inter_AB(self.encoder(warped_dst))
        code = torch.cat([ab, ab], 1)
        return self.decoder(code.detach() if detach_code else code)  # type: ignore[no-any-return]


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
        self.decoder = Decoder(o.inter_dims, o.d_dims, o.d_mask_dims, True, tall=True)

    def trained(self, random_warp: bool) -> tuple[str, ...]:
        """DeepFaceLab's AMP trains the encoder and the decoder only: both inters keep their initial weights."""
        return ("encoder", "decoder")

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


class CodeDiscriminator(nn.Module):
    """The 'true face' critic (DeepFaceLab's CodeDiscriminator): 1 + code_res // 8 stride-2 convs (4x4, then 3x3;
    256 channels doubling up to 8x) on the inter's code, then one logit per cell."""

    def __init__(self, in_ch: int, code_res: int, ch: int = 256) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        prev = in_ch
        for i in range(1 + code_res // 8):
            cur = ch * min(2**i, 8)
            layers += [nn.Conv2d(prev, cur, 4 if i == 0 else 3, 2, padding=1), nn.LeakyReLU(0.1)]
            prev = cur
        layers.append(nn.Conv2d(prev, 1, 1))
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # type: ignore[no-any-return]


def code_resolution(o: ModelOptions) -> int:
    """The side of the inter's code map: the lowest dense resolution, doubled unless '-t'."""
    low = o.resolution // (32 if o.double else 16)
    return low if o.tall else low * 2


def unet_layers(patch_size: int, max_layers: int = 9) -> list[tuple[int, int]]:
    """The (kernel, stride) layers of DeepFaceLab's U-Net critic for a patch size: 3x3 convs, the first of stride
    2, the others of stride 1 or 2, whose receptive field is nearest ``patch_size``; among equal fields the fewest
    layers, then the most downsampling."""
    best: dict[int, tuple[int, int, list[tuple[int, int]]]] = {}
    for count in range(1, max_layers + 1):
        for strides in itertools.product(
            (2, 1), repeat=count - 1
        ):  # DeepFaceLab's order: the 2nd layer's varies fastest
            layers = [(3, 2)] + [(3, s) for s in reversed(strides)]
            field, step = 0, 1
            for i, (kernel, stride) in enumerate(layers):
                field = kernel if i == 0 else field + (kernel - 1) * step
                step *= stride
            rank = (count, -sum(s for _, s in layers))
            if field not in best or rank < best[field][:2]:
                best[field] = (*rank, layers)
    nearest = min(sorted(best), key=lambda f: abs(f - patch_size))
    return best[nearest][2]


class PatchDiscriminator(nn.Module):
    """The GAN's critic as DeepFaceLab builds it (UNetPatchDiscriminator): a 1x1 conv in, 3x3 convs down
    (channels gan_dims x 2^level, at most 512), a centre logit map, transposed convs back up with skips, and a
    full-size logit map. ``forward`` gives both maps; both enter the losses."""

    def __init__(self, resolution: int, patch_size: int, dims: int) -> None:
        super().__init__()
        layers = unet_layers(patch_size)
        chs = [min(dims * 2**i, 512) for i in range(len(layers) + 1)]  # chs[0]: the input conv's
        self.inp = nn.Conv2d(3, chs[0], 1)
        self.downs = nn.ModuleList(nn.Conv2d(chs[i], chs[i + 1], k, s, padding=1) for i, (k, s) in enumerate(layers))
        ups: list[nn.Module] = []
        for i, (k, s) in enumerate(layers):
            in_ch = chs[i + 1] * (1 if i == len(layers) - 1 else 2)
            ups.insert(0, nn.ConvTranspose2d(in_ch, chs[i], k, s, padding=1, output_padding=s - 1))
        self.ups = nn.ModuleList(ups)
        self.center_logits = nn.Conv2d(chs[-1], 1, 1)
        self.center = nn.Conv2d(chs[-1], chs[-1], 1)
        self.logits = nn.Conv2d(chs[0] * 2, 1, 1)
        init_weights(self)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = F.leaky_relu(self.inp(x), 0.2)
        skips: list[Tensor] = []
        for down in self.downs:
            skips.insert(0, x)
            x = F.leaky_relu(down(x), 0.2)
        center, x = self.center_logits(x), F.leaky_relu(self.center(x), 0.2)
        for up, skip in zip(self.ups, skips, strict=True):
            x = torch.cat([skip, F.leaky_relu(up(x), 0.2)], 1)
        return center, self.logits(x)
