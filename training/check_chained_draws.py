"""Checks `--self-correct-from chain` against generation: with every coarse token replaced (rate 1) and greedy draws,
the block inputs a chained batch feeds must be the ones the model's own greedy generation of the same prompt feeds.

    /usr/bin/python3 training/check_chained_draws.py --ckpt WORK/unified.ckpt --data WORLD --tokens WORK/tokens.pt

Prints one line per sequence (full images, and batches cut after 8x8 and after 4x4) and exits 1 on a mismatch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_unified  # noqa: E402
from nextscale.unified import Text, generate_image  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ckpt", type=Path, required=True, help="a train_unified.py checkpoint")
    p.add_argument("--data", type=Path, required=True, help="the world folder it trained on")
    p.add_argument("--tokens", type=Path, required=True, help="that world's token cache (tokens.pt)")
    p.add_argument("--batch", type=int, default=6)
    args = p.parse_args()
    torch.set_num_threads(2)
    _, vae, tok, model = train_unified.load_checkpoint(args.ckpt)
    vae.eval()
    model.eval()
    seqs = train_unified.Sequences(args.data, torch.load(args.tokens), tok, model, vae, [1, 0, 0, 0], 64, 0)
    train_unified.OWN_TOP_K = 1  # greedy: the chain's draws and generation's must then agree exactly
    gen, pns, failed = torch.Generator().manual_seed(3), model.cfg.patch_nums, 0
    for through in (None, 4, 3):
        drawn = [seqs.draw(gen, 0, 0.0, through=through) for _ in range(args.batch)]
        seqs.batch(drawn, train_unified.Correction(torch.ones(args.batch), 128, gen, "chain", "fp32"))
        for prompt, img in (segs for segs, _ in drawn):
            f_hats = generate_image(model, vae, seqs.sp, [Text(prompt.ids, prompt=True)], 0.0, top_k=1)["f_hat"]
            fed = range(1, (through or len(pns)))  # block s is fed the features after scales 0..s-1
            worst = max(float((img.feats[s - 1].float() - F.adaptive_avg_pool2d(f_hats[s - 1], pns[s]).flatten(2)
                                .transpose(1, 2)[0]).abs().max()) for s in fed)
            failed += worst > 1e-4
            print(f"scales 0..{fed[-1]} predicted, blocks 1..{fed[-1]} fed: largest difference from generation {worst:.2e}")
    print("FAIL" if failed else "ok: the chained draws feed what greedy generation feeds")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
