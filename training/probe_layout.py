"""How much of a world's image layout a unified checkpoint has learned, per scale.

    /usr/bin/python3 training/probe_layout.py --work out/unified-work --data out/world

Three numbers per scale, on the held-out images of the world the checkpoint was trained on (caption → image): those
the world marks `heldout` (a world written with held-out combinations), else the --eval-images that training set
aside at random, whose captions' combinations are trained on; each image is measured once (--images).
- teacher-forced accuracy: the share of codes where the model's most likely code, given the caption and the
  true coarser scales, is the true code;
- caption lookup: the share of codes equal to the most common code at that position among the training
  images with the same caption. No model and no coarser scales: what position and caption alone give.
- layout placed: where the truth varies over a scale's positions, the cosine between that variation and the
  variation of the model's expected code vector (the codebook averaged under its probabilities): 1 where it
  puts each colour where the image has it, 0 for a flat field.
A model far below the lookup has not learned where a caption's figures sit (see training/NOTES.md, the
phase-aligned world). WORK must hold unified.ckpt and the tokens.pt it was trained on.

    /usr/bin/python3 training/probe_layout.py --work out/unified-work --data out/world \
        --picture "brown and orange checker, coarse" --picture-out layout.png

`--picture CAPTION` shows the same thing for up to three of the world's images with that caption: one row per
image, and per scale a pair of decoded images, the truth through that scale, then the truth through the scale
before plus the model's most likely codes at it. Where the model knows the layout, the two agree; where it
does not, the second stays flat (it picks a code near the mean of the two colours) at the scale where the
layout first appears.
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nextscale.data import load_captions  # noqa: E402
from nextscale.unified import Text, Unified, block_features  # noqa: E402
from train_unified import Sequences, load_checkpoint, write_png  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, required=True, help="training folder holding unified.ckpt and tokens.pt")
    p.add_argument("--data", type=Path, required=True, help="the world folder it was trained on")
    p.add_argument("--images", type=int, default=256,
                   help="images measured, each once: every held-out (or training) image up to this many, a seeded sample "
                        "without repeats where there are more")
    p.add_argument("--eval-images", type=int, default=64, help="as train_unified.py: images set aside when none are held out")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--caption-filter", metavar="TEXT", help="as train_unified.py: only images whose caption contains TEXT")
    p.add_argument("--train", action="store_true", help="measure on training images instead of held-out ones")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--picture", metavar="CAPTION", help="draw the teacher-forced layout of this caption's images")
    p.add_argument("--picture-out", type=Path, default=Path("layout.png"))
    return p.parse_args()


@torch.no_grad()
def teacher_forced(model: Unified, vae, seqs: Sequences, images: list[int]) -> tuple[list[float], list[float]]:
    """Per scale: the share of codes whose most likely code is the true one, and how much of the layout the model
    places (see `layout_placed`, averaged over images), on these images, caption first, in batches of 16."""
    T, S = model.cfg.text_vocab_size, len(model.cfg.patch_nums)
    codebook = vae.quantize.embedding.weight.detach().float()  # [V, Cvae]
    hits, counts = torch.zeros(S), torch.zeros(S)
    placed: list[list[float]] = [[] for _ in range(S)]
    for first in range(0, len(images), 16):
        drawn = [(seqs.caption_image(i), False) for i in images[first : first + 16]]
        b = seqs.batch(drawn)
        h = model(b)
        for j, (segments, _) in enumerate(drawn):
            is_img = b.target[j] >= T
            probs = model.image_logits(h[j][is_img]).float().softmax(-1)
            scale = b.level[j][is_img]  # `<image>` predicts scale 0, block Bs scale s
            for s in range(S):
                p, truth = probs[scale == s], segments[1].codes[s].reshape(-1)
                hits[s] += (p.argmax(-1) == truth).sum()
                counts[s] += len(truth)
                share = layout_placed(p @ codebook, codebook[truth])
                if share is not None:
                    placed[s].append(share)
    return (hits / counts).tolist(), [sum(x) / len(x) if x else float("nan") for x in placed]


def layout_placed(expected_NC: torch.Tensor, truth_NC: torch.Tensor) -> float | None:
    """The cosine between how the model's expected code vector and the true code vector vary over a scale's positions
    (each minus its mean over the positions): 1 where the model puts each colour where the image has it, 0 where
    it predicts the same mixture everywhere (the flat field), None where the truth itself is flat at that scale."""
    e, t = expected_NC - expected_NC.mean(0), truth_NC - truth_NC.mean(0)
    if t.pow(2).sum(-1).mean() <= 0.05 * truth_NC.pow(2).sum(-1).mean():
        return None
    return float((e * t).sum() / (e.norm() * t.norm()).clamp(min=1e-9))


def caption_lookup(codes: list[torch.Tensor], captions: list[str], train_idx: list[int], held_idx: list[int]) -> list[float]:
    by_caption: dict[str, list[int]] = collections.defaultdict(list)
    for i in train_idx:
        by_caption[captions[i]].append(i)
    shares = []
    for per_scale in codes:
        c = per_scale[0].long()  # the unrolled copy [N, pn²]
        hits = total = 0
        for i in held_idx:
            pool = by_caption.get(captions[i])
            if pool:
                hits += int((torch.mode(c[pool], dim=0).values == c[i]).sum())
                total += c.shape[1]
        shares.append(hits / total if total else float("nan"))  # nan: no held-out image's caption was trained on
    return shares


@torch.no_grad()
def picture(model: Unified, vae, seqs: Sequences, images: list[int], out: Path) -> list[float]:
    """Writes the `--picture` grid (see the module's docstring) for these images; returns the share of each scale's
    codes that the model's most likely code gets right on them."""
    T, pns = model.cfg.text_vocab_size, model.cfg.patch_nums
    right = torch.zeros(len(pns))
    rows = []
    for i in images:
        img = seqs.image("images", 0, i, False)
        b = seqs.batch([([Text(seqs.caption_ids[i], prompt=True), img], False)])
        is_img = b.target[0] >= T
        best = model.image_logits(model(b)[0][is_img]).argmax(-1)
        scale = b.level[0][is_img]
        _, truth = block_features(vae, [c[None] for c in img.codes], pns, 0)  # f_hat after each scale
        tiles = []
        for s in range(len(pns)):
            before = truth[s - 1] if s else torch.zeros_like(truth[0])
            tiles += [truth[s], vae.add_scale(before, best[scale == s][None], s)]
            right[s] += (best[scale == s] == img.codes[s]).float().mean() / len(images)
        rows.append(torch.cat([vae.decode(f) for f in tiles], 3))
    grid = (torch.cat(rows, 2)[0].clamp(-1, 1) + 1) * 127.5
    grid = grid.round().byte().repeat_interleave(2, 1).repeat_interleave(2, 2)  # twice the size, nearest
    write_png(out, grid.permute(1, 2, 0).numpy())
    return right.tolist()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    ckpt, vae, tok, model = load_checkpoint(args.work / "unified.ckpt")
    tokens = torch.load(args.work / "tokens.pt")
    seqs = Sequences(args.data, tokens, tok, model.eval(), vae.eval(), [1, 0, 0, 0], args.eval_images, 0)
    if args.caption_filter is not None:
        seqs.keep_captions(args.caption_filter)
    captions = [c["caption"] for c in load_captions(args.data)][: tokens["images"][0].shape[1]]
    if args.picture is not None:
        images = [i for i, c in enumerate(captions) if c == args.picture][:3]
        if not images:
            raise SystemExit(f"--picture: no image of the world is captioned {args.picture!r} (captions read like "
                             f"{captions[0]!r})")
        acc = picture(model, vae, seqs, images, args.picture_out)
        print(f"{args.picture_out}: images {images}; most likely code right, per scale: "
              + " ".join(f"{pn}x{pn} {100 * a:.0f}%" for pn, a in zip(model.cfg.patch_nums, acc)))
        return
    pool = seqs.train_idx if args.train else seqs.held_idx
    if len(pool) > args.images:
        pool = pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(args.seed))[: args.images]]
    model_acc, placed = teacher_forced(model, vae, seqs, pool.tolist())
    lookup = caption_lookup(tokens["images"], captions, seqs.train_idx.tolist(), seqs.held_idx.tolist())
    print(f"{args.work / 'unified.ckpt'}: step {ckpt['step']}; {len(pool)} {'training' if args.train else 'held-out'} images")
    print("scale               " + "".join(f"{pn}x{pn}".rjust(8) for pn in model.cfg.patch_nums))
    print("teacher-forced      " + "".join(f"{100 * a:7.1f}%" for a in model_acc))
    print("caption lookup      " + "".join(f"{100 * a:7.1f}%" for a in lookup))
    print("layout placed       " + "".join(f"{a:8.2f}" for a in placed))


if __name__ == "__main__":
    main()
