#!/usr/bin/env python3
"""Process measurements for Benchmarks/*.sh, read from /proc so any process (ours or a peer) is measured alike.

  measure.py idle PID SECONDS       -> JSON: rss_kib (mean, max), cpu_percent of one core, wakeups per second
  measure.py ready SECONDS_MAX -- CMD...   -> JSON: milliseconds from spawn to READY=1 on a fake NOTIFY_SOCKET
"""
import json, os, socket, subprocess, sys, tempfile, time

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def context_switches(pid):
    """Voluntary + involuntary switches of every thread: each is a wake-up of some thread."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            for line in open(f"/proc/{pid}/task/{tid}/status"):
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def idle(pid, seconds):
    start_ticks, start_switches, start = cpu_ticks(pid), context_switches(pid), time.monotonic()
    samples = []
    while time.monotonic() - start < seconds:
        samples.append(rss_kib(pid))
        time.sleep(1)
    elapsed = time.monotonic() - start
    ticks, switches = cpu_ticks(pid) - start_ticks, context_switches(pid) - start_switches
    return {
        "seconds": round(elapsed, 1),
        "rss_kib_mean": round(sum(samples) / len(samples)),
        "rss_kib_max": max(samples),
        "cpu_percent": round(100.0 * ticks / TICKS / elapsed, 3),
        "wakeups_per_second": round(switches / elapsed, 2),
    }


def ready(limit, command):
    directory = tempfile.mkdtemp()
    path = os.path.join(directory, "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(path)
    notify.settimeout(limit)
    environment = dict(os.environ, NOTIFY_SOCKET=path)
    start = time.monotonic()
    process = subprocess.Popen(command, env=environment, stderr=subprocess.DEVNULL)
    try:
        while True:
            message = notify.recv(4096).decode()
            if "READY=1" in message.split("\n"):
                return {"ready_ms": round((time.monotonic() - start) * 1000, 2)}
    finally:
        process.terminate()
        process.wait()
        os.unlink(path)


if __name__ == "__main__":
    if sys.argv[1] == "idle":
        print(json.dumps(idle(int(sys.argv[2]), float(sys.argv[3]))))
    elif sys.argv[1] == "ready":
        separator = sys.argv.index("--")
        print(json.dumps(ready(float(sys.argv[2]), sys.argv[separator + 1:])))
