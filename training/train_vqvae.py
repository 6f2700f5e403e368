"""Trains the built-in multi-scale VQVAE (the tokenizer of the built-in models) on the procedural world, on the CPU.

    /usr/bin/python3 training/train_vqvae.py --data out/world --work out/vqvae-work --minutes 35 --export out/vqvae
    /usr/bin/python3 training/train_vqvae.py --data out/world --work out/vqvae-work --minutes 35 --resume --export out/vqvae

The model is VAR's VQVAE (training/nextscale/vqvae.py), kept small because a step's cost is what limits the
result within the budget: 64x64 textures, ch 64, ch_mult (1, 1, 2) (4x downsampling to a 16x16 token map),
one resblock per level, scales (1, 2, 4, 8, 16), 1024 codes of 16 channels. Losses: L1 + L2 reconstruction, an
L1 loss on (periodic) image gradients for crisp edges, and VAR's VQ losses.

With --semantic-weight W > 0, a training-only linear head reads the texture's pattern, colours and scale
(from captions.jsonl; --semantic-labels picks which it trains on) off the mean of its quantised features, and W
times its loss reaches the encoder through the straight-through features. The mean is what the 1x1 scale
quantises, so scale 0 comes to name the texture and a transformer can read it off an image by averaging
(captions improve; images did not, see training/NOTES.md). The head is not exported (the model folder is VAR's
VQVAE as before); its accuracy on held-out images is logged as "semantic".

Budgets: --minutes and --steps count the whole training, across resumed runs (the checkpoint keeps the seconds
spent); training stops at whichever ends first, and the learning rate (warmup, then a cosine to a tenth) follows
the same progress, so a time-bound run still ends on a low learning rate. A checkpoint (model, optimizer, step,
seconds, RNG states) is written to WORK/vqvae.ckpt every --ckpt-minutes and at the end; --resume continues from
it with the checkpoint's model configuration. WORK/vqvae_log.jsonl gets one line per --log-every steps (step,
loss, recon, edge, vq, psnr, usage, lr, seconds). The PSNR (dB, images in [0, 1]) and the codebook usage (% of
codes the tokens use) are measured every --eval-every steps through the inference path (tokens, then decode) on
held-out images: those captioned "heldout" when there are enough, else a fixed random subset, never trained on.

--export DIR writes DIR/vae.safetensors (the state dict, keys `vae.*`, VAR's names) and DIR/vae.json (the
config.json "vae" section) for the next stage. With --resume and a finished checkpoint it only exports.

A better decoder for a shipped model (--init, --decoder-only, --update-model):

    /usr/bin/python3 training/train_vqvae.py --data out/world --work out/decoder-work --init models/builtin \
        --decoder-only --minutes 30 --lr 3e-4 --update-model models/builtin

--init starts from a model folder's or an export's VQVAE (fresh optimizer and budgets). --decoder-only trains
post_quant_conv and the decoder alone, on whole images, through the inference path (tokens, then f_hat, as the
runtime decodes), by the reconstruction losses; the encoder, quant_conv and the quantizer (codebook and phi)
stay as they were, so every image keeps its tokens and a transformer trained on this tokenizer stays valid.
--update-model DIR writes the new decoder into DIR/weights.safetensors (in the file's dtype), after checking
that every other `vae.*` tensor there is the model's own.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nextscale import precision, safetensors_io  # noqa: E402
from nextscale.data import augment, load_captions, load_images, to_m11  # noqa: E402
from nextscale.vqvae import PADDINGS, VQVAE, load_vae  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, help="world folder (images.npy, captions.jsonl); not needed for a pure export")
    p.add_argument("--work", type=Path, required=True, help="folder for vqvae.ckpt and vqvae_log.jsonl")
    p.add_argument("--resume", action="store_true", help="continue from WORK/vqvae.ckpt")
    p.add_argument("--init", type=Path,
                   help="start from this VQVAE: a model folder (config.json \"vae\", weights.safetensors) or an export "
                        "(vae.json, vae.safetensors); fresh optimizer and budgets")
    p.add_argument("--decoder-only", action="store_true",
                   help="train post_quant_conv and the decoder alone; the tokens of every image stay as they were")
    p.add_argument("--update-model", type=Path, metavar="DIR",
                   help="when done, write the decoder (and its padding) into the model folder DIR (needs --decoder-only)")
    p.add_argument("--padding", choices=PADDINGS,
                   help="the decode path's padding, quantizer and decoder (a fresh model: zeros unless given; --init: the "
                        "model's unless given, so --init DIR --decoder-only --padding circular fine-tunes a decoder onto the torus)")
    p.add_argument("--export", type=Path, help="write vae.safetensors and vae.json here when done")
    p.add_argument("--steps", type=int, default=10000, help="step budget, over all runs of a resumed training")
    p.add_argument("--minutes", type=float, default=36.0, help="time budget of the training, over all runs of a resumed training")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--l1-weight", type=float, default=1.0, help="weight of the pixel L1 loss")
    p.add_argument("--l2-weight", type=float, default=1.0,
                   help="weight of the pixel squared error (the loss PSNR measures; images in [-1, 1])")
    p.add_argument("--edge-weight", type=float, default=0.5, help="weight of the image-gradient L1 loss")
    p.add_argument("--vq-weight", type=float, default=1.0)
    p.add_argument("--crop", type=int, default=32,
                   help="train on random crops of this size (a multiple of the downsampling) for the first --crop-share "
                        "of the budget; 0: whole images throughout")
    p.add_argument("--crop-share", type=float, default=0.75, help="share of the budget trained on crops")
    p.add_argument("--semantic-weight", type=float, default=0.0,
                   help="weight of the pattern / colours / scale loss read off the mean quantised features (0: none)")
    p.add_argument("--semantic-labels", nargs="+", choices=["pattern", "colours", "scale"], default=["pattern", "colours", "scale"],
                   help="the labels whose loss the semantic head adds")
    p.add_argument("--revive-every", type=int, default=50, help="steps between dead-code re-seeding (0: never)")
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--eval-images", type=int, default=64)
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--ckpt-minutes", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", choices=precision.CHOICES, default="fp32",
                   help="training forward pass: bf16 autocast (the quantizer stays float32), fp32, or auto (bf16 where the "
                        "CPU computes it natively); the built-in tokenizer was trained in fp32")
    m = p.add_argument_group("model (ignored with --resume: the checkpoint's configuration is used)")
    m.add_argument("--vocab", type=int, default=1024)
    m.add_argument("--z-channels", type=int, default=16)
    m.add_argument("--ch", type=int, default=64)
    m.add_argument("--ch-mult", type=int, nargs="+", default=[1, 1, 2])
    m.add_argument("--num-res-blocks", type=int, default=1)
    m.add_argument("--using-sa", action=argparse.BooleanOptionalAction, default=False)
    m.add_argument("--using-mid-sa", action=argparse.BooleanOptionalAction, default=True)
    m.add_argument("--patch-nums", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    return p.parse_args()


def model_config(args: argparse.Namespace) -> dict:
    return dict(vocab_size=args.vocab, z_channels=args.z_channels, ch=args.ch, ch_mult=args.ch_mult,
                num_res_blocks=args.num_res_blocks, using_sa=args.using_sa, using_mid_sa=args.using_mid_sa,
                quant_conv_ks=3, quant_resi=0.5, share_quant_resi=4, v_patch_nums=args.patch_nums,
                padding=args.padding or "zeros")


def split(data: Path, n_images: int, n_eval: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, eval indices): eval prefers images captioned "heldout"; the two never overlap."""
    heldout: list[int] = []
    if (data / "captions.jsonl").exists():
        captions = load_captions(data)
        if len(captions) != n_images:
            raise ValueError(f"{data}: {n_images} images but {len(captions)} captions")
        heldout = [i for i, c in enumerate(captions) if c.get("heldout")]
    g = torch.Generator().manual_seed(seed + 1)
    if len(heldout) >= n_eval:
        eval_idx = torch.tensor(heldout)[torch.randperm(len(heldout), generator=g)[:n_eval]]
        exclude = torch.tensor(heldout)
    else:
        eval_idx = torch.randperm(n_images, generator=g)[:n_eval]
        exclude = eval_idx
    keep = torch.ones(n_images, dtype=torch.bool)
    keep[exclude] = False
    return keep.nonzero().squeeze(1), eval_idx.sort().values


def progress(step: int, seconds: float, args: argparse.Namespace) -> float:
    """How far training is, 0 to 1: whichever of the step budget and the time budget is nearer its end (a budget of
    0 minutes or steps is spent: only --export runs)."""
    if args.minutes <= 0 or args.steps <= 0:
        return 1.0
    return max(step / args.steps, seconds / (args.minutes * 60))


def lr_at(step: int, done: float, args: argparse.Namespace) -> float:
    """Linear warmup over --warmup steps, then a cosine from --lr down to a tenth of it as `done` goes 0 -> 1."""
    warm = min(1.0, (step + 1) / args.warmup)
    return args.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, done))))


def crop_patch_nums(model: VQVAE, crop: int) -> tuple[int, ...]:
    """The scales of a crop: the model's scales that fit in the crop's token map, ending on the full map.

    Training on crops is a cheap way to many more steps: the networks are convolutional (and the middle attention
    indifferent to the map's size), so only the quantizer's scale list has to shrink with the image."""
    side = crop // model.downsample
    if crop % model.downsample or side < 2:
        raise ValueError(f"--crop must be a multiple of the downsampling {model.downsample} and give at least 2x2 tokens, found {crop}")
    pns = tuple(p for p in model.v_patch_nums if p < side) + (side,)
    if len(pns) < 2:
        raise ValueError(f"--crop {crop}: {side}x{side} tokens leave fewer than two scales of {list(model.v_patch_nums)}")
    return pns


def edge_loss(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between periodic finite differences (the textures tile, so the wrap-around difference is real)."""
    loss = recon.new_zeros(())
    for dim in (2, 3):
        loss = loss + (recon - recon.roll(1, dim) - (target - target.roll(1, dim))).abs().mean()
    return loss


class Semantics(nn.Module):
    """Training-only: the world's labels of a texture (pattern, the set of its two colours, scale) as one linear map
    of its mean quantised features [B, Cvae]; the labels come from the world's captions.jsonl."""

    def __init__(self, channels: int, captions: list[dict], labels: list[str]):
        super().__init__()
        self.labels = labels
        for n, c in enumerate(captions, 1):
            if not (isinstance(c.get("pattern"), str) and isinstance(c.get("scale"), str) and isinstance(c.get("colors"), list)):
                raise ValueError(f"captions.jsonl:{n}: --semantic-weight needs \"pattern\", \"colors\" and \"scale\", found {sorted(c)}")
        self.patterns = sorted({c["pattern"] for c in captions})
        self.colours = sorted({k for c in captions for k in c["colors"]})
        self.sizes = sorted({c["scale"] for c in captions})
        self.pattern = torch.tensor([self.patterns.index(c["pattern"]) for c in captions])
        self.size = torch.tensor([self.sizes.index(c["scale"]) for c in captions])
        self.colour = torch.zeros(len(captions), len(self.colours))
        for i, c in enumerate(captions):
            self.colour[i, [self.colours.index(k) for k in c["colors"]]] = 1.0
        self.head = nn.Linear(channels, len(self.patterns) + len(self.colours) + len(self.sizes))

    def split(self, mean_BC: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(pattern, colour, scale) logits."""
        return self.head(mean_BC).split([len(self.patterns), len(self.colours), len(self.sizes)], dim=-1)

    def loss(self, mean_BC: torch.Tensor, pick: torch.Tensor) -> torch.Tensor:
        """The summed loss of the trained labels (colours: per-colour BCE, scaled to weigh about as a pattern CE)."""
        pattern, colour, size = self.split(mean_BC)
        terms = {"pattern": F.cross_entropy(pattern, self.pattern[pick]), "scale": F.cross_entropy(size, self.size[pick]),
                 "colours": F.binary_cross_entropy_with_logits(colour, self.colour[pick]) * len(self.colours) / 2}
        return sum(terms[k] for k in self.labels)

    @torch.no_grad()
    def right(self, mean_BC: torch.Tensor, pick: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per image and trained label: pattern right, both colours right (the two highest), scale right."""
        pattern, colour, size = self.split(mean_BC)
        top2 = torch.zeros_like(colour).scatter_(1, colour.topk(2, dim=1).indices, 1.0)
        right = {"pattern": pattern.argmax(1) == self.pattern[pick], "colours": (top2 == self.colour[pick]).all(1),
                 "scale": size.argmax(1) == self.size[pick]}
        return {k: right[k] for k in self.labels}


@torch.no_grad()
def evaluate(model: VQVAE, images: torch.Tensor, batch: int = 32, semantics: Semantics | None = None,
             pick: torch.Tensor | None = None) -> tuple[float, float, dict | None]:
    """(mean PSNR in dB over images in [0, 1], percentage of the codebook the tokens use, and with `semantics` the
    share of images whose pattern / colours / scale its head reads right) on the inference path."""
    model.eval()
    psnrs: list[torch.Tensor] = []
    right: dict[str, list[torch.Tensor]] = {}
    used = torch.zeros(model.quantize.vocab_size, dtype=torch.bool)
    for i in range(0, images.shape[0], batch):
        x = to_m11(images[i : i + batch])
        idx = model.encode_idx(x)
        for t in idx:
            used[t.flatten()] = True
        f_hat = model.fhat_sequence(idx)[-1]
        recon = model.decode(f_hat)
        mse = ((recon - x) / 2).square().flatten(1).mean(1).clamp_min(1e-10)
        psnrs.append(-10 * torch.log10(mse))
        if semantics is not None:
            for k, v in semantics.right(f_hat.mean((2, 3)), pick[i : i + batch]).items():
                right.setdefault(k, []).append(v)
    model.train()
    shares = {k: round(float(torch.cat(v).float().mean()) * 100, 1) for k, v in right.items()} if right else None
    return float(torch.cat(psnrs).mean()), float(used.float().mean()) * 100, shares


def save_checkpoint(path: Path, model: VQVAE, opt: torch.optim.Optimizer, step: int, seconds: float,
                    gen: torch.Generator, psnr: float, semantics: Semantics | None, decoder_only: bool = False) -> None:
    """Model, optimizer, step, training seconds so far, RNG states and the semantic head, written atomically."""
    state = {"decoder_only": decoder_only, "config": model.config(), "model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
             "seconds": seconds, "torch_rng": torch.get_rng_state(), "data_rng": gen.get_state(), "psnr": psnr,
             "semantics": semantics.state_dict() if semantics is not None else None}
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


DECODER_PREFIXES = ("decoder.", "post_quant_conv.")


def update_model(model: VQVAE, folder: Path) -> None:
    """Writes the decoder (post_quant_conv, decoder) into folder/weights.safetensors in the file's dtype, and its
    padding into folder/config.json. Refuses a folder whose other `vae.*` tensors differ from the model's: its
    transformer was trained on other tokens."""
    path = folder / "weights.safetensors"
    tensors = safetensors_io.load(path)
    ours = model.state_dict()
    for k, v in ours.items():
        name = f"vae.{k}"
        if name not in tensors:
            raise ValueError(f"{path}: has no tensor {name!r}; is it this VQVAE's model folder?")
        if not k.startswith(DECODER_PREFIXES) and not torch.equal(tensors[name], v.to(tensors[name].dtype)):
            raise ValueError(f"{path}: {name} differs from the model's; the folder's transformer reads other tokens")
    changed = {f"vae.{k}": v.detach().to(tensors[f"vae.{k}"].dtype).contiguous() for k, v in ours.items() if k.startswith(DECODER_PREFIXES)}
    tensors.update(changed)
    tmp = path.with_suffix(".tmp")
    safetensors_io.save(tensors, tmp, metadata={"format": "pt"})
    tmp.replace(path)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    config["vae"]["padding"] = model.config()["padding"]
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    print(f"wrote {len(changed)} decoder tensors into {path}, and its padding ({config['vae']['padding']}) into {config_path}")


def export(model: VQVAE, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tensors = {f"vae.{k}": v.detach().float().contiguous() for k, v in model.state_dict().items()}
    safetensors_io.save(tensors, out / "vae.safetensors", metadata={"format": "pt"})
    (out / "vae.json").write_text(json.dumps(model.config(), indent=2) + "\n")
    print(f"exported {len(tensors)} tensors to {out / 'vae.safetensors'} and the config to {out / 'vae.json'}")


def main() -> None:
    args = parse_args()
    args.precision = precision.resolve(args.precision)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    args.work.mkdir(parents=True, exist_ok=True)
    ckpt_path = args.work / "vqvae.ckpt"
    gen = torch.Generator().manual_seed(args.seed)

    if args.update_model and not args.decoder_only:
        raise ValueError("--update-model writes a decoder into a model folder: it needs --decoder-only")
    if args.init and args.resume:
        raise ValueError("--init starts a fine-tune and --resume continues one: give one of them")
    if args.decoder_only and not (args.init or args.resume):
        raise ValueError("--decoder-only fine-tunes a trained VQVAE: give --init (or --resume)")
    if args.decoder_only and args.semantic_weight > 0:
        raise ValueError("--decoder-only leaves the quantised features as they are: --semantic-weight cannot train them")
    ckpt = None
    if args.resume:
        if not ckpt_path.exists():
            raise FileNotFoundError(f"--resume: {ckpt_path} does not exist (start without --resume)")
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)  # our own: configs and RNG states beside the tensors
    if ckpt and bool(ckpt.get("decoder_only")) != args.decoder_only:
        raise ValueError(f"--resume: the checkpoint was trained {'with' if ckpt.get('decoder_only') else 'without'} "
                         f"--decoder-only; give the same as its first run")
    model = load_vae(args.init) if args.init else VQVAE.from_config(ckpt["config"] if ckpt else model_config(args))
    if args.padding and model.config()["padding"] != args.padding:
        if ckpt:
            raise ValueError(f"--resume: the checkpoint's decoder pads with {model.config()['padding']}; give the same "
                             f"--padding as its first run (found {args.padding})")
        model.set_padding(args.padding)
    if ckpt and (ckpt.get("semantics") is not None) != (args.semantic_weight > 0):
        raise ValueError(f"--resume: the checkpoint was trained {'with' if ckpt.get('semantics') is not None else 'without'} "
                         f"a semantic head; give the same --semantic-weight as its first run (found {args.semantic_weight})")
    semantics = None
    if args.semantic_weight > 0:
        if args.data is None:
            raise ValueError("--semantic-weight needs --data (the labels are the world's captions)")
        semantics = Semantics(model.quantize.c, load_captions(args.data), args.semantic_labels)
    if args.decoder_only:
        for name, p in model.named_parameters():
            p.requires_grad_(name.startswith(DECODER_PREFIXES))
    params = [p for p in model.parameters() if p.requires_grad] + (list(semantics.parameters()) if semantics is not None else [])
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.95), weight_decay=0.0)
    step, seconds = 0, 0.0
    if ckpt:
        model.load_state_dict(ckpt["model"])
        if semantics is not None:
            semantics.load_state_dict(ckpt["semantics"])
        opt.load_state_dict(ckpt["optimizer"])
        step, seconds = ckpt["step"], ckpt["seconds"]
        torch.set_rng_state(ckpt["torch_rng"])
        gen.set_state(ckpt["data_rng"])
        print(f"resumed from {ckpt_path} at step {step} after {seconds / 60:.1f} minutes of training")

    if progress(step, seconds, args) < 1:
        if args.data is None:
            raise ValueError("--data is needed to train (a run without it can only export a finished checkpoint)")
        train(model, semantics, opt, step, seconds, gen, args, ckpt_path)
    if args.export:
        export(model, args.export)
    if args.update_model:
        update_model(model, args.update_model)


def train(model: VQVAE, semantics: Semantics | None, opt: torch.optim.Optimizer, step: int, seconds: float,
          gen: torch.Generator, args: argparse.Namespace, ckpt_path: Path) -> None:
    """Trains until the step or time budget is spent, logging, evaluating and checkpointing along the way."""
    images = load_images(args.data)
    size = model.v_patch_nums[-1] * model.downsample
    if images.shape[1] != size:
        raise ValueError(f"{args.data}/images.npy holds {images.shape[1]}x{images.shape[2]} images, the model expects {size}x{size}")
    train_idx, eval_idx = split(args.data, images.shape[0], args.eval_images, args.seed)
    eval_images = images[eval_idx]
    print(f"{len(train_idx)} training images, {len(eval_idx)} held out; "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters; config {json.dumps(model.config())}")

    crop_scales = crop_patch_nums(model, args.crop) if args.crop and not args.decoder_only else None
    if crop_scales:
        print(f"{args.crop}x{args.crop} crops with scales {list(crop_scales)} for the first {args.crop_share:.0%} of the budget")
    start = time.time() - seconds  # so that time.time() - start counts every run's training time
    last_ckpt = time.time()
    psnr, usage, sem = float("nan"), float("nan"), None
    if args.init and step == 0:
        psnr, usage, sem = evaluate(model, eval_images, semantics=semantics, pick=eval_idx)
        print(f"--init {args.init}: held-out PSNR {psnr:.2f} dB, codebook usage {usage:.1f}% before training")
        with (args.work / "vqvae_log.jsonl").open("a") as log:
            log.write(json.dumps({"step": 0, "psnr": round(psnr, 3), "usage": round(usage, 2), "init": str(args.init)}) + "\n")
    model.train()
    bar = tqdm(total=args.steps, initial=step, dynamic_ncols=True, desc="vqvae")
    with (args.work / "vqvae_log.jsonl").open("a") as log:
        while (done := progress(step, time.time() - start, args)) < 1:
            lr = lr_at(step, done, args)
            for group in opt.param_groups:
                group["lr"] = lr
            pick = train_idx[torch.randint(len(train_idx), (args.batch,), generator=gen)]
            x = to_m11(augment(images[pick], gen))
            on_crops = crop_scales is not None and done < args.crop_share
            if on_crops:
                x = x[:, :, : args.crop, : args.crop]
            if args.decoder_only:
                with torch.no_grad():
                    f_hat = model.fhat_sequence(model.encode_idx(x))[-1]
                with precision.autocast(args.precision):
                    recon = model.decoder(model.post_quant_conv(f_hat))
                vq, stats = recon.new_zeros(()), {"usage": float("nan")}
            else:
                with model.quantize.scales(crop_scales if on_crops else model.v_patch_nums), precision.autocast(args.precision):
                    recon, vq, stats = model(x, check_size=not on_crops)
            recon = recon.float()
            l1, l2 = (recon - x).abs().mean(), (recon - x).square().mean()
            edge = edge_loss(recon, x)
            loss = args.l1_weight * l1 + args.l2_weight * l2 + args.edge_weight * edge + args.vq_weight * vq
            semantic = None
            if semantics is not None:
                semantic = semantics.loss(stats["f_hat"].mean((2, 3)), pick)
                loss = loss + args.semantic_weight * semantic
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for group in opt.param_groups for p in group["params"]], 1.0)
            opt.step()
            step += 1
            bar.update(1)

            if args.revive_every and not args.decoder_only and (step == 1 or step % args.revive_every == 0):
                model.quantize.revive_dead_codes(min_hits=0.03, generator=gen)
            if step % args.eval_every == 0:
                psnr, usage, sem = evaluate(model, eval_images, semantics=semantics, pick=eval_idx)
            if step % args.log_every == 0:
                row = {"step": step, "loss": float(loss), "recon": float(l1 + l2), "mse": float(l2), "edge": float(edge), "vq": float(vq),
                       "psnr": None if math.isnan(psnr) else round(psnr, 3),
                       "usage": None if math.isnan(usage) else round(usage, 2), "batch_usage": None if math.isnan(stats["usage"]) else round(stats["usage"], 2),
                       "lr": lr, "seconds": round(time.time() - start, 1)}
                if semantic is not None:
                    row |= {"semantic_loss": round(float(semantic), 4), "semantic": sem}
                log.write(json.dumps(row) + "\n")
                log.flush()
                bar.set_postfix(loss=f"{float(loss):.4f}", psnr=f"{psnr:.2f}", usage=f"{usage:.0f}%")
            if time.time() - last_ckpt > args.ckpt_minutes * 60:
                save_checkpoint(ckpt_path, model, opt, step, time.time() - start, gen, psnr, semantics, args.decoder_only)
                last_ckpt = time.time()
        bar.close()
        seconds = time.time() - start
        psnr, usage, sem = evaluate(model, eval_images, semantics=semantics, pick=eval_idx)
        log.write(json.dumps({"step": step, "psnr": round(psnr, 3), "usage": round(usage, 2), "semantic": sem,
                              "seconds": round(seconds, 1), "final": True}) + "\n")
    save_checkpoint(ckpt_path, model, opt, step, seconds, gen, psnr, semantics, args.decoder_only)
    print(f"step {step}: held-out PSNR {psnr:.2f} dB, codebook usage {usage:.1f}% on held-out tokens; "
          + (f"semantic head right on {sem} % of held-out images; " if sem else "") +
          f"{seconds / 60:.1f} minutes of training in all; checkpoint {ckpt_path}")


if __name__ == "__main__":
    main()
