#!/usr/bin/env bash
# The cost of acting as the caller: file requests per second when outpostd takes on the caller's file-system identity
# for each request (a plain user in their own sandbox) against the same daemon serving the same user as superuser,
# which acts as the daemon itself. One outpostd (root, as the installed service's identity switch needs CAP_SETUID and
# CAP_SETGID), one directory of 100 entries, lsAsync + getRequestResult over 16 connections; the load generator runs as
# a plain user (outpost-bench, made here) in both turns, so only the switch differs. The turns alternate ROUNDS times
# and medians are compared. Goal: switched / unswitched ≥ 0.9. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/setup
SECONDS_EACH="${SECONDS_EACH:-8}"
ROUNDS="${ROUNDS:-5}"
user=outpost-bench
getent passwd "$user" >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"

# outpostd as the package builds it (make deb), the runtime linked in.
flags=(--static-swift-stdlib -Xlinker --no-export-dynamic)
swift build -c release "${flags[@]}" --product outpostd >/dev/null
bin="$(swift build -c release "${flags[@]}" --show-bin-path)"
(cd Benchmarks && swift build -c release >/dev/null)

work="$(mktemp -d /var/tmp/outpost-identity-XXXXXX)"
chmod 0755 "$work"
trap 'kill $outpostd 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
# The load generator where the plain user can run it (with the toolchain's runtime beside it, as swift build leaves it).
cp "$(cd Benchmarks && swift build -c release --show-bin-path)/outpost-bench" "$work/outpost-bench"
mkdir "$work/home"
for f in $(seq -w 1 100); do : > "$work/home/entry-$f"; done
chown -R "$user:" "$work/home" && chmod 0700 "$work/home"
cat > "$work/outpostd.toml" <<TOML
[control]
superusers = ["$user"]
[sandbox]
$user = { home = "$work/home" }
TOML
"$bin/outpostd" --config "$work/outpostd.toml" --state-directory "$work/state" --control-socket "$work/control.sock" \
    2>"$work/outpostd.log" &
outpostd=$!
for _ in $(seq 100); do [ -S "$work/control.sock" ] && break; sleep 0.1; done

as_user() { setpriv --reuid="$user" --regid="$user" --clear-groups -- "$@"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
switched_all=()
plain_all=()
for round in $(seq "$ROUNDS"); do
    # Whoever goes first in a round alternates, so a slow spell of the machine falls on both.
    if [ $((round % 2)) = 1 ]; then
        switched_all+=("$(as_user "$work/outpost-bench" user-list-rps "$work/control.sock" home: 16 "$SECONDS_EACH")")
        plain_all+=("$(as_user "$work/outpost-bench" list-rps "$work/control.sock" "$work/home" 16 "$SECONDS_EACH")")
    else
        plain_all+=("$(as_user "$work/outpost-bench" list-rps "$work/control.sock" "$work/home" 16 "$SECONDS_EACH")")
        switched_all+=("$(as_user "$work/outpost-bench" user-list-rps "$work/control.sock" home: 16 "$SECONDS_EACH")")
    fi
done
echo "requests per second, each round: as the caller ${switched_all[*]}; as the daemon ${plain_all[*]}" >&2
switched="$(printf '%s\n' "${switched_all[@]}" | median)"
plain="$(printf '%s\n' "${plain_all[@]}" | median)"
echo "| measure | as the caller (identity switch) | as the daemon (superuser) | ratio |"
echo "|---|---|---|---|"
awk -v s="$switched" -v p="$plain" \
    'BEGIN {printf "| lsAsync + getRequestResult, 100 entries, 16 connections (median of rounds) | %.0f req/s | %.0f req/s | %.2f× |\n", s, p, s / p}'
