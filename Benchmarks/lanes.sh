#!/usr/bin/env bash
# Lane benchmarks (issue: compute lanes), Outpost and its peer side by side in one run:
#   1. 2,000 runs of /bin/true through 2 lanes, every state transition committed, vs `xargs -P 2 -n 1 /bin/true`
#      on the same input (wall time from resuming the paused lanes to the last task finished), ROUNDS times
#      (default 5), the two taking turns; the row gives the medians and the median of the rounds' ratios (one
#      round's ratio varies by ±15 % on these shared machines);
#   2. outpostd's own CPU and RSS while 2 lanes run CPU-bound tasks for OVERHEAD_SECONDS (default 60).
# Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/setup
COUNT="${COUNT:-2000}"
OVERHEAD_SECONDS="${OVERHEAD_SECONDS:-60}"
ROUNDS="${ROUNDS:-5}"

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

rounds=()
for _ in $(seq "$ROUNDS"); do
    ours="$(python3 Benchmarks/lanes.py throughput "$work/control.sock" "$COUNT")"
    peer="$(python3 -c 'import subprocess, sys, time
start = time.monotonic()
subprocess.run(f"seq {sys.argv[1]} | xargs -P 2 -n 1 /bin/true", shell=True, check=True)
print(time.monotonic() - start)' "$COUNT")"
    rounds+=("$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["seconds"], sys.argv[2])' "$ours" "$peer")")
done
load="$(python3 Benchmarks/lanes.py overhead "$work/control.sock" "$outpostd" "$OVERHEAD_SECONDS")"

python3 - "$load" "$COUNT" "$OVERHEAD_SECONDS" "${rounds[@]}" <<'PY'
import json, statistics, sys
load, count, seconds = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
rounds = [tuple(map(float, r.split())) for r in sys.argv[4:]]
ours = statistics.median(r[0] for r in rounds)
peer = statistics.median(r[1] for r in rounds)
ratio = statistics.median(r[0] / r[1] for r in rounds)
spread = ", ".join(f"{r[0] / r[1]:.2f}" for r in rounds)
print("| measure | outpostd | peer | ratio | goal |")
print("|---|---|---|---|---|")
print(f"| {count} × /bin/true, 2 lanes (median of {len(rounds)}) | {ours:.2f} s | `xargs -P 2 -n 1` {peer:.2f} s "
      f"| {ratio:.2f}× ({spread}) | ≤ 2× |")
print(f"| outpostd CPU, 2 CPU-bound lanes, {seconds} s | {load['cpu_percent']:.3f} % of a core | | | < 0.5 % |")
print(f"| outpostd RSS, same | {load['rss_mib']:.1f} MiB | | | |")
PY
