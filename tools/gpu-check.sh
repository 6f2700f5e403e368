#!/usr/bin/env bash
# The checks a machine with a real GPU is for, in one run that leaves one JSON file:
#   1. the kernel tests in the workgroup style (the GPU form of every heavy kernel) against their references;
#   2. the conformance tests of both families (VAR and unified fixtures, number for number);
#   3. npm run bench -- --roofline on the full-size VAR-d16 configuration (random weights) in f32 and f16,
#      and on the built-in model;
#   4. npm run bench -- --peer ort: the built-in model's largest scale and its VQVAE decoder beside ONNX Runtime
#      Web's WebGPU execution provider on the same device (times, ratios, the largest output difference).
# On a CPU-emulated adapter (SwiftShader) the VAR steps run the var-tiny fixture instead (a full-size VAR's
# 256-pixel decode alone takes far too long on two cores), and the peer step the unified-tiny fixture (ORT
# takes minutes for the built-in model there), so the outputs have the same shape; times aside.
#   bash tools/gpu-check.sh            # writes out/gpu-check/results.json and a log per step
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-out/gpu-check}"
mkdir -p "$OUT"
bash tools/setup.sh > "$OUT/setup.log" 2>&1
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
started=$(date +%s)

software=$(node --import ./tools/wgsl-register.mjs --import tsx --input-type=module -e "
  const { Gpu } = await import('./runtime/gpu/index.ts');
  const gpu = await Gpu.create(); console.log(gpu.isSoftware ? 1 : 0); gpu.destroy(); process.exit(0);")
if [ "$software" = 1 ]; then VAR=(--model tests/fixtures/var-tiny); PEER=(--model tests/fixtures/unified-tiny); else VAR=(--random --depth 16); PEER=(); fi

step() { # name, command...: runs it, keeps its log, records rc and seconds
  local name=$1; shift
  local t0=$(date +%s) rc=0
  "$@" > "$OUT/$name.log" 2>&1 || rc=$?
  echo "{\"step\":\"$name\",\"rc\":$rc,\"seconds\":$(( $(date +%s) - t0 ))}" >> "$OUT/steps.jsonl"
  echo "$name: rc $rc, $(( $(date +%s) - t0 )) s"
}
rm -f "$OUT/steps.jsonl"
step kernels env NEXTSCALE_KERNELS=workgroup npx vitest run tests/kernels
step conformance npx vitest run tests/models/var.test.ts tests/models/unified.test.ts
step roofline-var-f32 npm run -s bench -- --roofline "${VAR[@]}" --dtype f32
step roofline-var-f16 npm run -s bench -- --roofline "${VAR[@]}" --dtype f16
step roofline-builtin npm run -s bench -- --roofline
step peer-ort npm run -s bench -- --peer ort "${PEER[@]}" --peer-runs 5

# One file: every step's rc and time, and each bench's JSON line.
node -e "
  const fs = require('fs');
  const dir = process.argv[1];
  const steps = fs.readFileSync(dir + '/steps.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const lastJson = (name) => { const lines = fs.readFileSync(dir + '/' + name + '.log', 'utf8').trim().split('\n'); try { return JSON.parse(lines[lines.length - 1]); } catch { return null; } };
  const benches = Object.fromEntries(steps.filter((s) => /^(roofline|peer)/.test(s.step)).map((s) => [s.step, lastJson(s.step)]));
  const result = { software: process.argv[2] === '1', var: process.argv[3], seconds: Number(process.argv[4]), steps, benches };
  fs.writeFileSync(dir + '/results.json', JSON.stringify(result, null, 1));
  const failed = steps.filter((s) => s.rc !== 0).map((s) => s.step);
  console.log('wrote ' + dir + '/results.json' + (failed.length ? '; failed: ' + failed.join(', ') : ''));
  process.exit(failed.length ? 1 : 0);
" "$OUT" "$software" "${VAR[*]}" "$(( $(date +%s) - started ))"
