#!/usr/bin/env bash
# Trains the built-in model from nothing, on the CPU, and writes it to models/builtin:
#   1. the procedural world (npm run world --aligned: every texture at phase 0, so one caption has one layout):
#      20,000 training textures, 3,000 edit pairs and 800 clips of 6 frames, held-out combinations excluded;
#   2. the multi-scale VQVAE (training/train_vqvae.py);
#   3. the unified transformer on caption→image and image→caption sequences (training/train_unified.py; edit
#      sequences hold two 64x64 images, ~950 positions, and are left out of the built-in model's budget): captions
#      read the image's full view (--caption-view) at a random roll of each image (--rolls 1), the head's
#      image rows train through the VQVAE codebook (--code-head), and a third of each head's rotary pairs turn
#      by a block token's row and a third by its column (--rope-2d);
#   4. a fine-tune on clips as well (frame t + 1 after frame t's full view), keeping caption→image and
#      image→caption in the mix (45% clips, 35% captions, 20% images): the model then plays videos frame by frame;
#   5. export as a model folder with f16 weights;
#   6. the VQVAE's decoder fine-tuned alone on whole images (train_vqvae.py --decoder-only): every image keeps its
#      tokens, so the transformer stays valid, and the decoder is written into the model folder;
#   7. the transformer fine-tuned on whole caption→image sequences of all 20,000 images, captions and clips kept in
#      the mix (where the pattern is decided: the 8x8 and 16x16 scales need far more whole-image sequences than the
#      unified stage gives them);
#   8. the decoder fine-tuned once more on the torus (--padding circular): textures tile without a seam, and the
#      model folder's config says "padding": "circular";
#   9. the transformer once more, with a learned vector per cell of the finest grid (--pos-2d, at ten times the
#      rate): a layout such as a checker is then one linear read away;
#  10. that run continued to 10,600 steps in all (a second cosine from its end, 30% captions);
#  11. the transformer once more with a learned vector per token of every scale (--pos-scales, at zero, at ten times
#      the rate), two in five caption→image batches stopped after the 8x8 scale (--coarse-share 0.4: the scales where
#      a checker's cells first show get more of the steps), a 38-minute cosine and a second one resumed to 68;
#  12. the transformer once more with self-correction (--self-correct 0.3): each caption→image image has a share of
#      its coarse tokens (up to 30%) replaced by near codes and its finer targets quantised anew, so that every
#      scale learns to correct the ones before it, a 55-minute cosine and a second one resumed to 110;
#  13. self-correction once more, a replaced token taking the model's own draw (--self-correct-from model, at a rate
#      up to 1);
#  14. and once more, each scale's draws following the model's own draws before it, as in generation
#      (--self-correct-from chain);
#  15. the transformer deepened from 4 layers to 6 (--grow-depth 6: each new layer a copy of the one before it with
#      its residual outputs at zero, so it starts as the model it grew from), on stage 14's recipe, its world
#      tokenised anew on the torus: a 70-minute cosine, resumed to 100 minutes, then continued by steps to
#      DEEP_STEPS in all;
#  16. a fine-tune on many more clips (MANY_CLIPS from the world's clip stream, the first 800 of them stage 1's,
#      each at two phases: --clip-rolls 1), beside the same images: a cosine over MANY_CLIPS_STEPS with 30% clip
#      batches, then resumed by steps to MANY_CLIPS_MORE_STEPS with half of them clips;
#  17. the whole VQVAE (encoder, codebook and decoder) fine-tuned on whole images on the torus (--crop 0): a cosine
#      over VQ_JOINT_MINUTES resumed to VQ_JOINT_MINUTES + VQ_JOINT_MORE_MINUTES; then the transformer moved onto its
#      codes (train_unified.py --vae: the world tokenised anew, the code head rebased onto the new codebook) for
#      RETOK_MINUTES, stage 16's self-correction with half of its batches caption→image; then the eval.
# Every stage resumes from its checkpoint under WORK (default out/builtin-work): run the script again after an
# interruption and it continues. The transformer stages train in bfloat16 autocast on a CPU that computes it
# natively (train_unified.py --precision auto), about 4 times as many steps per minute as float32. Budgets
# (minutes) are set by VQVAE_MINUTES, UNIFIED_MINUTES, CLIP_MINUTES, DECODER_MINUTES, FINETUNE_MINUTES, TORUS_MINUTES
# and GRID_MINUTES (plus 8 caption-heavier minutes after it), then GRID_STEPS steps in all for stage 10 (about 40
# minutes on a bfloat16 CPU), then SCALES_MINUTES, SCALES_MORE_MINUTES, CORRECT_MINUTES, CORRECT_MORE_MINUTES,
# OWN_MINUTES and CHAIN_MINUTES, then DEEP_MINUTES, DEEP_MORE_MINUTES and DEEP_STEPS steps in all for stage 15
# (about 60 minutes more), then MANY_CLIPS_STEPS and MANY_CLIPS_MORE_STEPS for stage 16 (about 40 minutes, and about
# 20 to tokenise its clips), then VQ_JOINT_MINUTES, VQ_JOINT_MORE_MINUTES and RETOK_MINUTES for stage 17 (about 200
# minutes with its tokenising): about 1,160 minutes of training in all.
# Where PyTorch sees a CUDA GPU the transformer stages train on it (train_unified.py --device auto); for a GPU
# machine without the world's pixels, training/build_builtin_gpu.sh runs stages 3-5 from a token carry.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${WORK:-out/builtin-work}"
VQVAE_MINUTES="${VQVAE_MINUTES:-36}"
UNIFIED_MINUTES="${UNIFIED_MINUTES:-66}"
CLIP_MINUTES="${CLIP_MINUTES:-18}"
DECODER_MINUTES="${DECODER_MINUTES:-30}"
FINETUNE_MINUTES="${FINETUNE_MINUTES:-110}"
TORUS_MINUTES="${TORUS_MINUTES:-30}"
GRID_MINUTES="${GRID_MINUTES:-90}"
GRID_STEPS="${GRID_STEPS:-10600}"
SCALES_MINUTES="${SCALES_MINUTES:-38}"
SCALES_MORE_MINUTES="${SCALES_MORE_MINUTES:-30}"
CORRECT_MINUTES="${CORRECT_MINUTES:-55}"
CORRECT_MORE_MINUTES="${CORRECT_MORE_MINUTES:-55}"
OWN_MINUTES="${OWN_MINUTES:-60}"
CHAIN_MINUTES="${CHAIN_MINUTES:-60}"
DEEP_MINUTES="${DEEP_MINUTES:-70}"
DEEP_MORE_MINUTES="${DEEP_MORE_MINUTES:-30}"
DEEP_STEPS="${DEEP_STEPS:-11000}"
MANY_CLIPS="${MANY_CLIPS:-6000}"
MANY_CLIPS_STEPS="${MANY_CLIPS_STEPS:-1200}"
MANY_CLIPS_MORE_STEPS="${MANY_CLIPS_MORE_STEPS:-2400}"
VQ_JOINT_MINUTES="${VQ_JOINT_MINUTES:-35}"
VQ_JOINT_MORE_MINUTES="${VQ_JOINT_MORE_MINUTES:-85}"
RETOK_MINUTES="${RETOK_MINUTES:-45}"
PY=/usr/bin/python3
mkdir -p "$WORK"

if [ ! -f "$WORK/world/images.npy" ]; then
  npm run -s world -- --out "$WORK/world" --count 20000 --size 64 --seed 1 --edits 3000 --aligned
fi
if [ ! -f "$WORK/world/clips.npy" ]; then
  # Clips come from their own seeded stream: adding them leaves the images and edits as they were.
  npm run -s world -- --out "$WORK/clips" --count 1 --size 64 --seed 0 --clips 800 --clip-frames 6 --aligned
  mv "$WORK/clips/clips.npy" "$WORK/clips/clips.jsonl" "$WORK/world/" && rm -r "$WORK/clips"
fi

if [ ! -f "$WORK/vqvae/vae.safetensors" ]; then
  resume=(); [ -f "$WORK/vqvae-work/vqvae.ckpt" ] && resume=(--resume)
  $PY training/train_vqvae.py --data "$WORK/world" --work "$WORK/vqvae-work" "${resume[@]}" \
    --minutes "$VQVAE_MINUTES" --export "$WORK/vqvae"
fi

resume=(); [ -f "$WORK/unified-work/unified.ckpt" ] && resume=(--resume)
$PY training/train_unified.py --data "$WORK/world" --vae "$WORK/vqvae" --work "$WORK/unified-work" "${resume[@]}" \
  --minutes "$UNIFIED_MINUTES" --mix 0.6 0.4 0 --images 12000 --rolls 1 --caption-view --code-head --rope-2d --eval-every 250

# The clip stage reads the same image tokens: only the clips are tokenised anew.
mkdir -p "$WORK/clip-work"
[ -f "$WORK/clip-work/tokens.pt" ] || cp "$WORK/unified-work/tokens.pt" "$WORK/clip-work/tokens.pt"
start=(--init "$WORK/unified-work/unified.ckpt"); [ -f "$WORK/clip-work/unified.ckpt" ] && start=(--resume)
$PY training/train_unified.py --data "$WORK/world" --work "$WORK/clip-work" "${start[@]}" \
  --minutes "$CLIP_MINUTES" --mix 0.2 0.35 0 0.45 --images 12000 --rolls 1 --lr 5e-4 --warmup 30 --eval-every 100000 \
  --export models/builtin --f16

if [ "$DECODER_MINUTES" != 0 ]; then
  resume=(--init models/builtin); [ -f "$WORK/decoder-work/vqvae.ckpt" ] && resume=(--resume)
  $PY training/train_vqvae.py --data "$WORK/world" --work "$WORK/decoder-work" "${resume[@]}" --decoder-only \
    --minutes "$DECODER_MINUTES" --lr 3e-4 --warmup 50 --update-model models/builtin
fi

# The whole-sequence fine-tune reads the world's first 20,000 images (the unified stages read 12,000): its own cache.
start=(--init models/builtin); [ -f "$WORK/finetune-work/unified.ckpt" ] && start=(--resume)
$PY training/train_unified.py --data "$WORK/world" --work "$WORK/finetune-work" "${start[@]}" --code-head \
  --minutes "$FINETUNE_MINUTES" --steps 100000 --mix 0.65 0.2 0 0.15 --images 20000 --rolls 1 --lr 5e-4 --warmup 50 \
  --eval-every 250 --export models/builtin --f16

resume=(--init models/builtin); [ -f "$WORK/torus-work/vqvae.ckpt" ] && resume=(--resume)
$PY training/train_vqvae.py --data "$WORK/world" --work "$WORK/torus-work" "${resume[@]}" --decoder-only --padding circular \
  --minutes "$TORUS_MINUTES" --lr 1e-4 --warmup 20 --precision bf16 --update-model models/builtin

# The transformer again with a learned vector per cell of the 16 x 16 grid (pos_grid, started at zero, at ten times
# the rate), on the codes of the fine-tune's cache (the encoder and codebook are the same; only the decoder moved onto
# the torus), caption→image heavier.
mkdir -p "$WORK/grid-work"
start=(--init models/builtin); [ -f "$WORK/grid-work/unified.ckpt" ] && start=(--resume)
$PY training/train_unified.py --data "$WORK/world" --work "$WORK/grid-work" "${start[@]}" --reuse-tokens "$WORK/finetune-work/tokens.pt" \
  --pos-2d --pos-lr-scale 10 --code-head --minutes "$GRID_MINUTES" --steps 100000 --mix 0.7 0.2 0 0.1 --images 20000 --rolls 1 \
  --lr 4e-4 --warmup 50 --eval-every 250 --export models/builtin --f16
# Its last 8 minutes with more captions (the caption→image-heavy mix costs captions a few points).
$PY training/train_unified.py --data "$WORK/world" --work "$WORK/grid-work" --resume --pos-lr-scale 10 \
  --minutes "$((GRID_MINUTES + 8))" --steps 100000 --mix 0.45 0.4 0 0.15 --images 20000 --rolls 1 --eval-every 250 \
  --export models/builtin --f16
# Continued by steps (a budget that does not shrink when other work shares the cores), a new cosine from the rate
# the resumed step gives, with a caption share between the two above.
$PY training/train_unified.py --data "$WORK/world" --work "$WORK/grid-work" --resume --pos-lr-scale 10 \
  --minutes 100000 --steps "$GRID_STEPS" --mix 0.6 0.3 0 0.1 --images 20000 --rolls 1 --lr 5.5e-4 --eval-every 250 \
  --export models/builtin --f16

# A learned vector per token of every scale (pos_scale, started at zero, at ten times the rate), with coarse batches:
# a coarse checker's cells are the 4x4 tokens, whose positions pos_grid only gives through the fine cells under
# their centres (training/probe_order.py measures whether the model knows which colour goes where).
mkdir -p "$WORK/scales-work"
start=(--init models/builtin); [ -f "$WORK/scales-work/unified.ckpt" ] && start=(--resume)
$PY training/train_unified.py --data "$WORK/world" --work "$WORK/scales-work" "${start[@]}" --reuse-tokens "$WORK/finetune-work/tokens.pt" \
  --pos-2d --pos-scales --pos-lr-scale 10 --code-head --minutes "$SCALES_MINUTES" --steps 100000 --mix 0.6 0.3 0 0.1 \
  --coarse-share 0.4 --coarse-through 4 --images 20000 --rolls 1 --lr 3e-4 --warmup 30 --eval-every 250 --export models/builtin --f16
# Resumed with a longer budget: the cosine restarts from the rate its progress gives (about 1.2e-4).
$PY training/train_unified.py --data "$WORK/world" --work "$WORK/scales-work" --resume --pos-lr-scale 10 \
  --minutes "$((SCALES_MINUTES + SCALES_MORE_MINUTES))" --steps 100000 --mix 0.6 0.3 0 0.1 --coarse-share 0.4 --coarse-through 4 \
  --images 20000 --rolls 1 --lr 3e-4 --eval-every 250 --export models/builtin --f16

# A self-correction stage in WORK/NAME-work, started from WORK/FROM-work's checkpoint (or resumed from its own):
# stage 11's recipe at rate 2e-4 for MINUTES, with the self-correction arguments that follow.
#   self_correct_stage NAME FROM MINUTES --self-correct ...
self_correct_stage() {
  local work="$WORK/$1-work" from="$WORK/$2-work/unified.ckpt" minutes="$3"
  shift 3
  mkdir -p "$work"
  local start=(--init "$from")
  [ -f "$work/unified.ckpt" ] && start=(--resume)
  $PY training/train_unified.py --data "$WORK/world" --work "$work" "${start[@]}" --reuse-tokens "$WORK/finetune-work/tokens.pt" \
    --pos-2d --pos-scales --pos-lr-scale 10 --code-head --minutes "$minutes" --steps 100000 --mix 0.6 0.3 0 0.1 \
    --coarse-share 0.4 --coarse-through 4 --images 20000 --rolls 1 --lr 2e-4 --warmup 30 --eval-every 250 \
    "$@" --export models/builtin --f16
}

# Self-correction: the model's own coarse draws are never the true codes, and a scale trained only after true ones
# refines the errors it is given (a fine checker's blotches) instead of correcting them.
self_correct_stage correct scales "$CORRECT_MINUTES" --self-correct 0.3 --self-correct-near 128
# Resumed with twice the budget: still rising at 55 minutes on the ladder; the cosine restarts from the rate its
# progress gives (about 1.1e-4).
$PY training/train_unified.py --data "$WORK/world" --work "$WORK/correct-work" --resume --pos-lr-scale 10 \
  --minutes "$((CORRECT_MINUTES + CORRECT_MORE_MINUTES))" --steps 100000 --mix 0.6 0.3 0 0.1 --coarse-share 0.4 \
  --coarse-through 4 --images 20000 --rolls 1 --lr 2e-4 --eval-every 250 --self-correct 0.3 --self-correct-near 128 \
  --export models/builtin --f16

# Self-correction from the model's own draws: a replaced coarse token takes what the model draws there after the true
# codes (one forward pass without gradients per caption→image batch), so the finer scales learn the errors it makes.
self_correct_stage own correct "$OWN_MINUTES" --self-correct 1 --self-correct-from model

# Self-correction from the model's chained draws: each coarse scale's draws follow what is fed before it, the model's
# own earlier draws included (one short pass without gradients per coarse scale), so the finer scales learn the
# errors as they compound in generation.
self_correct_stage chain own "$CHAIN_MINUTES" --self-correct 1 --self-correct-from chain

# Two more layers: the 16x16 scale, where most of a pattern is lost, is the first to move with depth. The world is
# tokenised anew with the folder's VQVAE, on the torus (its own cache: the stages above read stage 7's codes). The
# second and third runs resume the first: a cosine restarted from the rate their progress gives, the last counted by
# steps, a budget that does not shrink when other work shares the cores.
deep_stage() {
  $PY training/train_unified.py --data "$WORK/world" --work "$WORK/deep-work" "$@" --pos-2d --pos-scales --pos-lr-scale 10 \
    --code-head --mix 0.6 0.3 0 0.1 --coarse-share 0.4 --coarse-through 4 --images 20000 --rolls 1 --lr 3e-4 --warmup 30 \
    --eval-every 250 --self-correct 1 --self-correct-from chain --export models/builtin --f16
}
mkdir -p "$WORK/deep-work"
start=(--init models/builtin --grow-depth 6); [ -f "$WORK/deep-work/unified.ckpt" ] && start=(--resume)
deep_stage "${start[@]}" --minutes "$DEEP_MINUTES" --steps 100000
deep_stage --resume --minutes "$((DEEP_MINUTES + DEEP_MORE_MINUTES))" --steps 100000
deep_stage --resume --minutes 100000 --steps "$DEEP_STEPS"

# Many more clips: the 800 clips above are a few thousand frame steps, far fewer than a clip's next frame needs to
# follow a one-pixel scroll. The world renders clips almost for nothing; a world folder of links holds the same
# images, edits and captions beside MANY_CLIPS clips, and the deep stage's cache serves its images (only the clips
# are tokenised anew). The second run resumes the first: a cosine restarted from the rate its progress gives.
CLIPS_WORLD="$WORK/many-clips-world"
if [ ! -f "$CLIPS_WORLD/clips.npy" ]; then
  npm run -s world -- --out "$WORK/many-clips" --count 1 --size 64 --seed 0 --clips "$MANY_CLIPS" --clip-frames 6 --aligned
  mkdir -p "$CLIPS_WORLD"
  for f in images.npy captions.jsonl edit_src.npy edit_dst.npy edits.jsonl words.json; do
    ln -sf "$(realpath "$WORK/world/$f")" "$CLIPS_WORLD/$f"
  done
  mv "$WORK/many-clips/clips.npy" "$WORK/many-clips/clips.jsonl" "$CLIPS_WORLD/" && rm -r "$WORK/many-clips"
fi
many_clips_stage() {
  $PY training/train_unified.py --data "$CLIPS_WORLD" --work "$WORK/many-clips-work" "$@" --pos-lr-scale 10 \
    --coarse-share 0.4 --coarse-through 4 --images 20000 --rolls 1 --clip-rolls 1 --lr 1.5e-4 --self-correct 1 \
    --self-correct-from chain --minutes 100000 --export models/builtin --f16
}
mkdir -p "$WORK/many-clips-work"
start=(--init "$WORK/deep-work/unified.ckpt" --pos-2d --pos-scales --code-head --warmup 30)
if [ -f "$WORK/many-clips-work/unified.ckpt" ]; then
  start=(--resume)
else
  cp "$WORK/deep-work/tokens.pt" "$WORK/many-clips-work/tokens.pt"
fi
many_clips_stage "${start[@]}" --mix 0.45 0.25 0 0.3 --eval-every 250 --steps "$MANY_CLIPS_STEPS"
many_clips_stage --resume --mix 0.3 0.2 0 0.5 --eval-every 400 --steps "$MANY_CLIPS_MORE_STEPS"
# The whole VQVAE: the torus decoder alone had flattened at 25.645 dB held-out; encoder, codebook and decoder together
# rise past 26. Its codes differ from stage 16's on about half of the tokens above 1x1, so the transformer follows it
# onto the world tokenised anew (its own cache, images and clips).
resume=(--init models/builtin); [ -f "$WORK/vq-joint-work/vqvae.ckpt" ] && resume=(--resume)
$PY training/train_vqvae.py --data "$WORK/world" --work "$WORK/vq-joint-work" "${resume[@]}" --minutes "$VQ_JOINT_MINUTES" \
  --lr 1e-4 --precision bf16 --crop 0
$PY training/train_vqvae.py --data "$WORK/world" --work "$WORK/vq-joint-work" --resume --lr 1e-4 --precision bf16 --crop 0 \
  --minutes "$((VQ_JOINT_MINUTES + VQ_JOINT_MORE_MINUTES))" --export "$WORK/vq-joint"
mkdir -p "$WORK/retok-work"
start=(--init "$WORK/many-clips-work/unified.ckpt" --vae "$WORK/vq-joint" --pos-2d --pos-scales --code-head --warmup 30)
[ -f "$WORK/retok-work/unified.ckpt" ] && start=(--resume)
$PY training/train_unified.py --data "$CLIPS_WORLD" --work "$WORK/retok-work" "${start[@]}" --pos-lr-scale 10 \
  --mix 0.5 0.25 0 0.25 --coarse-share 0.4 --coarse-through 4 --images 20000 --rolls 1 --clip-rolls 1 --lr 2e-4 \
  --eval-every 400 --self-correct 1 --self-correct-from chain --minutes "$RETOK_MINUTES" --steps 100000 \
  --export models/builtin --f16

du -sh models/builtin
npm run -s eval -- --model models/builtin
