#!/usr/bin/env bash
# Load time of a full-size synthetic SD3-family pipeline (zeros in sparse bf16 files, written to a temp folder and deleted
# afterwards): `ras generate` at 64², 1 step, no T5, weights kept in bf16 (--weight-storage stored), so its "denoise" time is
# the transformer's build and read plus one cheap step. To compare with a build from before the no-initialisation loaders,
# point RAS_BIN at that build's ras.dll; both run on the same folder, alternately.
# Never run in CI: the weights take ~16 GB of RAM for sd3.5-large.
# Usage: [RAS_BIN=/path/to/old/ras.dll] bash bench/load-time.sh [family] [runs]
#   e.g. bash bench/load-time.sh sd3.5-large 2
set -euo pipefail
family=${1:-sd3.5-large}
runs=${2:-1}
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
"$ras" synth-pipeline "$family" --out "$work/model" --fixtures "$fixtures" --no-t5 >/dev/null
for run in $(seq "$runs"); do
  for bin in ${RAS_BIN:+"$RAS_BIN"} "$ras.dll"; do
    echo "run $run, $bin:"
    /usr/bin/time -f "  max resident: %M KB, wall: %e s" dotnet "$bin" generate "a photo of a cat" --model "$work/model" --weight-storage stored \
      --steps 1 --width 64 --height 64 --seed 0 --out "$work/out.png" 2>&1 | grep -E "time:|max resident" | sed 's/^/  /'
  done
done
