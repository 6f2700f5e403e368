"""The unified family in PyTorch: one decoder-only transformer over text tokens and multi-scale image tokens.

This is the reference of `runtime/models/unified/README.md` (the spec): Qwen2 blocks (RMSNorm, rotate-half RoPE,
grouped-query attention with a fused biased qkv, SwiGLU), text tokens embedded by id, image tokens embedded from
the VQVAE's accumulated features (VAR's `word_embed`), and one head over text ids then image codes.

A sequence is described by plain segments (`Text`, `Image`) and laid out by `build_sequence` into per-token
fields (ids, features, levels, rotary positions, block-causal groups, targets) that do not depend on the weights;
`collate` pads a list of them into a `Batch`, and `Unified.forward` runs a whole batch at once under the spec's
block-causal mask. The generation loops at the bottom re-run the whole prefix at every step (no KV cache): the
mask makes that equal to cached inference, so they are an independent reference for the runtime's cached loop.
"""
from __future__ import annotations

import copy
import math
from dataclasses import MISSING, dataclass, field, fields

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

IGNORE = -100  # target of positions that predict nothing


@dataclass
class UnifiedConfig:
    """The "unified" section of config.json (example values: the conformance fixture)."""

    text_vocab_size: int  # T = 443
    depth: int  # 2
    embed_dim: int  # C = 64
    num_heads: int  # H = 4
    num_kv_heads: int  # Hkv = 2
    intermediate_size: int  # F = 160
    patch_nums: tuple[int, ...]  # (1, 2, 3, 4)
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    context_length: int = 256
    caption_view: bool = False  # an image before its caption is its full view only (`<image> BS </image>`)
    rope_2d: bool = False  # block tokens also rotate by their row and column (spec: "Rotary positions")
    pos_2d: bool = False  # block tokens also add pos_grid[row * P + col], a learned vector per grid cell
    pos_scales: bool = False  # block tokens also add pos_scale[t], a learned vector per token of blocks B1..BS

    def __post_init__(self) -> None:
        self.patch_nums = tuple(int(p) for p in self.patch_nums)
        if self.embed_dim % self.num_heads or (self.embed_dim // self.num_heads) % 2:
            raise ValueError(f"unified: embed_dim {self.embed_dim} must split into {self.num_heads} heads of even size")
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"unified: num_kv_heads {self.num_kv_heads} must divide num_heads {self.num_heads}")
        if self.patch_nums[0] != 1 or any(b <= a for a, b in zip(self.patch_nums, self.patch_nums[1:])):
            raise ValueError(f"unified: patch_nums must start at 1 and increase, found {list(self.patch_nums)}")
        if self.rope_2d and self.embed_dim // self.num_heads < 6:
            raise ValueError(f"unified: rope_2d needs a head dim of at least 6 (3 rotary pairs), found {self.embed_dim // self.num_heads}")

    def to_dict(self) -> dict:
        keys = ("text_vocab_size", "depth", "embed_dim", "num_heads", "num_kv_heads", "intermediate_size",
                "rms_norm_eps", "rope_theta", "patch_nums", "context_length")
        out = {k: getattr(self, k) for k in keys}
        out["patch_nums"] = list(self.patch_nums)
        for flag in ("caption_view", "rope_2d", "pos_2d", "pos_scales"):
            if getattr(self, flag):
                out[flag] = True
        return out


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


def rotate(x_BhLd: Tensor, cos_B1Ld: Tensor, sin_B1Ld: Tensor) -> Tensor:
    """Rotary embedding, rotate-half form: the pair (d, d + hd/2) turns by pos * theta^(-2d/hd)."""
    half = x_BhLd.shape[-1] // 2
    x1, x2 = x_BhLd[..., :half], x_BhLd[..., half:]
    return torch.cat([x1 * cos_B1Ld - x2 * sin_B1Ld, x2 * cos_B1Ld + x1 * sin_B1Ld], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: UnifiedConfig):
        super().__init__()
        self.h, self.hkv, self.hd = cfg.num_heads, cfg.num_kv_heads, cfg.embed_dim // cfg.num_heads
        self.qkv = nn.Linear(cfg.embed_dim, (self.h + 2 * self.hkv) * self.hd, bias=True)  # [(H+2Hkv)hd, C]
        self.o = nn.Linear(self.h * self.hd, cfg.embed_dim, bias=False)  # [C, H hd]

    def forward(self, y_BLC: Tensor, cos: Tensor, sin: Tensor, allowed_B1LL: Tensor) -> Tensor:
        B, L, _ = y_BLC.shape
        q, k, v = self.qkv(y_BLC).split([self.h * self.hd, self.hkv * self.hd, self.hkv * self.hd], dim=-1)
        q = rotate(q.view(B, L, self.h, self.hd).transpose(1, 2), cos, sin)
        k = rotate(k.view(B, L, self.hkv, self.hd).transpose(1, 2), cos, sin)
        v = v.view(B, L, self.hkv, self.hd).transpose(1, 2)
        # Query head h reads kv head h * Hkv // H: the G = H / Hkv query heads of a kv head are stacked along the
        # rows, [B, Hkv, G*L, hd], so that k and v are used as they are rather than copied G times.
        G = self.h // self.hkv
        scores = (q * self.hd**-0.5).reshape(B, self.hkv, G * L, self.hd) @ k.transpose(-1, -2)
        scores = scores.view(B, self.hkv, G, L, L).masked_fill(~allowed_B1LL[:, :, None], float("-inf"))
        out = scores.softmax(dim=-1).view(B, self.hkv, G * L, L) @ v  # [B, Hkv, G*L, hd]
        return self.o(out.view(B, self.h, L, self.hd).transpose(1, 2).reshape(B, L, self.h * self.hd))


class MLP(nn.Module):
    def __init__(self, cfg: UnifiedConfig):
        super().__init__()
        self.gate = nn.Linear(cfg.embed_dim, cfg.intermediate_size, bias=False)  # [F, C]
        self.up = nn.Linear(cfg.embed_dim, cfg.intermediate_size, bias=False)  # [F, C]
        self.down = nn.Linear(cfg.intermediate_size, cfg.embed_dim, bias=False)  # [C, F]

    def forward(self, y: Tensor) -> Tensor:
        return self.down(F.silu(self.gate(y)) * self.up(y))


class Layer(nn.Module):
    def __init__(self, cfg: UnifiedConfig):
        super().__init__()
        self.input_norm = RMSNorm(cfg.embed_dim, cfg.rms_norm_eps)
        self.attn = Attention(cfg)
        self.post_attn_norm = RMSNorm(cfg.embed_dim, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, allowed: Tensor) -> Tensor:
        h = x + self.attn(self.input_norm(x), cos, sin, allowed)
        return h + self.mlp(self.post_attn_norm(h))


@dataclass
class Batch:
    """Per-token fields of B padded sequences of length L (what `collate` builds)."""

    ids: Tensor  # long [B, L]: text id (`<pad>` at image-block and padding positions)
    is_block: Tensor  # bool [B, L]: token of an image block Bs (embedded from features, not by id)
    level: Tensor  # long [B, L]: level_embed row (0 for `<image>`, s for block Bs), -1 for none
    row: Tensor  # long [B, L]: pos_row row r(i, pn_s) of block tokens
    col: Tensor  # long [B, L]: pos_col row r(j, pn_s) of block tokens
    feats: Tensor  # float [B, L, Cvae]: area(Fs, pn_s) at block tokens, 0 elsewhere
    pos: Tensor  # long [B, L]: rotary position
    group: Tensor  # long [B, L]: non-decreasing; a token sees keys whose group is <= its own
    key_valid: Tensor  # bool [B, L]: false for padding and hidden prompt tokens
    target: Tensor  # long [B, L]: next text id, or T + image code, or IGNORE

    def to(self, device: torch.device) -> "Batch":
        """The batch with every field on `device` (a field already there is not copied)."""
        return Batch(**{f.name: getattr(self, f.name).to(device, non_blocking=True) for f in fields(self)})


def unit_rms(codebook_VC: Tensor) -> Tensor:
    """A detached float copy of the codebook scaled so that its entries have unit root mean square, [V, Cvae]."""
    book = codebook_VC.detach().float()
    return book / book.pow(2).mean().sqrt()


class Unified(nn.Module):
    """The transformer of the spec; state-dict names are the spec's without the `unified.` prefix."""

    def __init__(self, cfg: UnifiedConfig, vae_vocab_size: int, vae_channels: int):
        super().__init__()
        self.cfg, self.V, self.Cvae = cfg, vae_vocab_size, vae_channels
        T, C, S, P = cfg.text_vocab_size, cfg.embed_dim, len(cfg.patch_nums), cfg.patch_nums[-1]
        self.tok_embed = nn.Embedding(T, C)  # [T, C]
        self.word_embed = nn.Linear(vae_channels, C)  # [C, Cvae]
        self.level_embed = nn.Embedding(S + 1, C)  # [S+1, C]
        self.pos_row = nn.Embedding(P, C)  # [P, C]
        self.pos_col = nn.Embedding(P, C)  # [P, C]
        if cfg.pos_2d:
            self.pos_grid = nn.Embedding(P * P, C)  # [P*P, C]
        if cfg.pos_scales:
            self._add_pos_scale()
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg.depth))
        self.norm = RMSNorm(C, cfg.rms_norm_eps)
        self.head = nn.Linear(C, T + vae_vocab_size, bias=False)  # [T+V, C]
        self.register_buffer("code_basis", None, persistent=False)  # [V, Cvae], training only: see use_code_head
        self.reset_parameters()

    def use_code_head(self, codebook_VC: Tensor) -> None:
        """Training-only reparameterisation of the image rows of the head: W = head + basis @ code_proj, where the basis
        is the VQVAE codebook (scaled to unit RMS) and code_proj [Cvae, C] starts at zero. Codes close in the codebook
        then share what the head learns; `folded_state_dict` writes the sum into `head.weight`, so the exported
        model has the spec's plain head."""
        self.code_basis = unit_rms(codebook_VC)
        self.code_proj = nn.Parameter(torch.zeros(self.code_basis.shape[1], self.cfg.embed_dim))

    def rebase_code_head(self, codebook_VC: Tensor) -> None:
        """Points the code head at another codebook, for a fine-tune onto another tokenizer: the image rows learned so far
        are folded into `head.weight` and code_proj starts again at zero, so the head computes what it computed."""
        with torch.no_grad():
            self.head.weight[self.cfg.text_vocab_size :] = self.image_head_weight()
        self.use_code_head(codebook_VC)

    def add_pos_grid(self) -> None:
        """Turns on pos_2d in a model trained without it, for a fine-tune: pos_grid starts at zero, so the model
        computes what it computed before until training moves it."""
        if self.cfg.pos_2d:
            return
        self.cfg.pos_2d = True
        self.pos_grid = nn.Embedding(self.cfg.patch_nums[-1] ** 2, self.cfg.embed_dim)  # [P*P, C]
        nn.init.zeros_(self.pos_grid.weight)

    def add_pos_scales(self) -> None:
        """Turns on pos_scales in a model trained without it, for a fine-tune: pos_scale starts at zero."""
        if self.cfg.pos_scales:
            return
        self.cfg.pos_scales = True
        self._add_pos_scale()
        nn.init.zeros_(self.pos_scale.weight)

    def grow(self, depth: int) -> None:
        """Deepens the model to `depth` layers for a fine-tune. The new layers are spread evenly between the old ones,
        each a copy of the layer before it with its two residual outputs (`attn.o`, `mlp.down`) at zero, so the model
        computes what it computed before; the copied inner weights give those outputs a useful gradient at once."""
        old, extra = len(self.layers), depth - len(self.layers)
        if extra < 0:
            raise ValueError(f"grow: the model has {old} layers and cannot shrink to {depth}")
        # Old layer i is followed by new[i] copies of itself: 4 layers grown to 6 get one after layers 1 and 3.
        new = [0] * old
        for j in range(extra):
            new[((j + 1) * old - 1) // extra] += 1
        layers = []
        for layer, copies in zip(self.layers, new):
            layers.append(layer)
            for _ in range(copies):
                twin = copy.deepcopy(layer)
                nn.init.zeros_(twin.attn.o.weight)
                nn.init.zeros_(twin.mlp.down.weight)
                layers.append(twin)
        self.layers = nn.ModuleList(layers)
        self.cfg.depth = depth

    def _add_pos_scale(self) -> None:
        """pos_scale [Lb, C], one row per token of blocks B1..BS in sequence order (block Bs holds side_s² tokens,
        side_s = patch_nums[s] below S and P for the full view BS), and `block_index` [S+1, P, P]: the row of the
        token of block `level` whose centre cell is (row, col)."""
        pns, P = self.cfg.patch_nums, self.cfg.patch_nums[-1]
        sides = [*pns[1:], P]
        index = torch.zeros(len(pns) + 1, P, P, dtype=torch.long)
        t = 0
        for s, pn in enumerate(sides, start=1):
            r = [(2 * i + 1) * P // (2 * pn) for i in range(pn)]
            for i in range(pn):
                for j in range(pn):
                    index[s, r[i], r[j]] = t
                    t += 1
        self.register_buffer("block_index", index.to(self.tok_embed.weight.device), persistent=False)
        self.pos_scale = nn.Embedding(t, self.cfg.embed_dim).to(self.tok_embed.weight.device)  # [Lb, C]

    def folded_state_dict(self) -> dict[str, Tensor]:
        """The state dict in the spec's names: the code head (if any) added into the image rows of `head.weight`."""
        state = self.state_dict()
        if self.code_basis is not None:
            state.pop("code_proj")
            T = self.cfg.text_vocab_size
            state["head.weight"] = torch.cat([state["head.weight"][:T], self.image_head_weight().detach()])
        return state

    def image_head_weight(self) -> Tensor:
        """The image rows of the head, [V, C]."""
        w = self.head.weight[self.cfg.text_vocab_size :]
        return w if self.code_basis is None else w + self.code_basis @ self.code_proj

    @staticmethod
    def from_config(unified: dict, vae: dict) -> "Unified":
        """Builds the model from config.json's "unified" and "vae" sections."""
        known = set(UnifiedConfig.__dataclass_fields__)
        required = {k for k, f in UnifiedConfig.__dataclass_fields__.items() if f.default is MISSING}
        if set(unified) - known or required - set(unified):
            raise ValueError(f'"unified" config: unknown keys {sorted(set(unified) - known)}, missing {sorted(required - set(unified))}')
        cfg = UnifiedConfig(**unified)
        vae_pn = list(vae.get("v_patch_nums", cfg.patch_nums))
        if vae_pn != list(cfg.patch_nums):
            raise ValueError(f"unified patch_nums {list(cfg.patch_nums)} differ from the VQVAE's v_patch_nums {vae_pn}")
        return Unified(cfg, int(vae["vocab_size"]), int(vae["z_channels"]))

    def config(self) -> dict:
        """config.json's "unified" section."""
        return self.cfg.to_dict()

    def reset_parameters(self, std: float = 0.02) -> None:
        """GPT-style init: normal(std) weights, zero biases, unit norms, residual outputs scaled by depth."""
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                nn.init.ones_(p)
            elif name.endswith("bias"):
                nn.init.zeros_(p)
            else:
                scale = 1 / math.sqrt(2 * self.cfg.depth) if name.endswith(("attn.o.weight", "mlp.down.weight")) else 1.0
                nn.init.normal_(p, std=std * scale)

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    def rope(self, b: Batch) -> tuple[Tensor, Tensor]:
        """cos and sin [B, 1, L, hd/2] of each token's rotary angle per pair: pair d turns by its position times
        theta^(-2d/hd). With `rope_2d` pair d reads axis d mod 3 of (pos, pos + row, pos + col) at block tokens."""
        hd = self.cfg.embed_dim // self.cfg.num_heads
        inv_freq = self.cfg.rope_theta ** (-torch.arange(0, hd // 2, dtype=torch.float64, device=b.pos.device) * 2 / hd)
        pos = b.pos[..., None].expand(*b.pos.shape, hd // 2)  # [B, L, hd/2]
        if self.cfg.rope_2d:
            axis = torch.arange(hd // 2, device=b.pos.device) % 3
            pos = pos + b.is_block[..., None] * ((axis == 1) * b.row[..., None] + (axis == 2) * b.col[..., None])
        angle = pos.to(torch.float64) * inv_freq
        return angle.cos().float()[:, None], angle.sin().float()[:, None]

    def embed(self, b: Batch) -> Tensor:
        """Input embeddings [B, L, C]: tok_embed by id, or word_embed(features) + pos_row + pos_col (+ pos_grid)
        (+ pos_scale); + level_embed."""
        text = self.tok_embed(b.ids)
        block = self.word_embed(b.feats) + self.pos_row(b.row) + self.pos_col(b.col)
        if self.cfg.pos_2d:
            block = block + self.pos_grid(b.row * self.cfg.patch_nums[-1] + b.col)
        if self.cfg.pos_scales:
            block = block + self.pos_scale(self.block_index[b.level.clamp(min=0), b.row, b.col])
        x = torch.where(b.is_block[..., None], block, text)
        return x + self.level_embed(b.level.clamp(min=0)) * (b.level >= 0)[..., None]

    def forward(self, b: Batch) -> Tensor:
        """Final-normed hidden states [B, L, C] under the block-causal mask and the key mask (the batch is moved to
        the model's device)."""
        b = b.to(self.device)
        allowed = (b.group[:, None, :] <= b.group[:, :, None]) & b.key_valid[:, None, :]
        cos, sin = self.rope(b)
        x = self.embed(b)
        for layer in self.layers:
            x = layer(x, cos, sin, allowed[:, None])
        return self.norm(x)

    def text_logits(self, h: Tensor) -> Tensor:
        """Logits over the T text ids (the head's first T rows)."""
        return h @ self.head.weight[: self.cfg.text_vocab_size].T

    def image_logits(self, h: Tensor) -> Tensor:
        """Logits over the V image codes (the head's last V rows)."""
        return h @ self.image_head_weight().T


# ---- sequences --------------------------------------------------------------------------------------------------


@dataclass
class Specials:
    """Ids of the special tokens, looked up by name in the tokenizer."""

    pad: int
    eos: int
    text: int
    image: int
    end_image: int

    @staticmethod
    def of(tokenizer) -> "Specials":
        t = tokenizer.token_id
        return Specials(t("<pad>"), t("<eos>"), t("<text>"), t("<image>"), t("</image>"))


@dataclass
class Text:
    """Plain text tokens; `prompt` marks the text that guidance and prompt dropout hide."""

    ids: list[int]
    prompt: bool = False


@dataclass
class Image:
    """An image: `codes[s]` long [pn_s²] for the scales known so far; `feats[s-1]` [pn_s², Cvae] = area(Fs, pn_s)
    for each block fed. Open images feed blocks 1..min(known, S-1); closed ones feed all S blocks and `</image>`.
    A `view` is a clip's previous frame as context: `<image> BS </image>`, only the full view, fed from `feats[-1]`
    (its final features, [P², Cvae]); it predicts nothing. `start` [Cvae, P, P] is where the accumulated features
    begin (zero when None): a clip's next frame starts from the previous frame's final features, so its codes are
    the residual between the frames. `through` K (open images only) stops the image after scale K - 1: blocks
    1..K-1 are fed and predicted, nothing finer (a coarse-only training sequence, a quarter of the positions at K = 4
    of 5)."""

    codes: list[Tensor]
    feats: list[Tensor] = field(default_factory=list)
    closed: bool = False
    view: bool = False
    start: Tensor | None = None
    through: int | None = None


def block_features(vae, codes: list[Tensor], patch_nums: tuple[int, ...], blocks: int,
                   start: Tensor | None = None) -> tuple[list[Tensor], list[Tensor]]:
    """Inputs of blocks 1..blocks from the codes of a batch of images (`codes[s]` long [B, pn_s²]), whose accumulated
    features begin at `start` [B, Cvae, P, P] (zero when None).

    Returns (feats, f_hats): feats[s-1] [B, pn_s², Cvae] = area(Fs, pn_s) row-major; f_hats[s] = F(s+1), the
    accumulated features after scales 0..s, [B, Cvae, P, P], for every scale whose codes are given."""
    P = patch_nums[-1]
    B = codes[0].shape[0]
    f = torch.zeros(B, vae.config()["z_channels"], P, P) if start is None else start.clone()
    feats, f_hats = [], []
    for s, idx in enumerate(codes):
        f = vae.add_scale(f, idx, s)
        f_hats.append(f)
        if s + 1 <= blocks:
            pn = patch_nums[s + 1] if s + 1 < len(patch_nums) else P
            feats.append(F.adaptive_avg_pool2d(f, pn).flatten(2).transpose(1, 2))
    return feats, f_hats


@torch.no_grad()
def self_corrected(vae, codes: list[Tensor], patch_nums: tuple[int, ...], rates: Tensor, near: int,
                   generator: torch.Generator, drawn: list[Tensor] | None = None,
                   flips: list[Tensor] | None = None, start: Tensor | None = None) -> tuple[list[Tensor], list[Tensor]]:
    """Targets and block inputs of a batch of images whose coarse scales are drawn wrong on purpose, so that every
    finer scale learns to correct what came before it (the bitwise self-correction of Infinity, for a codebook).

    `codes[s]` long [B, pn_s²] are the images' true codes; each token of scales 0..S-2 is replaced, with image b's
    probability `rates[b]`, by one of the `near` codes nearest to what it quantises (a near miss, as a sampler
    makes), or with `drawn` by drawn[s] (long [B, pn_s²]: the model's own draws, so the errors it makes itself).
    `flips[s]` bool [B, pn_s²], when given, says which tokens are replaced in place of the rates: the same
    replacements over several calls. The features then accumulate the replaced codes, and from the first replacement
    on an image's targets are its residual quantised anew: the codes that bring the accumulated features back to the
    true image's (its features accumulated over the true codes). An image with nothing replaced keeps its codes and
    features. With `start` [B, Cvae, P, P] the features accumulate from there (a clip's next frame, whose codes are
    the residual from the frame before) instead of from zero.

    Returns (targets, feats): targets[s] long [B, pn_s²]; feats[s-1] [B, pn_s², Cvae] as block_features gives."""
    q, P, S = vae.quantize, patch_nums[-1], len(patch_nums)
    B = codes[0].shape[0]
    f0 = torch.zeros(B, vae.config()["z_channels"], P, P) if start is None else start
    f_true = f0
    for s, idx in enumerate(codes):
        f_true = vae.add_scale(f_true, idx, s)
    f = f0
    moved = torch.zeros(B, dtype=torch.bool)
    targets, feats = [], []
    for s, pn in enumerate(patch_nums):
        z_NC = q.rest_tokens(f_true - f, s)
        target = torch.where(moved[:, None], q.nearest(z_NC).view(B, pn * pn), codes[s])
        targets.append(target)
        if s == S - 1:
            break
        flip = flips[s] if flips is not None else torch.rand(B, pn * pn, generator=generator) < rates[:, None]
        fed = target
        if drawn is not None:
            fed = torch.where(flip, drawn[s], target)
        elif flip.any():
            nearest_Nk = q.distances(z_NC).topk(near + 1, largest=False).indices[:, 1:]  # the nearest but the code itself
            pick = torch.randint(near, (B * pn * pn, 1), generator=generator)
            fed = torch.where(flip, nearest_Nk.gather(1, pick).view(B, pn * pn), target)
        moved |= (fed != target).any(1)
        f = vae.add_scale(f, fed, s)
        feats.append(F.adaptive_avg_pool2d(f, patch_nums[s + 1]).flatten(2).transpose(1, 2))
    return targets, feats


_FIELDS = ("ids", "is_block", "level", "row", "col", "pos", "group", "key_valid", "target")


def build_sequence(segments: list, sp: Specials, model: Unified, drop_prompt: bool = False) -> dict[str, Tensor]:
    """Lays out `<text>` + segments into the per-token fields of `Batch` (unbatched, length L).

    Text tokens predict the next text token, `<image>` and blocks B1..B(S-1) the codes of their scale (where
    known), BS nothing. With `drop_prompt` the prompt tokens become `<pad>`, are masked as keys and are neither
    predicted nor predicting."""
    cfg, T = model.cfg, model.cfg.text_vocab_size
    S, P, pns = len(cfg.patch_nums), cfg.patch_nums[-1], cfg.patch_nums
    cols: dict[str, list] = {k: [] for k in _FIELDS}
    hidden: list[bool] = []
    feats: list[Tensor] = []
    group = pos = 0

    def add(ids: int, pos: int, is_block=False, level=-1, row=0, col=0, hide=False, target=IGNORE) -> None:
        for k, v in zip(_FIELDS, (sp.pad if hide else ids, is_block, level, row, col, pos, group, not hide, target)):
            cols[k].append(v)
        hidden.append(hide)

    add(sp.text, pos)
    group, pos = group + 1, pos + 1
    for seg in segments:
        if isinstance(seg, Text):
            for tid in seg.ids:
                add(tid, pos, hide=drop_prompt and seg.prompt)
                group, pos = group + 1, pos + 1
            continue
        if seg.view:
            # `<image>` at p, BS at p + S, `</image>` at p + S + 1: the positions of a closed image's ends and full view.
            add(sp.image, pos, level=0)
            group += 1
            for n in range(P * P):
                add(sp.pad, pos + S, is_block=True, level=S, row=n // P, col=n % P)
            feats.append(seg.feats[-1].reshape(P * P, model.Cvae).float())
            group += 1
            pos += S + 1
            add(sp.end_image, pos)
            group, pos = group + 1, pos + 1
            continue
        known = len(seg.codes)
        if seg.closed and known != S:
            raise ValueError(f"a closed image needs the codes of all {S} scales, found {known}")
        blocks = S if seg.closed else min(known, S - 1)
        if seg.through is not None:
            if seg.closed or not 1 <= seg.through <= min(known, S):
                raise ValueError(f"`through` needs an open image and 1 <= through <= its known scales; found through "
                                 f"{seg.through} on a{' closed' if seg.closed else 'n open'} image with {known} of {S} scales known")
            blocks = seg.through - 1
        if len(seg.feats) < blocks:
            raise ValueError(f"an image feeding {blocks} blocks needs {blocks} feature maps, found {len(seg.feats)}")
        add(sp.image, pos, level=0, target=T + int(seg.codes[0].reshape(-1)[0]) if known else IGNORE)
        group += 1
        for s in range(1, blocks + 1):
            pn = pns[s] if s < S else P
            r = [(2 * i + 1) * P // (2 * pn) for i in range(pn)]
            tgt = (T + seg.codes[s].reshape(-1)).tolist() if s < min(known, S) else [IGNORE] * (pn * pn)
            for n in range(pn * pn):
                add(sp.pad, pos + s, is_block=True, level=s, row=r[n // pn], col=r[n % pn], target=tgt[n])
            feats.append(seg.feats[s - 1].reshape(pn * pn, model.Cvae).float())
            group += 1
        pos += S + 1
        if seg.closed:
            add(sp.end_image, pos)
            group, pos = group + 1, pos + 1
    L = len(cols["ids"])
    if L > cfg.context_length:
        raise ValueError(f"sequence of {L} tokens exceeds context_length {cfg.context_length}")
    for i in range(L - 1):
        is_text = not cols["is_block"][i] and cols["level"][i] != 0
        if is_text and not cols["is_block"][i + 1] and not (hidden[i] or hidden[i + 1]):
            cols["target"][i] = cols["ids"][i + 1]
    out = {k: torch.tensor(v, dtype=torch.bool if k in ("is_block", "key_valid") else torch.long) for k, v in cols.items()}
    out["feats"] = torch.zeros(L, model.Cvae)
    if feats:
        out["feats"][out["is_block"]] = torch.cat(feats)
    return out


def collate(seqs: list[dict[str, Tensor]], pad_id: int) -> Batch:
    """Pads sequences at the end into one Batch; padding is masked as keys and predicts nothing."""
    L = max(len(s["ids"]) for s in seqs)
    fill = {"ids": pad_id, "is_block": False, "level": -1, "row": 0, "col": 0, "pos": 0, "key_valid": False, "target": IGNORE}
    out: dict[str, Tensor] = {}
    for k, v in fill.items():
        out[k] = torch.stack([torch.cat([s[k], torch.full((L - len(s[k]),), v, dtype=s[k].dtype)]) for s in seqs])
    out["group"] = torch.stack([torch.cat([s["group"], s["group"][-1] + 1 + torch.arange(L - len(s["group"]))]) for s in seqs])
    out["feats"] = torch.stack([F.pad(s["feats"], (0, 0, 0, L - len(s["ids"]))) for s in seqs])
    return Batch(**out)


# ---- generation (whole prefix re-run at every step: an independent reference for cached inference) --------------


def choose(logits_NK: Tensor, top_k: int = 1, top_p: float = 0.0, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    """One id per row: argmax when top_k is 1, else top-k / top-p filtering (VAR's rules) and a softmax draw."""
    if top_k == 1:
        return logits_NK.argmax(-1)
    x = logits_NK / max(temperature, 1e-6)
    if top_k > 0:
        x = x.masked_fill(x < x.topk(min(top_k, x.shape[-1]), dim=-1).values[:, -1:], float("-inf"))
    if top_p > 0:
        sorted_x, order = x.sort(dim=-1)
        drop = sorted_x.softmax(-1).cumsum(-1) <= 1 - top_p
        drop[:, -1] = False
        x = x.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    return torch.multinomial(x.softmax(-1), 1, generator=generator)[:, 0]


def top2_gap(logits_NK: Tensor) -> float:
    """The smallest gap between the best and the second-best logit over the rows: how close greedy came to a tie."""
    top = logits_NK.topk(2, dim=-1).values
    return float((top[:, 0] - top[:, 1]).min())


@torch.no_grad()
def encode_image(vae, img01_B3HW: Tensor, patch_nums: tuple[int, ...], view: bool = False) -> Image:
    """A closed Image (codes and block features of all scales) of one image in [0, 1]; with `view`, fed as its
    full view only (what a model with `caption_view` reads before a caption)."""
    codes = vae.encode_idx(img01_B3HW * 2 - 1)
    feats, _ = block_features(vae, codes, patch_nums, len(patch_nums))
    return Image(codes=codes, feats=feats, closed=True, view=view)


@torch.no_grad()
def generate_image(model: Unified, vae, sp: Specials, prefix: list, cfg_scale: float, top_k: int | list[int] = 1, top_p: float = 0.0,
                   temperature: float = 1.0, generator: torch.Generator | None = None, start: Tensor | None = None) -> dict:
    """Generates the image that follows `prefix` (whose last Text should be the prompt), scale by scale, with guidance;
    its accumulated features begin at `start` [1, Cvae, P, P] (a clip's previous frame) or zero. `top_k` is one value
    for every scale or a list with one per scale.

    Returns lists over scales of guided image logits [1, pn², V], codes [1, pn²], f_hat [1, Cvae, P, P] and top-2
    gaps, and the decoded image [1, 3, H, W] in [0, 1]."""
    pns = model.cfg.patch_nums
    top_ks = top_k if isinstance(top_k, list) else [top_k] * len(pns)
    if len(top_ks) != len(pns):
        raise ValueError(f"generate_image: expected one top-k per scale ({len(pns)}), found {len(top_ks)}")
    out: dict = {"logits": [], "idx": [], "f_hat": [], "gap": []}
    f = torch.zeros(1, model.Cvae, pns[-1], pns[-1]) if start is None else start.clone()
    img = Image(codes=[], feats=[])
    for s, pn in enumerate(pns):
        rows = [build_sequence(prefix + [img], sp, model, drop_prompt=drop) for drop in (False, True)]
        lg = model.image_logits(model(collate(rows, sp.pad))[:, -pn * pn :]).float().cpu()  # the VQVAE stays on the CPU
        guided = (1 + cfg_scale) * lg[0] - cfg_scale * lg[1]
        idx = choose(guided, top_ks[s], top_p, temperature, generator)[None]
        f = vae.add_scale(f, idx, s)
        img.codes.append(idx)
        if s + 1 < len(pns):
            img.feats.append(F.adaptive_avg_pool2d(f, pns[s + 1]).flatten(2).transpose(1, 2))
        for k, v in (("logits", guided[None]), ("idx", idx), ("f_hat", f), ("gap", top2_gap(guided))):
            out[k].append(v)
    out["image"] = (vae.decode(f).clamp(-1, 1) + 1) / 2
    return out


@torch.no_grad()
def generate_text(model: Unified, sp: Specials, prefix: list, n_tokens: int, stop_at_eos: bool = False) -> dict:
    """Greedy text after `prefix` (e.g. a closed Image, for a caption): ids [N], text logits [N, T], top-2 gaps."""
    ids: list[int] = []
    logits, gaps = [], []
    for _ in range(n_tokens):
        h = model(collate([build_sequence(prefix + [Text(ids)], sp, model)], sp.pad))
        lg = model.text_logits(h[0, -1:]).float().cpu()
        ids.append(int(choose(lg)[0]))
        logits.append(lg[0])
        gaps.append(top2_gap(lg))
        if stop_at_eos and ids[-1] == sp.eos:
            break
    return {"ids": ids, "logits": torch.stack(logits), "gap": gaps}
