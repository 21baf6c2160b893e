"""Helpers for Benchmarks/checkin.sh: enroll N simulated clients, and measure a process's CPU time precisely."""
import glob
import http.client
import json
import sys
import time


def enroll(port, token, count, out):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    started = time.monotonic()
    with open(out, "w") as file:
        for number in range(count):
            client = {
                "code": f"sim{number:05d}", "type": 1, "os": "linux", "username": "outpost", "version": "0.1.0",
                "host_id": "", "metrics": {"c": 16, "l": 1.0, "m": 10.0, "mpf": 1, "mpt": 2, "mvf": 0, "mvt": 0},
                "lanes": [{"index": 0, "benchmark": 220.5}, {"index": 1, "benchmark": 220.5}],
            }
            connection.request("POST", "/api/v1/enroll", json.dumps({"token": token, "client": client}),
                               {"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = json.loads(response.read())
            if response.status != 200:
                sys.exit(f"enroll failed: {response.status} {answer}")
            file.write(f"{answer['id']} {answer['secret']}\n")
    print(f"{time.monotonic() - started:.2f}")


def cpu_nanoseconds(pid):
    """On-CPU time of every thread of pid, in ns (schedstat is exact; utime/stime tick at 10 ms)."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as file:
                total += int(file.read().split()[0])
        except OSError:
            pass
    return total


def node_cost(with_checkins, without, seconds):
    """CPU of a node that checks in and of an identical node that does not, over the same seconds, in ns."""
    first = (cpu_nanoseconds(with_checkins), cpu_nanoseconds(without))
    time.sleep(seconds)
    last = (cpu_nanoseconds(with_checkins), cpu_nanoseconds(without))
    print(json.dumps({"with": last[0] - first[0], "without": last[1] - first[1]}))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "enroll":
        enroll(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif command == "cost":
        node_cost(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
