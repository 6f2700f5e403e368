"""Loaders for the procedural texture world that `npm run world` exports, and seamless augmentation.

The exporter writes a folder:
    images.npy      uint8 [N, size, size, 3]
    captions.jsonl  one object per image: caption, pattern, colors, scale, rotation, heldout
    words.json      {"words": [...]}
    edit_src.npy, edit_dst.npy  uint8 [M, size, size, 3]  and  edits.jsonl {"instruction": ...}  (with --edits)
    clips.npy       uint8 [M, F, size, size, 3]  and  clips.jsonl {"caption", "motion", "heldout"}  (with --clips)

The textures tile seamlessly, so rolling an image by any offset yields another valid texture of the
same caption: that is the augmentation the captioned models may use freely. Flips also keep textures
seamless but mirror the pattern (a 30-degree rotation becomes -30), so they are for the VQVAE only.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from torch import Tensor


def _load_npy_images(path: Path) -> Tensor:
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing (expected uint8 [N, size, size, 3] from `npm run world`)")
    arr = np.load(path)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[3] != 3 or arr.shape[1] != arr.shape[2]:
        raise ValueError(f"{path}: expected uint8 [N, size, size, 3], found {arr.dtype} {list(arr.shape)}")
    return torch.from_numpy(np.ascontiguousarray(arr))


def _load_jsonl(path: Path, text_field: str) -> list[dict]:
    """One dict per line of a world's JSONL file, each with a string under `text_field`."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing (expected one JSON object per line from `npm run world`)")
    rows: list[dict] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: not valid JSON ({e})") from e
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{n}: expected a JSON object, found {type(row).__name__}")
        if not isinstance(row.get(text_field), str):
            raise ValueError(f"{path}:{n}: expected a string \"{text_field}\", found {row.get(text_field)!r}")
        rows.append(row)
    return rows


def load_images(dir: str | Path) -> Tensor:
    """DIR/images.npy as torch.uint8 [N, H, W, 3]."""
    return _load_npy_images(Path(dir) / "images.npy")


def load_captions(dir: str | Path) -> list[dict]:
    """DIR/captions.jsonl: one dict per image ({"caption", "pattern", "colors", "scale", "rotation", "heldout"})."""
    return _load_jsonl(Path(dir) / "captions.jsonl", "caption")


def load_words(dir: str | Path) -> list[str]:
    """DIR/words.json's word list."""
    path = Path(dir) / "words.json"
    words = json.loads(path.read_text(encoding="utf-8")).get("words")
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ValueError(f'{path}: expected {{"words": [str, ...]}}, found {words!r}')
    return words


def load_edit_records(dir: str | Path) -> list[dict]:
    """DIR/edits.jsonl: one dict per edit pair with an "instruction"."""
    return _load_jsonl(Path(dir) / "edits.jsonl", "instruction")


def load_edits(dir: str | Path) -> tuple[Tensor, Tensor, list[dict]]:
    """(source images, edited images, edit records): uint8 [M, H, W, 3] twice and M dicts with an "instruction"."""
    d = Path(dir)
    src, dst = _load_npy_images(d / "edit_src.npy"), _load_npy_images(d / "edit_dst.npy")
    rows = load_edit_records(d)
    if src.shape != dst.shape or len(rows) != src.shape[0]:
        raise ValueError(f"{d}: edit_src {list(src.shape)}, edit_dst {list(dst.shape)} and {len(rows)} lines of edits.jsonl disagree")
    return src, dst, rows


def load_clip_records(dir: str | Path) -> list[dict]:
    """DIR/clips.jsonl: one dict per clip with a "caption" (texture, then motion)."""
    return _load_jsonl(Path(dir) / "clips.jsonl", "caption")


def load_clips(dir: str | Path) -> tuple[Tensor, list[dict]]:
    """(frames, clip records): uint8 [M, F, H, W, 3] and M dicts with a "caption" (texture, then motion)."""
    d = Path(dir)
    path = d / "clips.npy"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing (expected uint8 [M, F, size, size, 3] from `npm run world -- --clips M`)")
    arr = np.load(path)
    if arr.dtype != np.uint8 or arr.ndim != 5 or arr.shape[4] != 3 or arr.shape[2] != arr.shape[3] or arr.shape[1] < 2:
        raise ValueError(f"{path}: expected uint8 [M, F >= 2, size, size, 3], found {arr.dtype} {list(arr.shape)}")
    rows = load_clip_records(d)
    if len(rows) != arr.shape[0]:
        raise ValueError(f"{d}: clips.npy holds {arr.shape[0]} clips, clips.jsonl {len(rows)} lines")
    return torch.from_numpy(np.ascontiguousarray(arr)), rows


def to_m11(batch_uint8: Tensor) -> Tensor:
    """uint8 [B, H, W, 3] -> float32 [B, 3, H, W] in [-1, 1]."""
    if batch_uint8.dtype != torch.uint8 or batch_uint8.dim() != 4 or batch_uint8.shape[3] != 3:
        raise ValueError(f"expected uint8 [B, H, W, 3], found {batch_uint8.dtype} {list(batch_uint8.shape)}")
    return batch_uint8.permute(0, 3, 1, 2).float().div(127.5).sub(1)


def psnr_m11(y: Tensor, x: Tensor) -> float:
    """PSNR in dB of the mean squared error of images in [-1, 1] (y clamped), read as `npm run eval` reads it: on [0, 1]."""
    mse = float(((y.clamp(-1, 1) - x) ** 2).mean()) / 4
    return 10 * math.log10(1 / mse)


def to_uint8(img_m11: Tensor) -> Tensor:
    """float [B, 3, H, W] in [-1, 1] -> uint8 [B, H, W, 3] (clamped, rounded): the inverse of to_m11."""
    return img_m11.detach().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def augment(batch_uint8: Tensor, generator: torch.Generator, flips: bool = True) -> Tensor:
    """Rolls every image by a random (dy, dx) and, with flips, mirrors it at random horizontally and vertically.

    uint8 [B, H, W, 3] in and out; seamless textures stay seamless.
    """
    B, H, W, _ = batch_uint8.shape
    shifts = torch.stack([torch.randint(H, (B,), generator=generator), torch.randint(W, (B,), generator=generator)], 1)
    mirror = torch.rand(B, 2, generator=generator) < 0.5
    out = torch.empty_like(batch_uint8)
    for b in range(B):
        img = torch.roll(batch_uint8[b], shifts=(int(shifts[b, 0]), int(shifts[b, 1])), dims=(0, 1))
        if flips:
            dims = [d for d, m in zip((0, 1), mirror[b].tolist()) if m]
            if dims:
                img = torch.flip(img, dims)
        out[b] = img
    return out
