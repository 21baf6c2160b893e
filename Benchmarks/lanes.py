"""Lane benchmarks against a running outpostd: short-task throughput and the daemon's overhead under load.

    python3 lanes.py throughput SOCKET COUNT      -> {"seconds": wall time from resume to the last task finished}
    python3 lanes.py overhead SOCKET PID SECONDS  -> {"cpu_percent": …, "rss_mib": …} while 2 CPU-bound tasks run
"""
import json
import os
import socket
import sys
import time


class Control:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")
        self.next_id = 1
        self.call("superuser")

    def call(self, method, params=None):
        request = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            request["params"] = params
        self.next_id += 1
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            reply = json.loads(self.file.readline())
            if reply.get("id") == request["id"]:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]


def busy(state):
    tasks = state["tasks"].values()
    return any(task["state"] in ("queued", "starting", "running") for task in tasks)


def apply(tree, update):
    """Applies one Folding@home-style update `[path..., value]` (null deletes, -1 appends, -2 concatenates)."""
    *path, value = update
    for key in path[:-1]:
        tree = tree[key]
    last = path[-1]
    if value is None:
        if isinstance(tree, list):
            del tree[last]
        else:
            tree.pop(last, None)
    elif last == -1:
        tree.append(value)
    elif last == -2:
        tree.extend(value)
    else:
        tree[last] = value


def throughput(path, count):
    """Submits `count` tasks to paused lanes, resumes them, and follows the state stream (as a controller does,
    instead of polling getState, which would load the daemon with snapshots) until no task is left to run."""
    control = Control(path)
    control.call("setState", {"state": "pause"})
    for _ in range(count):
        control.call("submitTask", {"task": {"executable": "/bin/true"}})
    stream = Control(path)
    stream.sock.sendall(json.dumps({"jsonrpc": "2.0", "id": "watch", "method": "subscribeState"}).encode() + b"\n")
    state, waiting = None, set()

    def unfinished(task):
        return task is not None and task["state"] in ("queued", "starting", "running")

    start = time.monotonic()
    control.call("setState", {"state": "fold"})
    for line in stream.file:
        message = json.loads(line)
        if message.get("id") == "watch" or message.get("method") == "stateSnapshot":
            state = message.get("result", message.get("params"))
            waiting = {key for key, task in state["tasks"].items() if unfinished(task)}
        elif message.get("method") == "stateUpdate" and state is not None:
            update = message["params"]
            apply(state, update)
            if update[0] == "tasks" and len(update) > 2:
                key = update[1]
                (waiting.add if unfinished(state["tasks"].get(key)) else waiting.discard)(key)
            elif update[0] == "tasks":
                waiting = {key for key, task in state["tasks"].items() if unfinished(task)}
        if state is not None and not waiting:
            break
    return {"seconds": time.monotonic() - start}


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0


def overhead(path, pid, seconds):
    control = Control(path)
    spin = f"import time\nend = time.time() + {seconds + 5}\nwhile time.time() < end: pass"
    for _ in range(2):
        control.call("submitTask", {"task": {"executable": "/usr/bin/python3", "arguments": ["-c", spin]}})
    time.sleep(2)
    before, rss = cpu_seconds(pid), []
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        time.sleep(1)
        rss.append(rss_mib(pid))
    used = cpu_seconds(pid) - before
    return {"cpu_percent": 100 * used / (time.monotonic() - start), "rss_mib": sum(rss) / len(rss)}


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "throughput":
        print(json.dumps(throughput(sys.argv[2], int(sys.argv[3]))))
    elif mode == "overhead":
        print(json.dumps(overhead(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
