#!/usr/bin/env bash
# build_builtin.sh's transformer stages (3-5) on a CUDA GPU, from a carry made on a machine with the world:
#   CARRY/world   captions.jsonl, words.json, clips.jsonl (no pixels: the token cache stands in for them)
#   CARRY/vqvae   the VQVAE export the tokens came from (vae.safetensors, vae.json)
#   CARRY/work    tokens.pt with the images (--images IMAGES --rolls 1) and the clips, made with that VQVAE
# (training/README.md, "Device", says how to make one). Writes the model folder (f16) to OUT; the shipped decoder
# goes in afterwards, on the machine with the world (build_builtin.sh's stage 6, or train_vqvae.py --update-model).
#   training/build_builtin_gpu.sh CARRY OUT [extra arguments of the unified stage, e.g. --pos-2d --pos-lr-scale 10]
# Budgets in minutes (UNIFIED_MINUTES, CLIP_MINUTES); BATCH and LR set the unified stage's batch and peak rate
# (the clip stage keeps build_builtin.sh's); WORKERS processes build the batches. IMAGES (20000: the whole world)
# is the number of images the carry's tokens hold: a GPU passes over them many times, and on fewer images the
# layouts overfit (training/NOTES.md, "The loop on a world made for it").
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY="$1"; OUT="$2"; shift 2
PY="${PY:-python3}"
UNIFIED_MINUTES="${UNIFIED_MINUTES:-5}"
CLIP_MINUTES="${CLIP_MINUTES:-1.5}"
BATCH="${BATCH:-16}"
LR="${LR:-1e-3}"
WORKERS="${WORKERS:-12}"
IMAGES="${IMAGES:-20000}"
WORK="$CARRY/gpu-work"
mkdir -p "$WORK/unified" "$WORK/clip"
for stage in unified clip; do
  [ -f "$WORK/$stage/tokens.pt" ] || cp "$CARRY/work/tokens.pt" "$WORK/$stage/tokens.pt"
done
common=(--data "$CARRY/world" --images "$IMAGES" --rolls 1 --workers "$WORKERS" --threads 4 --steps 1000000)

resume=(--vae "$CARRY/vqvae"); [ -f "$WORK/unified/unified.ckpt" ] && resume=(--resume)
"$PY" training/train_unified.py "${common[@]}" --work "$WORK/unified" "${resume[@]}" --minutes "$UNIFIED_MINUTES" \
  --batch "$BATCH" --lr "$LR" --mix 0.6 0.4 0 --caption-view --code-head --rope-2d --eval-every 1000 "$@"

start=(--init "$WORK/unified/unified.ckpt"); [ -f "$WORK/clip/unified.ckpt" ] && start=(--resume)
"$PY" training/train_unified.py "${common[@]}" --work "$WORK/clip" "${start[@]}" --minutes "$CLIP_MINUTES" \
  --mix 0.2 0.35 0 0.45 --lr 5e-4 --warmup 30 --eval-every 1000000 --export "$OUT" --f16
