#!/usr/bin/env bash
# Installs what is missing, then runs the whole test suite on real WebGPU (SwiftShader without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
npx tsc --noEmit
npx vitest run
