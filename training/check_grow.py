"""Checks `--grow-depth`: a model deepened by `Unified.grow` must compute what it computed before, on real sequences
of every kind the world holds (caption→image, image→caption, clips), and its new layers must learn (their residual
outputs get a gradient at once).

    /usr/bin/python3 training/check_grow.py --model models/builtin --data WORLD --tokens WORK/tokens.pt --depth 6

Prints the largest difference of the hidden states and the gradient norms of the new layers; exits 1 if the
hidden states differ by more than 1e-5 or a new layer's outputs get no gradient."""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_unified  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True, help="a model folder")
    p.add_argument("--data", type=Path, required=True, help="the world folder")
    p.add_argument("--tokens", type=Path, required=True, help="that world's token cache (tokens.pt) for this model's VQVAE")
    p.add_argument("--depth", type=int, default=6)
    p.add_argument("--batch", type=int, default=4)
    args = p.parse_args()
    torch.set_num_threads(2)
    vae, tok, model = train_unified.load_model_folder(args.model)
    vae.eval()
    model.eval()
    grown = copy.deepcopy(model)
    grown.grow(args.depth)
    # The new layers are the ones whose residual outputs are all zero.
    new = [i for i, layer in enumerate(grown.layers) if not layer.attn.o.weight.any() and not layer.mlp.down.weight.any()]
    seqs = train_unified.Sequences(args.data, torch.load(args.tokens), tok, model, vae, [1, 1, 0, 1], 64, 0)
    gen, failed = torch.Generator().manual_seed(5), False
    for kind, name in ((0, "caption→image"), (1, "image→caption"), (3, "clip")):
        batch = seqs.batch([seqs.draw(gen, kind, 0.0) for _ in range(args.batch)])
        with torch.no_grad():
            worst = float((grown(batch) - model(batch)).abs().max())
        failed |= worst > 1e-5
        print(f"{name}: largest difference of the final hidden states, {model.cfg.depth} layers against {args.depth}: {worst:.2e}")
    grown.train()
    grown(batch).pow(2).mean().backward()
    norms = [(float(grown.layers[i].attn.o.weight.grad.norm()), float(grown.layers[i].mlp.down.weight.grad.norm())) for i in new]
    failed |= len(new) != args.depth - model.cfg.depth or any(a == 0 or b == 0 for a, b in norms)
    print(f"new layers {new}: gradient norms of attn.o and mlp.down {[(f'{a:.2e}', f'{b:.2e}') for a, b in norms]}")
    print("FAIL" if failed else "ok: the grown model computes what the model did, and its new layers learn")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
