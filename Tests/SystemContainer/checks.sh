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
# The service keeps CAP_SETUID and CAP_SETGID in its bounding set, and a process without CAP_SETPCAP cannot empty a
# bounding set: a task's CapBnd shows those two; every set it could use is empty and no-new-privileges is on.
task_caps='grep -E "^(Cap|NoNewPrivs)" /proc/self/status > /var/lib/outpost/task-caps'
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
say "info $(journalctl -u outpostd -o json | grep -o '"PATH_RESOLVER":"[^"]*"' | tail -1)"
check "journal lines carry structured fields" sh -c 'journalctl -u outpostd -o json | grep -q "\"PATH_RESOLVER\""'
sleep 20
pid=$(systemctl show -p MainPID --value outpostd.service)
memory=$(cat /sys/fs/cgroup/system.slice/outpostd.service/memory.current 2>/dev/null || echo unknown)
say "info idle after 20 s: VmRSS $(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status"), cgroup memory.current $memory bytes"
check "systemctl reload" systemctl reload outpostd.service
check "a clean start logs no warning" sh -c '! journalctl -u outpostd -p warning -o cat | grep .'
# The watchdog replaces a daemon that stops answering (WatchdogSec shortened by a drop-in).
mkdir -p /etc/systemd/system/outpostd.service.d
printf '[Service]\nWatchdogSec=3s\n' > /etc/systemd/system/outpostd.service.d/watchdog.conf
systemctl daemon-reload && systemctl restart outpostd.service && sleep 2
stopped=$(systemctl show -p MainPID --value outpostd.service)
kill -STOP "$stopped"
check "a SIGSTOP'ed daemon is replaced by the watchdog" sh -c "for i in \$(seq 1 30); do sleep 1; now=\$(systemctl show -p MainPID --value outpostd.service); [ \"\$now\" != 0 ] && [ \"\$now\" != $stopped ] && systemctl is-active --quiet outpostd.service && outpostctl info >/dev/null && exit 0; done; exit 1"
rm -rf /etc/systemd/system/outpostd.service.d && systemctl daemon-reload
check "systemctl stop leaves no process" sh -c 'systemctl stop outpostd.socket outpostd.service && ! pgrep -u outpost'
check "apt purge" apt-get purge -y -qq outpost
check "purge leaves no file, user or unit" sh -c '! ls /usr/bin/outpost* /var/lib/outpost /etc/outpost 2>/dev/null && ! getent passwd outpost && ! systemctl cat outpostd.service 2>/dev/null'
say "done: $failures failed"
systemctl poweroff --no-block
