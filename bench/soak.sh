#!/usr/bin/env bash
# Soak (issue 16): 200 images through the library in one process (the built-in model; sizes 32-64, batch 1-4, RAS on and
# off, image-to-image) and 50 through the CLI, through the same tests `dotnet test` runs short. Prints resident memory
# after image 20 and at the end, the live-tensor baseline, and whether any temp file was left.
#   bash bench/soak.sh [IMAGES] [CLI_RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
RAS_SOAK_IMAGES="${1:-200}" RAS_SOAK_CLI="${2:-50}" \
  dotnet test tests/Ras.Cli.Tests --filter "Category=Soak" --logger "console;verbosity=detailed" 2>&1 | grep -E "^\s*(library|cli):|Passed|Failed|Error" 
