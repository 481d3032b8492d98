"""The Python baseline of W2: the consumer a user would write in an afternoon.

Debian's python3-confluent-kafka (librdkafka underneath, like ours) and python3-psycopg2. It
reads the same messages `mni produce` sends to incident.events (Avro in the Confluent framing),
decodes by hand only what it needs (the IncidentEvent envelope's incident_id and, for an
exposure_manifest, client_id and tokens; see decode below), and for every person record runs
ONE INSERT statement: a writable CTE that adds (incident, client, token) to exposure_tokens and,
when that row is new, (incident, token) to incident_persons, both ON CONFLICT DO NOTHING, so the
same two indexed tables as mni-assess hold exact sets. After each consumed batch (up to 500
messages, as our workers) it commits the database transaction, then the Kafka offsets.
Progress for the harness's pacing is one row, bench_progress.consumed, advanced in the same
transaction. It keeps no counters: a user would count with count(DISTINCT ...) at query time.

    MNI_KAFKA_BOOTSTRAP=... MNI_PG_CONNINFO=... python3 bench/python_consumer.py TOPIC

Runs until SIGTERM. The database must hold the mni schema and bench_progress (the harness
creates both).
"""

import os
import signal
import sys

import psycopg2
from confluent_kafka import Consumer, KafkaException

SCHEMA_ID = 2  # schemas/ids.tsv: IncidentEvent.avsc, what mni produce writes
BODY_EXPOSURE_MANIFEST = 2  # the body union's branch (schemas/IncidentEvent.avsc)

INSERT = """
WITH t AS (
    INSERT INTO exposure_tokens (incident_id, client_id, token) VALUES (%s, %s, %s)
    ON CONFLICT DO NOTHING RETURNING incident_id, token)
INSERT INTO incident_persons (incident_id, token) SELECT incident_id, token FROM t
ON CONFLICT DO NOTHING
"""

stopping = False


def on_term(signum, frame):
    global stopping
    stopping = True


def read_long(buf, pos):
    """An Avro long: zig-zag varint."""
    b = buf[pos]
    pos += 1
    n, shift = b & 0x7F, 7
    while b & 0x80:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
    return (n >> 1) ^ -(n & 1), pos


def read_bytes(buf, pos):
    n, pos = read_long(buf, pos)
    return buf[pos : pos + n], pos + n


def decode(value):
    """(incident_id, client_id or None, [token bytes]) of one framed IncidentEvent (writer
    schema id 2): event_id, incident_id, tenant (strings), occurred_at (long), producer
    (string), then the body union's branch index; a manifest body is client_id, batch_id
    (strings) and tokens (an array of strings, in blocks)."""
    if len(value) < 5 or value[0] != 0 or int.from_bytes(value[1:5], "big") != SCHEMA_ID:
        raise ValueError("not an IncidentEvent with schema id %d" % SCHEMA_ID)
    pos = 5
    _, pos = read_bytes(value, pos)  # event_id
    incident, pos = read_bytes(value, pos)
    _, pos = read_bytes(value, pos)  # tenant
    _, pos = read_long(value, pos)  # occurred_at
    _, pos = read_bytes(value, pos)  # producer
    branch, pos = read_long(value, pos)
    if branch != BODY_EXPOSURE_MANIFEST:
        return incident.decode(), None, []
    client, pos = read_bytes(value, pos)
    _, pos = read_bytes(value, pos)  # batch_id
    tokens = []
    while True:
        count, pos = read_long(value, pos)
        if count == 0:
            break
        if count < 0:  # a block with its byte size
            count = -count
            _, pos = read_long(value, pos)
        for _ in range(count):
            tok, pos = read_bytes(value, pos)
            tokens.append(bytes.fromhex(tok.decode()))
    return incident.decode(), client.decode(), tokens


def main():
    topic = sys.argv[1]
    signal.signal(signal.SIGTERM, on_term)
    db = psycopg2.connect(os.environ["MNI_PG_CONNINFO"])
    consumer = Consumer(
        {
            "bootstrap.servers": os.environ["MNI_KAFKA_BOOTSTRAP"],
            "group.id": "bench-python",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    cur = db.cursor()
    while not stopping:
        msgs = consumer.consume(num_messages=500, timeout=0.1)
        if not msgs:
            continue
        for m in msgs:
            if m.error():
                raise KafkaException(m.error())
            incident, client, tokens = decode(m.value())
            for tok in tokens:
                cur.execute(INSERT, (incident, client, tok))
        cur.execute("UPDATE bench_progress SET consumed = consumed + %s", (len(msgs),))
        db.commit()
        consumer.commit(asynchronous=False)
    consumer.close()
    db.close()


if __name__ == "__main__":
    main()
