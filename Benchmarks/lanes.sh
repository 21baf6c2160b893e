#!/usr/bin/env bash
# Lane benchmarks (issue: compute lanes), Outpost and its peer side by side in one run:
#   1. 2,000 runs of /bin/true through 2 lanes, every state transition committed, vs `xargs -P 2 -n 1 /bin/true`
#      on the same input (wall time from resuming the paused lanes to the last task finished);
#   2. outpostd's own CPU and RSS while 2 lanes run CPU-bound tasks for OVERHEAD_SECONDS (default 60).
# Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/setup
COUNT="${COUNT:-2000}"
OVERHEAD_SECONDS="${OVERHEAD_SECONDS:-60}"

swift build -c release --product outpostd >/dev/null
# What outpostd execs to start each lane task (without it, tasks start through prlimit and nice).
swift build -c release --product outpost-launch >/dev/null
bin="$(swift build -c release --show-bin-path)"
work="$(mktemp -d /var/tmp/outpost-lanes-XXXXXX)"
trap 'kill $outpostd 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
printf '[lanes]\ncount = 2\n' >"$work/outpostd.toml"
"$bin/outpostd" --config "$work/outpostd.toml" --state-directory "$work/state" --control-socket "$work/control.sock" \
    2>"$work/outpostd.log" &
outpostd=$!
sleep 3

ours="$(python3 Benchmarks/lanes.py throughput "$work/control.sock" "$COUNT")"
peer="$(python3 -c 'import subprocess, sys, time
start = time.monotonic()
subprocess.run(f"seq {sys.argv[1]} | xargs -P 2 -n 1 /bin/true", shell=True, check=True)
print(time.monotonic() - start)' "$COUNT")"
load="$(python3 Benchmarks/lanes.py overhead "$work/control.sock" "$outpostd" "$OVERHEAD_SECONDS")"

python3 - "$ours" "$peer" "$load" "$COUNT" "$OVERHEAD_SECONDS" <<'PY'
import json, sys
ours, peer, load, count, seconds = json.loads(sys.argv[1])["seconds"], float(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
print("| measure | outpostd | peer | ratio | goal |")
print("|---|---|---|---|---|")
print(f"| {count} × /bin/true, 2 lanes | {ours:.2f} s | `xargs -P 2 -n 1` {peer:.2f} s | {ours / peer:.2f}× | ≤ 2× |")
print(f"| outpostd CPU, 2 CPU-bound lanes, {seconds} s | {load['cpu_percent']:.3f} % of a core | | | < 0.5 % |")
print(f"| outpostd RSS, same | {load['rss_mib']:.1f} MiB | | | |")
PY
