#!/usr/bin/python3
"""writes_micro: W3's audit rows and notify's deliveries alone, old schema against new.

Usage: bench/writes_micro.py CONNINFO_OLD CONNINFO_NEW [ROUNDS] [PAIRS]

Both databases are created and migrated beforehand with `mni db migrate`: the old one with
main's migrations (MNI_MIGRATIONS_DIR=<main's db/migrations>), the new one with this tree's
(0135: without audit_log_incident and deliveries_pending). A round is what one W3 batch does
to them, in a transaction rolled back after:
  - audit: audit_log_append('mni-assess', 550 rows): one event_applied per event and one
    case_version per new version, with the payloads assess gives them;
  - deliveries: 400 documents (200 tasks, JSON and text, ~2.8 KB each) staged in notify's
    temporary table with COPY, then notify's INSERT INTO deliveries from it.
PAIRS runs alternate old and new (the machine is shared); each prints the CPU time of the
server's backend (utime + stime of its process, /proc: run it on the database's machine) per
row over all rounds.
"""
import io
import json
import os
import sys

import psycopg2

AUDIT_ROWS = 550
TASKS = 200
STAGING = ("CREATE TEMP TABLE IF NOT EXISTS notify_deliveries (seq integer, task_id text, "
           "incident_id text, client_id text, channel text, recipient text, format text, "
           "document text COMPRESSION lz4, sha256 text)")
INSERT = ("INSERT INTO deliveries (task_id, incident_id, client_id, channel, recipient, format, "
          "document, document_sha256) SELECT task_id, incident_id, client_id, channel, "
          "recipient, format, document, decode(sha256, 'hex') FROM notify_deliveries ORDER BY "
          "seq ON CONFLICT (task_id, channel, format) DO NOTHING")


def audit_rows(base):
    rows = []
    for i in range(AUDIT_ROWS):
        k = base + i
        inc = f"INC-{k // 6:07d}"
        if i % 5 == 4:
            rows.append({"action": "case_version", "incident_id": inc, "client_id": None,
                         "payload": {"version": k % 6, "my_number": {
                             "status": "mandatory", "rules": ["mn.leak.over100", "mn.report"]},
                             "route": "direct_report", "cause": f"ev-{k:012d}"}})
        else:
            rows.append({"action": "event_applied", "incident_id": inc,
                         "client_id": f"C{k % 50}" if i % 3 else None,
                         "payload": {"event_id": f"ev-{k:012d}", "kind": "exposure_count",
                                     "version": k % 6, "status": "open"}})
    return json.dumps(rows)


def document(i, fmt):
    body = {"incident_id": f"INC-{i:07d}", "task_id": f"task-{i:09d}", "kind": "client_notice",
            "title": "給与明細の誤送信 | 2社",
            "clients": [{"client_id": f"C{k}", "persons": 40 + k, "status": "mandatory",
                         "rules": ["mn.leak.over100", "mn.report.prelim", "appi.26"]}
                        for k in range(8)],
            "text": "委託元2社分の明細を別の宛先に送信した。" * 20,
            "deadlines": {"preliminary": "2026-12-04", "final": "2026-12-31"}, "n": i}
    text = json.dumps(body, ensure_ascii=False, indent=2)
    if fmt == "text":
        text = "# 通知\n\n" + text.replace("{", "").replace("}", "").replace('"', "")
    return text


def deliveries(base):
    rows = []
    for i in range(base, base + TASKS):
        for fmt in ("json", "text"):
            client = None if i % 4 == 0 else f"C{i % 50}"
            rows.append((len(rows), f"task-{i:09d}", f"INC-{i:07d}", client,
                         f"client:{client}" if client else "ppc_draft", client, fmt,
                         document(i, fmt), os.urandom(32).hex()))
    return rows


def text_copy(rows):
    def field(x):
        if x is None:
            return "\\N"
        return str(x).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace(
            "\r", "\\r")
    return "".join("\t".join(field(x) for x in r) + "\n" for r in rows).encode()


def backend_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(conninfo, rounds, seed):
    c = psycopg2.connect(conninfo)
    cur = c.cursor()
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    cur.execute(STAGING)
    c.commit()
    t_audit, t_stage, t_insert = [], [], []
    for r in range(rounds):
        rows = audit_rows(seed + r * AUDIT_ROWS)
        dl = deliveries(seed + r * TASKS)
        data = text_copy(dl)
        t0 = backend_cpu(pid)
        cur.execute("SELECT audit_log_append('mni-assess', %s::jsonb)", (rows,))
        t1 = backend_cpu(pid)
        cur.execute("DELETE FROM notify_deliveries")
        cur.copy_expert("COPY notify_deliveries FROM STDIN", io.BytesIO(data))
        t2 = backend_cpu(pid)
        cur.execute(INSERT)
        t3 = backend_cpu(pid)
        c.rollback()
        t_audit.append(t1 - t0)
        t_stage.append(t2 - t1)
        t_insert.append(t3 - t2)
    c.close()
    # Sums over the rounds: one round is shorter than the clock tick of /proc's times.
    n_dl = 2 * TASKS * rounds
    return (sum(t_audit) / (AUDIT_ROWS * rounds) * 1e6, sum(t_stage) / n_dl * 1e6,
            sum(t_insert) / n_dl * 1e6)


def main():
    old, new = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 60
    pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    print(f"{rounds} rounds of {AUDIT_ROWS} audit rows and {2 * TASKS} deliveries, rolled back; "
          "backend CPU us per row")
    for p in range(pairs):
        for name, conn in (("old", old), ("new", new)):
            audit, stage, insert = run(conn, rounds, (p + 1) * 10_000_000)
            print(f"  pair {p + 1} {name}: audit {audit:5.1f}  deliveries staged {stage:5.1f}, "
                  f"inserted {insert:5.1f}", flush=True)


if __name__ == "__main__":
    main()
