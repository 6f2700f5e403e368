"""A model folder's VQVAE, unchanged, quantising with other scale schedules: the reconstruction PSNR and the token
count of each, on world images. The codebook and the phi convolutions are shared by every scale (a scale's phi is
the one nearest its place in the schedule), so another list of scales needs no new tokenizer if this holds up.

    /usr/bin/python3 training/schedule_recon.py --model models/builtin --images out/ladder-heldout/images.npy \
        --schedules 1,2,4,8,16 1,2,4,8,12,16 1,2,4,6,8,12,16
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nextscale.vqvae import load_vae  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True, help="a model folder (config.json, weights.safetensors)")
    p.add_argument("--images", type=Path, required=True, help="uint8 [N, S, S, 3] world images (a world folder's images.npy)")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--schedules", nargs="+", required=True, help="comma-separated increasing sizes ending at the last")
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
        mse = float(((y - x) ** 2).mean()) / 4  # images in [-1, 1]: a quarter of the error in [0, 1]
        print(f"| {', '.join(map(str, pns))} | {sum(p * p for p in pns)} | {10 * math.log10(1 / mse):.2f} dB |")


if __name__ == "__main__":
    main()
