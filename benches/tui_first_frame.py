#!/usr/bin/env python3
"""First useful frame and resident memory of the real `dmdesk` TUI in tmux.

Each run starts the binary in a fresh 120x40 tmux session (its own tmux
server, `-L`), polls `tmux capture-pane` until a list row ("│ FB " or
"│ IG ") is on screen, and reads the process's VmRSS then; 3 s later
VmRSS again; then Enter (open the top conversation), G, g and VmRSS once
more; then q, and it waits for the process to exit.

  python3 benches/tui_first_frame.py --bin target/release/dmdesk \
      --config CFG --runs 5 [--cold] [--env MALLOC_ARENA_MAX=16]

--cold evicts the store's files from the page cache before each run
(posix_fadvise DONTNEED on every file under the store, checked with
`fincore`), plus /proc/sys/vm/drop_caches when --drop-caches is given
and writable. The time runs from just before the exec of dmdesk inside the pane to
the capture that shows the row, so it includes the polling interval (a
capture every ~2-5 ms under load): it is an upper bound.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import tomllib

ROW = re.compile(r"^│ (FB|IG) ", re.M)


def tmux(sock, *args, check=True):
    return subprocess.run(["tmux", "-L", sock, *args], check=check,
                          capture_output=True, text=True).stdout


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        return None


def store_files(store):
    for root, _, names in os.walk(store):
        for n in names:
            p = os.path.join(root, n)
            if os.path.isfile(p) and not n.endswith(".sock"):
                yield p


def evict(store, drop_caches):
    os.sync()
    for p in store_files(store):
        fd = os.open(p, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    if drop_caches:
        try:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
        except OSError as e:
            print(f"  drop_caches not permitted: {e}", file=sys.stderr)
    # Resident bytes of the store's files after eviction (fincore).
    out = subprocess.run(["fincore", "-b", "-n", "-o", "RES", *store_files(store)],
                         capture_output=True, text=True).stdout
    return sum(int(x) for x in out.split() if x.isdigit())


def one_run(a, run):
    sock = f"ff{os.getpid()}-{run}"
    cached = evict(a.store, a.drop_caches) if a.cold else None
    env = " ".join(f"{k}={v}" for k, v in (e.split("=", 1) for e in a.env))
    # The pane writes the wall time just before it execs dmdesk: tmux's own
    # start-up is not counted.
    stamp = f"/tmp/ff-{os.getpid()}.t0"
    if os.path.exists(stamp):
        os.unlink(stamp)
    exe = ("import os, sys, time; open(sys.argv[1], 'w').write(repr(time.time())); "
           "os.execvp(sys.argv[2], sys.argv[2:])")
    cmd = f"exec env {env} python3 -c \"{exe}\" {stamp} {a.bin} --config {a.config}"
    tmux(sock, "new-session", "-d", "-s", "b", "-x", "120", "-y", "40", cmd)
    first = rss_first = None
    deadline = time.time() + a.timeout
    while not os.path.exists(stamp) or os.path.getsize(stamp) == 0:
        time.sleep(0.001)
    t0 = float(open(stamp).read())
    pid = int(tmux(sock, "display", "-p", "-t", "b", "#{pane_pid}").strip())
    while time.time() < deadline:
        screen = tmux(sock, "capture-pane", "-p", "-t", "b", check=False)
        if ROW.search(screen):
            first = time.time() - t0
            rss_first = rss_kb(pid)
            break
        time.sleep(0.002)
    if first is None:
        tmux(sock, "kill-server", check=False)
        sys.exit(f"run {run}: no list row within {a.timeout} s:\n{screen}")
    time.sleep(3)
    rss_3s = rss_kb(pid)
    for k in ("Enter", "G", "g"):
        tmux(sock, "send-keys", "-t", "b", k)
        time.sleep(1)
    rss_thread = rss_kb(pid)
    hwm = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    tmux(sock, "send-keys", "-t", "b", "q")
    for _ in range(3000):
        if rss_kb(pid) is None:
            break
        time.sleep(0.01)
    else:
        sys.exit(f"run {run}: dmdesk still running 30 s after q")
    tmux(sock, "kill-server", check=False)
    return first, rss_first, rss_3s, rss_thread, hwm, cached


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default="target/release/dmdesk")
    p.add_argument("--config", required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--cold", action="store_true")
    p.add_argument("--drop-caches", action="store_true")
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--timeout", type=float, default=60)
    a = p.parse_args()
    with open(a.config, "rb") as f:
        a.store = tomllib.load(f)["store"]["path"]
    mb = lambda kb: f"{kb / 1024:.1f}"
    print(f"bin {a.bin}; env {a.env or '-'}; {'cold' if a.cold else 'warm'}; load {os.getloadavg()[0]:.1f}")
    print("run | first frame | RSS then | RSS +3 s | RSS thread+G+g | VmHWM | store cached before")
    firsts, rss3 = [], []
    for r in range(a.runs):
        first, r1, r3, rt, hwm, cached = one_run(a, r)
        firsts.append(first)
        rss3.append(r3)
        c = "-" if cached is None else f"{cached / 1e6:.1f} MB"
        print(f"{r + 1:3} | {first * 1000:8.1f} ms | {mb(r1):>5} MB | {mb(r3):>5} MB | {mb(rt):>11} MB | {mb(hwm):>5} MB | {c}")
    print(f"median first frame {statistics.median(firsts) * 1000:.1f} ms, "
          f"median RSS +3 s {mb(statistics.median(rss3))} MB; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
