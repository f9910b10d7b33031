#!/usr/bin/env bash
# Peak resident memory of `ras generate` on synthetic full-size SD3-family pipelines (zero weights in sparse
# files written to a temp folder and deleted afterwards). Never run in CI: it needs ~16 GB of RAM and minutes.
# Usage: [SYNTH_FLAGS="synth-pipeline flags"] bash bench/pipeline-memory.sh [family] [size] [steps] [extra generate flags...]
#   e.g. bash bench/pipeline-memory.sh sd3-medium 1024 2
#        bash bench/pipeline-memory.sh sd3.5-large 512 2
#        SYNTH_FLAGS="--transformer-weights q8_0 --dtype fp16" bash bench/pipeline-memory.sh flux-dev 1024 1   # GGUF transformer, fp16 T5
set -euo pipefail
family=${1:-sd3-medium}
size=${2:-1024}
steps=${3:-2}
shift $(( $# < 3 ? $# : 3 ))
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck disable=SC2086 # SYNTH_FLAGS is a list of flags
"$ras" synth-pipeline "$family" --out "$work/model" --fixtures "$fixtures" ${SYNTH_FLAGS:-}
/usr/bin/time -f "max resident: %M KB, wall: %e s" "$ras" generate "a photo of a cat" --model "$work/model" \
  --steps "$steps" --width "$size" --height "$size" --seed 0 --out "$work/out.png" "$@" 2>&1 | grep -v '^\s*$'
