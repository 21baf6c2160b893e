#!/usr/bin/env bash
# Foundation benchmarks (issue: outpostd foundation), Outpost and its peer side by side in one run:
#   1. idle footprint over IDLE_SECONDS (default 60): RSS, CPU, wake-ups of outpostd vs the BOINC client, both idle
#      in their own data directories;
#   2. start to READY=1 (warm cache, median of 20 starts);
#   3. echo round trips per second over the control socket from 1 and from 16 connections.
# Prints a Markdown table; ratios are Outpost / BOINC. Needs root or sudo for apt-get (boinc-client).
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/setup
IDLE_SECONDS="${IDLE_SECONDS:-60}"
dpkg-query -W -f='${Status}' boinc-client 2>/dev/null | grep -q "install ok installed" || {
    apt-get install -y -qq --no-install-recommends boinc-client >/dev/null
    # The package starts a system instance; this benchmark runs its own.
    systemctl stop boinc-client 2>/dev/null || pkill -x boinc || true
}

swift build -c release --product outpostd >/dev/null
bin="$(swift build -c release --show-bin-path)"
(cd Benchmarks && swift build -c release >/dev/null)
bench="$(cd Benchmarks && swift build -c release --show-bin-path)/outpost-bench"

work="$(mktemp -d /tmp/outpost-bench-XXXXXX)"
trap 'kill $outpostd $boinc 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/boinc"

"$bin/outpostd" --state-directory "$work/state" --control-socket "$work/control.sock" 2>"$work/outpostd.log" &
outpostd=$!
# The BOINC client idle: no projects, loopback GUI RPC, no CPU benchmarks (they would run for a minute at start).
boinc --dir "$work/boinc" --skip_cpu_benchmarks --gui_rpc_port 31499 >"$work/boinc.log" 2>&1 &
boinc=$!
sleep 5

python3 Benchmarks/measure.py idle "$outpostd" "$IDLE_SECONDS" >"$work/idle-outpostd.json" &
measuring=$!
python3 Benchmarks/measure.py idle "$boinc" "$IDLE_SECONDS" >"$work/idle-boinc.json"
wait "$measuring"

ready_runs=()
for _ in $(seq 20); do
    rm -f "$work/ready.sock"
    ready_runs+=("$(python3 Benchmarks/measure.py ready 5 -- "$bin/outpostd" --state-directory "$work/state-ready" \
        --control-socket "$work/ready.sock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ready_ms"])')")
done
ready_median="$(printf '%s\n' "${ready_runs[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"

echo1="$("$bench" echo "$work/control.sock" 1 5)"
echo16="$("$bench" echo "$work/control.sock" 16 5)"

python3 - "$work" "$ready_median" "$echo1" "$echo16" "$IDLE_SECONDS" <<'PY'
import json, sys
work, ready, echo1, echo16, seconds = sys.argv[1:]
ours = json.load(open(f"{work}/idle-outpostd.json"))
peer = json.load(open(f"{work}/idle-boinc.json"))
def ratio(a, b):
    return f"{a / b:.2f}×" if b else "n/a"
print(f"| measure | outpostd | BOINC client 7.20 | outpostd / BOINC |")
print(f"|---|---|---|---|")
print(f"| idle RSS, mean over {seconds} s | {ours['rss_kib_mean'] / 1024:.1f} MiB | {peer['rss_kib_mean'] / 1024:.1f} MiB | {ratio(ours['rss_kib_mean'], peer['rss_kib_mean'])} |")
print(f"| idle CPU, % of one core | {ours['cpu_percent']:.3f} % | {peer['cpu_percent']:.3f} % | {ratio(ours['cpu_percent'], peer['cpu_percent'])} |")
print(f"| idle wake-ups per second (all threads) | {ours['wakeups_per_second']} | {peer['wakeups_per_second']} | {ratio(ours['wakeups_per_second'], peer['wakeups_per_second'])} |")
print(f"| start to READY=1, median of 20 (warm) | {float(ready):.1f} ms | – | – |")
print(f"| echo round trips/s, 1 connection | {float(echo1):,.0f} | – | – |")
print(f"| echo round trips/s, 16 connections | {float(echo16):,.0f} | – | – |")
PY
