#!/usr/bin/python3
"""worker_cpu: the CPU each worker spends on the same W3 incidents, build against build.

Usage: bench/worker_cpu.py INCIDENTS BIN [BIN ...]

Run from the repository root with an environment up (`scripts/mni-env up`, `. .mni-env/env`).
Each BIN in turn (list builds alternately, e.g. OLD NEW OLD NEW, to see the machine's noise):
the first INCIDENTS of W3's incidents (bench/workloads.py) through its three workers until
the pipeline is idle, as bench/same_results.py runs them (a fresh database, its own mock
cluster); then each worker's CPU seconds and the digest of what was stored (deliveries and
tickets: the same work, the same documents). `make bench` measures rates; this measures cost
per unit of work, which a worker that is behind for a whole run (mni-notify in W3) hides.
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import same_results  # noqa: E402
import workloads  # noqa: E402


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    incidents = int(sys.argv[1])
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    migrations = os.path.join(repo, "db", "migrations")
    work = tempfile.mkdtemp(prefix="mni-cpu-")
    wl = workloads.w3(os.path.join(work, "data"), incidents)
    chunks = [c.path for c in wl.chunks]
    events = sum(c.events for c in wl.chunks)
    print(f"{incidents} W3 incidents, {events} events; CPU seconds once idle")
    for i, b in enumerate(sys.argv[2:]):
        cpu = {}
        lines = same_results.side(f"cpu{i}", os.path.abspath(b), migrations, chunks, events, work,
                                  cpu)
        stored = [" ".join(x.split()[:3]) + " " + x.split()[-1][:8] for x in lines
                  if x.startswith(("deliveries", "tickets"))]
        print("  %-24s %s   %s" % (b, "  ".join("%s %.2f" % kv for kv in cpu.items()),
                                    ", ".join(stored)), flush=True)


if __name__ == "__main__":
    main()
