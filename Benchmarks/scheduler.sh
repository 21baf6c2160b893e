#!/usr/bin/env bash
# BOINC work benchmarks (issue: scheduler RPC), on this machine, release builds, side by side in one run:
#   1. jobs per minute through the whole loop (fetch, download, run, upload, report, ack) for JOBS short jobs
#      (default 60), outpostd with 2 lanes vs the real BOINC client (2 CPUs, report_results_immediately: its best
#      setting) against the same outpost-coordinator and the same app; the BOINC client gets at most BOINC_SECONDS
#      (default 240) and its rate is what it completed in that time. Goal: Outpost >= 5x the BOINC client.
#   2. scheduler replies parsed per second on the largest captured reply (one core, PARSE_SECONDS, default 5).
# Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/setup
JOBS="${JOBS:-60}"
BOINC_SECONDS="${BOINC_SECONDS:-240}"
PARSE_SECONDS="${PARSE_SECONDS:-5}"

swift build -c release --product outpost-coordinator >/dev/null
swift build -c release --product outpostd >/dev/null
# What outpostd execs to start each lane task (without it, tasks start through prlimit and nice).
swift build -c release --product outpost-launch >/dev/null
bin="$(swift build -c release --show-bin-path)"
(cd Benchmarks && swift build -c release --product outpost-bench >/dev/null)
bench="$(cd Benchmarks && swift build -c release --show-bin-path)/outpost-bench"
work="$(mktemp -d /var/tmp/outpost-scheduler-XXXXXX)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

cat >"$work/app.sh" <<'APP'
#!/bin/sh
tr 'a-z' 'A-Z' < in.txt > out.txt
echo 0 > boinc_finish_called
APP
chmod +x "$work/app.sh"
echo "benchmark input" >"$work/in.txt"

# Starts a coordinator with its own state in $work/$1; sets $port and $config.
start_coordinator() {
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    config="$work/$1/coordinator.toml"
    mkdir -p "$work/$1"
    printf '[coordinator]\nlisten = "127.0.0.1:%s"\nstate_directory = "%s"\n[project]\nrequest_delay = 1\n' \
        "$port" "$work/$1/state" >"$config"
    "$bin/outpost-coordinator" serve --config "$config" 2>"$work/$1/coordinator.log" &
    pids+=($!)
    for _ in $(seq 100); do "$bin/outpost-coordinator" results --summary --config "$config" >/dev/null 2>&1 && break; sleep 0.1; done
    "$bin/outpost-coordinator" app add upper "$work/app.sh" --config "$config" >/dev/null
    "$bin/outpost-coordinator" submit upper --input "$work/in.txt=in.txt" --count "$JOBS" --config "$config" >/dev/null
}

done_jobs() {
    "$bin/outpost-coordinator" results --summary --json --config "$config" | python3 -c 'import json,sys; print(json.load(sys.stdin)["done"])'
}

# Waits until every job is done or $2 seconds pass; prints "done seconds".
wait_for_jobs() {
    local start="$1" limit="$2" now done
    while true; do
        done="$(done_jobs)"
        now="$(date +%s.%N)"
        if [ "$done" -ge "$JOBS" ] || python3 -c "import sys; sys.exit(0 if $now - $start >= $limit else 1)"; then
            echo "$done $(python3 -c "print(round($now - $start, 2))")"
            return
        fi
        sleep 0.2
    done
}

# 1a. Outpost.
start_coordinator outpost
token_file="$work/outpost/token"
(umask 077; "$bin/outpost-coordinator" token create --site bench --config "$config" >"$token_file" 2>/dev/null)
mkdir -p "$work/outpost/node"
cat >"$work/outpost/node/outpostd.toml" <<TOML
[node]
state_directory = "$work/outpost/node/state"
[control]
socket = "$work/outpost/node/control.sock"
[lanes]
count = 2
check_interval_ms = 100
[coordinator]
url = "http://127.0.0.1:$port"
enrollment_token_file = "$token_file"
[log]
level = "warning"
TOML
start="$(date +%s.%N)"
"$bin/outpostd" --config "$work/outpost/node/outpostd.toml" 2>"$work/outpost/node.log" &
pids+=($!)
read -r outpost_done outpost_seconds < <(wait_for_jobs "$start" 600)
kill "${pids[-1]}"

# 1b. The BOINC client, against a fresh coordinator with the same jobs.
start_coordinator boinc
authenticator="$("$bin/outpost-coordinator" account create bench --config "$config")"
data="$work/boinc/data"
mkdir -p "$data"
cat >"$data/cc_config.xml" <<'XML'
<cc_config><options><no_info_fetch>1</no_info_fetch><report_results_immediately>1</report_results_immediately></options></cc_config>
XML
cat >"$data/nvc_config.xml" <<'XML'
<nvc_config><network_test_url>http://127.0.0.1:1/</network_test_url><client_version_check_url>http://127.0.0.1:1/</client_version_check_url><client_download_url>http://127.0.0.1:1/</client_download_url></nvc_config>
XML
cat >"$data/global_prefs_override.xml" <<'XML'
<global_preferences><suspend_cpu_usage>0</suspend_cpu_usage><run_if_user_active>1</run_if_user_active><idle_time_to_run>0</idle_time_to_run><max_ncpus_pct>100</max_ncpus_pct></global_preferences>
XML
echo bench >"$data/gui_rpc_auth.cfg"
rpc_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
start="$(date +%s.%N)"
boinc --dir "$data" --gui_rpc_port "$rpc_port" --no_info_fetch --skip_cpu_benchmarks --no_gpus >"$work/boinc/client.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
    boinccmd --host "127.0.0.1:$rpc_port" --passwd bench --project_attach "http://127.0.0.1:$port/boinc/" "$authenticator" \
        >/dev/null 2>&1 && break
    sleep 0.2
done
read -r boinc_done boinc_seconds < <(wait_for_jobs "$start" "$BOINC_SECONDS")
kill "${pids[-1]}"

# 2. Reply parsing.
parse_rate="$("$bench" parse-replies Tests/OutpostSchedulerTests/Fixtures/boinc-7.20.5/007-rpc2_scheduler_reply.xml "$PARSE_SECONDS")"

python3 - "$JOBS" "$outpost_done" "$outpost_seconds" "$boinc_done" "$boinc_seconds" "$parse_rate" <<'PY'
import sys
jobs, od, os_, bd, bs, parse = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
outpost = od / os_ * 60
boinc = bd / bs * 60
print("| measure | Outpost | BOINC client 7.20.5 | ratio |")
print("|---|---|---|---|")
print(f"| {jobs} short jobs, 2 lanes / 2 CPUs: jobs per minute, whole loop | {outpost:.0f} ({od} in {os_:.1f} s) | {boinc:.1f} ({bd} in {bs:.0f} s) | {outpost / boinc if boinc else float('inf'):.1f}x |")
print(f"| scheduler replies parsed per second (captured job reply, 2.5 KB, one core) | {int(parse):,} | | |")
PY
