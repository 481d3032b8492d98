"""Deterministic workloads of `make bench`, written as JSON-lines chunk files for `mni produce`.

W2 (manifests): one incident of a contractor BPO whose misconfigured share exposed `records`
person records of `clients` client businesses. Each client has records // clients records,
sent as exposure manifests of up to 1,000 tokens, round robin over the clients (manifest 0 of
every client, then manifest 1 of every client, ...). Every tenth record of a client is a person
that client shares with its partner client (clients 2p and 2p+1 share persons), the other nine
are its own: 10% of each client's persons are shared between clients, so the exact
de-duplicated total is 0.95 x records, and each client's own count is records // clients.
Person n's token is sha256("mni-bench-person-n") in 64 lowercase hex digits (HMAC-like: the
pipeline cannot tell the difference). The incident_opened event comes first, in a file of its
own: the harness sends it before timing and waits for it to be committed, so that the timed part
starts with every consumer in its group.

W3 (lifecycle): `incidents` small incidents of six events each: incident_opened, two
exposure_count events (two clients, a headcount that passes 100 in three of ten), a
facts_updated (certainty confirmed), a response step and a client notice filed. Incidents go in
blocks of 250; one chunk holds a block, its 250 openings first, then their first counts, and so
on, so that consecutive batches touch many cases and each case several times. Event ids are
w3-BBBB-KKKKKK-E (block, incident, event). For W3's delay phase, w3_runs writes the same events
in smaller files of whole incidents.

Dates. Every event is dated from T0, one day before the run (to the minute): W2's incident
and its manifests in T0's first hour and a half, W3's incidents two a second from T0 (100,000
in under 14 hours), each incident's six events over its next five minutes. So the incidents are
those of a worst day that has just happened, and the deadlines they create are a fresh
incident's whatever the date of the run: some client notices come within the sweeper's 24-hour
reminder window, none is overdue. Until stop 20 the dates were fixed (from 2026-11-18): by
2026-12-01 every W3 incident was 4 to 12 days old, and the sweeper queued an overdue reminder
and escalation for nearly every deadline (246,898 tasks in a full-size W3, more for every day
the bench is run later). MNI_BENCH_T0 (e.g. 2026-11-18T10:00:00+09:00) fixes T0 again, to
measure with that load.

Chunk files hold about 1 MiB of JSON for W2 and one block (1,500 events) for W3; the harness
paces them (pipeline.py). Every chunk records its events, records and JSON bytes; JSON is a
little larger than the Avro that travels, so windows counted in JSON bytes are conservative.
"""

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

JST = timezone(timedelta(hours=9))


def start_of_timeline():
    """T0 (see the module comment): MNI_BENCH_T0 (ISO 8601 with its offset) if set, else one
    day before this run, to the minute."""
    fixed = os.environ.get("MNI_BENCH_T0")
    if fixed:
        return datetime.fromisoformat(fixed)
    return (datetime.now(JST) - timedelta(days=1)).replace(second=0, microsecond=0)


T0 = start_of_timeline()
TENANT = "bpo-bench"
MANIFEST_TOKENS = 1000
W2_CHUNK_BYTES = 1 << 20
W3_BLOCK = 250


@dataclass
class Chunk:
    path: str
    events: int
    records: int  # person tokens (W2) or events (W3)
    json_bytes: int


@dataclass
class Workload:
    name: str
    incident_ids: list
    warmup: str  # the file sent (and committed) before timing
    warmup_stream: str = ""  # W3: the line a steady producer sends before the delay phase
    chunks: list = field(default_factory=list)
    max_event_bytes: int = 0
    expect_distinct: int = 0  # W2: persons over all clients
    expect_per_client: dict = field(default_factory=dict)  # W2: client_id -> persons

    @property
    def events(self):
        return sum(c.events for c in self.chunks)

    @property
    def records(self):
        return sum(c.records for c in self.chunks)


def token(person):
    return hashlib.sha256(b"mni-bench-person-%d" % person).hexdigest()


def stamp(seconds):
    return (T0 + timedelta(seconds=seconds)).isoformat()


def envelope(event_id, incident_id, seconds, producer, kind, body):
    return json.dumps(
        {
            "event_id": event_id,
            "incident_id": incident_id,
            "tenant": TENANT,
            "occurred_at": stamp(seconds),
            "producer": producer,
            "type": kind,
            "body": body,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def opened(event_id, incident_id, seconds, title):
    return envelope(
        event_id,
        incident_id,
        seconds,
        "helpdesk",
        "incident_opened",
        {
            "known_at": stamp(seconds - 600),
            "title": title,
            "reporter": {
                "role": "contractor",
                "number_use_entity": False,
                "public_body_system": False,
            },
            "kinds": ["leak"],
            "certainty": "possible",
            "improper_purpose": "none",
            "systems": [],
            "unspecified_viewing": "none",
            "encrypted_protected": False,
            "recovered_unviewed": False,
            "intact_copy": False,
            "appi_sensitive": False,
            "appi_financial_risk": False,
        },
    )


def write_lines(path, lines):
    text = "\n".join(lines) + "\n"
    data = text.encode()
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def w2(out_dir, clients, records):
    """The manifests workload; see the module comment. clients even, records a multiple of
    10 x clients."""
    per_client = records // clients
    if clients % 2 or per_client % 10 or per_client * clients != records:
        raise ValueError("w2: clients must be even and records a multiple of 10 x clients")
    os.makedirs(out_dir, exist_ok=True)
    incident = "BENCH-W2-%d" % clients
    wl = Workload("w2-%d" % clients, [incident], os.path.join(out_dir, "opened.jsonl"))
    write_lines(wl.warmup, [opened("w2-%d-open" % clients, incident, 0, "誤設定の共有フォルダ")])
    per_manifest = min(MANIFEST_TOKENS, per_client)
    shared_base = clients * per_client

    def person(c, i):
        if i % 10 == 0:
            return shared_base + (c // 2) * (per_client // 10) + i // 10
        return c * per_client + i

    lines, size, n_events, n_records, seq = [], 0, 0, 0, 0
    for j in range(0, per_client, per_manifest):
        for c in range(clients):
            toks = '","'.join(
                token(person(c, i)) for i in range(j, min(j + per_manifest, per_client))
            )
            line = (
                '{"event_id":"w2-%d-%d","incident_id":"%s","tenant":"%s","occurred_at":"%s",'
                '"producer":"manifest-loader","type":"exposure_manifest","body":{"client_id":'
                '"C-%04d","batch_id":"m%d","tokens":["%s"]}}'
                % (clients, seq, incident, TENANT, stamp(60 + seq), c, j // per_manifest, toks)
            )
            seq += 1
            lines.append(line)
            size += len(line) + 1
            n_events += 1
            n_records += min(per_manifest, per_client - j)
            wl.max_event_bytes = max(wl.max_event_bytes, len(line) + 1)
            if size >= W2_CHUNK_BYTES:
                flush_chunk(wl, out_dir, lines, n_events, n_records)
                lines, size, n_events, n_records = [], 0, 0, 0
    if lines:
        flush_chunk(wl, out_dir, lines, n_events, n_records)
    wl.expect_distinct = clients * (per_client - per_client // 10) + (clients // 2) * (
        per_client // 10
    )
    wl.expect_per_client = {"C-%04d" % c: per_client for c in range(clients)}
    return wl


def flush_chunk(wl, out_dir, lines, events, records):
    path = os.path.join(out_dir, "chunk-%05d.jsonl" % len(wl.chunks))
    wl.chunks.append(Chunk(path, events, records, write_lines(path, lines)))


def w3_incident_events(chunk, k):
    """The six events of incident k (in chunk `chunk`), in their order."""
    inc = "BENCH-W3-%06d" % k
    eid = "w3-%04d-%06d-" % (chunk, k)
    t = k // 2  # two incidents a second: 100,000 in under 14 hours
    a, b = 10 + k % 60, 5 + (k * 7) % 80  # a + b > 100 for 30% of the incidents
    count_a = {"client_id": "C-A", "persons": a}
    if k % 3 == 0:
        count_a["contract_notice_hours"] = 24
    return [
        opened(eid + "1", inc, t, "委託先での誤送付 %d" % k),
        envelope(eid + "2", inc, t + 60, "investigation", "exposure_count", count_a),
        envelope(
            eid + "3",
            inc,
            t + 120,
            "investigation",
            "exposure_count",
            {"client_id": "C-B", "persons": b},
        ),
        envelope(
            eid + "4", inc, t + 180, "investigation", "facts_updated", {"certainty": "confirmed"}
        ),
        envelope(
            eid + "5",
            inc,
            t + 240,
            "case-desk",
            "response_step_completed",
            {"step": "internal_report_containment", "completed_at": stamp(t + 200)},
        ),
        envelope(
            eid + "6",
            inc,
            t + 300,
            "case-desk",
            "report_filed",
            {
                "report": "client_notice",
                "client_id": "C-A",
                "filed_at": stamp(t + 290),
                "reference": "N-%d" % k,
            },
        ),
    ]


def w3(out_dir, incidents):
    """The lifecycle workload; see the module comment."""
    os.makedirs(out_dir, exist_ok=True)
    wl = Workload("w3", [], os.path.join(out_dir, "opened.jsonl"))
    write_lines(wl.warmup, [opened("w3-warmup", "BENCH-W3-WARMUP", 0, "warm-up")])
    wl.warmup_stream = os.path.join(out_dir, "opened-stream.jsonl")
    write_lines(wl.warmup_stream, [opened("w3-warmup-2", "BENCH-W3-WARMUP-2", 0, "warm-up")])
    for chunk, first in enumerate(range(0, incidents, W3_BLOCK)):
        block = [
            w3_incident_events(chunk, k) for k in range(first, min(first + W3_BLOCK, incidents))
        ]
        lines = [events[e] for e in range(6) for events in block]
        wl.max_event_bytes = max([wl.max_event_bytes] + [len(x.encode()) + 1 for x in lines])
        path = os.path.join(out_dir, "chunk-%05d.jsonl" % chunk)
        wl.chunks.append(Chunk(path, len(lines), len(lines), write_lines(path, lines)))
    return wl


EVENT_ID = re.compile(rb'"event_id":"([^"]+)"')


def event_ids(chunk):
    with open(chunk.path, "rb") as f:
        return [EVENT_ID.search(line).group(1).decode() for line in f]


def w3_runs(out_dir, first, last, per_run, limit):
    """Incidents first..last-1 of W3 (the same events as w3() writes) in files of per_run
    incidents each, interleaved as in w3(), at most `limit` events in all: for sending at a
    steady rate in small runs. A run holds whole incidents, so runs may overlap in time
    without reordering an incident's events. Returns the chunks and {event_id: run index}."""
    os.makedirs(out_dir, exist_ok=True)
    out, where = [], {}
    for start in range(first, last, per_run):
        if sum(c.events for c in out) >= limit:
            break
        block = [
            w3_incident_events(k // W3_BLOCK, k) for k in range(start, min(start + per_run, last))
        ]
        lines = [events[e] for e in range(6) for events in block]
        for line in lines:
            where[EVENT_ID.search(line.encode()).group(1).decode()] = len(out)
        path = os.path.join(out_dir, "run-%05d.jsonl" % len(out))
        out.append(Chunk(path, len(lines), len(lines), write_lines(path, lines)))
    return out, where


def expected_counts(chunks):
    """(distinct persons, {client_id: persons}) of W2 chunks, counted from the files."""
    everyone, per_client = set(), {}
    for chunk in chunks:
        with open(chunk.path, encoding="utf-8") as f:
            for line in f:
                body = json.loads(line)["body"]
                mine = per_client.setdefault(body["client_id"], set())
                mine.update(body["tokens"])
                everyone.update(body["tokens"])
    return len(everyone), {c: len(t) for c, t in per_client.items()}


def prefix(wl, share):
    """The first share of wl's chunks (at least one) as a workload of its own, with its exact
    expected counts."""
    n = max(1, int(round(len(wl.chunks) * share)))
    sub = Workload(
        wl.name + "-prefix",
        wl.incident_ids,
        wl.warmup,
        chunks=wl.chunks[:n],
        max_event_bytes=wl.max_event_bytes,
    )
    sub.expect_distinct, sub.expect_per_client = expected_counts(sub.chunks)
    return sub
