#!/usr/bin/env bash
# File-request benchmarks (issue: the async file-request API), Outpost and its peers side by side in one run:
#   1. duAsync over a 200k-file tree vs GNU `du -sb`, cold cache (after drop_caches) and warm (median of 5);
#   2. lsAsync of a 100k-entry directory vs `ls -f -l` (warm, median of 5);
#   3. rmAsync of 100k files vs `rm -rf` (each on its own fresh copy of the tree; median of RM_ROUNDS);
#   4. lsAsync + getRequestResult of a 100-entry directory, 16 connections, vs `rclone rcd` operations/list
#      (median of RPS_ROUNDS turns each, every turn after a 2 s warm-up that is not counted).
# Outpost times are end to end as a caller sees them: submit, wait, and receive and parse the whole result.
# Prints a Markdown table; ratios are Outpost / peer (lower is better for times, higher for rates).
# Needs root: it drops the page cache and installs rclone.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/setup
RUNS="${RUNS:-5}"
RPS_SECONDS="${RPS_SECONDS:-8}"
RPS_ROUNDS="${RPS_ROUNDS:-3}"
RM_ROUNDS="${RM_ROUNDS:-3}"
command -v rclone >/dev/null || apt-get install -y -qq --no-install-recommends rclone >/dev/null

swift build -c release --product outpostd >/dev/null
bin="$(swift build -c release --show-bin-path)"
(cd Benchmarks && swift build -c release >/dev/null)
bench="$(cd Benchmarks && swift build -c release --show-bin-path)/outpost-bench"

work="$(mktemp -d /var/tmp/outpost-bench-XXXXXX)"  # on disk, not tmpfs: the cold-cache run must read metadata
trap 'kill $outpostd $rclone 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

python3 - "$work" <<'PY'
import os, sys
work = sys.argv[1]
def tree(path, directories, files_each, size):
    os.makedirs(path)
    payload = b"x" * size
    for d in range(directories):
        os.mkdir(f"{path}/{d}")
        for f in range(files_each):
            with open(f"{path}/{d}/{f}", "wb") as out:
                out.write(payload)
tree(f"{work}/du", 200, 1000, 7)                          # 200k files for du
os.makedirs(f"{work}/flat")                               # 100k entries in one directory for ls
for f in range(100_000):
    open(f"{work}/flat/{f:06d}", "wb").close()
tree(f"{work}/small", 1, 100, 3)                          # 100 entries for the request-rate test
PY

"$bin/outpostd" --state-directory "$work/state" --control-socket "$work/control.sock" 2>"$work/outpostd.log" &
outpostd=$!
rclone rcd --rc-no-auth --rc-addr 127.0.0.1:5572 >"$work/rclone.log" 2>&1 &
rclone=$!
for _ in $(seq 100); do [ -S "$work/control.sock" ] && curl -s -X POST 127.0.0.1:5572/rc/noop >/dev/null && break; sleep 0.1; done

time_ms() { local start end; start=$(date +%s%N); "$@" >/dev/null; end=$(date +%s%N); awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", (b - a) / 1000000}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

drop_caches; du_cold_gnu="$(time_ms du -sb "$work/du")"
drop_caches; du_cold_ours="$("$bench" request "$work/control.sock" duAsync "$work/du")"
du_warm_gnu="$(for _ in $(seq "$RUNS"); do time_ms du -sb "$work/du"; echo; done | median)"
du_warm_ours="$(for _ in $(seq "$RUNS"); do "$bench" request "$work/control.sock" duAsync "$work/du"; done | median)"

ls_gnu="$(for _ in $(seq "$RUNS"); do time_ms ls -f -l "$work/flat"; echo; done | median)"
ls_ours="$(for _ in $(seq "$RUNS"); do "$bench" request "$work/control.sock" lsAsync "$work/flat"; done | median)"

# Each round removes fresh copies (100k files each), the two taking turns at going first: whoever goes second may
# meet the first one's journal commit, so one round alone can be 20 % off either way.
rm_ours_all=()
rm_gnu_all=()
for round in $(seq "$RM_ROUNDS"); do
    python3 - "$work" <<'PY'
import os, sys
for copy in ("rm-outpost", "rm-gnu"):
    os.makedirs(f"{sys.argv[1]}/{copy}")
    for d in range(100):
        os.mkdir(f"{sys.argv[1]}/{copy}/{d}")
        for f in range(1000):
            open(f"{sys.argv[1]}/{copy}/{d}/{f}", "wb").close()
PY
    sync
    if [ $((round % 2)) = 1 ]; then
        rm_gnu_all+=("$(time_ms rm -rf "$work/rm-gnu")")
        rm_ours_all+=("$("$bench" request "$work/control.sock" rmAsync "$work/rm-outpost")")
    else
        rm_ours_all+=("$("$bench" request "$work/control.sock" rmAsync "$work/rm-outpost")")
        rm_gnu_all+=("$(time_ms rm -rf "$work/rm-gnu")")
    fi
    [ ! -e "$work/rm-outpost" ] || { echo "rmAsync left $work/rm-outpost behind" >&2; exit 1; }
done
echo "rm, each round: outpostd ${rm_ours_all[*]}; rm -rf ${rm_gnu_all[*]}" >&2
rm_ours="$(printf '%s\n' "${rm_ours_all[@]}" | median)"
rm_gnu="$(printf '%s\n' "${rm_gnu_all[@]}" | median)"

# The two servers take turns, RPS_ROUNDS times, so a slow spell of the machine falls on both; medians are compared.
rps_ours_all=()
rps_rclone_all=()
for _ in $(seq "$RPS_ROUNDS"); do
    rps_ours_all+=("$("$bench" list-rps "$work/control.sock" "$work/small/0" 16 "$RPS_SECONDS")")
    rps_rclone_all+=("$("$bench" rclone-list-rps 5572 "$work/small/0" 16 "$RPS_SECONDS")")
done
echo "request rate, each round: outpostd ${rps_ours_all[*]}; rclone ${rps_rclone_all[*]}" >&2
rps_ours="$(printf '%s\n' "${rps_ours_all[@]}" | median)"
rps_rclone="$(printf '%s\n' "${rps_rclone_all[@]}" | median)"

python3 - "$du_cold_ours" "$du_cold_gnu" "$du_warm_ours" "$du_warm_gnu" "$ls_ours" "$ls_gnu" "$rm_ours" "$rm_gnu" \
    "$rps_ours" "$rps_rclone" <<'PY'
import sys
v = [float(x) for x in sys.argv[1:]]
rows = [
    ("duAsync, 200k files, cold cache", "GNU `du -sb`", v[0], v[1], "ms"),
    (f"duAsync, 200k files, warm (median)", "GNU `du -sb`", v[2], v[3], "ms"),
    ("lsAsync, 100k entries, warm (median)", "`ls -f -l`", v[4], v[5], "ms"),
    ("rmAsync, 100k files (median)", "`rm -rf`", v[6], v[7], "ms"),
    ("lsAsync + getRequestResult, 100 entries, 16 connections (median)", "`rclone rcd` operations/list", v[8], v[9],
     "req/s"),
]
print("| measure | outpostd | peer | peer's figure | outpostd / peer |")
print("|---|---|---|---|---|")
for name, peer, ours, theirs, unit in rows:
    print(f"| {name} | {ours:.0f} {unit} | {peer} | {theirs:.0f} {unit} | {ours / theirs:.2f}× |")
PY
