#!/usr/bin/env bash
# Installs what is missing, then runs the main job: the texture generation tool on the built-in model
# (a texture from a prompt, out/texture.png) and on the VAR conformance model (out/var-tiny.png).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
npm run generate -- --prompt "red and blue checker, fine" --seed 0 --out out/texture.png
npm run generate -- --model tests/fixtures/var-tiny --class 3,7 --seed 0 --cfg 1.5 --top-k 1 --out out/var-tiny.png "$@"
