#!/usr/bin/env bash
# Long fuzz run: every reader of untrusted bytes (safetensors, GGUF, config.json, CLIP tokenizer files, SentencePiece
# .model, PNG/JPEG) with N seeded mutations each (default 10000), through the same harness as the 1,000-input smoke run
# in `dotnet test` (tests/Ras.Core.Tests/Fuzzing). Prints one summary line per reader; failing inputs are saved under
# /tmp/ras-fuzz-<reader>-<pid>/.
#   bash bench/fuzz.sh [COUNT] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-10000}"
seed="${2:-2026}"
report="$(mktemp)"
start=$(date +%s)
RAS_FUZZ_COUNT="$count" RAS_FUZZ_SEED="$seed" RAS_FUZZ_REPORT="$report" \
  dotnet test tests/Ras.Core.Tests --filter "Category=Fuzz" --logger "console;verbosity=minimal" || status=$?
echo "--- fuzz: $count inputs per reader, seed $seed, $(( $(date +%s) - start )) s wall (build included)"
cat "$report"
rm -f "$report"
exit "${status:-0}"
