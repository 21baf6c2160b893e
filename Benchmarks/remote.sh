#!/usr/bin/env bash
# Remote-access benchmarks (issue: remote access), release build, outpostd and nginx side by side in one run:
#   a SIZE_MB (default 2048) MiB file downloaded with `GET /v1/files/…` and uploaded with `PUT /v1/files/…` over TLS on
#   loopback, against Debian's nginx-light serving the same file and accepting the same upload (WebDAV PUT) over TLS,
#   curl as the client for both (downloads to /dev/null, uploads from the page cache). Each server's CPU time per GiB
#   from /proc. Goal: outpostd >= 0.9x nginx's throughput. Outpost's upload is fsynced and renamed into place; so is
#   nginx's (it writes a temporary file and renames it), but nginx does not fsync.
#   Also lsAsync + getRequestResult round trips per second on a 100-entry directory, 16 connections, signed in over
#   the remote listener (WebSocket, TLS) against the same on the Unix socket; and outpostctl get/put (verified, to
#   disk) against curl with nginx.
# Prints a Markdown table. Needs root (it installs nginx-light and runs it on a loopback port).
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/setup
SIZE_MB="${SIZE_MB:-2048}"
RPS_SECONDS="${RPS_SECONDS:-10}"
command -v nginx >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null

swift build -c release --product outpostd >/dev/null
swift build -c release --product outpostctl >/dev/null
bin="$(swift build -c release --show-bin-path)"
(cd Benchmarks && swift build -c release --product outpost-bench >/dev/null)
bench="$(cd Benchmarks && swift build -c release --show-bin-path)/outpost-bench"
work="$(mktemp -d /var/tmp/outpost-remote-XXXXXX)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Certificates: a CA and a server certificate for 127.0.0.1, as an admin would make them.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" \
    -days 2 -subj "/CN=bench ca" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/server.key" \
    -out "$work/server.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$work/server.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -out "$work/server.pem" -days 2 -extfile "$work/server.ext" 2>/dev/null

mkdir -p "$work/outpost-data/small" "$work/nginx-data" "$work/nginx-temp"
for i in $(seq 100); do : >"$work/outpost-data/small/$i"; done
head -c "$((SIZE_MB << 20))" /dev/urandom >"$work/outpost-data/big.bin"
cp "$work/outpost-data/big.bin" "$work/nginx-data/big.bin"
cp "$work/outpost-data/big.bin" "$work/upload.bin"

ours_port="$(free_port)"
cat >"$work/outpostd.toml" <<TOML
[remote]
listen = ["127.0.0.1:$ours_port"]
certificate = "$work/server.pem"
private_key = "$work/server.key"
[sandbox]
root = { data = "$work/outpost-data" }
[lanes]
count = 1
[scheduler]
enabled = false
TOML
"$bin/outpostd" --config "$work/outpostd.toml" --state-directory "$work/state" --control-socket "$work/control.sock" \
    2>"$work/outpostd.log" &
ours_pid=$!
pids+=("$ours_pid")
for _ in $(seq 100); do [ -S "$work/control.sock" ] && break; sleep 0.1; done
printf 'bench-password-1\n' >"$work/password"
"$bin/outpostctl" user add root --password-file "$work/password" --socket "$work/control.sock"
token="$("$bin/outpostctl" token create --user root --socket "$work/control.sock")"

nginx_port="$(free_port)"
cat >"$work/nginx.conf" <<CONF
user root;
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $work/nginx-temp;
    client_max_body_size 0;
    server {
        listen 127.0.0.1:$nginx_port ssl;
        ssl_certificate $work/server.pem;
        ssl_certificate_key $work/server.key;
        root $work/nginx-data;
        location / { dav_methods PUT; create_full_put_path on; }
    }
}
CONF
nginx -c "$work/nginx.conf" &
pids+=($!)
for _ in $(seq 100); do [ -f "$work/nginx.pid" ] && break; sleep 0.1; done
nginx_worker="$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)"

cpu() { python3 -c "import sys; f = open('/proc/$1/stat').read().rsplit(')', 1)[1].split(); print(int(f[11]) + int(f[12]))"; }
cat "$work/upload.bin" "$work/outpost-data/big.bin" >/dev/null  # every source in the page cache
sync

# Each: seconds, server CPU ticks. nginx first, then outpostd, alternating per measure.
measure() { # PID CURL-ARGS...
    local pid="$1"; shift
    local before after seconds
    before="$(cpu "$pid")"
    seconds="$(curl -fsS --cacert "$work/ca.pem" -o /dev/null -w '%{time_total}' "$@")"
    after="$(cpu "$pid")"
    echo "$seconds $((after - before))"
}
nginx_down="$(measure "$nginx_worker" "https://127.0.0.1:$nginx_port/big.bin")"
ours_down="$(measure "$ours_pid" -H "Authorization: Bearer $token" "https://127.0.0.1:$ours_port/v1/files/data:big.bin")"
nginx_up="$(measure "$nginx_worker" -T "$work/upload.bin" "https://127.0.0.1:$nginx_port/up.bin")"
ours_up="$(measure "$ours_pid" -H "Authorization: Bearer $token" -T "$work/upload.bin" \
    "https://127.0.0.1:$ours_port/v1/files/data:up.bin")"
cmp -s "$work/upload.bin" "$work/outpost-data/up.bin" || { echo "outpostd's upload differs" >&2; exit 1; }
cmp -s "$work/upload.bin" "$work/nginx-data/up.bin" || { echo "nginx's upload differs" >&2; exit 1; }

# The whole client experience: outpostctl get/put (SHA-256 verified at both ends, written to disk) against curl with
# nginx (unverified), each from a cold start of the client.
timed() { local start end; start="$(date +%s.%N)"; "$@" >/dev/null; end="$(date +%s.%N)"; python3 -c "print($end - $start)"; }
printf '%s\n' "$token" >"$work/token"
chmod 600 "$work/token"
remote=(--remote "wss://127.0.0.1:$ours_port" --token-file "$work/token" --ca-file "$work/ca.pem" --quiet)
sync
curl_get="$(timed curl -fsS --cacert "$work/ca.pem" -o "$work/curl-got.bin" "https://127.0.0.1:$nginx_port/big.bin")"
sync
ctl_get="$(timed "$bin/outpostctl" get data:big.bin "$work/got.bin" "${remote[@]}")"
cmp -s "$work/upload.bin" "$work/got.bin" || { echo "outpostctl get's file differs" >&2; exit 1; }
sync
curl_put="$(timed curl -fsS --cacert "$work/ca.pem" -o /dev/null -T "$work/upload.bin" \
    "https://127.0.0.1:$nginx_port/up2.bin")"
sync
ctl_put="$(timed "$bin/outpostctl" put "$work/upload.bin" data:up2.bin "${remote[@]}")"
cmp -s "$work/upload.bin" "$work/outpost-data/up2.bin" || { echo "outpostctl put's file differs" >&2; exit 1; }

rps_unix="$("$bench" list-rps "$work/control.sock" "$work/outpost-data/small" 16 "$RPS_SECONDS")"
rps_remote="$("$bench" remote-list-rps "$ours_port" "$work/ca.pem" root bench-password-1 data:small 16 "$RPS_SECONDS")"

python3 - "$SIZE_MB" "$nginx_down" "$ours_down" "$nginx_up" "$ours_up" "$(getconf CLK_TCK)" "$rps_unix" \
    "$rps_remote" "$ctl_get" "$curl_get" "$ctl_put" "$curl_put" <<'PY'
import sys
size_mb = int(sys.argv[1])
ticks = int(sys.argv[6])
def parse(text):
    seconds, cpu = text.split()
    return float(seconds), int(cpu) / ticks
rows = [("download", parse(sys.argv[3]), parse(sys.argv[2])), ("upload", parse(sys.argv[5]), parse(sys.argv[4]))]
gib = size_mb / 1024
print(f"| {size_mb} MiB over TLS on loopback, curl | outpostd | nginx-light | outpostd / nginx | goal |")
print("|---|---|---|---|---|")
for name, (ours_s, ours_cpu), (peer_s, peer_cpu) in rows:
    ours_rate, peer_rate = size_mb / ours_s, size_mb / peer_s
    ok = "✓" if ours_rate / peer_rate >= 0.9 else "✗"
    print(f"| {name}, MiB/s | {ours_rate:,.0f} ({ours_s:.2f} s) | {peer_rate:,.0f} ({peer_s:.2f} s) | "
          f"{ours_rate / peer_rate:.2f}× | ≥ 0.9× {ok} |")
    print(f"| {name}, server CPU per GiB | {ours_cpu / gib:.2f} s | {peer_cpu / gib:.2f} s | "
          f"{(ours_cpu / gib) / max(peer_cpu / gib, 1e-9):.2f}× | |")
unix, remote = float(sys.argv[7]), float(sys.argv[8])
print()
print("| lsAsync + getRequestResult, 100 entries, 16 connections | remote (WebSocket, TLS, signed in) | Unix socket | remote / Unix |")
print("|---|---|---|---|")
print(f"| round trips per second | {remote:,.0f} | {unix:,.0f} | {remote / unix:.2f}× |")
print()
print(f"| {size_mb} MiB, client to disk | outpostctl with outpostd (SHA-256 verified) | curl with nginx | ratio |")
print("|---|---|---|---|")
for name, ours_s, peer_s in [("get", float(sys.argv[9]), float(sys.argv[10])),
                             ("put", float(sys.argv[11]), float(sys.argv[12]))]:
    print(f"| {name}, MiB/s | {size_mb / ours_s:,.0f} ({ours_s:.2f} s) | {size_mb / peer_s:,.0f} ({peer_s:.2f} s) | "
          f"{peer_s / ours_s:.2f}× |")
PY
