#!/usr/bin/env bash
# Peak resident memory and time of one sampling step of a full-size synthetic transformer whose weights stay packed
# (GGUF Q8_0 / Q4_K or fp8, zeros in a sparse file written to a temp folder and deleted afterwards), against its
# packed size. Never run in CI: minutes per run (every step dequantizes the whole model, block by block).
# Usage: bash bench/packed-memory.sh [family] [q8_0|q4_k|fp8] [size] [extra bench flags...]
#   e.g. bash bench/packed-memory.sh flux-dev q8_0 64
#        bash bench/packed-memory.sh sd3.5-large q4_k 64
set -euo pipefail
family=${1:-flux-dev}
weights=${2:-q8_0}
size=${3:-64}
shift $(( $# < 3 ? $# : 3 ))
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
"$ras" synth-pipeline "$family" --out "$work/model" --fixtures "$fixtures" --transformer-weights "$weights"
echo "packed transformer: $(du -b --apparent-size "$work"/model/transformer/diffusion_pytorch_model.* | cut -f1) bytes"
/usr/bin/time -f "max resident: %M KB, wall: %e s" "$ras" bench --model "$work/model" --weight-storage auto --steps 1 \
  --width "$size" --height "$size" --text-tokens 8 "$@" 2>&1 | grep -v '^\s*$'
