#!/usr/bin/env bash
# Peak resident memory of a full sampling loop, dense vs RAS, each in its own process (VmHWM is per process).
# Usage: bench/memory.sh [steps] [extra ras bench flags...]; results land in bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-28}
shift || true
out=bench/results
mkdir -p "$out"
dotnet build -c Release src/Ras.Cli >/dev/null
ras=src/Ras.Cli/bin/Release/net10.0/ras
common=(bench --synthetic sd3-medium --layers 4 --height 1024 --width 1024 --batch 2 --steps "$steps" "$@")
"$ras" "${common[@]}" --sample-ratio 1 --json "$out/memory-dense.json" | tee "$out/memory-dense.txt"
"$ras" "${common[@]}" --sample-ratio 0.5 --json "$out/memory-ras.json" | tee "$out/memory-ras.txt"
python3 - "$out" <<'PY'
import json, sys
d = json.load(open(f"{sys.argv[1]}/memory-dense.json")); r = json.load(open(f"{sys.argv[1]}/memory-ras.json"))
mib = 1 << 20
extra = r["peak_rss_bytes"] - d["peak_rss_bytes"]
state = r["kv_cache_bytes"] + r["cached_velocity_bytes"]
print(f"dense peak {d['peak_rss_bytes']/mib:.0f} MiB, RAS peak {r['peak_rss_bytes']/mib:.0f} MiB, difference {extra/mib:.0f} MiB")
print(f"RAS state (K/V caches + cached velocity) {state/mib:.0f} MiB; difference / state = {extra/state:.2f} (target <= 1.1)")
for name, run in (("dense", d), ("RAS", r)):
    rss = run["rss_after_step_bytes"]
    print(f"{name}: RSS after step 1 {rss[0]/mib:.0f} MiB, after step 5 {rss[4]/mib:.0f} MiB, last {rss[-1]/mib:.0f} MiB, max {max(rss)/mib:.0f} MiB")
PY
