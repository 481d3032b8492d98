#!/usr/bin/python3
"""same_results: one W3 stream through two builds, and a digest of what each stored.

Usage: bench/same_results.py OLD_BIN OLD_MIGRATIONS NEW_BIN NEW_MIGRATIONS [INCIDENTS]

Run from the repository root with an environment up (`scripts/mni-env up`, `. .mni-env/env`:
its PostgreSQL; each side gets a mock cluster of its own, started here from its bin and stopped
at the end). Each side: a fresh database migrated with its migrations (`mni db migrate`), its
three workers (defaults, as `make demo` runs them), the first INCIDENTS (default 500) of W3's
incidents (bench/workloads.py) sent with its `mni produce`, until mni-assess committed every
event and the outbox and mni-notify are idle (the sweeper's clock
set before every deadline: it queues nothing). Then one md5 per table over the columns the
pipeline decides (processing times, generated ids and the audit chain's at/hash left out: they
differ between any two runs), the audit rows as a multiset of (actor, action, incident,
client, payload) and mni-assess's rows of each incident in chain order, and
audit_log_verify(). The two sides' lines should be equal.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads  # noqa: E402

TABLES = {
    "cases": "incident_id, tenant, status, version, facts, persons_total, reportable, "
    "direct_report, mandatory_since, distinct_tokens, last_event_id",
    "case_versions": "incident_id, version, verdict, rules, cause_event_id, facts",
    "client_verdicts": "incident_id, client_id, version, entry",
    "client_exposure": "incident_id, client_id, persons, persons_max, token_count",
    "deadlines": "incident_id, client_id, kind, due_date, due_at, met_at",
    "case_events": "event_id, incident_id, kind, occurred_at, version_after, title, description",
    "case_steps": "incident_id, step, completed_at, event_id",
    "case_filings": "event_id, incident_id, report, client_id, filed_at, reference",
    "event_log": "event_id, incident_id, tenant, client_id, kind, occurred_at, body, tokens",
    "outbox": "task_id, topic, incident_id, client_id, kind, payload, failed_at IS NULL",
    "deliveries": "task_id, incident_id, client_id, channel, recipient, format, document, "
    "document_sha256, status",
    "tickets": "ticket_id, task_id, incident_id, client_id, kind, title, body, status",
    "audit_log": "actor, action, incident_id, client_id, payload",
}
WHERE = {"outbox": "topic <> 'anchors'"}  # the anchors carry the chain's seq and hash


def digest(cur):
    out = []
    for table, cols in TABLES.items():
        where = WHERE.get(table, "true")
        cur.execute(
            f"SELECT count(*), md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) FROM "
            f"(SELECT ROW({cols})::text AS r FROM {table} WHERE {where}) x"
        )
        n, md5 = cur.fetchone()
        out.append(f"{table:16s} {n:7d} rows  {md5}")
    # mni-assess's rows of each incident in chain order (incidents on different partitions
    # interleave as batches commit, and notify's ticket_published rows follow the relay's
    # passes: both differ between any two runs).
    cur.execute(
        "SELECT md5(string_agg(actor || ' ' || coalesce(incident_id, '') || ' ' || r, E'\\n' "
        "ORDER BY actor, incident_id)) FROM (SELECT actor, incident_id, string_agg(ROW(action, "
        "client_id, payload)::text, ' ' ORDER BY seq) AS r FROM audit_log "
        "WHERE actor = 'mni-assess' GROUP BY actor, incident_id) x"
    )
    out.append(f"assess audit, in order {cur.fetchone()[0]}")
    cur.execute("SELECT audit_log_verify()")
    out.append(f"audit_log_verify {cur.fetchone()[0]}")
    return out


def wait(what, cond, timeout=600):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def cpu_seconds(pid):
    """User and system CPU seconds of a running process (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def side(name, bin_dir, migrations, chunks, events, work, cpu=None):
    """The stream through one build; its digest lines. cpu, a dict, receives each worker's CPU
    seconds once the pipeline is idle (bench/worker_cpu.py)."""
    sock_env = dict(os.environ)
    base = sock_env["MNI_PG_CONNINFO"]
    db = f"same_{name}_{os.getpid()}"
    admin = psycopg2.connect(base)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {db}")
    admin.close()
    conninfo = base.replace("dbname=mni", f"dbname={db}")
    # The sweeper's reminders depend on the wall clock and on when it passes: its clock is set
    # before every deadline of the stream (W3's events are of 2 January 1970), so that it
    # queues nothing of its own on either side.
    env = dict(sock_env, MNI_PG_CONNINFO=conninfo, MNI_MIGRATIONS_DIR=migrations,
               MNI_NOTIFY_CLOCK="1970-01-01T09:00:00+09:00")
    env.pop("MNI_SCHEMA_REGISTRY_URL", None)
    subprocess.run([os.path.join(bin_dir, "mni"), "db", "migrate"], env=env, check=True,
                   capture_output=True)
    boot = os.path.join(work, name + ".bootstrap")
    broker = subprocess.Popen([os.path.join(bin_dir, "mni-mockbroker"), "--bootstrap-file", boot],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = []
    try:
        wait("the mock cluster", lambda: os.path.exists(boot) and os.path.getsize(boot) > 0, 30)
        env["MNI_KAFKA_BOOTSTRAP"] = open(boot).read().strip()
        for w in ("ingest", "assess", "notify"):
            log = open(os.path.join(work, f"{name}-{w}.log"), "wb")
            procs.append(subprocess.Popen([os.path.join(bin_dir, "mni-" + w)], env=env,
                                          stdout=log, stderr=subprocess.STDOUT))
        for path in chunks:
            subprocess.run([os.path.join(bin_dir, "mni"), "produce", path], env=env, check=True,
                           capture_output=True)
        pg = psycopg2.connect(conninfo)
        pg.autocommit = True
        cur = pg.cursor()

        def one(sql):
            cur.execute(sql)
            return cur.fetchone()[0]

        wait("mni-assess", lambda: one("SELECT count(*) FROM case_events") >= events)
        # Idle: nothing queued, and offsets and deliveries unchanged for five seconds.
        last = [None, time.time()]

        def idle():
            state = one("SELECT (SELECT count(*) FROM outbox_queue) || '/' || (SELECT "
                        "coalesce(sum(next_offset), 0) FROM consumer_offsets) || '/' || "
                        "(SELECT count(*) FROM deliveries)")
            if state != last[0] or not state.startswith("0/"):
                last[0], last[1] = state, time.time()
            return time.time() - last[1] > 5

        wait("the outbox and mni-notify", idle)
        if cpu is not None:
            for w, p in zip(("ingest", "assess", "notify"), procs):
                cpu["mni-" + w] = cpu_seconds(p.pid)
        lines = digest(cur)
        pg.close()
        return lines
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        broker.send_signal(signal.SIGTERM)
        broker.wait(timeout=30)


def main():
    old_bin, old_mig, new_bin, new_mig = sys.argv[1:5]
    incidents = int(sys.argv[5]) if len(sys.argv) > 5 else 500
    work = tempfile.mkdtemp(prefix="mni-same-")
    wl = workloads.w3(os.path.join(work, "data"), incidents)
    chunks = [c.path for c in wl.chunks]
    events = sum(c.events for c in wl.chunks)
    results = {}
    for name, b, m in (("old", old_bin, old_mig), ("new", new_bin, new_mig)):
        results[name] = side(name, os.path.abspath(b), os.path.abspath(m), chunks, events, work)
        print(f"== {name} ({b}, {m}): {events} events")
        for line in results[name]:
            print("  " + line)
    same = results["old"] == results["new"]
    print("same results" if same else "RESULTS DIFFER")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
