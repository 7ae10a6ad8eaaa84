"""Runs a command and reports its wall time and peak anonymous resident memory (RssAnon).

RssAnon excludes file-backed pages, so a memory-mapped input does not count: this is the
number the convert benchmark bounds. Sampled every 2 ms from /proc/PID/status.
usage: python3 Benchmarks/peak_anon.py CMD ARGS...
"""
import subprocess, sys, time

def rss_anon_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        return 0
    return 0

start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
peak = 0
while proc.poll() is None:
    peak = max(peak, rss_anon_kb(proc.pid))
    time.sleep(0.002)
elapsed = time.perf_counter() - start
print(f"{elapsed:.3f} s  peak RssAnon {peak / 1024:.1f} MiB  exit {proc.returncode}")
sys.exit(proc.returncode)
