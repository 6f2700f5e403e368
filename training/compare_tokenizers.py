"""Two VQVAEs on the same world images: the share of codes they agree on, scale by scale, and each one's
reconstruction PSNR (of the mean squared error, images in [0, 1], as `npm run eval` reads it). Tells how far a
retrained tokenizer moves the codes a transformer was trained on, and what it buys.

    /usr/bin/python3 training/compare_tokenizers.py --a models/builtin --b WORK/vqvae.ckpt --images WORLD_DIR

--a and --b are model folders (or exports with vae.json) or `train_vqvae.py` checkpoints.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nextscale.data import load_images, psnr_m11, to_m11  # noqa: E402
from nextscale.vqvae import VQVAE, load_vae  # noqa: E402


def load(path: Path) -> VQVAE:
    """A VQVAE from a model folder, an export, or a train_vqvae.py checkpoint."""
    if path.is_dir():
        return load_vae(path).eval()
    ckpt = torch.load(path, map_location="cpu")
    if not isinstance(ckpt, dict) or "config" not in ckpt or "model" not in ckpt:
        raise SystemExit(f"{path}: expected a model folder or a train_vqvae.py checkpoint (with 'config' and 'model')")
    model = VQVAE.from_config(ckpt["config"])
    model.load_state_dict(ckpt["model"])
    return model.eval()


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--a", type=Path, required=True)
    p.add_argument("--b", type=Path, required=True)
    p.add_argument("--images", type=Path, required=True, help="world folder (images.npy)")
    p.add_argument("--count", type=int, default=0, help="first N images (0: all)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    a, b = load(args.a), load(args.b)
    if a.v_patch_nums != b.v_patch_nums:
        raise SystemExit(f"the two VQVAEs have different scales: {list(a.v_patch_nums)} and {list(b.v_patch_nums)}")
    images = load_images(args.images)
    x = to_m11(images[: args.count] if args.count else images)
    agree = [float((p == q).float().mean()) for p, q in zip(a.encode_idx(x), b.encode_idx(x))]
    print(f"{len(x)} images; codes agreeing per scale {list(a.v_patch_nums)}: " + ", ".join(f"{v:.1%}" for v in agree))
    recon = [psnr_m11(m.decode(m.fhat_sequence(m.encode_idx(x))[-1]), x) for m in (a, b)]
    print(f"reconstruction PSNR: a {recon[0]:.2f} dB, b {recon[1]:.2f} dB")


if __name__ == "__main__":
    main()
