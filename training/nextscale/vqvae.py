"""VAR's multi-scale VQVAE in PyTorch: the project's own implementation, trained by train_vqvae.py.

The network and every state-dict name match the public VAR tokenizer (`encoder.*`, `decoder.*`,
`quant_conv.*`, `post_quant_conv.*`, `quantize.embedding.weight`, `quantize.quant_resi.qresi_ls.{k}.*`,
`quantize.ema_vocab_hit_SV`), so a tokenizer trained here loads unchanged in the runtime
(runtime/models/vqvae/vqvae.ts, quantizer.ts) and the public checkpoints load here.

Inference quantises residually over the scales: area-downsample what is left of the features, pick the
nearest code by squared distance, bicubic-upsample the code map, refine it with a shared phi convolution,
add it to f_hat and take it from the residual. Training runs the same loop with VAR's VQ losses and a
straight-through estimator; dead codes are re-seeded from recent residuals, which changes only the stored
codebook and never the inference rule.
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from nextscale import safetensors_io

GROUPS = 32
EPS = 1e-6


class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in float32 whatever the input's dtype (a bfloat16 autocast hands it bfloat16)."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.float()).to(x.dtype)


def _norm(c: int) -> nn.GroupNorm:
    return GroupNorm32(GROUPS, c, eps=EPS, affine=True)


class ResnetBlock(nn.Module):
    """x + conv2(silu(norm2(conv1(silu(norm1(x)))))), with a 1x1 `nin_shortcut` when channels change."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.norm1 = _norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = _norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.nin_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return self.nin_shortcut(x) + h


class AttnBlock(nn.Module):
    """Single-head self-attention over the H*W positions: x + proj_out(softmax(q^T k / sqrt(C)) v)."""

    def __init__(self, c: int):
        super().__init__()
        self.norm = _norm(c)
        self.qkv = nn.Conv2d(c, 3 * c, 1)  # q rows, then k, then v
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x: Tensor) -> Tensor:
        B, C, H, W = x.shape
        q_BCN, k_BCN, v_BCN = self.qkv(self.norm(x)).view(B, 3, C, H * W).unbind(1)
        attn_BNN = torch.softmax(torch.bmm(q_BCN.transpose(1, 2), k_BCN) * C**-0.5, dim=2)  # [query, key]
        out_BCN = torch.bmm(v_BCN, attn_BNN.transpose(1, 2))
        return x + self.proj_out(out_BCN.view(B, C, H, W))


class Upsample2x(nn.Module):
    """Nearest 2x upsampling, then a 3x3 conv."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class Downsample2x(nn.Module):
    """Pads right and bottom by one, then a stride-2 3x3 conv with no padding."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=0)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Level(nn.Module):
    """One resolution of the encoder or decoder: resblocks, attention after each (coarsest level only), resampling."""

    def __init__(self, blocks: list[ResnetBlock], attn: list[AttnBlock], resample: nn.Module | None, resample_name: str):
        super().__init__()
        self.block = nn.ModuleList(blocks)
        self.attn = nn.ModuleList(attn)
        self.resample_name = resample_name
        if resample is not None:
            self.add_module(resample_name, resample)

    def forward(self, h: Tensor) -> Tensor:
        for j, block in enumerate(self.block):
            h = block(h)
            if len(self.attn):
                h = self.attn[j](h)
        resample = getattr(self, self.resample_name, None)
        return resample(h) if resample is not None else h


class Mid(nn.Module):
    """block_1, attn_1 (when using_mid_sa), block_2 at the coarsest resolution."""

    def __init__(self, c: int, using_mid_sa: bool):
        super().__init__()
        self.block_1 = ResnetBlock(c, c)
        self.attn_1 = AttnBlock(c) if using_mid_sa else nn.Identity()
        self.block_2 = ResnetBlock(c, c)

    def forward(self, h: Tensor) -> Tensor:
        return self.block_2(self.attn_1(self.block_1(h)))


class Encoder(nn.Module):
    """Image [B,3,H,W] -> features [B,z_channels,H/2^(L-1),W/2^(L-1)] (before quant_conv)."""

    def __init__(self, ch: int, ch_mult: tuple[int, ...], num_res_blocks: int, z_channels: int, using_sa: bool, using_mid_sa: bool):
        super().__init__()
        levels = len(ch_mult)
        self.conv_in = nn.Conv2d(3, ch, 3, padding=1)
        self.down = nn.ModuleList()
        cin = ch
        for i, mult in enumerate(ch_mult):
            blocks, attn = [], []
            for _ in range(num_res_blocks):
                blocks.append(ResnetBlock(cin, ch * mult))
                cin = ch * mult
                if i == levels - 1 and using_sa:
                    attn.append(AttnBlock(cin))
            self.down.append(Level(blocks, attn, Downsample2x(cin) if i != levels - 1 else None, "downsample"))
        self.mid = Mid(cin, using_mid_sa)
        self.norm_out = _norm(cin)
        self.conv_out = nn.Conv2d(cin, z_channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv_in(x)
        for level in self.down:
            h = level(h)
        return self.conv_out(F.silu(self.norm_out(self.mid(h))))


class Decoder(nn.Module):
    """Features [B,z_channels,P,P] (after post_quant_conv) -> image [B,3,H,W], unclamped."""

    def __init__(self, ch: int, ch_mult: tuple[int, ...], num_res_blocks: int, z_channels: int, using_sa: bool, using_mid_sa: bool):
        super().__init__()
        levels = len(ch_mult)
        cin = ch * ch_mult[-1]
        self.conv_in = nn.Conv2d(z_channels, cin, 3, padding=1)
        self.mid = Mid(cin, using_mid_sa)
        up: list[Level] = []
        for i in reversed(range(levels)):  # coarsest first; stored finest first, as the reference does
            blocks, attn = [], []
            for _ in range(num_res_blocks + 1):
                blocks.append(ResnetBlock(cin, ch * ch_mult[i]))
                cin = ch * ch_mult[i]
                if i == levels - 1 and using_sa:
                    attn.append(AttnBlock(cin))
            up.insert(0, Level(blocks, attn, Upsample2x(cin) if i != 0 else None, "upsample"))
        self.up = nn.ModuleList(up)
        self.norm_out = _norm(cin)
        self.conv_out = nn.Conv2d(cin, 3, 3, padding=1)

    def forward(self, z: Tensor) -> Tensor:
        h = self.mid(self.conv_in(z))
        for level in reversed(self.up):
            h = level(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class Phi(nn.Conv2d):
    """phi(h) = (1 - r) h + r conv3x3(h): refines an upsampled code map."""

    def __init__(self, c: int, ratio: float):
        super().__init__(c, c, 3, padding=1)
        self.ratio = abs(ratio)

    def forward(self, h: Tensor) -> Tensor:
        return h * (1 - self.ratio) + super().forward(h) * self.ratio


class PhiShared(nn.Module):
    """K phi convolutions shared by the S scales: `qresi` when K = 1, `qresi_ls.{k}` otherwise."""

    def __init__(self, c: int, ratio: float, k: int):
        super().__init__()
        if k == 1:
            self.qresi = Phi(c, ratio)
        else:
            self.qresi_ls = nn.ModuleList(Phi(c, ratio) for _ in range(k))
        lo = 1 / 3 / k if k == 4 else 1 / 2 / k
        self.ticks = np.linspace(lo, 1 - lo, k)

    def at(self, si: int, num_scales: int) -> Phi:
        """The phi of scale si: the tick nearest to si / (S - 1) (the first one on a tie)."""
        if not hasattr(self, "qresi_ls"):
            return self.qresi
        return self.qresi_ls[int(np.argmin(np.abs(self.ticks - si / (num_scales - 1))))]


def upsample_bicubic(h: Tensor, size: int, circular: bool) -> Tensor:
    """F.interpolate(h, size, mode="bicubic", align_corners=False), or on the torus: h tiled 3x3, upsampled, and the
    middle tile kept, which wraps every tap around (exact for whole ratios; a 1x1 map is constant either way)."""
    if not circular:
        return F.interpolate(h, size=(size, size), mode="bicubic", align_corners=False)
    return F.interpolate(h.repeat(1, 1, 3, 3), size=(3 * size, 3 * size), mode="bicubic", align_corners=False)[..., size : 2 * size, size : 2 * size]


class VectorQuantizer(nn.Module):
    """The multi-scale residual quantizer (`quantize.*`): codebook, shared phi convs, per-scale code hit counts."""

    def __init__(self, vocab_size: int, c: int, v_patch_nums: tuple[int, ...], quant_resi: float, share_quant_resi: int, beta: float = 0.25):
        super().__init__()
        self.vocab_size, self.c, self.v_patch_nums, self.beta = vocab_size, c, tuple(v_patch_nums), beta
        self.embedding = nn.Embedding(vocab_size, c)
        nn.init.uniform_(self.embedding.weight, -1 / vocab_size, 1 / vocab_size)
        self.quant_resi = PhiShared(c, quant_resi, share_quant_resi)
        self.register_buffer("ema_vocab_hit_SV", torch.zeros(len(v_patch_nums), vocab_size))
        self.recent_rest_NC: Tensor | None = None  # residuals seen by the last training forward, for revive_dead_codes
        self.circular = False  # upsample token maps on the torus (VQVAE.set_padding)

    @contextlib.contextmanager
    def scales(self, v_patch_nums: tuple[int, ...]):
        """Quantises with another list of scales inside the block (training on crops), then restores the model's.
        Hit counts of a shorter list go to the model's last scales."""
        saved = self.v_patch_nums
        self.v_patch_nums = tuple(v_patch_nums)
        try:
            yield
        finally:
            self.v_patch_nums = saved

    def distances(self, z_NC: Tensor) -> Tensor:
        """Squared distances [N, V] from each z to every code, |z|^2 + |e|^2 - 2 z.e (the reference's rounding)."""
        e_VC = self.embedding.weight.detach()
        return (z_NC.square().sum(1, keepdim=True) + e_VC.square().sum(1)).addmm_(z_NC, e_VC.T, alpha=-2, beta=1)

    def nearest(self, z_NC: Tensor) -> Tensor:
        """Index of the nearest code by squared distance."""
        return self.distances(z_NC).argmin(1)

    def rest_tokens(self, f_rest: Tensor, si: int) -> Tensor:
        """The residual at scale si, area-downsampled (not on the last scale) and token-major: [B*pn*pn, C]."""
        pn = self.v_patch_nums[si]
        z = f_rest if si == len(self.v_patch_nums) - 1 else F.interpolate(f_rest, size=(pn, pn), mode="area")
        return z.permute(0, 2, 3, 1).reshape(-1, self.c)

    def contribution(self, idx_Bl: Tensor, si: int) -> Tensor:
        """phi_k(upsample_bicubic(codebook[idx])) [B, C, P, P]: what scale si adds to f_hat."""
        S, P, pn = len(self.v_patch_nums), self.v_patch_nums[-1], self.v_patch_nums[si]
        if idx_Bl.shape[1:] != (pn * pn,):
            raise ValueError(f"scale {si}: expected token map [B, {pn * pn}], found {list(idx_Bl.shape)}")
        h_BChw = self.embedding(idx_Bl.long()).transpose(1, 2).reshape(-1, self.c, pn, pn)
        if si != S - 1:
            h_BChw = upsample_bicubic(h_BChw, P, self.circular)
        return self.quant_resi.at(si, S)(h_BChw)

    def f_to_idx(self, f_BChw: Tensor, start: Tensor | None = None) -> list[Tensor]:
        """Token maps, long [B, pn*pn] per scale, of features f (inference); with `start` [B, C, P, P] the accumulated
        features begin there instead of at zero, so the maps code the residual f - start (a clip's next frame)."""
        B = f_BChw.shape[0]
        f_rest = f_BChw.detach().clone() if start is None else f_BChw.detach() - start
        idx_list: list[Tensor] = []
        for si, pn in enumerate(self.v_patch_nums):
            idx_Bl = self.nearest(self.rest_tokens(f_rest, si)).view(B, pn * pn)
            f_rest = f_rest - self.contribution(idx_Bl, si)
            idx_list.append(idx_Bl)
        return idx_list

    def forward(self, f_BChw: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Training: (f_hat with a straight-through gradient to f, VQ loss, code hits [S, V] of this batch).

        Per scale the codebook and phi learn from |f_hat_s - sg(f)|^2 and the encoder from
        beta |sg(f_hat_s) - f|^2, averaged over the scales, as in VAR.
        """
        B = f_BChw.shape[0]
        f_no_grad = f_BChw.detach()
        f_rest = f_no_grad.clone()
        f_hat = torch.zeros_like(f_rest)
        loss = f_BChw.new_zeros(())
        hits_SV = f_BChw.new_zeros(len(self.v_patch_nums), self.vocab_size)
        rests: list[Tensor] = []
        for si, pn in enumerate(self.v_patch_nums):
            z_NC = self.rest_tokens(f_rest, si)
            idx_N = self.nearest(z_NC)
            hits_SV[si] = idx_N.bincount(minlength=self.vocab_size).float()
            rests.append(z_NC)
            h = self.contribution(idx_N.view(B, pn * pn), si)
            f_hat = f_hat + h
            f_rest = f_rest - h.detach()
            loss = loss + F.mse_loss(f_hat, f_no_grad) + self.beta * F.mse_loss(f_hat.detach(), f_BChw)
        self._record_hits(hits_SV)
        self.recent_rest_NC = torch.cat(rests)
        return f_hat.detach() - f_no_grad + f_BChw, loss / len(self.v_patch_nums), hits_SV

    @torch.no_grad()
    def _record_hits(self, hits_SV: Tensor) -> None:
        if hits_SV.shape[0] < self.ema_vocab_hit_SV.shape[0]:
            hits_SV = torch.cat([hits_SV.new_zeros(self.ema_vocab_hit_SV.shape[0] - hits_SV.shape[0], hits_SV.shape[1]), hits_SV])
        if self.ema_vocab_hit_SV.sum() == 0:
            self.ema_vocab_hit_SV.copy_(hits_SV)
        else:
            self.ema_vocab_hit_SV.mul_(0.99).add_(hits_SV, alpha=0.01)

    @torch.no_grad()
    def revive_dead_codes(self, min_hits: float, generator: torch.Generator | None = None) -> int:
        """Re-seeds codes hit fewer than min_hits times per batch (EMA over all scales) with residuals of the
        last training forward; returns how many were re-seeded."""
        dead_V = self.ema_vocab_hit_SV.sum(0) < min_hits
        n = int(dead_V.sum())
        if n == 0 or self.recent_rest_NC is None:
            return 0
        pool_NC = self.recent_rest_NC
        pick = torch.randperm(pool_NC.shape[0], generator=generator)[:n]
        if pick.numel() < n:
            pick = torch.randint(pool_NC.shape[0], (n,), generator=generator)
        self.embedding.weight[dead_V] = pool_NC[pick]
        self.ema_vocab_hit_SV[:, dead_V] = 2 * min_hits / len(self.v_patch_nums)
        return n


_CONFIG_KEYS = ("vocab_size", "z_channels", "ch", "ch_mult", "num_res_blocks", "using_sa", "using_mid_sa",
                "quant_conv_ks", "quant_resi", "share_quant_resi", "v_patch_nums", "padding")
PADDINGS = ("zeros", "circular")


class VQVAE(nn.Module):
    """VAR's VQVAE: encoder, quant_conv, multi-scale quantizer, post_quant_conv, decoder.

    Images are [B, 3, H, W] in [-1, 1]; features and f_hat are [B, Cvae, P, P] with P = v_patch_nums[-1] =
    H / 2^(len(ch_mult) - 1); token maps are long [B, pn*pn], row-major.

    `padding` is the decode path's: the quantizer's upsampling of each token map and its phi convolutions,
    post_quant_conv and every convolution of the decoder. "zeros" is VAR's (bicubic taps clamped at the edges, convs
    padded with zeros); "circular" puts them on the torus, so that any token maps give an f_hat, and so an image,
    that tiles without a seam, and f_hat rolled by k cells decodes to the image rolled by k patches. The encoder and
    quant_conv pad with zeros either way. The quantizer's upsampling also makes the residuals, so an image's tokens
    depend on the padding.
    """

    def __init__(self, vocab_size: int, z_channels: int, ch: int, ch_mult: tuple[int, ...] = (1, 1, 2, 2, 4),
                 num_res_blocks: int = 2, using_sa: bool = True, using_mid_sa: bool = True, quant_conv_ks: int = 3,
                 quant_resi: float = 0.5, share_quant_resi: int = 4, v_patch_nums: tuple[int, ...] = (1, 2, 3, 4),
                 padding: str = "zeros"):
        cfg = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in locals().items() if k in _CONFIG_KEYS}
        super().__init__()
        self._config = cfg
        pns = tuple(int(p) for p in v_patch_nums)
        for bad, what in ((ch % GROUPS != 0, f"ch must be a multiple of {GROUPS} (GroupNorm with {GROUPS} groups), found {ch}"),
                          (len(pns) < 2 or any(b <= a for a, b in zip(pns, pns[1:])), f"v_patch_nums must be at least 2 increasing sizes, found {list(pns)}"),
                          (share_quant_resi < 1, f"share_quant_resi must be >= 1 (the runtime shares phi convolutions), found {share_quant_resi}"),
                          (abs(quant_resi) <= 1e-6, f"quant_resi must be non-zero (the runtime always loads phi convolutions), found {quant_resi}"),
                          (quant_conv_ks % 2 != 1, f"quant_conv_ks must be odd, found {quant_conv_ks}"),
                          (padding not in PADDINGS, f"padding must be one of {list(PADDINGS)}, found {padding!r}")):
            if bad:
                raise ValueError(what)
        self.v_patch_nums = pns
        self.downsample = 2 ** (len(ch_mult) - 1)
        arch = dict(ch=ch, ch_mult=tuple(ch_mult), num_res_blocks=num_res_blocks, z_channels=z_channels,
                    using_sa=using_sa, using_mid_sa=using_mid_sa)
        self.encoder = Encoder(**arch)
        self.decoder = Decoder(**arch)
        self.quantize = VectorQuantizer(vocab_size, z_channels, pns, quant_resi, share_quant_resi)
        self.quant_conv = nn.Conv2d(z_channels, z_channels, quant_conv_ks, padding=quant_conv_ks // 2)
        self.post_quant_conv = nn.Conv2d(z_channels, z_channels, quant_conv_ks, padding=quant_conv_ks // 2)
        self._init_identity()
        self.set_padding(padding)

    def set_padding(self, padding: str) -> None:
        """Puts the decode path (the quantizer's upsampling and phi, post_quant_conv, the decoder) on the torus, or
        back to VAR's zero padding and clamped upsampling."""
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {list(PADDINGS)}, found {padding!r}")
        for m in [self.post_quant_conv, *self.decoder.modules(), *self.quantize.quant_resi.modules()]:
            if isinstance(m, nn.Conv2d):
                m.padding_mode = padding
        self.quantize.circular = padding == "circular"
        self._config["padding"] = padding

    @torch.no_grad()
    def _init_identity(self) -> None:
        """Starts training from a shallow network: every residual branch and attention output at zero, the
        resampling convs as 2x2 averaging / nearest upsampling, the 1x1 shortcuts and quant convs as identities.
        With PyTorch's default init this deep stack sat for hundreds of steps at a flat grey output."""
        def identity(conv: nn.Conv2d, taps: tuple[slice, slice], value: float) -> None:
            conv.weight.zero_()
            conv.bias.zero_()
            cout, cin = conv.weight.shape[:2]
            for o in range(cout):  # a channel map that tiles (widening) or averages (narrowing) channels
                for i in range(o % cin, cin, cout) if cout < cin else (o % cin,):
                    conv.weight[o, i, taps[0], taps[1]] = value * min(1.0, cout / cin)
        centre = slice(self.quant_conv.kernel_size[0] // 2, self.quant_conv.kernel_size[0] // 2 + 1)
        for m in self.modules():
            if isinstance(m, ResnetBlock):
                nn.init.zeros_(m.conv2.weight)
                nn.init.zeros_(m.conv2.bias)
                if isinstance(m.nin_shortcut, nn.Conv2d):
                    identity(m.nin_shortcut, (slice(0, 1), slice(0, 1)), 1.0)
            elif isinstance(m, AttnBlock):
                nn.init.zeros_(m.proj_out.weight)
                nn.init.zeros_(m.proj_out.bias)
            elif isinstance(m, Upsample2x):
                identity(m.conv, (slice(1, 2), slice(1, 2)), 1.0)
            elif isinstance(m, Downsample2x):
                identity(m.conv, (slice(0, 2), slice(0, 2)), 0.25)
        identity(self.quant_conv, (centre, centre), 1.0)
        identity(self.post_quant_conv, (centre, centre), 1.0)

    @staticmethod
    def from_config(vae: dict) -> "VQVAE":
        """Builds the network a config.json "vae" section describes (snake_case keys, as the runtime reads them)."""
        unknown = sorted(set(vae) - set(_CONFIG_KEYS))
        if unknown:
            raise ValueError(f'"vae" config: unknown keys {unknown}, expected some of {list(_CONFIG_KEYS)}')
        missing = [k for k in ("vocab_size", "z_channels", "ch") if k not in vae]
        if missing:
            raise ValueError(f'"vae" config: missing {missing}, found keys {sorted(vae)}')
        return VQVAE(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in vae.items()})

    def config(self) -> dict:
        """The config.json "vae" section of this network (inverse of from_config)."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._config.items()}

    def encode_features(self, img_m11: Tensor, check_size: bool = True) -> Tensor:
        """Encoder then quant_conv: [B, 3, H, W] in [-1, 1] -> f [B, Cvae, P, P]."""
        size = self.v_patch_nums[-1] * self.downsample
        if img_m11.dim() != 4 or (check_size and tuple(img_m11.shape[1:]) != (3, size, size)):
            raise ValueError(f"expected images [B, 3, {size}, {size}] in [-1, 1], found {list(img_m11.shape)}")
        return self.quant_conv(self.encoder(img_m11))

    @torch.no_grad()
    def encode_idx(self, img_m11: Tensor) -> list[Tensor]:
        """Multi-scale residual quantisation of images: long [B, pn*pn] per scale."""
        return self.quantize.f_to_idx(self.encode_features(img_m11))

    def add_scale(self, f_hat: Tensor, idx_s: Tensor, s: int) -> Tensor:
        """f_hat + phi_k(upsample_bicubic(codebook[idx_s])) for scale s (a new tensor; f_hat is untouched)."""
        return f_hat + self.quantize.contribution(idx_s, s)

    def fhat_sequence(self, idx_list: list[Tensor]) -> list[Tensor]:
        """[F_1, ..., F_S]: F_s is the accumulated f_hat [B, Cvae, P, P] after scales 0 .. s-1."""
        if len(idx_list) != len(self.v_patch_nums):
            raise ValueError(f"expected {len(self.v_patch_nums)} token maps (one per scale), found {len(idx_list)}")
        P = self.v_patch_nums[-1]
        f_hat = self.quantize.embedding.weight.new_zeros(idx_list[0].shape[0], self.quantize.c, P, P)
        out: list[Tensor] = []
        for s, idx_s in enumerate(idx_list):
            f_hat = self.add_scale(f_hat, idx_s, s)
            out.append(f_hat)
        return out

    def decode(self, f_hat: Tensor) -> Tensor:
        """post_quant_conv then decoder: f_hat [B, Cvae, P, P] -> image [B, 3, H, W] clamped to [-1, 1]."""
        return self.decoder(self.post_quant_conv(f_hat)).clamp(-1, 1)

    def forward(self, img_m11: Tensor, check_size: bool = True) -> tuple[Tensor, Tensor, dict]:
        """Training forward: (unclamped reconstruction, VQ loss, stats); check_size=False accepts crops (with
        `quantize.scales` set to the crop's token map).

        stats: "hits" [S, V] code hits of this batch, "usage" the percentage of codes this batch used, "f_hat" the
        quantised features [B, Cvae, h, w] (their gradient goes straight through to the encoder).
        """
        f = self.encode_features(img_m11, check_size)
        with torch.autocast("cpu", enabled=False):  # nearest codes by float32 distances, under a bfloat16 autocast too
            f_hat, vq_loss, hits_SV = self.quantize(f.float())
        recon = self.decoder(self.post_quant_conv(f_hat))
        usage = float((hits_SV.sum(0) > 0).float().mean()) * 100
        return recon, vq_loss, {"hits": hits_SV, "usage": usage, "f_hat": f_hat}


def load_vae(folder: Path) -> VQVAE:
    """The VQVAE of a model folder (config.json "vae", weights.safetensors `vae.*`) or of an export (vae.json,
    vae.safetensors), in float32."""
    if (folder / "vae.json").exists():
        config, weights = json.loads((folder / "vae.json").read_text()), folder / "vae.safetensors"
    elif (folder / "config.json").exists():
        config, weights = json.loads((folder / "config.json").read_text()).get("vae"), folder / "weights.safetensors"
        if not isinstance(config, dict):
            raise ValueError(f'{folder / "config.json"}: expected a "vae" section')
    else:
        raise FileNotFoundError(f"{folder}: expected vae.json (an export) or config.json (a model folder)")
    model = VQVAE.from_config(config)
    state = {k.removeprefix("vae."): v.float() for k, v in safetensors_io.load(weights).items() if k.startswith("vae.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{weights}: VQVAE tensors missing {missing[:4]}{'...' if len(missing) > 4 else ''}, "
                         f"unexpected {unexpected[:4]}{'...' if len(unexpected) > 4 else ''}")
    return model
