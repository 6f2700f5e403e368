"""Trains the built-in unified model (text to image, image to text, editing) on the procedural world, on the CPU or a
CUDA GPU (--device).

    /usr/bin/python3 training/train_unified.py --data out/world --vae out/vqvae --work out/unified-work \\
        --minutes 60 --export out/models/unified --f16
    /usr/bin/python3 training/train_unified.py --work out/unified-work --resume --minutes 0 \\
        --sample "red and blue checker, fine" --sample-out out/sample.png

Inputs: the world folder (images.npy, captions.jsonl, words.json; optional edit_src.npy, edit_dst.npy, edits.jsonl)
and a trained VQVAE (DIR/vae.safetensors + vae.json from train_vqvae.py --export); a world folder without images.npy
trains from WORK/tokens.pt as it is (made elsewhere with the same VQVAE). Every image is tokenised once
with the VQVAE (plus --rolls randomly rolled copies, the same roll for both images of an edit pair, which image to
caption and edit sequences draw from; caption to image always takes the image as drawn) and cached in
WORK/tokens.pt. Images and edit pairs marked "heldout" are never trained on; the held-out images give the eval
losses (a world written without them gets --eval-images of its own images set aside instead).

Each training sequence is one of: caption then image (`<text> caption <image> B1..B(S-1)`), image then caption
(`<text> <image> B1..BS </image> caption <eos>`, or with --caption-view the full view only, `<text> <image> BS
</image> caption <eos>`), when edit pairs exist an edit (`<text> <image> src
</image> instruction <image> dst`), and when clips exist (`npm run world -- --clips M`) a step of a clip
(`<text> clip caption <image> BS </image> <image> B1..B(S-1)`: frame t as context, by its full view only, then frame
t + 1, whose accumulated features start from frame t's so that its codes are the residual between the frames; a
quarter of them are the clip's first frame from its caption alone); the prompt (caption or instruction before a generated image) is hidden as the
spec's guidance rule says (`<pad>`, masked as keys) for --prompt-drop of the sequences. Loss: the mean text
cross-entropy plus the image cross-entropy, where each scale's mean token loss is weighted by pn_s^--scale-power,
normalised over the scales (power 1: a scale's weight grows like its side, so the 64 tokens of an 8x8 scale count
8 times the single token of scale 0 rather than 64 times; power 2 is the plain per-token mean, 0 equal scales).

AdamW with linear warmup and a cosine to 10% over the budget: --steps and --minutes count the whole training across
resumed runs, and the learning rate follows whichever is nearer its end, so a time-bound run still ends on a low rate.
WORK/unified.ckpt (model, VQVAE, tokenizer, optimizer, step, training seconds, RNG states) is written every --ckpt-minutes and at the end; --resume continues
from it. WORK/unified_log.jsonl gets a line per --log-every steps, and eval lines with greedy captions of held-out
images. --export DIR writes a model folder the runtime loads (config.json, tokenizer.json, weights.safetensors with
vae.* and unified.*, f16 with --f16). --sample writes a PNG of --sample-n images generated from a prompt.
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import struct
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nextscale import precision, safetensors_io  # noqa: E402
from nextscale.data import (load_captions, load_clip_records, load_clips, load_edit_records, load_edits, load_images,  # noqa: E402
                             load_words, to_m11)
from nextscale.tokenizer import Tokenizer  # noqa: E402
from nextscale.unified import (Batch, Image, Specials, Text, Unified, block_features, build_sequence, self_corrected, unit_rms,  # noqa: E402
                               choose, collate, generate_image, generate_text)
from nextscale.vqvae import VQVAE, load_vae  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, help="world folder; needed to train")
    p.add_argument("--vae", type=Path, help="a VQVAE export (vae.safetensors, vae.json) or a model folder; needed for a fresh "
                                             "start; with --init, the tokenizer the fine-tune moves onto (its world tokenised anew)")
    p.add_argument("--work", type=Path, required=True, help="folder for unified.ckpt, tokens.pt, logs")
    p.add_argument("--resume", action="store_true", help="continue from WORK/unified.ckpt")
    p.add_argument("--init", type=Path,
                   help="fine-tune: start from this checkpoint's model, or a model folder's (fresh optimizer and budgets); "
                        "--pos-2d and --code-head add to it what it lacks, starting at zero")
    p.add_argument("--export", type=Path, help="write a runtime model folder here when done (a --mix with clips marks it "
                                                 "frame_conditioned)")
    p.add_argument("--f16", action="store_true", help="export weights as float16")
    p.add_argument("--steps", type=int, default=20000, help="step budget, over all runs of a resumed training")
    p.add_argument("--minutes", type=float, default=75.0,
                   help="time budget of the training, over all runs of a resumed training (0: no training); the "
                        "learning rate follows whichever budget is nearer its end")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--pos-lr-scale", type=float, default=1.0, help="learning rate of pos_row, pos_col, pos_grid and pos_scale, times --lr")
    p.add_argument("--prompt-drop", type=float, default=0.1, help="share of sequences whose prompt is hidden")
    p.add_argument("--mix", type=float, nargs="+", default=[0.55, 0.3, 0.15, 0.0], metavar="SHARE",
                   help="shares of the kinds of sequence: T2I I2T [EDIT [CLIP]] (edits and clips only when the world has them)")
    p.add_argument("--clips", type=int, default=0, help="tokenise and train on the world's first N clips only (0: all)")
    p.add_argument("--coarse-share", type=float, default=0.0,
                   help="share of caption→image batches whose images stop after scale --coarse-through - 1 (the layout "
                        "scales, at a fraction of a full image's cost)")
    p.add_argument("--coarse-through", type=int, default=4, help="scales such a coarse batch predicts (4 of 5: through 8x8)")
    p.add_argument("--self-correct", type=float, default=0.0, metavar="RATE",
                   help="caption→image training images draw a rate in [0, RATE] each and have that share of their coarse "
                        "tokens replaced by near codes, their finer targets quantised anew to correct them "
                        "(nextscale.unified.self_corrected); 0: off")
    p.add_argument("--self-correct-near", type=int, default=128, help="a replaced token takes one of this many nearest codes")
    p.add_argument("--self-correct-from", choices=("near", "model", "chain"), default="near",
                   help="what a replaced token takes: one of --self-correct-near nearest codes; the model's own draw after "
                        "the true codes (model: one more forward pass, without gradients, per caption→image batch; the "
                        "runtime's sampler: top-k 16, top-p 0.9); or its draw after what was fed before it, its own draws "
                        "included, as in generation (chain: a short pass without gradients per coarse scale)")
    p.add_argument("--self-correct-clips", action="store_true",
                   help="self-correct clip batches too: frame t + 1's coarse residual codes replaced as a caption→image "
                        "image's are, its finer ones quantised anew towards the true frame (a clip's first frame from its "
                        "caption as a caption→image image)")
    p.add_argument("--caption-filter", metavar="TEXT",
                   help="train and evaluate on the images whose caption contains TEXT only (e.g. ', coarse': an experiment)")
    p.add_argument("--scale-power", type=float, default=1.0, help="scale s's mean image loss is weighted by pn_s^power")
    p.add_argument("--code-vector-weight", type=float, default=0.0,
                   help="adds, per image token of the first --code-vector-through scales, this times the squared distance "
                        "between the expected code vector (the VQVAE codebook at unit RMS, averaged under the predicted "
                        "probabilities) and the target code's (an experiment: faster layouts in a small loop, worse in "
                        "a full build; training/NOTES.md, 'A code-distance loss')")
    p.add_argument("--code-vector-through", type=int, default=4,
                   help="scales the code distance applies to (4 of 5: through 8x8; at 16x16 it is mostly the codes' own "
                        "spread, and its gradient swamps the CE's)")
    p.add_argument("--reuse-tokens", type=Path, metavar="TOKENS_PT",
                   help="start WORK/tokens.pt from this cache, made with the same encoder and codebook by another run (e.g. "
                        "before the decoder moved onto the torus): its codes are kept as they are, only its VQVAE key is "
                        "rewritten; the world, --rolls and --clips must still match")
    p.add_argument("--rolls", type=int, default=0,
                   help="extra randomly rolled copies of each image to tokenise: image→caption and edit sequences draw a "
                        "random copy, caption→image always the image as the world drew it (an aligned world stays aligned)")
    p.add_argument("--clip-rolls", type=int, default=0,
                   help="extra copies of each clip to tokenise, each rolled as a whole by a random (dy, dx) (every frame "
                        "alike, so the motion is kept): a clip step draws a random copy, a clip's first frame from its "
                        "caption always the clip as the world drew it")
    p.add_argument("--images", type=int, default=0,
                   help="tokenise and train on the world's first N images only (0: all); tokenising costs about "
                        "25 ms an image on these cores, and an hour of training sees some 25,000 sequences")
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--eval-seqs", type=int, default=48)
    p.add_argument("--eval-images", type=int, default=64, help="images set aside when the world marks fewer as heldout")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--ckpt-minutes", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="CPU threads (the whole step on the CPU; the batches on a GPU)")
    p.add_argument("--workers", type=int, default=0,
                   help="processes that build the batches ahead of the step (for a GPU, which would otherwise wait on "
                        "them); with workers, step n's batch is drawn from its own seed (--seed, n), the same stream for "
                        "any number of workers; 0: in this process, from the one generator the checkpoint carries")
    p.add_argument("--device", default="auto",
                   help="where the transformer trains: auto (a CUDA GPU when PyTorch sees one, else the CPU), cpu, cuda[:N]; "
                        "the batches and the VQVAE stay on the CPU")
    p.add_argument("--precision", choices=precision.CHOICES, default="auto",
                   help="training forward pass: bf16 autocast (auto: on a GPU or CPU that computes bfloat16 natively) or fp32")
    m = p.add_argument_group("model (ignored with --resume and --init, where the checkpoint's or folder's configuration is "
                             "used; --init adds --pos-2d and --code-head)")
    m.add_argument("--depth", type=int, default=4)
    m.add_argument("--embed", type=int, default=192)
    m.add_argument("--heads", type=int, default=2)
    m.add_argument("--kv-heads", type=int, default=1)
    m.add_argument("--intermediate", type=int, default=512)
    m.add_argument("--context", type=int, default=640)
    m.add_argument("--caption-view", action="store_true",
                   help="image→caption sequences read the image by its full view only, `<image> BS </image>` (258 positions "
                        "instead of 597 at 16x16 tokens); recorded as caption_view in the model's config")
    m.add_argument("--code-head", action="store_true",
                   help="train the image rows of the head as a free part plus the VQVAE codebook times a learned projection "
                        "(training only: the export folds them into the spec's plain head)")
    m.add_argument("--rope-2d", action="store_true",
                   help="image tokens also rotate by their row and column within the scale (a third of the rotary pairs "
                        "each); recorded as rope_2d in the model's config")
    m.add_argument("--pos-2d", action="store_true",
                   help="image tokens also add a learned vector per cell of the finest grid (pos_grid), so that a layout "
                        "that is no sum of a row part and a column part (a checker) is one linear read away; recorded as "
                        "pos_2d in the model's config")
    m.add_argument("--pos-scales", action="store_true",
                   help="image tokens also add a learned vector per token of each scale (pos_scale), so that a coarse "
                        "scale's layout (a coarse checker at 4x4) has vectors of its own rather than those of the finest "
                        "grid's cells; recorded as pos_scales in the model's config")
    m.add_argument("--grow-depth", type=int, metavar="N",
                   help="with --init: deepen the model to N layers, each new one a copy of the layer before it with its "
                        "residual outputs at zero, so the fine-tune starts from what the model computed")
    s = p.add_argument_group("sampling")
    s.add_argument("--sample", help="prompt to generate from at the end")
    s.add_argument("--sample-out", type=Path, help="PNG to write (default WORK/sample.png)")
    s.add_argument("--sample-n", type=int, default=4)
    s.add_argument("--cfg", type=float, default=0.0)
    s.add_argument("--top-k", type=int, default=0)
    s.add_argument("--top-p", type=float, default=0.0)
    s.add_argument("--temperature", type=float, default=1.0)
    return p.parse_args()


# ---- data -------------------------------------------------------------------------------------------------------


def build_tokenizer(data: Path) -> Tokenizer:
    """One token per word of the world: words.json (when present), every caption and every instruction."""
    words: list[str] = load_words(data) if (data / "words.json").exists() else []
    words += [w for c in load_captions(data) for w in c["caption"].split()]
    if (data / "edits.jsonl").exists():
        words += [w for e in load_edit_records(data) for w in e["instruction"].split()]
    if (data / "clips.jsonl").exists():
        words += [w for c in load_clip_records(data) for w in c["caption"].split()]
    return Tokenizer.from_words(w.strip(".,;:!?\"'()") or w for w in words)


def random_shifts(n: int, copies: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """[1 + copies, n, 2]: copy 0 as drawn, then a random (dy, dx) in [0, size) for each of n items per copy."""
    return torch.cat([torch.zeros(1, n, 2, dtype=torch.long), torch.randint(size, (copies, n, 2), generator=gen)])


@torch.no_grad()
def tokenise_images(vae: VQVAE, images_u8: torch.Tensor, shifts: torch.Tensor, batch: int = 64) -> list[torch.Tensor]:
    """Codes int16 [R, N, pn²] per scale of the N images, copy r of image n rolled by shifts[r, n] = (dy, dx)."""
    out: list[list[torch.Tensor]] = [[] for _ in vae.v_patch_nums]
    for copy in shifts.tolist():
        per_scale: list[list[torch.Tensor]] = [[] for _ in vae.v_patch_nums]
        for i in range(0, images_u8.shape[0], batch):
            rolled = torch.stack([torch.roll(img, shifts=(dy, dx), dims=(0, 1))
                                  for img, (dy, dx) in zip(images_u8[i : i + batch], copy[i : i + batch])])
            for s, idx in enumerate(vae.encode_idx(to_m11(rolled))):
                per_scale[s].append(idx.to(torch.int16))
        for s in range(len(out)):
            out[s].append(torch.cat(per_scale[s]))
    return [torch.stack(x) for x in out]


@torch.no_grad()
def tokenise_clips(vae: VQVAE, clips_u8: torch.Tensor, shifts: torch.Tensor, batch: int = 64) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per scale, int16: the codes [R, M, F, pn²] of every frame on its own, and the residual codes [R, M, F - 1, pn²] of
    frame t + 1 quantised from frame t's f_hat (what the model predicts when a frame continues the one before); copy r
    of clip m rolled as a whole by shifts[r, m] = (dy, dx)."""
    alone: list[list[torch.Tensor]] = [[] for _ in vae.v_patch_nums]
    following: list[list[torch.Tensor]] = [[] for _ in vae.v_patch_nums]
    for copy in shifts.tolist():
        rolled = torch.stack([torch.roll(clip, shifts=(dy, dx), dims=(1, 2)) for clip, (dy, dx) in zip(clips_u8, copy)])
        codes, residual = tokenise_clip_copy(vae, rolled, batch)
        for s in range(len(alone)):
            alone[s].append(codes[s])
            following[s].append(residual[s])
    return [torch.stack(x) for x in alone], [torch.stack(x) for x in following]


def tokenise_clip_copy(vae: VQVAE, clips_u8: torch.Tensor, batch: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """tokenise_clips for one copy: per scale, int16 [M, F, pn²] and [M, F - 1, pn²]."""
    M, Fr = clips_u8.shape[:2]
    q = vae.quantize
    alone: list[list[torch.Tensor]] = [[] for _ in vae.v_patch_nums]
    following: list[list[torch.Tensor]] = [[] for _ in vae.v_patch_nums]
    step = max(1, batch // Fr)
    for m in range(0, M, step):
        part = clips_u8[m : m + step]
        n = part.shape[0]
        f = vae.encode_features(to_m11(part.flatten(0, 1)))
        codes = q.f_to_idx(f)
        f_hat = vae.fhat_sequence(codes)[-1].unflatten(0, (n, Fr))
        f = f.unflatten(0, (n, Fr))
        residual = q.f_to_idx(f[:, 1:].flatten(0, 1), start=f_hat[:, :-1].flatten(0, 1))
        for s in range(len(codes)):
            alone[s].append(codes[s].view(n, Fr, -1).to(torch.int16))
            following[s].append(residual[s].view(n, Fr - 1, -1).to(torch.int16))
    return [torch.cat(x) for x in alone], [torch.cat(x) for x in following]


def with_clip_copies(tokens: dict) -> dict:
    """A token cache whose clip codes have a copy dimension: a cache made before --clip-rolls holds [M, F, pn²] per
    scale, the clips as the world drew them, which is copy 0 of --clip-rolls 0."""
    if "clips" in tokens and tokens["clips"][0].dim() == 3:
        tokens["clips"] = [c[None] for c in tokens["clips"]]
        tokens["clip_next"] = [c[None] for c in tokens["clip_next"]]
        tokens["key"]["clip_rolls"] = 0
    return tokens


def array_digest(a) -> str:
    """SHA-1 of an array's bytes: which world's pixels a token cache was made from."""
    return hashlib.sha1(np.ascontiguousarray(np.asarray(a)).data).hexdigest()


def load_tokens(args: argparse.Namespace, vae: VQVAE, vae_digest: str, gen: torch.Generator) -> dict:
    """WORK/tokens.pt, made once per (VQVAE, world, --rolls, --clips, --clip-rolls): codes of the images, of the edit
    pairs and of the clips' frames (a clip's copies rolled as a whole, every frame alike). A cache holding more than is
    asked for (edits or clips the --mix leaves out) serves."""
    path = args.work / "tokens.pt"
    if not (args.data / "images.npy").exists():
        return pixel_free_tokens(args, vae_digest)
    images = load_images(args.data)
    if args.images:
        images = images[: args.images]
    clips = None
    if (args.data / "clips.jsonl").exists() and args.mix[3] > 0:
        clips = load_clips(args.data)[0]
        clips = clips[: args.clips] if args.clips else clips
    # Rolled copies: each image by its own random shift (caches from before keyed none and rolled a copy as a whole).
    key = {"vae": vae_digest, "images": list(images.shape), "world": array_digest(images), "rolls": args.rolls,
           "shifts": "per-image" if args.rolls else None,
           "edits": (args.data / "edits.jsonl").exists() and args.mix[2] > 0,
           "clips": list(clips.shape) if clips is not None else None, "clip_world": array_digest(clips) if clips is not None else None,
           "clip_rolls": args.clip_rolls if clips is not None else None}
    tokens = None
    if path.exists():
        cached = with_clip_copies(torch.load(path))
        have = cached["key"]
        if all(have.get(k) == key[k] for k in ("vae", "images", "world", "rolls", "shifts")) and (have.get("edits") or not key["edits"]):
            if key["clips"] is None or (all(have.get(k) == key[k] for k in ("clips", "clip_world", "clip_rolls")) and "clip_next" in cached):
                return cached
            tokens = cached  # the images serve; the clips are tokenised below
            tokens.pop("clips", None)
            tokens.pop("clip_next", None)
        else:
            print(f"{path}: made for another VQVAE or world; tokenising again")
    t0 = time.time()
    if tokens is None:
        H = images.shape[1]
        tokens = {"images": tokenise_images(vae, images, random_shifts(images.shape[0], args.rolls, H, gen))}
        if key["edits"]:
            src, dst, _ = load_edits(args.data)
            pair_shifts = random_shifts(src.shape[0], args.rolls, H, gen)  # both images of a pair roll alike
            tokens["edit_src"], tokens["edit_dst"] = tokenise_images(vae, src, pair_shifts), tokenise_images(vae, dst, pair_shifts)
        print(f"tokenised {images.shape[0]} images x {args.rolls + 1} rolls in {time.time() - t0:.0f} s")
    if clips is not None:
        clip_shifts = random_shifts(clips.shape[0], args.clip_rolls, clips.shape[2], gen)
        tokens["clips"], tokens["clip_next"] = tokenise_clips(vae, clips, clip_shifts)
        print(f"tokenised {clips.shape[0]} clips of {clips.shape[1]} frames x {args.clip_rolls + 1} rolls in {time.time() - t0:.0f} s")
    tokens["key"] = {**key, "edits": key["edits"] or tokens["key"]["edits"]} if "key" in tokens else key
    torch.save(tokens, path)
    return tokens


def pixel_free_tokens(args: argparse.Namespace, vae_digest: str) -> dict:
    """WORK/tokens.pt as it is, for a world folder that holds the captions but not the pixels (images.npy,
    clips.npy): a machine that trains from tokens made elsewhere, e.g. a GPU reached with a size limit. The cache
    must come from this VQVAE and hold what the arguments ask for; which world's pixels it read cannot be checked."""
    path = args.work / "tokens.pt"
    if not path.exists():
        raise FileNotFoundError(f"{args.data / 'images.npy'} is missing, and there is no {path} to train from instead")
    tokens = with_clip_copies(torch.load(path))
    key, found = tokens["key"], []
    if key["vae"] != vae_digest:
        found.append("another VQVAE's codes")
    if key["rolls"] != args.rolls or key["shifts"] != ("per-image" if args.rolls else None):
        found.append(f"--rolls {key['rolls']} ({key['shifts'] or 'no'} shifts)")
    if args.images and key["images"][0] != args.images:
        found.append(f"{key['images'][0]} images where --images asks for {args.images}")
    if args.mix[3] > 0 and (args.data / "clips.jsonl").exists():
        if "clip_next" not in tokens:
            found.append("no clips, where --mix trains on them")
        elif key.get("clip_rolls") != args.clip_rolls:
            found.append(f"--clip-rolls {key.get('clip_rolls')}")
    if args.mix[2] > 0 and (args.data / "edits.jsonl").exists() and not key["edits"]:
        found.append("no edit pairs, where --mix trains on them")
    if found:
        raise ValueError(f"{args.data} holds no pixels to tokenise, and {path} does not fit this run: it has {'; '.join(found)}")
    print(f"{args.data} holds no images.npy: training on {path} as it is ({key['images'][0]} images, world sha1 {key['world'][:12]})")
    return tokens


class Sequences:
    """Draws training sequences (segments whose images still lack features) and turns them into Batches."""

    def __init__(self, data: Path, tokens: dict, tok: Tokenizer, model: Unified, vae: VQVAE, mix: list[float],
                 eval_images: int, seed: int):
        self.tokens, self.model, self.vae, self.sp = tokens, model, vae, Specials.of(tok)
        captions = load_captions(data)[: tokens["images"][0].shape[1]]
        self.captions = [c["caption"] for c in captions]
        self.caption_ids = [tok.encode(c) for c in self.captions]
        held = torch.tensor([bool(c.get("heldout")) for c in captions])
        if int(held.sum()) < eval_images:
            held[torch.randperm(len(captions), generator=torch.Generator().manual_seed(seed + 1))[:eval_images]] = True
        self.train_idx, self.held_idx = (~held).nonzero().squeeze(1), held.nonzero().squeeze(1)
        edits = load_edit_records(data) if "edit_src" in tokens and mix[2] > 0 else []
        self.instr_ids = [tok.encode(e["instruction"]) for e in edits]
        self.edit_idx = [i for i, e in enumerate(edits) if not e.get("heldout")]
        clips = load_clip_records(data)[: tokens["clips"][0].shape[1]] if "clips" in tokens else []
        self.clip_ids = [tok.encode(c["caption"]) for c in clips]
        self.clip_idx = [i for i, c in enumerate(clips) if not c.get("heldout")]
        self.mix = torch.tensor([mix[0], mix[1], mix[2] if self.edit_idx else 0.0, mix[3] if self.clip_idx else 0.0])

    def keep_captions(self, text: str) -> None:
        """Trains and evaluates on the images whose caption contains `text` only."""
        has = torch.tensor([text in c for c in self.captions])
        self.train_idx, self.held_idx = self.train_idx[has[self.train_idx]], self.held_idx[has[self.held_idx]]
        if not len(self.train_idx):
            raise SystemExit(f"--caption-filter: no training image's caption contains {text!r}")

    def image(self, name: str, roll: int, i: int, closed: bool) -> Image:
        return Image(codes=[c[roll, i].long() for c in self.tokens[name]], closed=closed)

    def frame(self, m: int, t: int) -> Image:
        """Frame t of clip m on its own, as the world drew it: a clip's first frame."""
        return Image(codes=[c[0, m, t].long() for c in self.tokens["clips"]])

    def step(self, roll: int, m: int, t: int) -> list[Image]:
        """Frame t of copy `roll` of clip m as context (its full view) and frame t + 1 continuing from its features
        (residual codes)."""
        before = Image(codes=[c[roll, m, t].long() for c in self.tokens["clips"]], closed=True, view=True)
        start = self.vae.fhat_sequence([c[None] for c in before.codes])[-1][0]
        return [before, Image(codes=[c[roll, m, t].long() for c in self.tokens["clip_next"]], start=start)]

    def kind(self, gen: torch.Generator) -> int:
        """0: caption then image, 1: image then caption, 2: edit, 3: clip step; drawn by --mix. A batch holds one
        kind, so that its sequences have about the same length and little of it is padding."""
        return int(torch.multinomial(self.mix, 1, generator=gen))

    def draw(self, gen: torch.Generator, kind: int, prompt_drop: float, held: bool = False,
             through: int | None = None) -> tuple[list, bool]:
        """(segments, drop_prompt) of one random sequence of a kind; held-out images only when `held`; a caption→image
        sequence stops after scale `through` - 1 when given (Image.through)."""
        roll = 0 if held else int(torch.randint(self.tokens["images"][0].shape[0], (1,), generator=gen))
        drop = not held and float(torch.rand(1, generator=gen)) < prompt_drop
        if kind == 3:
            m = self.clip_idx[int(torch.randint(len(self.clip_idx), (1,), generator=gen))]
            copies, _, frames = self.tokens["clips"][0].shape[:3]
            prompt = Text(self.clip_ids[m], prompt=True)
            if float(torch.rand(1, generator=gen)) < 0.25:
                return [prompt, self.frame(m, 0)], drop
            t = int(torch.randint(frames - 1, (1,), generator=gen))
            clip_roll = int(torch.randint(copies, (1,), generator=gen))
            return [prompt, *self.step(clip_roll, m, t)], drop
        if kind == 2:
            i = self.edit_idx[int(torch.randint(len(self.edit_idx), (1,), generator=gen))]
            return [self.image("edit_src", roll, i, True), Text(self.instr_ids[i], prompt=True), self.image("edit_dst", roll, i, False)], drop
        pool = self.held_idx if held else self.train_idx
        i = int(pool[torch.randint(len(pool), (1,), generator=gen)])
        if kind == 0:
            return self.caption_image(i, through), drop
        return [self.caption_source(roll, i), Text(self.caption_ids[i] + [self.sp.eos])], False

    def caption_image(self, i: int, through: int | None = None) -> list:
        """Caption i, then image i as the world drew it (never rolled: one caption, one layout), open for prediction."""
        img = self.image("images", 0, i, False)
        img.through = through
        return [Text(self.caption_ids[i], prompt=True), img]

    def caption_source(self, roll: int, i: int) -> Image:
        """Image i as read before its caption: closed, or only its full view for a model with `caption_view`."""
        img = self.image("images", roll, i, True)
        img.view = self.model.cfg.caption_view
        return img

    @torch.no_grad()
    def batch(self, drawn: list[tuple[list, bool]], correct: Correction | None = None) -> Batch:
        """Fills in every image's block features (one batched pass over the VQVAE's quantizer) and collates. With
        `correct` the open images (caption→image, or a clip's next frame, which starts from the frame before) take
        self_corrected targets and features instead."""
        images = [seg for segs, _ in drawn for seg in segs if isinstance(seg, Image)]
        pns = self.model.cfg.patch_nums
        codes = [torch.stack([img.codes[s] for img in images]) for s in range(len(pns))]
        start = None
        if any(img.start is not None for img in images):
            zero = torch.zeros(self.model.Cvae, pns[-1], pns[-1])
            start = torch.stack([zero if img.start is None else img.start for img in images])
        feats, _ = block_features(self.vae, codes, pns, len(pns), start)
        for m, img in enumerate(images):
            img.feats = [f[m] for f in feats]
        if correct is not None:
            open_ = [m for m, img in enumerate(images) if not img.closed and not img.view]
            if len(open_) != len(correct.rates):
                raise ValueError(f"self-correction: {len(correct.rates)} rates for {len(open_)} open images")
            true = [c[open_] for c in codes]
            open_start = start[open_] if start is not None else None
            own = flips = None
            if correct.source != "near" and len(open_) != len(drawn):
                raise ValueError(f"self-correction from the model's draws: {len(drawn)} sequences, "
                                 f"{len(open_)} caption→image images")
            if correct.source == "model":
                draws = own_draws(self.model, self.collated(drawn), correct.autocast, correct.generator)
                own = [draws.get(s, true[s]) for s in range(len(pns) - 1)]  # a coarse batch's unpredicted scales: never fed
            elif correct.source == "chain":
                own, flips = self.chained_draws(drawn, [images[m] for m in open_], true, correct, open_start)
            targets, fed = self_corrected(self.vae, true, pns, correct.rates, correct.near, correct.generator, own, flips,
                                          open_start)
            for j, m in enumerate(open_):
                images[m].codes = [t[j] for t in targets]
                images[m].feats = [f[j] for f in fed]
        return self.collated(drawn)

    def chained_draws(self, drawn: list[tuple[list, bool]], images: list[Image], true: list[torch.Tensor],
                      correct: Correction, start: torch.Tensor | None = None) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(draws, flips) for self_corrected: which coarse tokens of the open `images` (one per sequence of `drawn`,
        accumulating from `start` where given: a clip's next frames) are replaced, and what the model draws at each
        scale s after the tokens fed before it, its own draws where replaced, as generation would have fed them. One
        pass without gradients per scale, each over the sequences cut after that scale (Image.through): scales
        1x1..8x8 are 85 of an image's 341 positions."""
        pns, gen = self.model.cfg.patch_nums, correct.generator
        flips = [torch.rand(len(images), pn * pn, generator=gen) < correct.rates[:, None] for pn in pns[:-1]]
        draws = list(true[:-1])  # scale s is drawn before it is fed; the rest wait as placeholders
        through = [img.through for img in images]
        fed_scales = min((t or len(pns)) - 1 for t in through)  # a batch cut after scale K - 1 feeds scales 0..K-2
        for s in range(fed_scales):
            _, fed = self_corrected(self.vae, true, pns, correct.rates, correct.near, gen, draws, flips, start)
            for j, img in enumerate(images):
                img.feats, img.through = [f[j] for f in fed], s + 1
            draws[s] = own_draws(self.model, self.collated(drawn), correct.autocast, gen)[s]
        for img, t in zip(images, through):
            img.through = t
        return draws, flips

    def collated(self, drawn: list[tuple[list, bool]]) -> Batch:
        """The drawn sequences laid out and padded into one batch, their images as they stand."""
        return collate([build_sequence(segs, self.sp, self.model, drop) for segs, drop in drawn], self.sp.pad)


@dataclass
class Correction:
    """How a caption→image batch (or, with --self-correct-clips, a clip batch) is self-corrected (--self-correct): a
    replacement rate per image, and what a replaced token takes by `source` (--self-correct-from): one of `near`
    nearest codes, or the model's own draw (its forward passes under `autocast`, a --precision)."""

    rates: torch.Tensor
    near: int
    generator: torch.Generator
    source: str = "near"
    autocast: str = "fp32"


OWN_TOP_K, OWN_TOP_P = 16, 0.9  # the runtime's sampler (UNIFIED_SAMPLING), so the errors are the ones it makes


@torch.no_grad()
def own_draws(model: Unified, b: Batch, autocast: str, gen: torch.Generator) -> dict[int, torch.Tensor]:
    """What the model draws, with the runtime's sampler (top-k 16, top-p 0.9), at every position of the scales before
    the last of a batch of sequences with one open image each, after the true codes before it: {scale: long [B, pn²]}
    for the scales the batch predicts. One forward pass without gradients; the model has no dropout, so its mode stays."""
    T, pns = model.cfg.text_vocab_size, model.cfg.patch_nums
    b = b.to(model.device)
    with precision.autocast(autocast, model.device):
        h = model(b)
    is_img = b.target >= T
    out = {}
    for s, pn in enumerate(pns[:-1]):
        at = is_img & (b.level == s)  # `<image>` (level 0) predicts scale 0, block Bs scale s
        if at.any():
            logits = model.image_logits(h[at]).float().cpu()
            out[s] = choose(logits, OWN_TOP_K, OWN_TOP_P, 1.0, gen).view(b.ids.shape[0], pn * pn)
    return out


def draw_batch(seqs: Sequences, gen: torch.Generator, args: argparse.Namespace) -> tuple[int, int | None, Batch]:
    """(kind, through, batch) of one training step: the kind by --mix, a caption→image batch coarse for --coarse-share
    of them (one draw more from the stream only when asked for, so older runs replay as they were), then the batch."""
    kind = seqs.kind(gen)
    through = args.coarse_through if kind == 0 and args.coarse_share > 0 and float(torch.rand(1, generator=gen)) < args.coarse_share else None
    drawn = [seqs.draw(gen, kind, args.prompt_drop, through=through) for _ in range(args.batch)]
    correct = None
    if (kind == 0 or (kind == 3 and args.self_correct_clips)) and args.self_correct > 0:
        correct = Correction(torch.rand(args.batch, generator=gen) * args.self_correct, args.self_correct_near, gen,
                             args.self_correct_from, args.precision)
    return kind, through, seqs.batch(drawn, correct)


class StepBatches(torch.utils.data.IterableDataset):
    """draw_batch for steps first, first + 1, ..., step n from a generator seeded by (--seed, n), split across the
    DataLoader's workers round-robin (which is the order the loader returns them in)."""

    def __init__(self, seqs: Sequences, args: argparse.Namespace, first: int):
        self.seqs, self.args, self.first = seqs, args, first

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        for step in itertools.count(self.first + worker, workers):
            yield draw_batch(self.seqs, torch.Generator().manual_seed(self.args.seed * 2**32 + step), self.args)


# ---- loss, schedule, checkpoints ---------------------------------------------------------------------------------


def loss_fn(model: Unified, b: Batch, scale_power: float, code_vectors: torch.Tensor | None = None,
            code_vector_weight: float = 0.0, code_vector_through: int = 4) -> tuple[torch.Tensor, dict]:
    """Text CE (over the T text columns) + scale-weighted image loss (over the V image columns): per image token the CE,
    plus, on the first `code_vector_through` scales, `code_vector_weight` times the squared distance from the expected
    code vector to the target's (`code_vectors`, [V, Cvae], from `unit_rms`). The CE names one code among
    near-duplicates; the distance says which way the region of the codebook lies, a signal every token of a layout
    agrees on."""
    T, pns = model.cfg.text_vocab_size, model.cfg.patch_nums
    b = b.to(model.device)
    h = model(b)
    is_text, is_img = (b.target >= 0) & (b.target < T), b.target >= T
    text = F.cross_entropy(model.text_logits(h[is_text]), b.target[is_text]) if is_text.any() else h.new_zeros(())
    per_scale, weights, distance = [], [], h.new_zeros(())
    if is_img.any():  # image→caption sequences of a `caption_view` model predict no image tokens
        log_p, target = model.image_logits(h[is_img]).float().log_softmax(-1), b.target[is_img] - T
        tok_loss = F.nll_loss(log_p, target, reduction="none")
        scale = b.level[is_img]  # `<image>` (level 0) predicts scale 0, block Bs scale s
        for s, pn in enumerate(pns):
            sel = scale == s
            if sel.any():
                w = pn**scale_power
                per_scale.append(tok_loss[sel].mean())
                weights.append(w)
                if code_vector_weight and s < code_vector_through:
                    expected = log_p[sel].exp() @ code_vectors  # [n, Cvae]
                    distance = distance + w * (expected - code_vectors[target[sel]]).pow(2).sum(-1).mean()
    norm = sum(weights)
    image = (torch.stack(per_scale) * (torch.tensor(weights, device=h.device) / norm)).sum() if per_scale else h.new_zeros(())
    distance = distance / norm if per_scale else distance
    # A loss the batch has no targets for is None (not 0), so that means over batches leave it out.
    stats = {"text": float(text) if is_text.any() else None, "image": float(image) if per_scale else None,
             "scales": [round(float(x), 4) for x in per_scale]}
    if code_vector_weight and per_scale:
        stats["code_distance"] = round(float(distance), 4)
    return text + image + code_vector_weight * distance, stats


def progress(step: int, seconds: float, args: argparse.Namespace) -> float:
    """How far training is, 0 to 1: whichever of the step budget and the time budget is nearer its end."""
    return max(step / args.steps, seconds / (args.minutes * 60)) if args.minutes > 0 else 1.0


def lr_at(step: int, done: float, args: argparse.Namespace) -> float:
    """Linear warmup over --warmup steps, then a cosine from --lr down to a tenth of it as `done` goes 0 -> 1."""
    warm = min(1.0, (step + 1) / args.warmup)
    return args.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, done))))


def make_optimizer(model: Unified, args: argparse.Namespace) -> torch.optim.Optimizer:
    """AdamW: weight decay on matrices other than embeddings; the position embeddings (pos_row, pos_col, pos_grid, pos_scale) at
    --pos-lr-scale times the rate."""
    named = list(model.named_parameters())
    decays = [n for n, p in named if p.dim() == 2 and "embed" not in n and "pos_" not in n]
    apart = [n for n, _ in named if n.startswith("pos_")] if args.pos_lr_scale != 1.0 else []
    # Without a scale: two groups, in the order every earlier checkpoint's optimizer state follows.
    groups = [{"params": [p for n, p in named if n in decays], "weight_decay": args.weight_decay},
              {"params": [p for n, p in named if n not in decays and n not in apart], "weight_decay": 0.0}]
    if apart:
        groups.append({"params": [p for n, p in named if n in apart], "weight_decay": 0.0, "lr_scale": args.pos_lr_scale})
    return torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95))


def save_checkpoint(path: Path, model: Unified, vae: VQVAE, tok: Tokenizer, opt, step: int, seconds: float,
                    gen: torch.Generator) -> None:
    state = {"unified": model.config(), "vae_config": vae.config(), "model": model.state_dict(), "vae": vae.state_dict(),
             "tokenizer": tok.spec, "optimizer": opt.state_dict(), "step": step, "seconds": seconds, "torch_rng": torch.get_rng_state(),
             "data_rng": gen.get_state()}
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def export(model: Unified, vae: VQVAE, tok: Tokenizer, out: Path, f16: bool, frame_conditioned: bool = False) -> None:
    """A model folder the runtime loads: config.json, tokenizer.json, weights.safetensors (vae.* + unified.*);
    `frame_conditioned` marks a model trained on clips (the runtime then plays videos frame by frame)."""
    out.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if f16 else torch.float32
    tensors = {f"vae.{k}": v for k, v in vae.state_dict().items()}
    tensors.update({f"unified.{k}": v for k, v in model.folded_state_dict().items()})
    safetensors_io.save({k: v.detach().to(dtype).contiguous() for k, v in tensors.items()}, out / "weights.safetensors", {"format": "pt"})
    config = {"family": "unified", "vae": vae.config(), "unified": model.config()}
    if frame_conditioned:
        config["unified"]["frame_conditioned"] = True
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tok.save(out / "tokenizer.json")
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    print(f"exported {out}: {len(tensors)} tensors ({'f16' if f16 else 'f32'}), {size / 1e6:.1f} MB in all")


def png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def write_png(path: Path, rgb_u8: np.ndarray) -> None:
    """A minimal 8-bit RGB PNG writer (no filtering)."""
    h, w, _ = rgb_u8.shape
    raw = b"".join(b"\x00" + rgb_u8[y].tobytes() for y in range(h))
    chunk = png_chunk
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


@torch.no_grad()
def sample(model: Unified, vae: VQVAE, tok: Tokenizer, args: argparse.Namespace) -> None:
    """--sample-n images from --sample in a row, each shown 4x larger, written as a PNG."""
    model.eval()
    gen = torch.Generator().manual_seed(args.seed)
    prefix = [Text(tok.encode(args.sample), prompt=True)]
    tiles = []
    for _ in range(args.sample_n):
        out = generate_image(model, vae, Specials.of(tok), prefix, args.cfg, args.top_k, args.top_p, args.temperature, gen)
        tiles.append(F.interpolate(out["image"], scale_factor=4, mode="nearest")[0])
    row = (torch.cat(tiles, dim=2).permute(1, 2, 0) * 255).round().clamp(0, 255).to(torch.uint8).numpy()
    path = args.sample_out or args.work / "sample.png"
    write_png(path, row)
    print(f"wrote {path}: {args.sample_n} samples of {args.sample!r} (cfg {args.cfg}, top-k {args.top_k}, top-p {args.top_p})")
    model.train()


# ---- training ---------------------------------------------------------------------------------------------------


@torch.no_grad()
def evaluate(model: Unified, seqs: Sequences, fixed: list, tok: Tokenizer, args: argparse.Namespace) -> dict:
    """Losses on a fixed set of held-out sequences (half text to image, half image to text), and a greedy caption of
    a held-out image."""
    model.eval()
    with precision.autocast(args.precision, model.device):
        stats = [loss_fn(model, seqs.batch(fixed[i : i + args.batch]), args.scale_power)[1] for i in range(0, len(fixed), args.batch)]
    out = {}
    for k in ("text", "image"):
        have = [s[k] for s in stats if s[k] is not None]
        out[k] = sum(have) / len(have) if have else float("nan")
    out["captions"] = []
    for i in seqs.held_idx[:1].tolist():
        img = seqs.caption_source(0, i)
        img.feats, _ = block_features(seqs.vae, [c[None] for c in img.codes], model.cfg.patch_nums, len(img.codes))
        ids = generate_text(model, seqs.sp, [img], 16, stop_at_eos=True)["ids"]
        out["captions"].append({"truth": tok.decode(seqs.caption_ids[i]), "greedy": tok.decode(ids, skip_special_tokens=True)})
    model.train()
    return out


def train(model, vae, tok, opt, step: int, seconds: float, gen: torch.Generator, args: argparse.Namespace) -> int:
    # The weights, and a VQVAE on the torus (its upsampling makes other residuals, so other tokens).
    circular = [b"circular"] if vae.config().get("padding") == "circular" else []
    digest = hashlib.sha1(b"".join([v.numpy().tobytes() for v in vae.state_dict().values()] + circular)).hexdigest()
    if args.reuse_tokens and not (args.work / "tokens.pt").exists():
        reused = torch.load(args.reuse_tokens)
        reused["key"]["vae"] = digest
        torch.save(reused, args.work / "tokens.pt")
        print(f"tokens.pt: the codes of {args.reuse_tokens}, kept as they are")
    tokens = load_tokens(args, vae, digest, gen)
    seqs = Sequences(args.data, tokens, tok, model, vae, args.mix, args.eval_images, args.seed)
    if args.caption_filter:
        seqs.keep_captions(args.caption_filter)
    code_vectors = unit_rms(vae.quantize.embedding.weight).to(model.device)
    eval_gen = torch.Generator().manual_seed(args.seed + 1)
    fixed = [seqs.draw(eval_gen, kind, 0.0, held=True) for kind in (0, 1) for _ in range(args.eval_seqs // 2)] if len(seqs.held_idx) else []
    print(f"{len(seqs.train_idx)} training images, {len(seqs.held_idx)} held out, {len(seqs.edit_idx)} edit pairs; {model.device}, {args.precision}; "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters; T = {tok.vocab_size}; {json.dumps(model.config())}")
    ckpt_path, log_path = args.work / "unified.ckpt", args.work / "unified_log.jsonl"
    start = time.time() - seconds  # so that time.time() - start counts every run's training time
    last_ckpt = time.time()
    model.train()
    batches = None
    if args.workers:
        # Forked, not spawned: the workers share the token cache and never touch the model's device.
        loader = torch.utils.data.DataLoader(StepBatches(seqs, args, step), batch_size=None, num_workers=args.workers,
                                             prefetch_factor=4, multiprocessing_context="fork")
        batches = iter(loader)
    bar = tqdm(total=args.steps, initial=step, dynamic_ncols=True, desc="unified")
    with log_path.open("a") as log:
        while (done := progress(step, time.time() - start, args)) < 1:
            lr = lr_at(step, done, args)
            for group in opt.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
            t0 = time.time()
            kind, through, b = next(batches) if batches is not None else draw_batch(seqs, gen, args)
            with precision.autocast(args.precision, model.device):
                loss, stats = loss_fn(model, b, args.scale_power, code_vectors, args.code_vector_weight, args.code_vector_through)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
            opt.step()
            step += 1
            bar.update(1)
            bar.set_postfix({k: f"{stats[k]:.3f}" for k in ("text", "image") if stats[k] is not None})
            if step % args.log_every == 0:
                log.write(json.dumps({"step": step, "kind": kind, **({"through": through} if through else {}), "lr": lr, "loss": float(loss), **stats, "grad_norm": round(norm, 3),
                                      "tokens": int(b.key_valid.sum()), "sec_per_step": round(time.time() - t0, 3)}) + "\n")
                log.flush()
            if fixed and (step % args.eval_every == 0 or step == args.steps):
                ev = evaluate(model, seqs, fixed, tok, args)
                log.write(json.dumps({"step": step, "eval": ev}) + "\n")
                log.flush()
                bar.write(f"step {step}: held-out text {ev['text']:.3f} image {ev['image']:.3f}; {ev['captions'][0]}")
            if time.time() - last_ckpt > args.ckpt_minutes * 60:
                save_checkpoint(ckpt_path, model, vae, tok, opt, step, time.time() - start, gen)
                last_ckpt = time.time()
    bar.close()
    seconds = time.time() - start
    save_checkpoint(ckpt_path, model, vae, tok, opt, step, seconds, gen)
    print(f"step {step}, {seconds / 60:.1f} minutes of training in all; checkpoint {ckpt_path}")
    return step


def load_checkpoint(path: Path) -> tuple[dict, VQVAE, Tokenizer, Unified]:
    """A checkpoint with its VQVAE, tokenizer and model rebuilt."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)  # our own: configs and RNG states beside the tensors
    vae = VQVAE.from_config(ckpt["vae_config"])
    vae.load_state_dict(ckpt["vae"])
    model = Unified.from_config(ckpt["unified"], ckpt["vae_config"])
    if "code_proj" in ckpt["model"]:  # trained with --code-head
        model.use_code_head(vae.quantize.embedding.weight)
    model.load_state_dict(ckpt["model"])
    return ckpt, vae, Tokenizer(ckpt["tokenizer"]), model


def swap_vae(model: Unified, old: VQVAE, new: VQVAE, source: Path) -> VQVAE:
    """The tokenizer a fine-tune moves onto: it must give the codes the model's vocabulary and scales expect. A code
    head is rebased onto its codebook."""
    for key in ("vocab_size", "v_patch_nums", "z_channels"):
        if new.config()[key] != old.config()[key]:
            raise ValueError(f"{source}: the VQVAE's {key} is {new.config()[key]}, the model's tokenizer has {old.config()[key]}")
    if model.code_basis is not None:
        model.rebase_code_head(new.quantize.embedding.weight)
    print(f"moving onto the tokenizer of {source}")
    return new


def load_model_folder(folder: Path) -> tuple[VQVAE, Tokenizer, Unified]:
    """The VQVAE, tokenizer and transformer of a runtime model folder (an --export, e.g. models/builtin), in float32."""
    config = json.loads((folder / "config.json").read_text())
    if config.get("family") != "unified":
        raise ValueError(f'{folder / "config.json"}: expected family "unified", found {config.get("family")!r}')
    unified = {k: v for k, v in config["unified"].items() if k != "frame_conditioned"}  # the export's mark, not the model's
    model = Unified.from_config(unified, config["vae"])
    weights = folder / "weights.safetensors"
    state = {k.removeprefix("unified."): v.float() for k, v in safetensors_io.load(weights).items() if k.startswith("unified.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{weights}: unified tensors missing {missing[:4]}, unexpected {unexpected[:4]}")
    return load_vae(folder), Tokenizer(json.loads((folder / "tokenizer.json").read_text())), model


def add_source_args(p: argparse.ArgumentParser) -> None:
    """--model FOLDER or --ckpt CKPT: the unified model a reading tool reads (ladder.py, probe_order.py)."""
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", type=Path, help="a runtime model folder (e.g. models/builtin)")
    src.add_argument("--ckpt", type=Path, help="a training checkpoint (WORK/unified.ckpt)")


def load_source(args: argparse.Namespace) -> tuple[VQVAE, Tokenizer, Unified, str]:
    """The VQVAE, tokenizer and transformer (in eval mode) that add_source_args names, and how to name them."""
    if args.model:
        vae, tok, model = load_model_folder(args.model)
        source = str(args.model)
    else:
        ckpt, vae, tok, model = load_checkpoint(args.ckpt)
        source = f"{args.ckpt} (step {ckpt['step']})"
    return vae.eval(), tok, model.eval(), source


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    args.work.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(args.seed)
    ckpt_path = args.work / "unified.ckpt"
    args.mix = (list(args.mix) + [0.0] * 4)[:4]
    device = precision.resolve_device(args.device)
    args.precision = precision.resolve(args.precision, device)
    if args.init and args.resume:
        raise ValueError("--init starts a fine-tune and --resume continues one: give one of them")
    if args.grow_depth and not args.init:
        raise ValueError("--grow-depth deepens the model an --init starts from: give --init")
    if args.code_vector_weight < 0 or args.code_vector_through < 1:
        raise ValueError(f"--code-vector-weight must be at least 0 and --code-vector-through at least 1; found "
                         f"{args.code_vector_weight} and {args.code_vector_through}")
    if args.workers < 0:
        raise ValueError(f"--workers must be at least 0, found {args.workers}")
    if args.workers and args.self_correct_from != "near":
        raise ValueError(f"--self-correct-from {args.self_correct_from} draws from the model being trained, which a "
                         "batch worker only has as it was forked: use --workers 0")
    if not 0 <= args.self_correct <= 1 or args.self_correct_near < 1:
        raise ValueError(f"--self-correct must be in [0, 1] and --self-correct-near at least 1; found {args.self_correct} and "
                         f"{args.self_correct_near}")
    if args.self_correct_clips and (args.self_correct == 0 or args.mix[3] == 0):
        raise ValueError(f"--self-correct-clips needs --self-correct above 0 and clip batches in --mix; found "
                         f"--self-correct {args.self_correct} and --mix {args.mix}")
    if not 0 <= args.coarse_share <= 1 or args.coarse_through < 1:
        raise ValueError(f"--coarse-share must be in [0, 1] and --coarse-through at least 1; found {args.coarse_share} and "
                         f"{args.coarse_through}")
    if args.init:
        if args.init.is_dir():
            vae, tok, model = load_model_folder(args.init)
            print(f"fine-tuning the model folder {args.init}")
        else:
            ckpt, vae, tok, model = load_checkpoint(args.init)
            print(f"fine-tuning the model of {args.init} (trained {ckpt['step']} steps, {ckpt.get('seconds', 0) / 60:.1f} minutes)")
        if args.vae:
            vae = swap_vae(model, vae, load_vae(args.vae), args.vae)
        if args.pos_2d:
            model.add_pos_grid()
        if args.pos_scales:
            model.add_pos_scales()
        if args.grow_depth:
            model.grow(args.grow_depth)
        if args.code_head and model.code_basis is None:
            model.use_code_head(vae.quantize.embedding.weight)
        step, seconds, opt_state = 0, 0.0, None
    elif args.resume:
        if not ckpt_path.exists():
            raise FileNotFoundError(f"--resume: {ckpt_path} does not exist (start without --resume)")
        ckpt, vae, tok, model = load_checkpoint(ckpt_path)
        step, seconds, opt_state = ckpt["step"], ckpt.get("seconds", 0.0), ckpt["optimizer"]
        torch.set_rng_state(ckpt["torch_rng"])
        gen.set_state(ckpt["data_rng"])
        print(f"resumed from {ckpt_path} at step {step}")
    else:
        if args.data is None or args.vae is None:
            raise ValueError("a fresh start needs --data (the world folder) and --vae (the VQVAE export)")
        vae = load_vae(args.vae)
        tok = build_tokenizer(args.data)
        unified = dict(text_vocab_size=tok.vocab_size, depth=args.depth, embed_dim=args.embed, num_heads=args.heads,
                       num_kv_heads=args.kv_heads, intermediate_size=args.intermediate, rms_norm_eps=1e-6, rope_theta=10000.0,
                       patch_nums=list(vae.v_patch_nums), context_length=args.context, caption_view=args.caption_view,
                       rope_2d=args.rope_2d, pos_2d=args.pos_2d, pos_scales=args.pos_scales)
        model = Unified.from_config(unified, vae.config())
        if args.code_head:
            model.use_code_head(vae.quantize.embedding.weight)
        step, seconds, opt_state = 0, 0.0, None
    model.to(device)  # before the optimizer, whose state (loaded or new) then lives beside the weights
    opt = make_optimizer(model, args)
    if opt_state is not None:
        if len(opt_state["param_groups"]) != len(opt.param_groups):
            raise ValueError(f"--resume: {ckpt_path} was trained with {len(opt_state['param_groups'])} parameter groups and "
                             f"this run makes {len(opt.param_groups)}: resume with the --pos-lr-scale it was started with")
        opt.load_state_dict(opt_state)
    vae.eval().requires_grad_(False)
    if progress(step, seconds, args) < 1:
        if args.data is None:
            raise ValueError("--data is needed to train (use --minutes 0 to only export or sample)")
        step = train(model, vae, tok, opt, step, seconds, gen, args)
    if args.export:
        export(model, vae, tok, args.export, args.f16, frame_conditioned=args.mix[3] > 0)
    if args.sample:
        sample(model, vae, tok, args)


if __name__ == "__main__":
    main()
