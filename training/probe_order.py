"""Does a unified model know which colour goes where? Teacher-forced loss per scale of world images against the same
images moved so that the layout is wrong, each given its true caption.

    /usr/bin/python3 training/probe_order.py --model models/builtin --data out/builtin-work/world

A checker moved by one cell is the checker with its two colours swapped ("red and blue" drawn as "blue and red"); a
stripe or wave texture moved by half a period has its stripes where the gaps were. For each pattern and texture scale
(rotation 0, the first --images images of the world with that caption form) the script prints the mean code loss
(nats) of every scale for the image as drawn and for the moved one. Where the model knows the layout, the moved
image's loss is higher at the scale where the layout first shows (4x4 for coarse, 8x8 for medium, 16x16 for fine
textures); equal losses there mean it spreads its bets over both layouts, and independent per-token sampling then
draws a mixture of the two (blotches).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nextscale.data import load_captions, load_images, to_m11  # noqa: E402
from nextscale.unified import Image, Specials, Text, block_features, build_sequence, collate  # noqa: E402
from train_unified import add_source_args, load_source  # noqa: E402

# Periods over the 64-pixel image (world/patterns.ts, PERIODS): a checker period holds two cells.
PERIODS = {"fine": 8, "medium": 4, "coarse": 2}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_args(p)
    p.add_argument("--data", type=Path, required=True, help="a phase-aligned world (npm run world -- --aligned)")
    p.add_argument("--images", type=int, default=24, help="images per pattern and scale")
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def shift_of(pattern: str, scale: str, size: int) -> tuple[int, int]:
    """(pixels, axis of [B, 3, H, W]) that put a texture's layout out of place: a cell of a checker along x, half a
    period of stripes and waves along y (rotation 0 runs them across the rows)."""
    period = size // PERIODS[scale]
    return (period // 2, 3) if pattern == "checker" else (period // 2, 2)


@torch.no_grad()
def code_loss(model, vae, sp: Specials, prompts: list[list[int]], images: torch.Tensor) -> list[float]:
    """Mean teacher-forced code loss of each scale of `images` [B, 3, H, W] in [-1, 1], each after its prompt."""
    pns, T = model.cfg.patch_nums, model.cfg.text_vocab_size
    codes = vae.encode_idx(images)
    feats, _ = block_features(vae, codes, pns, len(pns) - 1)
    rows = [build_sequence([Text(p, prompt=True), Image(codes=[c[b] for c in codes], feats=[f[b] for f in feats])], sp, model)
            for b, p in enumerate(prompts)]
    batch = collate(rows, sp.pad)
    is_img = batch.target >= T
    log_p = model.image_logits(model(batch)[is_img]).float().log_softmax(-1)
    loss = -log_p.gather(-1, (batch.target[is_img] - T)[:, None])[:, 0]
    level = batch.level[is_img]  # `<image>` predicts scale 0, block Bs scale s
    return [float(loss[level == s].mean()) for s in range(len(pns))]


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    vae, tok, model, source = load_source(args)
    sp = Specials.of(tok)
    captions = [c["caption"] for c in load_captions(args.data)]
    world = load_images(args.data)
    pns = model.cfg.patch_nums
    print(f"{source}: code loss per scale (nats), as drawn / moved out of place")
    print("| texture | " + " | ".join(f"{pn}x{pn}" for pn in pns) + " |")
    print("| --- |" + " --- |" * len(pns))
    for pattern in ("checker", "stripes", "waves"):
        for scale in ("fine", "medium", "coarse"):
            chosen = [i for i, c in enumerate(captions) if c.endswith(f" {pattern}, {scale}")][: args.images]
            if not chosen:
                raise SystemExit(f"{args.data}: no image captioned '... {pattern}, {scale}'")
            images = to_m11(world[torch.tensor(chosen)])
            shift, axis = shift_of(pattern, scale, images.shape[-1])
            prompts = [tok.encode(captions[i]) for i in chosen]
            drawn = code_loss(model, vae, sp, prompts, images)
            moved = code_loss(model, vae, sp, prompts, torch.roll(images, shift, axis))
            print(f"| {pattern}, {scale} ({len(chosen)}) | " + " | ".join(f"{a:.2f} / {b:.2f}" for a, b in zip(drawn, moved)) + " |")


if __name__ == "__main__":
    main()
