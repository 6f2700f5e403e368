"""The ladder: where a unified model loses the pattern a prompt names, scale by scale.

    npm run world -- --out out/ladder-heldout --count 180 --seed 9 --heldout --aligned
    /usr/bin/python3 training/ladder.py --model models/builtin --train out/builtin-work/world \\
        --heldout out/ladder-heldout --out out/ladder

For each prompt the model is given the true codes of the scales below a rung (the codes of the prompt's own world
image, through the model's VQVAE) and samples the rest with the runtime's sampler (no guidance, top-k 16, top-p
0.9: `UNIFIED_SAMPLING`); `npm run world -- --grade` then reads colours and pattern off each image. The rungs:

- `none`: normal generation, every scale sampled;
- `4x4`, `8x8`: the true codes through that scale given, the finer ones sampled;
- `all`: every code given, i.e. the VQVAE's reconstruction: the most a generator can show through this tokenizer.

A rung's gain over the one below is what the model loses at those scales.

Two readings of the sampler on top: `--best-of N` draws N images per prompt and keeps the one whose prompt the model
itself finds likeliest as that image's caption (image→caption from its full view), and reports beside it the first
draw alone and how many prompts had any of the N right (the most a picker among N could give). `--negative swapped`
guides (`--cfg`) against the prompt with its two colours swapped instead of against no prompt.

Prompts come from two world folders: the training world (`--train`, prompts the model was trained on; the first `--count` / 3 captions of each texture scale,
fine, medium and coarse) and a world of held-out combinations (`--heldout`, written with `--heldout --aligned`,
pairs of pattern and colours the training world never shows). Each rung writes OUT/RUNG in the world export's
format; the script prints a table and then one JSON line. Generation is batched (`--batch` prompts at once) and
seeded, so a rerun gives the same table.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nextscale.data import load_captions, load_images, to_m11  # noqa: E402
from nextscale.unified import Image, Specials, Text, Unified, build_sequence, choose, collate  # noqa: E402
from nextscale.vqvae import VQVAE  # noqa: E402
from train_unified import add_source_args, load_source  # noqa: E402

SCALES = ("fine", "medium", "coarse")
ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_args(p)
    p.add_argument("--train", type=Path, required=True, help="the training world: its captions are the seen prompts")
    p.add_argument("--heldout", type=Path, help="a world of held-out combinations (npm run world -- --heldout --aligned)")
    p.add_argument("--count", type=int, default=180, help="prompts from each world (a third per texture scale)")
    p.add_argument("--rungs", default="none,4x4,8x8,all", help="comma-separated: none, 2x2, 4x4, 8x8, all")
    p.add_argument("--out", type=Path, required=True, help="folder for one graded export per rung")
    p.add_argument("--cfg", type=float, default=0.0)
    p.add_argument("--top-k", type=int, default=16)
    p.add_argument("--top-p", type=float, default=0.9)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--last-top-k", type=int, help="top-k at the finest scale (default: --top-k)")
    p.add_argument("--coarse-top-k", type=int, help="top-k at every scale but the finest (default: --top-k)")
    p.add_argument("--best-of", type=int, default=1, help="images per prompt; the model's likeliest caption picks one")
    p.add_argument("--negative", choices=("none", "swapped"), default="none",
                   help="what --cfg guides against: no prompt, or the prompt with its colours swapped")
    p.add_argument("--batch", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def pick(world: Path, count: int, balanced: bool) -> tuple[list[dict], torch.Tensor]:
    """The first `count` captions of a world (a third of each texture scale when `balanced`) and their images."""
    captions = load_captions(world)
    if balanced:
        per = -(-count // len(SCALES))
        chosen = [i for sc in SCALES for i in [j for j, c in enumerate(captions) if c["caption"].endswith(f", {sc}")][:per]]
    else:
        chosen = list(range(min(count, len(captions))))
    images = load_images(world)
    return [captions[i] for i in chosen], images[torch.tensor(chosen)]


def rung_scales(name: str, pns: list[int]) -> int:
    """How many scales a rung gives: 0 for none, all of them for all, else those through the named side."""
    if name == "none":
        return 0
    if name == "all":
        return len(pns)
    side = int(name.split("x")[0])
    if side not in pns:
        raise ValueError(f"rung {name!r}: the model's scales are {pns}")
    return pns.index(side) + 1


@torch.no_grad()
def generate(model: Unified, vae: VQVAE, sp: Specials, prompts: list[list[int]], given: list[torch.Tensor], known: int,
             args: argparse.Namespace, gen: torch.Generator) -> tuple[np.ndarray, torch.Tensor]:
    """Images uint8 [B, H, W, 3] for B prompts and their final features [B, Cvae, P, P]: scales below `known` take the
    codes `given` (per scale, [B, pn²]), the rest are sampled from the model, guided (cfg not 0) against the row
    `--negative` names."""
    pns, B = model.cfg.patch_nums, len(prompts)
    f = torch.zeros(B, model.Cvae, pns[-1], pns[-1])
    imgs = [Image(codes=[], feats=[]) for _ in range(B)]
    # What guidance contrasts with: the prompt hidden (dropped), or the prompt with its colours swapped.
    negatives = [swap_colours(p) for p in prompts] if args.negative == "swapped" else prompts
    for s, pn in enumerate(pns):
        if s < known:
            idx = given[s]
        else:
            rows = [build_sequence([Text(p, prompt=True), img], sp, model) for p, img in zip(prompts, imgs)]
            if args.cfg:
                rows += [build_sequence([Text(q, prompt=True), img], sp, model, drop_prompt=args.negative == "none")
                         for q, img in zip(negatives, imgs)]
            h = model(collate(rows, sp.pad))
            ends = [len(r["ids"]) for r in rows]
            lg = torch.stack([model.image_logits(h[i, e - pn * pn : e]) for i, e in enumerate(ends)]).float().cpu()
            guided = lg[:B] if not args.cfg else (1 + args.cfg) * lg[:B] - args.cfg * lg[B:]
            per_scale = args.last_top_k if s == len(pns) - 1 else args.coarse_top_k
            top_k = args.top_k if per_scale is None else per_scale
            idx = choose(guided.flatten(0, 1), top_k, args.top_p, args.temperature, gen).view(B, pn * pn)
        f = vae.add_scale(f, idx, s)
        for b, img in enumerate(imgs):
            img.codes.append(idx[b])
            if s + 1 < len(pns):
                img.feats.append(torch.nn.functional.adaptive_avg_pool2d(f[b : b + 1], pns[s + 1]).flatten(2).transpose(1, 2)[0])
    out = (vae.decode(f).clamp(-1, 1) + 1) / 2
    return (out.permute(0, 2, 3, 1) * 255).round().clamp(0, 255).to(torch.uint8).numpy(), f


def swap_colours(prompt: list[int]) -> list[int]:
    """The prompt with its two colours swapped ("red and blue checker, ..." -> "blue and red checker, ...")."""
    return [prompt[2], prompt[1], prompt[0], *prompt[3:]]


@torch.no_grad()
def caption_likelihood(model: Unified, sp: Specials, f: torch.Tensor, prompts: list[list[int]]) -> torch.Tensor:
    """[B]: log p(prompt, <eos> | image b's full view) under the model's image→caption direction; f [B, Cvae, P, P]."""
    rows = [build_sequence([Image(codes=[], feats=[f[b].flatten(1).T], closed=True, view=True), Text(p + [sp.eos])], sp, model)
            for b, p in enumerate(prompts)]
    batch = collate(rows, sp.pad)
    log_p = model.text_logits(model(batch)).float().log_softmax(-1)
    target = batch.target.clamp(min=0)
    return (log_p.gather(-1, target[..., None])[..., 0] * (batch.target >= 0)).sum(1)


def grade_export(folder: Path, images: list[np.ndarray], records: list[dict]) -> dict:
    """Writes images and their records as a world export in `folder` and grades it (`grade`)."""
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "images.npy", np.concatenate(images))
    (folder / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return grade(folder)


def grade(folder: Path) -> dict:
    """The runtime checker's reading of an export (`npm run world -- --grade`): its last line, as JSON."""
    run = subprocess.run(["npm", "run", "-s", "world", "--", "--grade", str(folder)], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    vae, tok, model, source = load_source(args)
    sp = Specials.of(tok)
    pns = model.cfg.patch_nums
    rungs = [r.strip() for r in args.rungs.split(",")]
    sets = [("seen", *pick(args.train, args.count, balanced=True))]
    if args.heldout:
        sets.append(("held-out", *pick(args.heldout, args.count, balanced=False)))

    report: dict = {"model": source, "rungs": {}}
    n = args.best_of
    for rung in rungs:
        known = rung_scales(rung, pns)
        gen = torch.Generator().manual_seed(args.seed)
        kept, first, every, records = [], [], [], []
        for name, captions, world in sets:
            step = max(1, args.batch // n)
            for i in range(0, len(captions), step):
                part = captions[i : i + step]
                given = [c.repeat_interleave(n, 0) for c in vae.encode_idx(to_m11(world[i : i + step]))] if known else []
                prompts = [tok.encode(c["caption"]) for c in part for _ in range(n)]
                images, f = generate(model, vae, sp, prompts, given, known, args, gen)
                images = images.reshape(len(part), n, *images.shape[1:])
                pick_b = caption_likelihood(model, sp, f, prompts).view(len(part), n).argmax(1) if n > 1 else torch.zeros(len(part), dtype=torch.long)
                kept.append(images[np.arange(len(part)), pick_b.numpy()])
                first.append(images[:, 0])
                every.append(images.reshape(-1, *images.shape[2:]))
                records += [{"caption": c["caption"], "heldout": name == "held-out"} for c in part]
        g = grade_export(args.out / rung, kept, records)["generation"]
        report["rungs"][rung] = {k: g[k] for k in ("seen", "heldOut")}
        line = f"rung {rung}: " + " | ".join(f"{k} pattern {100 * g[k]['pattern']:.1f}% colours {100 * g[k]['colours']:.1f}%" for k in ("seen", "heldOut"))
        if n > 1:
            one = grade_export(args.out / f"{rung}-first", first, records)["generation"]
            right = np.array([t["pattern"] for t in grade_export(args.out / f"{rung}-all", every, [r for r in records for _ in range(n)])["textures"]])
            right = right.reshape(len(records), n)
            held = np.array([r["heldout"] for r in records])
            halves = [(k, sel) for k, sel in (("seen", ~held), ("heldOut", held)) if sel.any()]
            any_right = {k: float(right[sel].any(1).mean()) for k, sel in halves}
            every_right = {k: float(right[sel].all(1).mean()) for k, sel in halves}
            report["rungs"][rung].update(first={k: one[k] for k in ("seen", "heldOut")}, any_right=any_right, all_right=every_right)
            line += f"\n  best of {n} by the model's caption; " + "; ".join(
                f"{k}: the first draw alone {100 * one[k]['pattern']:.1f}%, any of the {n} right {100 * any_right[k]:.1f}%, "
                f"all {n} right {100 * every_right[k]:.1f}%" for k, _ in halves)
        print(line, flush=True)

    print(f"\nladder of {source}: true codes given through the rung, the rest sampled "
          f"(cfg {args.cfg}, top-k {args.top_k}, top-p {args.top_p})")
    print("| true codes given | seen: pattern | seen: colours | held-out: pattern | held-out: colours |")
    print("| --- | --- | --- | --- | --- |")
    for rung, g in report["rungs"].items():
        cells = [f"{100 * g[k][m]:.1f}% ({g[k]['count']})" if g[k]["count"] else "-" for k in ("seen", "heldOut")
                 for m in ("pattern", "colours")]
        print(f"| {rung} | " + " | ".join(cells) + " |")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
