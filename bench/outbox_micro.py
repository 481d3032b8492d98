#!/usr/bin/python3
"""outbox_micro: the outbox's writes and the relay's claim alone, old schema against new.

Usage: bench/outbox_micro.py CONNINFO_OLD CONNINFO_NEW [ROUNDS] [PAIRS]

Both databases are created and migrated beforehand with `mni db migrate`: the old one with
the migrations before 0125 (MNI_MIGRATIONS_DIR=<a copy without 0125 and later>: published_at),
the new one with all of them (outbox_queue). Their outbox tables are emptied. A round is
what W3 does to the outbox: one transaction queues 270 rows from a staging table
(outbox_enqueue_staged's statement; payload ~300 bytes of JSON, record ~900 bytes), another
claims 300 with the relay's claim statement of that schema (lib/runtime/outbox.c, without the
case_verdict column) and commits. The rows and the claims are the same on both sides; PAIRS runs alternate old and new (the machine
is shared) and each prints the CPU time of the server's backend (utime + stime of its process,
/proc: run it on the database's machine) in the two statements, per row.
"""
import os
import sys
import psycopg2

OLD_CLAIM = (
    "WITH claimed AS (UPDATE outbox SET published_at = now() WHERE task_id = ANY (ARRAY("
    "SELECT task_id FROM outbox WHERE published_at IS NULL AND failed_at IS NULL "
    "ORDER BY created_at, task_id LIMIT %s FOR UPDATE SKIP LOCKED)) "
    "RETURNING task_id, topic, incident_id, payload, created_at, kind, record), "
    "ranked AS (SELECT *, (payload->>'version')::integer AS version, row_number() OVER "
    "(PARTITION BY topic, incident_id ORDER BY (payload->>'version')::integer DESC) AS rank "
    "FROM claimed) "
    "SELECT task_id, topic, incident_id, payload::text, "
    "(extract(epoch FROM created_at) * 1000)::bigint, kind, version, record, "
    "topic = 'assessments' AND rank > 1 FROM ranked ORDER BY created_at, task_id")
NEW_CLAIM = (
    "WITH taken AS (DELETE FROM outbox_queue WHERE ctid = ANY (ARRAY("
    "SELECT ctid FROM outbox_queue ORDER BY created_at, task_id LIMIT %s "
    "FOR UPDATE SKIP LOCKED)) RETURNING created_at, task_id), "
    "ranked AS (SELECT t.created_at, t.task_id, o.topic, o.incident_id, "
    "(o.payload->>'version')::integer AS version, row_number() OVER (PARTITION BY o.topic, "
    "o.incident_id ORDER BY (o.payload->>'version')::integer DESC) AS rank "
    "FROM taken t JOIN outbox o ON o.task_id = t.task_id) "
    "SELECT r.task_id, r.topic, r.incident_id, o.payload::text, "
    "(extract(epoch FROM r.created_at) * 1000)::bigint, o.kind, r.version, o.record, "
    "r.topic = 'assessments' AND r.rank > 1 "
    "FROM ranked r JOIN outbox o ON o.task_id = r.task_id ORDER BY r.created_at, r.task_id")
ENQUEUE = ("INSERT INTO outbox (task_id, topic, incident_id, client_id, kind, payload, record) "
           "SELECT task_id, topic, incident_id, client_id, kind, payload, record FROM stage "
           "ON CONFLICT DO NOTHING")


def rows(base, n):
    pad = "x" * 200
    for i in range(n):
        k = base + i
        yield (f"task-{k:09d}", "tasks" if k % 3 else "assessments", f"INC-{k // 6:07d}",
               f"C{k % 50}", "client_notice",
               '{"kind": "client_notice", "version": %d, "due_date": "2026-12-01", "pad": "%s"}'
               % (k % 6 + 1, pad), os.urandom(300) * 3)


def backend_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(conninfo, claim_sql, rounds, seed):
    c = psycopg2.connect(conninfo)
    cur = c.cursor()
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    cur.execute("TRUNCATE outbox")
    if claim_sql is NEW_CLAIM:
        cur.execute("TRUNCATE outbox_queue")
    cur.execute("CREATE TEMP TABLE stage (task_id text, topic text, incident_id text, "
                "client_id text, kind text, payload jsonb, record bytea)")
    c.commit()
    t_enq = t_claim = 0.0
    claimed = 0
    for r in range(rounds):
        cur.execute("TRUNCATE stage")
        cur.executemany("INSERT INTO stage VALUES (%s,%s,%s,%s,%s,%s,%s)",
                        list(rows(seed + r * 270, 270)))
        t0 = backend_cpu(pid)
        cur.execute(ENQUEUE)
        c.commit()
        t1 = backend_cpu(pid)
        cur.execute(claim_sql, (300,))
        claimed += len(cur.fetchall())
        c.commit()
        t2 = backend_cpu(pid)
        t_enq += t1 - t0
        t_claim += t2 - t1
    c.close()
    n = rounds * 270
    return t_enq / n * 1e6, t_claim / max(claimed, 1) * 1e6, claimed


def main():
    old, new = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    print(f"{rounds} rounds of 270 rows queued, claims of 300; backend CPU us per row")
    for p in range(pairs):
        for name, conn, sql in (("old", old, OLD_CLAIM), ("new", new, NEW_CLAIM)):
            enq, cl, n = run(conn, sql, rounds, p * 10_000_000)
            print(f"  pair {p + 1} {name}: enqueue {enq:6.1f}  claim {cl:6.1f}  "
                  f"sum {enq + cl:6.1f}  ({n} claimed)", flush=True)


if __name__ == "__main__":
    main()
