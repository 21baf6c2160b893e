#!/usr/bin/env bash
# Check-in benchmarks (issue: coordinator), on this machine, release builds:
#   1. the coordinator's sustained check-ins per second and latency from CLIENTS (default 10,000) enrolled clients
#      over 64 keep-alive connections (wrk, 2 threads, DURATION seconds), and the registry's size per 10,000 clients;
#   2. outpostd's CPU time per check-in: a node checking in every second minus an identical node that does not,
#      over NODE_SECONDS, from /proc/PID/task/*/schedstat (nanoseconds).
# Goals: >= 3,000 check-ins/s at p99 < 50 ms; < 2 ms of node CPU per check-in. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/setup
CLIENTS="${CLIENTS:-10000}"
DURATION="${DURATION:-20}"
NODE_SECONDS="${NODE_SECONDS:-40}"
command -v wrk >/dev/null || { sudo="" ; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y -qq wrk >/dev/null; }

swift build -c release --product outpost-coordinator >/dev/null
swift build -c release --product outpostd >/dev/null
bin="$(swift build -c release --show-bin-path)"
work="$(mktemp -d /var/tmp/outpost-checkin-XXXXXX)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$work/coordinator.toml" <<TOML
[coordinator]
listen = "127.0.0.1:$port"
state_directory = "$work/coordinator"
checkin_interval = 1
TOML
"$bin/outpost-coordinator" serve --config "$work/coordinator.toml" 2>"$work/coordinator.log" &
pids+=($!)
coordinator=$!
sleep 1
token="$("$bin/outpost-coordinator" token create --site bench --config "$work/coordinator.toml" 2>/dev/null)"
enroll_seconds="$(python3 Benchmarks/checkin.py enroll "$port" "$token" "$CLIENTS" "$work/clients.txt")"

wrk -t2 -c64 -d"${DURATION}s" --latency -s Benchmarks/checkin.lua "http://127.0.0.1:$port" -- "$work/clients.txt" \
    >"$work/wrk.txt"
coordinator_rss="$(awk '/VmRSS/ {print $2}' /proc/$coordinator/status)"

# The node's cost: two identical nodes, one checking in every second (the coordinator's interval), one not.
token_file="$work/node.token"
"$bin/outpost-coordinator" token create --site bench --config "$work/coordinator.toml" >"$token_file" 2>/dev/null
chmod 600 "$token_file"
for node in with without; do
    mkdir -p "$work/$node"
    printf '[lanes]\ncount = 2\n' >"$work/$node/outpostd.toml"
    if [ "$node" = with ]; then
        printf '[coordinator]\nurl = "http://127.0.0.1:%s"\nenrollment_token_file = "%s"\n' "$port" "$token_file" \
            >>"$work/$node/outpostd.toml"
    fi
    "$bin/outpostd" --config "$work/$node/outpostd.toml" --state-directory "$work/$node/state" \
        --control-socket "$work/$node/control.sock" 2>"$work/$node/log" &
    pids+=($!)
    eval "${node}_pid=$!"
done
sleep 5
cost="$(python3 Benchmarks/checkin.py cost "$with_pid" "$without_pid" "$NODE_SECONDS")"
kill -TERM "$coordinator"
wait "$coordinator" 2>/dev/null || true
registry_bytes="$(stat -c %s "$work/coordinator/registry.sqlite")"

python3 - "$work/wrk.txt" "$CLIENTS" "$enroll_seconds" "$registry_bytes" "$cost" "$NODE_SECONDS" "$coordinator_rss" <<'PY'
import json, re, sys
wrk = open(sys.argv[1]).read()
clients, enroll_seconds, registry_bytes = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
cost, seconds, rss = json.loads(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
def latency(label):
    match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", wrk)
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)
per_checkin_ms = (cost["with"] - cost["without"]) / 1e6 / seconds
print("| measure | Outpost | goal |")
print("|---|---|---|")
print(f"| check-ins per second, {clients:,} clients, 64 keep-alive connections | {rate:,.0f} | ≥ 3,000 |")
print(f"| check-in latency p50 / p99 | {latency(50):.1f} ms / {latency(99):.1f} ms | p99 < 50 ms |")
print(f"| failed check-ins | {int(errors.group(1)) if errors else 0} | 0 |")
print(f"| enrollments per second (one connection) | {clients / enroll_seconds:,.0f} | |")
print(f"| registry size per 10,000 clients (each with 2 lanes) | {registry_bytes * 10000 / clients / 2**20:.1f} MiB | |")
print(f"| coordinator RSS after the run | {rss / 1024:.0f} MiB | |")
print(f"| outpostd CPU per check-in (one a second for {seconds:.0f} s, minus an idle twin) | {per_checkin_ms:.2f} ms | < 2 ms |")
PY
