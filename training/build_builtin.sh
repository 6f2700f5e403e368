#!/usr/bin/env bash
# Trains the built-in model from nothing, on the CPU, and writes it to models/builtin:
#   1. the procedural world (npm run world): 20,000 training textures and 3,000 edit pairs, held-out
#      combinations excluded;
#   2. the multi-scale VQVAE (training/train_vqvae.py);
#   3. the unified transformer on caption→image and image→caption sequences (training/train_unified.py; edit
#      sequences hold two 64x64 images, ~950 positions, and are left out of the built-in model's budget);
#   4. export as a model folder with f16 weights, then the eval.
# Every stage resumes from its checkpoint under WORK (default out/builtin-work): run the script again after an
# interruption and it continues. Budgets (minutes) are set by VQVAE_MINUTES and UNIFIED_MINUTES.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${WORK:-out/builtin-work}"
VQVAE_MINUTES="${VQVAE_MINUTES:-36}"
UNIFIED_MINUTES="${UNIFIED_MINUTES:-55}"
PY=/usr/bin/python3
mkdir -p "$WORK"

if [ ! -f "$WORK/world/images.npy" ]; then
  npm run -s world -- --out "$WORK/world" --count 20000 --size 64 --seed 1 --edits 3000
fi

if [ ! -f "$WORK/vqvae/vae.safetensors" ]; then
  resume=(); [ -f "$WORK/vqvae-work/vqvae.ckpt" ] && resume=(--resume)
  $PY training/train_vqvae.py --data "$WORK/world" --work "$WORK/vqvae-work" "${resume[@]}" \
    --minutes "$VQVAE_MINUTES" --export "$WORK/vqvae"
fi

resume=(); [ -f "$WORK/unified-work/unified.ckpt" ] && resume=(--resume)
$PY training/train_unified.py --data "$WORK/world" --vae "$WORK/vqvae" --work "$WORK/unified-work" "${resume[@]}" \
  --minutes "$UNIFIED_MINUTES" --mix 0.6 0.4 0 --images 12000 --export models/builtin --f16

du -sh models/builtin
npm run -s eval -- --model models/builtin
