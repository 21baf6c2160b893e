#!/bin/sh
# Runs inside a Debian 12 system container booted under its own systemd, as a oneshot unit: installs the Outpost
# package with apt and checks it as its users would use it. One line per check on /results/checks.log, the details on
# /results/detail.log, then the container powers off.
exec >>/results/detail.log 2>&1
set -u
failures=0
say() { echo "$*" >> /results/checks.log; }
check() {
    name=$1
    shift
    echo "== $name: $*"
    if "$@"; then say "ok   $name"; else say "FAIL $name"; failures=$((failures + 1)); fi
}
as_user() { user=$1; shift; runuser -u "$user" -- "$@"; }

export DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin
apt-get update -qq
installing=$(date +%s%N)
check "apt installs the package on a system without Swift" apt-get install -y -qq /deb/outpost.deb
check "no Swift toolchain on this system" sh -c '! command -v swift && ! ls /usr/lib/swift 2>/dev/null'
check "outpostd.socket enabled and listening" systemctl is-active --quiet outpostd.socket
check "outpostd not started before a client" sh -c '! systemctl is-active --quiet outpostd.service'
check "socket activation on the first call" outpostctl info
say "info install to first answer: $((($(date +%s%N) - installing) / 1000000)) ms (apt install included)"
check "READY: the service is active" systemctl is-active --quiet outpostd.service
check "STATUS text in systemctl show" sh -c 'systemctl show -p StatusText outpostd.service | grep -q "StatusText=."'

# Two users with 0700 homes, and a directory under /srv their group shares.
useradd -m -s /bin/sh alice; useradd -m -s /bin/sh bob; groupadd projects; usermod -aG projects alice
usermod -aG projects bob; chmod 0700 /home/alice /home/bob
mkdir -p /srv/projects && chgrp projects /srv/projects && chmod 2770 /srv/projects
outpostctl sandbox set --superuser '' home=/home/%u proj=/srv/projects || outpostctl sandbox --help
check "alice: ls of her home" as_user alice outpostctl ls home:
check "alice: mkdir in her home" as_user alice outpostctl mkdir home:made/deeper
check "what alice made is hers" sh -c '[ "$(stat -c %U /home/alice/made/deeper)" = alice ]'
check "alice: mkdir in the shared project directory" as_user alice outpostctl mkdir proj:alices
check "bob: cannot list alice's home through Outpost" sh -c '! runuser -u bob -- outpostctl ls home:../alice'
echo hello > /home/alice/note.txt && chown alice:alice /home/alice/note.txt
check "alice: mv and du" sh -c 'runuser -u alice -- outpostctl mv home:note.txt home:made/note.txt && runuser -u alice -- outpostctl du home:made'
check "alice: rm" as_user alice outpostctl rm home:made
# A directory swapped for a symlink to /usr while alice's du walks it: every answer stays inside her sandbox (a few
# bytes), never /usr's hundreds of megabytes.
mkdir -p /home/alice/swap/dir && head -c 100 /dev/zero > /home/alice/swap/dir/file && touch /home/alice/swap/go
chown -R alice:alice /home/alice/swap
runuser -u alice -- sh -c 'cd /home/alice/swap && while [ -e go ]; do
    mv dir real && ln -s /usr dir && rm dir && mv real dir; done' &
swapper=$!
leaks=0
for _ in $(seq 1 200); do
    size=$(runuser -u alice -- outpostctl du home:swap 2>/dev/null | cut -f1)
    [ -n "$size" ] && [ "$size" -gt 100000 ] && leaks=$((leaks + 1))
done
rm -f /home/alice/swap/go; wait "$swapper"
say "info du during 200 symlink swaps: $leaks answers larger than the sandbox"
check "a symlink swapped in during du leaks nothing" test "$leaks" -eq 0
# The service keeps CAP_SETUID and CAP_SETGID in its bounding set, and a process without CAP_SETPCAP cannot empty a
# bounding set: a task's CapBnd shows those two; every set it could use is empty and no-new-privileges is on.
task_caps='grep -E "^(Cap|NoNewPrivs)" /proc/self/status > /var/lib/outpost/task-caps; cat /proc/self/cgroup > /var/lib/outpost/task-cgroup'
outpostctl submit --superuser -- /bin/sh -c "$task_caps"
sleep 3
outpostctl status --superuser
cat /var/lib/outpost/task-caps
check "a task ran" sh -c 'outpostctl status --superuser | grep -q succeeded'
for set in CapInh CapPrm CapEff CapAmb; do
    check "the task's $set is empty" grep -q "^$set:[[:space:]]*0000000000000000$" /var/lib/outpost/task-caps
done
check "the task's CapBnd holds at most CAP_SETUID and CAP_SETGID" \
    grep -Eq "^CapBnd:[[:space:]]*00000000000000(00|c0)$" /var/lib/outpost/task-caps
check "the task has no-new-privileges" grep -q "^NoNewPrivs:[[:space:]]*1$" /var/lib/outpost/task-caps
cat /var/lib/outpost/task-cgroup
# Under the service's delegated cgroup (the unified hierarchy's line, or systemd's own on a cgroup v1 host).
check "the task ran in the service's delegated cgroup" \
    grep -Eq "^[0-9]+:(name=systemd)?:/system.slice/outpostd.service(/.*)?$" /var/lib/outpost/task-cgroup
say "info the task's cgroup: $(grep -E "^[0-9]+:(name=systemd)?:" /var/lib/outpost/task-cgroup | head -1)"
say "info $(journalctl -u outpostd -o json | grep -o '"PATH_RESOLVER":"[^"]*"' | tail -1)"
check "journal lines carry structured fields" sh -c 'journalctl -u outpostd -o json | grep -q "\"PATH_RESOLVER\""'
# Idle memory side by side with Debian's BOINC client as a service, both idle for 20 s: resident set, and of it the
# anonymous memory (heap, stacks, written data; the rest is program text the kernel can drop and read again).
apt-get install -y -qq --no-install-recommends boinc-client >/dev/null
sleep 20
memory() {
    pid=$(systemctl show -p MainPID --value "$1")
    [ "$pid" != 0 ] || { echo "$1 not running"; return; }
    current=$(cat "/sys/fs/cgroup/system.slice/$1/memory.current" 2>/dev/null || echo "unavailable (cgroup v1 host)")
    echo "$1 VmRSS $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status") kB, anonymous" \
        "$(awk '/^Anonymous/ {print $2}' "/proc/$pid/smaps_rollup") kB, cgroup memory.current $current"
}
say "info idle after 20 s: $(memory outpostd.service)"
say "info idle after 20 s: $(memory boinc-client.service)"
systemctl stop boinc-client.service
check "systemctl reload" systemctl reload outpostd.service
check "a clean start logs no warning" sh -c '! journalctl -u outpostd -p warning -o cat | grep .'
# A sandbox root that ProtectSystem=strict leaves read-only is named in the log on reload, with the remedy.
mkdir -p /opt/shared
outpostctl sandbox set --superuser alice home=/home/%u shared=/opt/shared
systemctl reload outpostd.service
check "an unwritable sandbox root is named in the log with the remedy" sh -c \
    'journalctl -u outpostd -p warning -o cat | grep "/opt/shared" | grep -q "ReadWritePaths=/opt/shared"'
outpostctl sandbox delete --superuser alice

# The coordinator as a service: the node enrolls with it and runs a BOINC job from its project.
check "outpost-coordinator.service starts" systemctl enable --now outpost-coordinator.service
for _ in $(seq 1 50); do outpost-coordinator clients find >/dev/null 2>&1 && break; sleep 0.2; done
outpost-coordinator token create --site container | cut -d' ' -f1 > /etc/outpost/enrollment.token
chown outpost:outpost /etc/outpost/enrollment.token && chmod 0600 /etc/outpost/enrollment.token
sed -i -e 's|^\[coordinator\]$|[coordinator]\nurl = "http://127.0.0.1:8470"\nenrollment_token_file = "/etc/outpost/enrollment.token"|' \
    -e 's|^backoff_min = 60$|backoff_min = 2|' /etc/outpost/outpostd.toml
systemctl restart outpostd.service
check "the node enrolls with the coordinator" sh -c 'for i in $(seq 1 60); do
    outpost-coordinator clients find "Client where type=1 and status=online" | grep -q . && exit 0; sleep 1; done; exit 1'
mkdir -p /usr/local/share/outpost-checks
printf '#!/bin/sh\nwc -w < in.txt > out.txt\necho 0 > boinc_finish_called\n' > /usr/local/share/outpost-checks/count-words
chmod 0755 /usr/local/share/outpost-checks/count-words
echo "the quick brown fox jumps over the lazy dog" > /usr/local/share/outpost-checks/words.txt
outpost-coordinator app add count-words /usr/local/share/outpost-checks/count-words
outpost-coordinator submit count-words --input /usr/local/share/outpost-checks/words.txt=in.txt --count 1
check "the node completes a BOINC job from the coordinator" sh -c 'for i in $(seq 1 90); do
    outpost-coordinator results --summary | grep -q "running 0  done 1" && exit 0; sleep 1; done; exit 1'
outpost-coordinator results --job 1
output=$(outpost-coordinator results --job 1 | sed -n 's/^ *output [^:]*: \(.*\) ([0-9]* bytes)$/\1/p' | head -1)
check "the job's output is right" sh -c "[ \"\$(tr -d ' \n' < '$output')\" = 9 ]"

# A lingering user's own server from the installed user unit, registered with the coordinator as a user server.
useradd -m -s /bin/sh carol
carol_runtime=/run/user/$(id -u carol)
check "loginctl enable-linger starts carol's user manager" sh -c "loginctl enable-linger carol && for i in \$(seq 1 30); do
    systemctl is-active --quiet user@$(id -u carol).service && exit 0; sleep 1; done; exit 1"
as_user carol mkdir -p /home/carol/.config/outpost
outpost-coordinator token create --site container | cut -d' ' -f1 > /home/carol/.config/outpost/enrollment.token
chown carol:carol /home/carol/.config/outpost/enrollment.token && chmod 0600 /home/carol/.config/outpost/enrollment.token
printf '[coordinator]\nurl = "http://127.0.0.1:8470"\nenrollment_token_file = "/home/carol/.config/outpost/enrollment.token"\n' \
    > /home/carol/.config/outpost/outpostd.toml
chown carol:carol /home/carol/.config/outpost/outpostd.toml
echo "carol's" > /home/carol/notes.txt && chown carol:carol /home/carol/notes.txt
carol() { runuser -u carol -- env XDG_RUNTIME_DIR="$carol_runtime" "$@"; }
check "systemctl --user enable --now outpostd" carol systemctl --user enable --now outpostd.service
check "carol's user server answers on her own socket (0600)" sh -c \
    "[ \"\$(stat -c '%a %U' $carol_runtime/outpost/control.sock)\" = '600 carol' ]"
check "carol: ls of her home through her user server" sh -c \
    "runuser -u carol -- env XDG_RUNTIME_DIR=$carol_runtime outpostctl ls home: --user-server | grep -q notes.txt"
check "carol's user server keeps its state in her XDG directory" test -s /home/carol/.local/state/outpost/node-id
check "carol's user server is a user server (type 2) at the coordinator" sh -c 'for i in $(seq 1 30); do
    outpost-coordinator clients find "Client where type=2 and status=online" --json | grep -q "\"carol\"" && exit 0
    sleep 1; done; exit 1'
carol systemctl --user stop outpostd.service
# The watchdog replaces a daemon that stops answering (WatchdogSec shortened by a drop-in).
mkdir -p /etc/systemd/system/outpostd.service.d
printf '[Service]\nWatchdogSec=3s\n' > /etc/systemd/system/outpostd.service.d/watchdog.conf
systemctl daemon-reload && systemctl restart outpostd.service && sleep 2
stopped=$(systemctl show -p MainPID --value outpostd.service)
kill -STOP "$stopped"
check "a SIGSTOP'ed daemon is replaced by the watchdog" sh -c "for i in \$(seq 1 30); do sleep 1; now=\$(systemctl show -p MainPID --value outpostd.service); [ \"\$now\" != 0 ] && [ \"\$now\" != $stopped ] && systemctl is-active --quiet outpostd.service && outpostctl info >/dev/null && exit 0; done; exit 1"
rm -rf /etc/systemd/system/outpostd.service.d && systemctl daemon-reload
check "systemctl stop leaves no process" sh -c 'systemctl stop outpostd.socket outpostd.service && ! pgrep -u outpost'
rm -f /etc/outpost/enrollment.token
check "apt purge" apt-get purge -y -qq outpost
check "purge leaves no file, user or unit" sh -c '! ls /usr/bin/outpost* /usr/lib/systemd/user/outpostd.service /var/lib/outpost /etc/outpost 2>/dev/null && ! getent passwd outpost && ! systemctl cat outpostd.service 2>/dev/null'
say "done: $failures failed"
systemctl poweroff --no-block
