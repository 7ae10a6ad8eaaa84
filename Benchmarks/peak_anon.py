"""Runs a command and reports its wall time, peak anonymous resident memory (RssAnon) and peak
resident set (VmHWM: anonymous plus mapped file pages the process has touched).

RssAnon excludes file-backed pages, so a memory-mapped input does not count: this is the
number the convert benchmark bounds. Sampled every 2 ms from /proc/PID/status.
usage: python3 Benchmarks/peak_anon.py CMD ARGS...
"""
import subprocess, sys, time

def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return 0

start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
peak = hwm = 0
while proc.poll() is None:
    peak = max(peak, status_kb(proc.pid, "RssAnon:"))
    hwm = max(hwm, status_kb(proc.pid, "VmHWM:"))
    time.sleep(0.002)
elapsed = time.perf_counter() - start
print(f"{elapsed:.3f} s  peak RssAnon {peak / 1024:.1f} MiB  peak RSS {hwm / 1024:.1f} MiB  exit {proc.returncode}")
sys.exit(proc.returncode)
