#!/usr/bin/env bash
# BOINC transfer benchmarks (issue: scheduler RPC), release builds, side by side in one run against one
# outpost-coordinator on loopback:
#   1. a SIZE_MB (default 1024) MiB download and upload through outpostd's own transfer code (FileTransfers: MD5
#      computed as the bytes arrive and checked, size probe and BOINC framing for the upload) vs curl on the same URL
#      and the same upload handler (curl checks nothing). Goal: >= 0.9x curl's throughput. The server checks the
#      upload's MD5 for both. Also curl plus `md5sum` (download then verify; hash then upload, as the BOINC header
#      needs the MD5 first): the same work Outpost does.
#   2. bandwidth-limit accuracy: 30 s worth of bytes at RATE_KBITS (default 10000 kbit/s) down and up with outpostd's
#      limiter, and down with curl --limit-rate for reference. Goal: within 5% of the rate.
# Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/setup
SIZE_MB="${SIZE_MB:-1024}"
RATE_KBITS="${RATE_KBITS:-10000}"
LIMIT_SECONDS=30

swift build -c release --product outpost-coordinator >/dev/null
bin="$(swift build -c release --show-bin-path)"
(cd Benchmarks && swift build -c release --product outpost-bench >/dev/null)
bench="$(cd Benchmarks && swift build -c release --show-bin-path)/outpost-bench"
work="$(mktemp -d /var/tmp/outpost-transfers-XXXXXX)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
config="$work/coordinator.toml"
printf '[coordinator]\nlisten = "127.0.0.1:%s"\nstate_directory = "%s"\n[project]\nrequest_delay = 0\n' \
    "$port" "$work/state" >"$config"
"$bin/outpost-coordinator" serve --config "$config" 2>"$work/coordinator.log" &
pids+=($!)
for _ in $(seq 100); do "$bin/outpost-coordinator" results --summary --config "$config" >/dev/null 2>&1 && break; sleep 0.1; done

head -c "$((SIZE_MB << 20))" /dev/urandom >"$work/big.bin"
limited_bytes=$((RATE_KBITS * 125 * LIMIT_SECONDS))
head -c "$limited_bytes" /dev/urandom >"$work/limited.bin"
printf '#!/bin/sh\ncp in.bin out.txt\necho 0 > boinc_finish_called\n' >"$work/app.sh"
"$bin/outpost-coordinator" app add copy "$work/app.sh" --config "$config" >/dev/null
max=$((4 << 30))
"$bin/outpost-coordinator" submit copy --input "$work/big.bin=in.bin" --count 2 --max-output-bytes "$max" \
    --config "$config" >/dev/null
"$bin/outpost-coordinator" submit copy --input "$work/limited.bin=in.bin" --count 1 --max-output-bytes "$max" \
    --config "$config" >/dev/null
authenticator="$("$bin/outpost-coordinator" account create bench --config "$config")"
mapfile -t jobs < <("$bench" boinc-jobs "http://127.0.0.1:$port/boinc/cgi" "$authenticator" 3)
[ "${#jobs[@]}" -eq 3 ] || { echo "expected 3 jobs, got ${#jobs[@]}" >&2; exit 1; }
read -r big_url big_name big_bytes big_md5 up_url out_ours max_bytes <<<"${jobs[0]}"
read -r _ _ _ _ _ out_curl _ <<<"${jobs[1]}"
read -r small_url small_name small_bytes small_md5 _ out_limited _ <<<"${jobs[2]}"

cat "$work/big.bin" >/dev/null # the source in the page cache for both
mkdir -p "$work/ours" "$work/curl"
sync

# 1. Throughput, curl first, then ours (each into an empty directory; the server reads from its page cache).
curl_down="$(curl -s -o "$work/curl/$big_name" -w '%{time_total}' "$big_url")"
ours_down="$("$bench" download "$big_url" "$big_name" "$big_bytes" "$big_md5" "$work/ours")"
cmp -s "$work/ours/$big_name" "$work/big.bin" || { echo "the download differs from the source" >&2; exit 1; }
rm -f "$work/curl/$big_name"

"$bench" upload-header "$out_curl" "$max_bytes" "$work/big.bin" >"$work/curl-body"
cat "$work/big.bin" >>"$work/curl-body"
curl_up="$(curl -s -o "$work/curl-reply" -w '%{time_total}' -X POST -H 'Expect:' \
    -H 'Content-Type: application/x-www-form-urlencoded' -T "$work/curl-body" "$up_url")"
grep -q '<status>0</status>' "$work/curl-reply" || { echo "curl's upload failed: $(cat "$work/curl-reply")" >&2; exit 1; }
rm -f "$work/curl-body"
ours_up="$("$bench" upload "$up_url" "$out_ours" "$max_bytes" "$work/big.bin")"
cmp -s "$work/state/project/upload/$out_ours" "$work/big.bin" || { echo "the upload differs" >&2; exit 1; }

start="$(date +%s.%N)"; md5sum "$work/big.bin" >/dev/null; md5_seconds="$(python3 -c "print($(date +%s.%N) - $start)")"

# 2. Limits.
limited_down="$("$bench" download "$small_url" "$small_name" "$small_bytes" "$small_md5" "$work/ours" "$RATE_KBITS")"
limited_up="$("$bench" upload "$up_url" "$out_limited" "$max_bytes" "$work/limited.bin" "$RATE_KBITS")"
curl_limited="$(curl -s -o /dev/null -w '%{time_total}' --limit-rate "$((RATE_KBITS * 125))" "$small_url")"

python3 - "$SIZE_MB" "$curl_down" "$ours_down" "$curl_up" "$ours_up" "$RATE_KBITS" "$limited_bytes" \
    "$limited_down" "$limited_up" "$curl_limited" "$md5_seconds" <<'PY'
import sys
size_mb, curl_down, ours_down, curl_up, ours_up = int(sys.argv[1]), *map(float, sys.argv[2:6])
rate, limited_bytes, limited_down, limited_up, curl_limited = float(sys.argv[6]), int(sys.argv[7]), *map(float, sys.argv[8:11])
md5 = float(sys.argv[11])
mib = size_mb
def mbs(seconds): return mib / seconds
print("| measure | Outpost (FileTransfers) | curl | Outpost / curl |")
print("|---|---|---|---|")
print(f"| {size_mb} MiB download over loopback, MD5 checked (curl: no check) | {mbs(ours_down):.0f} MiB/s ({ours_down:.2f} s) | {mbs(curl_down):.0f} MiB/s ({curl_down:.2f} s) | {curl_down / ours_down:.2f}x |")
print(f"| {size_mb} MiB upload to the BOINC upload handler (MD5, probe, framing; server checks MD5) | {mbs(ours_up):.0f} MiB/s ({ours_up:.2f} s) | {mbs(curl_up):.0f} MiB/s ({curl_up:.2f} s) | {curl_up / ours_up:.2f}x |")
print(f"| the same download, then `md5sum` | | {mbs(curl_down + md5):.0f} MiB/s ({curl_down + md5:.2f} s) | {(curl_down + md5) / ours_down:.2f}x |")
print(f"| `md5sum`, then the same upload | | {mbs(curl_up + md5):.0f} MiB/s ({curl_up + md5:.2f} s) | {(curl_up + md5) / ours_up:.2f}x |")
def achieved(seconds): return limited_bytes * 8 / 1000 / seconds
for label, seconds in (("download, outpostd limiter", limited_down), ("upload, outpostd limiter", limited_up), ("download, curl --limit-rate", curl_limited)):
    got = achieved(seconds)
    print(f"| {rate:.0f} kbit/s limit, {label}: {limited_bytes:,} bytes | {got:.0f} kbit/s in {seconds:.2f} s | | {100 * (got - rate) / rate:+.2f}% off |")
PY
