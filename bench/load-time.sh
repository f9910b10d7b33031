#!/usr/bin/env bash
# Load time of a full-size synthetic transformer (zeros in a sparse bf16 file, written to a temp folder and deleted
# afterwards), kept in bf16 (--weight-storage stored): the `load:` line of `ras bench` is the model build plus the read.
# To compare with a build from before the no-initialisation loaders, point RAS_BIN at that build's ras.dll.
# Never run in CI: the weights take ~16 GB of RAM for sd3.5-large.
# Usage: [RAS_BIN=/path/to/ras.dll] bash bench/load-time.sh [family] [runs]
#   e.g. bash bench/load-time.sh sd3.5-large 2
set -euo pipefail
family=${1:-sd3.5-large}
runs=${2:-1}
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
"$ras" synth-pipeline "$family" --out "$work/model" --fixtures "$fixtures" --no-t5 >/dev/null
for run in $(seq "$runs"); do
  for bin in "${RAS_BIN:-}" "$ras.dll"; do
    [[ -n "$bin" ]] || continue
    echo "run $run, $bin:"
    /usr/bin/time -f "  max resident: %M KB, wall: %e s" dotnet "$bin" bench --model "$work/model" --weight-storage stored \
      --height 64 --width 64 --text-tokens 8 --ratios 1 --repeat 1 2>&1 | grep -E "load:|max resident"
  done
done
