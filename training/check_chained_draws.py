"""Checks `--self-correct-from chain` against generation: with every coarse token replaced (rate 1) and greedy draws,
the block inputs a chained batch feeds must be the ones the model's own greedy generation of the same prompt feeds.

    /usr/bin/python3 training/check_chained_draws.py --ckpt WORK/unified.ckpt --data WORLD --tokens WORK/tokens.pt

Prints one line per sequence (full images, batches cut after 8x8 and after 4x4, and with --clips a batch of clip
steps as `--self-correct-clips` chains them: a clip's next frame after the frame before, or its first frame from its
caption) and exits 1 on a mismatch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_unified  # noqa: E402
from nextscale.unified import Image, Text, generate_image  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ckpt", type=Path, required=True, help="a train_unified.py checkpoint")
    p.add_argument("--data", type=Path, required=True, help="the world folder it trained on")
    p.add_argument("--tokens", type=Path, required=True, help="that world's token cache (tokens.pt)")
    p.add_argument("--batch", type=int, default=6)
    p.add_argument("--clips", action="store_true", help="a batch of clip steps too (the world and cache hold clips)")
    args = p.parse_args()
    torch.set_num_threads(2)
    _, vae, tok, model = train_unified.load_checkpoint(args.ckpt)
    vae.eval()
    model.eval()
    tokens = train_unified.with_clip_copies(torch.load(args.tokens))
    seqs = train_unified.Sequences(args.data, tokens, tok, model, vae, [1, 0, 0, 1 if args.clips else 0], 64, 0)
    train_unified.OWN_TOP_K = 1  # greedy: the chain's draws and generation's must then agree exactly
    gen, pns, failed = torch.Generator().manual_seed(3), model.cfg.patch_nums, 0
    for kind, through in [(0, None), (0, 4), (0, 3)] + ([(3, None)] if args.clips else []):
        drawn = [seqs.draw(gen, kind, 0.0, through=through) for _ in range(args.batch)]
        seqs.batch(drawn, train_unified.Correction(torch.ones(args.batch), 128, gen, "chain", "fp32"))
        for prompt, *images in (segs for segs, _ in drawn):
            img, start = images[-1], images[-1].start
            view = [] if start is None else [Image(codes=[], feats=[start.flatten(1).transpose(0, 1)], closed=True, view=True)]
            f_hats = generate_image(model, vae, seqs.sp, [Text(prompt.ids, prompt=True)] + view, 0.0, top_k=1,
                                    start=None if start is None else start[None])["f_hat"]
            fed = range(1, (through or len(pns)))  # block s is fed the features after scales 0..s-1
            worst = max(float((img.feats[s - 1].float() - F.adaptive_avg_pool2d(f_hats[s - 1], pns[s]).flatten(2)
                                .transpose(1, 2)[0]).abs().max()) for s in fed)
            failed += worst > 1e-4
            what = "a clip's next frame" if start is not None else "a clip's first frame" if kind == 3 else "caption→image"
            print(f"{what}, scales 0..{fed[-1]} predicted, blocks 1..{fed[-1]} fed: largest difference from generation {worst:.2e}")
    print("FAIL" if failed else "ok: the chained draws feed what greedy generation feeds")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
