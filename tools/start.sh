#!/usr/bin/env bash
# Installs what is missing, then runs the main job: the texture generation tool on the conformance model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
npm run generate -- --model ../shared/fixtures/var-tiny --class 3,7 --seed 0 --cfg 1.5 --top-k 1 --out out/var-tiny.png "$@"
