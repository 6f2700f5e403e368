"""A model folder's VQVAE, unchanged, quantising with other scale schedules: the reconstruction PSNR and the token
count of each, on world images. The codebook and the phi convolutions are shared by every scale (a scale's phi is
the one nearest its place in the schedule), so another list of scales needs no new tokenizer if this holds up.
With --bounds, two more rows for the model's own schedule: its decoder on the encoder's features unquantised, and
on codes re-chosen scale by scale (each scale's codes quantised anew from the residual that the other scales leave,
kept per image where the features' error falls, three passes): how much of the loss is the codes' choice, and how
much the autoencoder's.

    /usr/bin/python3 training/schedule_recon.py --model models/builtin --images out/ladder-heldout/images.npy \
        --schedules 1,2,4,8,16 1,2,4,8,12,16 1,2,4,6,8,12,16 [--bounds]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nextscale.data import psnr_m11 as psnr  # noqa: E402
from nextscale.vqvae import load_vae  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True, help="a model folder (config.json, weights.safetensors)")
    p.add_argument("--images", type=Path, required=True, help="uint8 [N, S, S, 3] world images (a world folder's images.npy)")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--schedules", nargs="+", required=True, help="comma-separated increasing sizes ending at the last")
    p.add_argument("--bounds", action="store_true", help="also the unquantised features and the re-chosen codes")
    args = p.parse_args()
    torch.set_num_threads(1)
    vae = load_vae(args.model).eval()
    images = np.load(args.images)[: args.count]
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    last = vae.v_patch_nums[-1]
    print("| scales | tokens | PSNR |\n| --- | --- | --- |")
    for text in args.schedules:
        pns = tuple(int(v) for v in text.split(","))
        if pns[-1] != last or any(b <= a for a, b in zip(pns, pns[1:])):
            raise ValueError(f"--schedules {text}: expected increasing sizes ending at {last}")
        saved, vae.v_patch_nums = vae.v_patch_nums, pns
        try:
            with torch.no_grad(), vae.quantize.scales(pns):
                y = vae.decode(vae.fhat_sequence(vae.encode_idx(x))[-1]).clamp(-1, 1)
        finally:
            vae.v_patch_nums = saved
        print(f"| {', '.join(map(str, pns))} | {sum(p * p for p in pns)} | {psnr(y, x):.2f} dB |")
    if args.bounds:
        with torch.no_grad():
            f = vae.encode_features(x)
            print(f"| none: the encoder's features, unquantised | - | {psnr(vae.decode(f), x):.2f} dB |")
            print(f"| {', '.join(map(str, vae.v_patch_nums))}, codes re-chosen scale by scale | "
                  f"{sum(p * p for p in vae.v_patch_nums)} | {psnr(vae.decode(rechosen_fhat(vae, f, 3)), x):.2f} dB |")


def rechosen_fhat(vae, f: torch.Tensor, passes: int) -> torch.Tensor:
    """f_hat of the greedy codes, then each scale's codes quantised anew from f less the other scales' contributions,
    an image keeping the new codes where its features' squared error falls; `passes` rounds over the scales."""
    q = vae.quantize
    idx = q.f_to_idx(f)
    parts = [q.contribution(t, s) for s, t in enumerate(idx)]
    for _ in range(passes):
        for s, pn in enumerate(q.v_patch_nums):
            rest = f - (sum(parts) - parts[s])
            new = q.contribution(q.nearest(q.rest_tokens(rest, s)).view(-1, pn * pn), s)
            better = (rest - new).square().flatten(1).sum(1) < (rest - parts[s]).square().flatten(1).sum(1)
            parts[s] = torch.where(better[:, None, None, None], new, parts[s])
    return sum(parts)


if __name__ == "__main__":
    main()
