"""Samples a trained unified checkpoint on world prompts and images, for grading by the runtime's checker.

    npm run world -- --out out/eval-seen --count 100 --seed 7
    npm run world -- --out out/eval-heldout --count 100 --seed 7 --heldout
    /usr/bin/python3 training/sample_world.py --work out/unified-work --prompts out/eval-seen out/eval-heldout \\
        --caption out/eval-seen --caption-count 100 --recon out/eval-seen --out out/eval-torch
    npm run world -- --grade out/eval-torch
    npm run world -- --out out/eval-clips --count 1 --clips 40 --clip-frames 6 --seed 7
    /usr/bin/python3 training/sample_world.py --work out/clip-work --clips out/eval-clips --out out/eval-torch-clips
    npm run world -- --grade out/eval-torch-clips

`npm run eval` measures the runtime itself, but on a software adapter it costs about a minute per image; this is
the same model in PyTorch (which the runtime reproduces number for number, see tests/fixtures/unified-tiny), fast
enough on the CPU for the full counts. It writes OUT in the world export's format: one record per generated texture
(its prompt as "caption", "heldout" as the prompt's folder says) and one per captioned world image (the image, its
true "caption" and the greedy "predicted" one), which `npm run world -- --grade OUT` grades. With --recon it prints
the VQVAE's reconstruction PSNR over those images (the PSNR of the mean squared error, as `npm run eval` does) and
writes the reconstructions to OUT/recon as textures captioned with their images' captions, so that grading them
shows how much of the pattern and colours the tokenizer alone keeps.

With --clips (a model trained on clips), OUT/clips.npy [M, F, size, size, 3] and OUT/clips.jsonl get, per clip caption,
the clip generated frame by frame (frame 0 from the caption, frame t + 1 after the full view of frame t and starting
from its features: "conditioned")
and, for the first --clip-baseline captions, every frame from the caption alone with its own sample ("independent"),
the flicker that frame conditioning removes. `npm run world -- --grade OUT` grades them against the world's motion.
--clip-top-k samples the frames after a clip's first with their own top-k (one for all scales, or one per scale). --clip-truth writes, in place of
generated clips, the world's clips decoded from the codes a clip plays them by, which grades what the tokenizer
allows a model's clips.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nextscale.data import load_captions, load_images, to_m11  # noqa: E402
from nextscale.tokenizer import Tokenizer  # noqa: E402
from nextscale.data import load_clips  # noqa: E402
from nextscale.unified import Image, Specials, Text, Unified, encode_image, generate_image, generate_text  # noqa: E402
from nextscale.vqvae import VQVAE  # noqa: E402
from train_unified import load_checkpoint  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, required=True, help="training folder holding unified.ckpt")
    p.add_argument("--out", type=Path, required=True, help="folder to write images.npy and captions.jsonl")
    p.add_argument("--prompts", type=Path, nargs="*", default=[], help="world folders whose captions are the prompts")
    p.add_argument("--count", type=int, default=100, help="prompts taken from each --prompts folder")
    p.add_argument("--caption", type=Path, help="world folder whose images are captioned")
    p.add_argument("--caption-count", type=int, default=100)
    p.add_argument("--recon", type=Path, help="world folder whose images measure the reconstruction PSNR")
    p.add_argument("--recon-count", type=int, default=50)
    p.add_argument("--clips", type=Path, help="world folder whose clip captions are the prompts of clips")
    p.add_argument("--clip-count", type=int, default=40)
    p.add_argument("--clip-frames", type=int, default=6)
    p.add_argument("--clip-truth", action="store_true",
                   help="with --clips, no sampling: the world's clips through the tokenizer, each frame coded as the residual "
                        "from the one before (as a clip step trains), the most a model's clips can follow their motion")
    p.add_argument("--clip-baseline", type=int, default=20, help="captions also generated as independent frames")
    p.add_argument("--cfg", type=float, default=0.0, help="guidance (the runtime's UNIFIED_SAMPLING)")
    p.add_argument("--top-k", type=int, default=16)
    p.add_argument("--clip-top-k", type=top_ks,
                   help="top-k for a clip's frames after the first (default: --top-k): one value, or one per scale "
                        "separated by commas (1 is greedy)")
    p.add_argument("--top-p", type=float, default=0.9)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def load(work: Path) -> tuple[Unified, VQVAE, Tokenizer]:
    ckpt, vae, tok, model = load_checkpoint(work / "unified.ckpt")
    print(f"{work / 'unified.ckpt'}: step {ckpt['step']}")
    return model.eval(), vae.eval(), tok


def to_u8(img01_13HW: torch.Tensor) -> np.ndarray:
    return (img01_13HW[0].permute(1, 2, 0) * 255).round().clamp(0, 255).to(torch.uint8).numpy()


def tokenised_clip(vae: VQVAE, frames_u8: torch.Tensor) -> np.ndarray:
    """A world clip's frames (uint8 [F, H, W, 3]) decoded from the codes a clip plays them by: frame t + 1 coded as the
    residual from frame t's accumulated features."""
    f = vae.encode_features(to_m11(frames_u8))
    out, f_hat = [], None
    for t in range(f.shape[0]):
        codes = vae.quantize.f_to_idx(f[t : t + 1], start=f_hat)
        acc = torch.zeros_like(f[t : t + 1]) if f_hat is None else f_hat
        for s, c in enumerate(codes):
            acc = vae.add_scale(acc, c, s)
        f_hat = acc
        out.append(to_u8((vae.decode(f_hat) + 1) / 2))
    return np.stack(out)


def top_ks(text: str) -> int | list[int]:
    """--clip-top-k: one whole number >= 1, or a comma-separated list of them (one per scale)."""
    try:
        ks = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, found {text!r}") from None
    if any(k < 1 for k in ks):
        raise argparse.ArgumentTypeError(f"every top-k must be at least 1; found {text!r}")
    return ks[0] if len(ks) == 1 else ks


@torch.no_grad()
def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    model, vae, tok = load(args.work)
    sp = Specials.of(tok)
    gen = torch.Generator().manual_seed(args.seed)
    images: list[np.ndarray] = []
    records: list[dict] = []

    for folder in args.prompts:
        prompts = load_captions(folder)[: args.count]
        for rec in tqdm(prompts, desc=f"generate {folder.name}"):
            out = generate_image(model, vae, sp, [Text(tok.encode(rec["caption"]), prompt=True)], args.cfg, args.top_k,
                                 args.top_p, args.temperature, gen)
            images.append(to_u8(out["image"]))
            records.append({"caption": rec["caption"], "heldout": bool(rec.get("heldout"))})

    if args.caption:
        world, truth = load_images(args.caption)[: args.caption_count], load_captions(args.caption)[: args.caption_count]
        for img_u8, rec in tqdm(list(zip(world, truth)), desc="caption"):
            img = encode_image(vae, img_u8.permute(2, 0, 1)[None].float() / 255, model.cfg.patch_nums, model.cfg.caption_view)
            ids = generate_text(model, sp, [img], 24, stop_at_eos=True)["ids"]
            images.append(img_u8.numpy())
            records.append({"caption": rec["caption"], "predicted": tok.decode(ids, skip_special_tokens=True),
                            "heldout": bool(rec.get("heldout"))})

    args.out.mkdir(parents=True, exist_ok=True)
    if args.clips and args.clip_truth:
        world, rows = load_clips(args.clips)
        clips = [tokenised_clip(vae, frames) for frames in world[: args.clip_count]]
        clip_records = [{"caption": r["caption"], "mode": "conditioned"} for r in rows[: args.clip_count]]
    elif args.clips:
        clips, clip_records = [], []
        captions = [c["caption"] for c in load_clips(args.clips)[1][: args.clip_count]]
        runs = [(c, True) for c in captions] + [(c, False) for c in captions[: args.clip_baseline]]
        for caption, conditioned in tqdm(runs, desc="clips"):
            prompt = Text(tok.encode(caption), prompt=True)
            frames, previous = [], None
            for t in range(args.clip_frames):
                view = [Image(codes=[], feats=[previous.flatten(2).transpose(1, 2)[0]], closed=True, view=True)] if previous is not None else []
                top_k = args.top_k if t == 0 or args.clip_top_k is None else args.clip_top_k
                out = generate_image(model, vae, sp, [prompt] + view, args.cfg, top_k, args.top_p, args.temperature, gen, start=previous)
                frames.append(to_u8(out["image"]))
                previous = out["f_hat"][-1] if conditioned else None
            clips.append(np.stack(frames))
            clip_records.append({"caption": caption, "mode": "conditioned" if conditioned else "independent"})
    if args.clips:
        np.save(args.out / "clips.npy", np.stack(clips))
        (args.out / "clips.jsonl").write_text("".join(json.dumps(r) + "\n" for r in clip_records))
        print(f"wrote {len(clips)} clips of {clips[0].shape[0]} frames to {args.out}"
              + (" (the world's, through the tokenizer)" if args.clip_truth else ""))
    if images:
        np.save(args.out / "images.npy", np.stack(images))
    (args.out / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    print(f"wrote {len(records)} records to {args.out}; grade them with: npm run world -- --grade {args.out}")

    if args.recon:
        x = to_m11(load_images(args.recon)[: args.recon_count])
        recon = torch.cat([vae.decode(vae.fhat_sequence(vae.encode_idx(x[i : i + 16]))[-1]).clamp(-1, 1)
                           for i in range(0, x.shape[0], 16)])
        mse = float(((recon - x) / 2).square().mean())
        print(f"reconstruction PSNR over {x.shape[0]} images: {-10 * np.log10(mse):.2f} dB")
        out = args.out / "recon"
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "images.npy", np.stack([to_u8((r[None] + 1) / 2) for r in recon]))
        truth = load_captions(args.recon)[: args.recon_count]
        (out / "captions.jsonl").write_text("".join(json.dumps({"caption": c["caption"], "heldout": bool(c.get("heldout"))}) + "\n" for c in truth))
        print(f"wrote the reconstructions to {out}; the checker's reading of them (the most a generator can show through "
              f"this tokenizer): npm run world -- --grade {out}")


if __name__ == "__main__":
    main()
