"""The database floor of W2: what PostgreSQL alone needs to merge the same person tokens.

No Kafka, no decoding on the clock: the W2 chunk files are read beforehand, and per batch of
FLOOR_BATCH_TOKENS tokens (50 manifests: about what the pipeline can hold in flight on the mock
cluster) the timed part is

    COPY floor_stage (client_id, token) FROM STDIN          -- a temporary staging table
    INSERT INTO exposure_tokens  SELECT ... FROM floor_stage ORDER BY ... ON CONFLICT DO NOTHING
    INSERT INTO incident_persons SELECT DISTINCT ... ORDER BY ... ON CONFLICT DO NOTHING
    COMMIT

into the same two indexed tables the pipeline fills (db/migrations/0002_exposure.sql), in a
fresh database of the same server. Building the COPY text in Python happens between batches,
with the clock stopped. Rows go in index order: with random 32-byte tokens, a sorted batch
walks the B-tree pages in order, neighbours sharing a page, instead of at random (at 5,000,000
tokens that about doubled the rate in one run on the bench machine). Any exact, set-wise merge
pays at least this; the pipeline's figure is compared with it.
"""

import io
import json
import time

import psycopg2

FLOOR_BATCH_TOKENS = 50000


def batches(workload):
    """COPY text of each batch of about FLOOR_BATCH_TOKENS tokens, in the order sent."""
    rows, n = [], 0
    for chunk in workload.chunks:
        with open(chunk.path, encoding="utf-8") as f:
            for line in f:
                body = json.loads(line)["body"]
                client = body["client_id"]
                rows.extend("%s\t\\\\x%s\n" % (client, tok) for tok in body["tokens"])
                n += len(body["tokens"])
                if n >= FLOOR_BATCH_TOKENS:
                    yield "".join(rows), n
                    rows, n = [], 0
    if rows:
        yield "".join(rows), n


def run(conninfo, workload):
    """Merges the workload's tokens; returns (seconds on the clock, tokens merged)."""
    incident = workload.incident_ids[0]
    db = psycopg2.connect(conninfo)
    cur = db.cursor()
    cur.execute(
        "CREATE TEMP TABLE floor_stage (client_id text NOT NULL, token bytea NOT NULL) "
        "ON COMMIT DELETE ROWS"
    )
    db.commit()
    seconds, tokens = 0.0, 0
    for text, n in batches(workload):
        data = io.StringIO(text)
        t0 = time.perf_counter()
        cur.copy_expert("COPY floor_stage (client_id, token) FROM STDIN", data, size=1 << 20)
        cur.execute(
            "INSERT INTO exposure_tokens (incident_id, client_id, token) "
            "SELECT %s, client_id, token FROM floor_stage ORDER BY client_id, token "
            "ON CONFLICT DO NOTHING",
            (incident,),
        )
        cur.execute(
            "INSERT INTO incident_persons (incident_id, token) "
            "SELECT DISTINCT %s, token FROM floor_stage ORDER BY 2 ON CONFLICT DO NOTHING",
            (incident,),
        )
        db.commit()
        seconds += time.perf_counter() - t0
        tokens += n
    db.close()
    return seconds, tokens
