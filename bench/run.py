"""`make bench`: the rule core, then the real pipeline end to end, each figure next to a
baseline measured in the same run and to its target (PASS or MISS; a miss never fails the
build, only a broken harness does).

  W1  rule core: bench/bench_rules.c, assessments per second on one core, and how the time
      grows from 20,000 to 200,000 clients.
  W2  manifests: 5,000,000 person-token records of one incident over 1,000 clients (and over
      10 clients), through `mni produce` -> mock cluster -> mni-ingest -> mni-assess ->
      PostgreSQL, timed from the first manifest sent until the last one's counts are committed,
      and checked exactly against count(DISTINCT ...). Baselines on the same tokens: the
      database floor (floor.py) and a Python consumer (python_consumer.py).
  W3  lifecycle: 100,000 small incidents of six events each; events per second with the
      producer paced only by the mock cluster's window, then the delay from produce to
      committed case state at a fixed offered rate.
  Memory: peak resident memory of each worker, and its first-minute against last-minute RSS.

Environment (bench/README.md, "Knobs"): MNI_BENCH_SCALE (default 1; `make bench-quick` sets
0.1), MNI_BENCH_ONLY (comma list of w1,floor,w2,python,w3), MNI_BENCH_PYTHON_SHARE,
MNI_BENCH_MAX_SECONDS, MNI_BENCH_STALL_SECONDS, MNI_BENCH_KEEP=1, MNI_BENCH_SYNC_COMPARE=1,
MNI_BENCH_STATEMENTS=1, MNI_BENCH_HOPS=1.
Output also goes to build/bench/last-run.txt and build/bench/last-run.json; worker logs to
build/bench/logs/.
Kafka figures come from librdkafka's mock cluster, not a real broker (pipeline.py: pacing).
"""

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time

import psycopg2

import floor
import pipeline
import workloads
from pipeline import BenchError, Incomplete

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCALE = float(os.environ.get("MNI_BENCH_SCALE", "1"))
ONLY = set(os.environ.get("MNI_BENCH_ONLY", "w1,floor,w2,python,w3").split(","))

W1_ITERATIONS = 5_000_000
W2_RECORDS = 5_000_000
# W2's two client counts, the larger first (MNI_BENCH_W2_CLIENTS, e.g. "5000,10" to see how a
# worker's memory scales with the clients of one incident; the targets are set for 1,000).
W2_CLIENTS = tuple(int(c) for c in os.environ.get("MNI_BENCH_W2_CLIENTS", "1000,10").split(","))
W3_INCIDENTS = 100_000
W3_DELAY_SECONDS = 60  # the delay phase runs at most this long (a tenth in quick mode, >= 10 s)
# mni-assess instances in W3's consumer group (MNI_BENCH_ASSESS_INSTANCES): one per core of
# this 2-core machine, as deploy/k8s/assess.yaml runs three replicas. W3's incidents spread over
# incident.accepted's six partitions; W2's one incident stays on one partition, one instance.
ASSESS_INSTANCES = int(os.environ.get("MNI_BENCH_ASSESS_INSTANCES", "2"))
W3_DELAY_LOAD = 0.5  # below 10,000/s, the delay phase offers this share of the measured rate
W3_RUN_PERIOD = 0.15  # seconds between two runs written into the delay phase's steady producer
# The Python baseline's cost per record does not depend on the total (bench/README.md): quick
# mode gives it half the share, which only flatters it (smaller tables).
PYTHON_SHARE = float(os.environ.get("MNI_BENCH_PYTHON_SHARE", "0.2" if SCALE >= 1 else "0.1"))
pipeline.MAX_SECONDS = float(
    os.environ.get("MNI_BENCH_MAX_SECONDS", 1800 * min(1.0, max(SCALE, 0.1)))
)

# How W2 is fed (bench/README.md "Pacing on the mock cluster"): "stream", one steady `mni
# produce --follow -` through a pipe, as a producer system would; or "runs", one `mni produce`
# per chunk, two at a time, as until h/w2cpu (MNI_BENCH_W2_FEED). The Python baseline is fed
# by runs either way (run_python).
W2_FEED = os.environ.get("MNI_BENCH_W2_FEED", "stream")
if W2_FEED not in ("stream", "runs"):
    raise SystemExit("MNI_BENCH_W2_FEED: stream or runs, not %r" % W2_FEED)
# W2's `mni produce` and workers pace themselves (cli/produce_pace.h, pace.limit.bytes), as a
# user runs them, so the harness's window does not hold W2's mni feed back: the window let
# nothing more be produced while assess merged a batch, and both processes then slept through
# the whole hop to the next one (a sixth of the run). MNI_BENCH_W2_WINDOW=1 puts it back, for
# comparison. The Python baseline and W3's delay phase (--no-pace) keep it: nothing else
# guards them.
W2_WINDOW = os.environ.get("MNI_BENCH_W2_WINDOW") == "1"
# W2 at 1,000 clients once more with the workers' pg.synchronous_commit = on, for the ratio.
SYNC_COMPARE = os.environ.get("MNI_BENCH_SYNC_COMPARE") == "1"

T_W1 = 7e6  # assessments/s, contractor with 2 clients (bench_rules.c; issue 6)
T_W2 = 100_000  # records/s end to end
T_W2_FLOOR = 0.6
T_W2_PYTHON = 20.0
T_W2_CLIENTS = 0.8  # 1,000 clients against 10: within 20%
T_W3 = 10_000  # events/s
T_W3_P99 = 0.5  # seconds
T_RSS_MB = 200


class Report:
    """Prints as it goes and keeps every line and figure for last-run.txt / last-run.json."""

    def __init__(self):
        self.lines, self.targets, self.figures = [], [], {}

    def say(self, text=""):
        print(text, flush=True)
        self.lines.append(text)

    def target(self, name, figure, goal, ok):
        self.targets.append((name, figure, goal, ok))


def fmt(n):
    return "{:,.0f}".format(n)


def scaled(n, unit, minimum):
    return max(minimum, int(round(n * SCALE / unit)) * unit)


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / (1 << 20)
    with open("/etc/debian_version") as f:
        debian = f.read().strip()
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    rdk = subprocess.run(
        ["pkg-config", "--modversion", "rdkafka"], capture_output=True, text=True
    ).stdout.strip()
    load = os.getloadavg()[0]
    return (
        "%d cores (%s), %.1f GiB RAM, Debian %s, %s, librdkafka %s; load average %.2f at start"
        % (
            os.cpu_count(),
            cpu,
            mem,
            debian,
            pg.replace("psql (PostgreSQL) ", "PostgreSQL "),
            rdk,
            load,
        )
    )


def revision():
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return head + (" (with uncommitted changes)" if dirty else "")


# ---- W1 ----


def run_w1(rep):
    n = max(100_000, int(W1_ITERATIONS * SCALE))
    r = subprocess.run(
        # quick: without the JSON path's 200,000-client run (seconds, and no target of its own)
        [os.path.join(REPO, "build/rel/bench/bench_rules"), str(n)]
        + (["quick"] if SCALE < 1 else []),
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    for line in r.stdout.splitlines():
        rep.say("  " + line)
    m = re.search(
        r"contractor, 2 clients\s+[\d.]+ ns/op\s+([\d.]+) M assessments/s\s+([\d.]+)x baseline",
        r.stdout,
    )
    if r.returncode != 0 or not m:
        raise BenchError("bench_rules failed: %s" % r.stderr.strip())
    rate = float(m.group(1)) * 1e6
    rep.figures["w1_contractor2_per_s"] = rate
    rep.target(
        "W1 rule core, contractor with 2 clients",
        "%.2f M/s (%sx the baseline's time)" % (rate / 1e6, m.group(2)),
        ">= %g M/s" % (T_W1 / 1e6),
        rate >= T_W1,
    )
    m = re.search(r"core, 200,000 clients.*\n\s+time ratio 200,000 / 20,000\s+([\d.]+)", r.stdout)
    limit = re.search(r"target: core time ratio 200,000 / 20,000 clients <= ([\d.]+)", r.stdout)
    if m and limit:
        ratio, most = float(m.group(1)), float(limit.group(1))
        rep.figures["w1_large_ratio"] = ratio
        rep.target(
            "W1 rule core, 200,000 against 20,000 clients",
            "%.1fx the time (n log n: 12.3)" % ratio,
            "<= %gx" % most,
            ratio <= most,
        )


# ---- W2 ----


def verify_w2(conninfo, wl, case_counts=True):
    """Exact counts: (ok, text). Checks incident_persons and exposure_tokens with
    count(DISTINCT ...) against the generator's numbers, and with case_counts the committed
    counters cases.distinct_tokens and client_exposure.token_count as well."""
    inc = wl.incident_ids[0]
    db = psycopg2.connect(conninfo)
    cur = db.cursor()
    problems = []
    cur.execute(
        "SELECT count(*), count(DISTINCT token) FROM incident_persons WHERE incident_id = %s",
        (inc,),
    )
    rows, distinct = cur.fetchone()
    if not (rows == distinct == wl.expect_distinct):
        problems.append(
            "incident_persons %d rows, %d distinct, want %d" % (rows, distinct, wl.expect_distinct)
        )
    cur.execute(
        "SELECT client_id, count(DISTINCT token) FROM exposure_tokens WHERE incident_id = %s "
        "GROUP BY client_id",
        (inc,),
    )
    per_client = dict(cur.fetchall())
    if per_client != wl.expect_per_client:
        bad = sum(1 for c, n in wl.expect_per_client.items() if per_client.get(c) != n)
        problems.append("exposure_tokens: %d of %d clients off" % (bad, len(wl.expect_per_client)))
    if case_counts:
        try:
            cur.execute("SELECT distinct_tokens FROM cases WHERE incident_id = %s", (inc,))
            row = cur.fetchone()
            if not row or row[0] != wl.expect_distinct:
                problems.append(
                    "cases.distinct_tokens %s, want %d" % (row and row[0], wl.expect_distinct)
                )
            cur.execute(
                "SELECT client_id, token_count FROM client_exposure WHERE incident_id = %s", (inc,)
            )
            counted = dict(cur.fetchall())
            if counted != wl.expect_per_client:
                bad = sum(1 for c, n in wl.expect_per_client.items() if counted.get(c) != n)
                problems.append(
                    "client_exposure.token_count: %d of %d clients off"
                    % (bad, len(wl.expect_per_client))
                )
        except psycopg2.Error as e:
            problems.append("committed counts unreadable: %s" % str(e).strip())
    db.close()
    if problems:
        return False, "; ".join(problems)
    return True, "%s distinct persons, %d clients x %s" % (
        fmt(wl.expect_distinct),
        len(per_client),
        fmt(next(iter(per_client.values()))),
    )


def exactness(ok):
    return {True: "exact", False: "WRONG", None: "unchecked"}[ok]


def feed_or_partial(
    ctx,
    wl,
    penv,
    consumed,
    window,
    alive,
    max_running=1,
    chunks=None,
    rate=None,
    options=(),
    stream=None,
):
    """feed() (or stream.run() when a pipeline.Stream is given), with a stall or the time limit
    turned into a partial result: (FeedResult or None, events committed, seconds)."""
    chunks = chunks if chunks is not None else wl.chunks
    try:
        if stream:
            res = stream.run(consumed)
        else:
            res = pipeline.feed(
                ctx["bin"], penv, chunks, consumed, window, max_running, rate, alive, options
            )
        return res, sum(c.events for c in chunks), res.seconds
    except Incomplete as e:
        ctx["rep"].say("  INCOMPLETE: %s" % e)
        return None, e.consumed, e.t_end - e.t_first


def flatness_word(flat, growing):
    if flat is None:
        return "not judged (run under %.0f s)" % pipeline.MemorySampler.MIN_JUDGED_S
    return flat and "flat" or growing


def say_memory(rep, mem, key):
    for name, m in mem.items():
        rep.say(
            "    %-12s peak %6.1f MB; largest RSS first %.0f s %6.1f MB, last %.0f s %6.1f MB: %s"
            % (
                name,
                m["peak_mb"],
                m["window_s"],
                m["first_mb"],
                m["window_s"],
                m["last_mb"],
                flatness_word(m["flat"], "GROWING"),
            )
        )
    rep.figures[key + "_memory"] = mem


def say_cpu(rep, cpu, produce_cpu, seconds, backends=None):
    parts = ["%s %.1f" % (n, s) for n, s in sorted(cpu.items(), key=lambda x: -x[1])]
    rep.say(
        "    CPU seconds over %.1f s: %s, mni produce %.1f"
        % (seconds, ", ".join(parts), produce_cpu)
    )
    if backends:
        parts = ["%s %.2f" % (n, s) for n, s in sorted(backends.items(), key=lambda x: -x[1])]
        rep.say("      postgres by backend (application_name): %s" % ", ".join(parts))


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def log_notes(rep, procs):
    """What the workers' logs say went wrong: messages the mock cluster dropped before they
    were read (librdkafka's offset reset, our offset-gap warning), errors, failed ticks."""
    for p in procs.values():
        lost = p.log_lines("Offset out of range") + p.log_lines("offset gap")
        errors, ticks = p.log_lines('"level":"error"'), p.log_lines("tick failed")
        if lost or errors or ticks:
            rep.say(
                "    %s log: %d lost-message warnings, %d errors, %d failed ticks (%s)"
                % (p.name, lost, errors, ticks, os.path.relpath(p.log_path, REPO))
            )


def w2_warm_up(ctx, wl, penv, prog, alive, options, feed):
    """Sends W2's incident_opened and waits until the consumer has committed it, so that the
    clock starts with every consumer in its group; the steady producer that then feeds the
    chunks (pipeline.Stream, started first and sending it), or None when each chunk gets its own
    `mni produce` run (feed "runs")."""
    if feed == "runs":
        pipeline.produce(ctx["bin"], penv, wl.warmup, options)
        prog.wait_for(1, 120, alive)
        return None
    stream = pipeline.Stream(
        ctx["bin"],
        penv,
        wl.chunks,
        w2_window(wl),
        None,
        alive,
        options,
        preload=False,
    )
    stream.start()
    try:
        with open(wl.warmup, "rb") as f:
            stream.write(f.read())
        prog.wait_for(1, 120, lambda: (alive(), stream.check()))
    except BaseException:
        stream.stop()
        raise
    return stream


def run_w2_pipeline(ctx, wl):
    rep, env = ctx["rep"], ctx["env"]
    db = "bench_" + wl.name.replace("-", "_")
    conninfo = env.fresh(db)
    procs = pipeline.start_workers(env, db, ctx["bin"], os.path.join(ctx["logs"], wl.name))
    penv = env.process_env(db)

    def alive():
        for p in procs.values():
            p.check()

    prog = pipeline.Progress.offsets(conninfo, "mni-assess", "incident.accepted")
    perf = stream = None
    try:
        stream = w2_warm_up(ctx, wl, penv, prog, alive, (), W2_FEED)
        base = prog()
        pids = {p.name: p.pid for p in procs.values()}
        mem, cpu, ru = pipeline.MemorySampler(pids), pipeline.CpuMeter(env, pids), children_cpu()
        stmts = pipeline.Statements(env) if pipeline.STATEMENTS else None
        perf = pipeline.Perf(env, os.path.join(os.path.dirname(ctx["logs"]), "perf-%s.data" % db))
        # With MNI_BENCH_W2_FEED=runs, two runs of `mni produce` may overlap: manifests
        # commute, and one run at a time would add each run's start-up to the figure.
        res, events, seconds = feed_or_partial(
            ctx,
            wl,
            penv,
            lambda: prog() - base,
            w2_window(wl),
            alive,
            max_running=2,
            stream=stream,
        )
        produce_cpu, used, memory = children_cpu() - ru, cpu.stop(), mem.finish()
        if stmts:
            stmts.write(
                os.path.join(os.path.dirname(ctx["logs"]), "statements-%s.txt" % db), db, events
            )
    finally:
        if perf:
            perf.stop()
        if stream:
            stream.stop()
        prog.close()
        pipeline.stop_all(procs)
    records = wl.records if res else events * wl.records // wl.events
    rate = records / seconds
    ok, detail = (
        verify_w2(conninfo, wl)
        if res
        else (None, "incomplete: %s of %s records committed" % (fmt(records), fmt(wl.records)))
    )
    rep.say(
        "  mni, %5s clients: %9s records/s  %7.1f s  counts %s (%s)"
        % (fmt(len(wl.expect_per_client)), fmt(rate), seconds, exactness(ok), detail)
    )
    if res:
        rep.say(say_feed(res, wl))
    say_cpu(rep, used, produce_cpu, seconds, cpu.backends())
    say_memory(rep, memory, wl.name)
    log_notes(rep, procs)
    return {
        "rate": rate,
        "seconds": seconds,
        "exact": ok,
        "memory": memory,
        "cpu": dict(used, produce=produce_cpu),
        "cpu_backends": cpu.backends(),
    }


def w2_window(wl):
    """The harness's window for W2's mni feed, in manifests: none unless MNI_BENCH_W2_WINDOW."""
    return pipeline.WINDOW_BYTES // wl.max_event_bytes if W2_WINDOW else sys.maxsize


def say_feed(res, wl):
    window = (
        "window %d manifests" % w2_window(wl)
        if W2_WINDOW
        else "no window: mni produce and the workers pace themselves"
    )
    if W2_FEED == "runs":
        return "    mni produce: %d runs, median %.0f ms each; %s" % (
            len(res.launches),
            res.produce_seconds() * 1e3,
            window,
        )
    return (
        "    mni produce: one steady `mni produce --follow -`, %d chunks written, median write "
        "%.0f ms; %s" % (len(res.launches), res.produce_seconds() * 1e3, window)
    )


def run_floor(ctx, wl):
    rep = ctx["rep"]
    conninfo = ctx["env"].fresh("bench_floor", kafka=False)
    seconds, tokens = floor.run(conninfo, wl)
    ok, detail = verify_w2(conninfo, wl, case_counts=False)
    rate = tokens / seconds
    rep.say(
        "  database floor:    %9s records/s  %7.1f s  counts %s "
        "(COPY + set-wise merge, batches of %s, no Kafka)"
        % (fmt(rate), seconds, exactness(ok), fmt(floor.FLOOR_BATCH_TOKENS))
    )
    if not ok:
        rep.say("    " + detail)
    return {"rate": rate, "seconds": seconds, "exact": ok}


def run_token_merge(ctx):
    """bench/bench_manifest.c: assess's token merge module alone against its own baseline."""
    n = max(10_000, int(round(200_000 * SCALE / 10_000)) * 10_000)
    penv = dict(os.environ, MNI_PG_CONNINFO=ctx["env"].vars["MNI_PG_CONNINFO"])
    r = subprocess.run(
        [os.path.join(REPO, "build/rel/bench/bench_manifest"), str(n)],
        cwd=REPO,
        env=penv,
        capture_output=True,
        text=True,
    )
    ctx["rep"].say("  assess's token merge alone (bench/bench_manifest.c, no Kafka):")
    for line in (r.stdout + r.stderr).splitlines():
        ctx["rep"].say("    " + line)


def run_python(ctx, wl):
    rep, env = ctx["rep"], ctx["env"]
    db = "bench_python"
    conninfo = env.fresh(db)
    c = psycopg2.connect(conninfo)
    c.cursor().execute(
        "CREATE TABLE bench_progress (consumed bigint NOT NULL); "
        "INSERT INTO bench_progress VALUES (0)"
    )
    c.commit()
    c.close()
    penv = env.process_env(db)
    log_dir = os.path.join(ctx["logs"], "python")
    os.makedirs(log_dir, exist_ok=True)
    proc = pipeline.Process(
        "python",
        ["/usr/bin/python3", os.path.join(REPO, "bench/python_consumer.py"), "incident.events"],
        penv,
        os.path.join(log_dir, "python.log"),
    )
    prog = pipeline.Progress(conninfo, "SELECT consumed FROM bench_progress")
    stream = None
    try:
        # No mni-ingest in front of this consumer: mni produce's own pacing would wait for
        # it in vain; the harness's window against bench_progress does the pacing. The same
        # messages as W2's, sent by one `mni produce` run per chunk as before h/w2cpu, so that
        # this baseline's figure stays comparable with earlier runs (bench/README.md).
        stream = w2_warm_up(ctx, wl, penv, prog, proc.check, ["--no-pace"], "runs")
        base = prog()
        mem = pipeline.MemorySampler({"python": proc.pid})
        res, events, seconds = feed_or_partial(
            ctx,
            wl,
            penv,
            lambda: prog() - base,
            pipeline.WINDOW_BYTES // wl.max_event_bytes,
            proc.check,
            max_running=2,
            options=["--no-pace"],
            stream=stream,
        )
        memory = mem.finish()
    finally:
        if stream:
            stream.stop()
        prog.close()
        proc.stop()
    records = wl.records if res else events * wl.records // wl.events
    rate = records / seconds
    ok, detail = verify_w2(conninfo, wl, case_counts=False) if res else (None, "")
    rep.say(
        "  python consumer:   %9s records/s  %7.1f s  counts %s "
        "(the first %s records; one INSERT per record, commit per batch; peak %.0f MB)"
        % (fmt(rate), seconds, exactness(ok), fmt(wl.records), memory["python"]["peak_mb"])
    )
    if ok is False:
        rep.say("    " + detail)
    return {"rate": rate, "seconds": seconds, "exact": ok}


def run_w2(ctx, data_dir):
    rep = ctx["rep"]
    records = scaled(W2_RECORDS, 10_000, 10_000)
    rep.say(
        "\n== W2 manifests: %s person-token records of one incident, "
        "10%% of persons shared between clients" % fmt(records)
    )
    rep.say(
        "   `mni produce` -> mock cluster -> mni-ingest -> mni-assess -> PostgreSQL "
        "(mni-notify running), until the counts are committed"
    )
    wls = {}
    for clients in W2_CLIENTS:
        t0 = time.time()
        wl = workloads.w2(os.path.join(data_dir, "w2-%d" % clients), clients, records)
        wls[clients] = wl
        rep.say(
            "  data, %5s clients: %s manifests of %s tokens, %.0f MB of JSON in %d chunks, "
            "%s distinct persons (generated in %.1f s)"
            % (
                fmt(clients),
                fmt(wl.events),
                fmt(wl.records // wl.events),
                sum(c.json_bytes for c in wl.chunks) / 1e6,
                len(wl.chunks),
                fmt(wl.expect_distinct),
                time.time() - t0,
            )
        )
    big, small = wls[max(W2_CLIENTS)], wls[min(W2_CLIENTS)]
    out = {}
    if "floor" in ONLY:
        out["floor"] = run_floor(ctx, big)
        run_token_merge(ctx)
    if "w2" in ONLY:
        out["big"] = run_w2_pipeline(ctx, big)
        if SYNC_COMPARE:
            rep.say("  the same with pg.synchronous_commit = on (MNI_BENCH_SYNC_COMPARE=1):")
            before = os.environ.get("MNI_PG_SYNCHRONOUS_COMMIT")
            os.environ["MNI_PG_SYNCHRONOUS_COMMIT"] = "on"  # the workers' environment
            try:
                out["big_sync_on"] = run_w2_pipeline(ctx, big)
            finally:
                if before is None:
                    del os.environ["MNI_PG_SYNCHRONOUS_COMMIT"]
                else:
                    os.environ["MNI_PG_SYNCHRONOUS_COMMIT"] = before
            rep.say(
                "  synchronous_commit off against on, 1,000 clients: %.2fx"
                % (out["big"]["rate"] / out["big_sync_on"]["rate"])
            )
        out["small"] = run_w2_pipeline(ctx, small)
    if "python" in ONLY:
        out["python"] = run_python(ctx, workloads.prefix(big, PYTHON_SHARE))
    rep.figures["w2"] = {
        k: {kk: vv for kk, vv in v.items() if kk in ("rate", "seconds", "exact")}
        for k, v in out.items()
    }
    if "big" in out:
        b = out["big"]
        rep.target(
            "W2 end to end, %s clients" % fmt(max(W2_CLIENTS)),
            "%s records/s" % fmt(b["rate"]),
            ">= 100,000/s",
            b["rate"] >= T_W2,
        )
        if "floor" in out:
            r = b["rate"] / out["floor"]["rate"]
            rep.target(
                "W2 against the database floor",
                "%.2f (%s/s)" % (r, fmt(out["floor"]["rate"])),
                ">= 0.6",
                r >= T_W2_FLOOR,
            )
        if "python" in out:
            r = b["rate"] / out["python"]["rate"]
            rep.target(
                "W2 against the Python consumer",
                "%.1fx (%s/s)" % (r, fmt(out["python"]["rate"])),
                ">= 20x",
                r >= T_W2_PYTHON,
            )
        exact = b["exact"] and out["small"]["exact"]
        rep.target(
            "W2 counts exact (1,000 and 10 clients)",
            "%s, %s" % (exactness(b["exact"]), exactness(out["small"]["exact"])),
            "exact",
            exact,
        )
        r = b["rate"] / out["small"]["rate"]
        rep.target(
            "W2 %s clients against %s" % (fmt(max(W2_CLIENTS)), fmt(min(W2_CLIENTS))),
            "%.2f (%s/s at %s)" % (r, fmt(out["small"]["rate"]), fmt(min(W2_CLIENTS))),
            ">= 0.8",
            r >= T_W2_CLIENTS,
        )
        memory_targets(rep, "W2", [b["memory"], out["small"]["memory"]])


def memory_targets(rep, label, memories):
    for name in memories[0]:
        peak = max(m[name]["peak_mb"] for m in memories)
        judged = [m[name]["flat"] for m in memories if m[name]["flat"] is not None]
        flat = all(judged) if judged else None
        rep.target(
            "%s %s resident memory" % (label, name),
            "%.0f MB peak, %s" % (peak, flatness_word(flat, "growing")),
            "< 200 MB, flat" if flat is not None else "< 200 MB",
            peak < T_RSS_MB and flat is not False,
        )


# ---- W3 ----


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def commit_times(conninfo, table="case_events"):
    """{event_id: commit time (epoch seconds)} of every W3 event assess applied (ingest accepted
    with table="event_log"), and how."""
    db = psycopg2.connect(conninfo)
    cur = db.cursor()
    try:
        cur.execute(
            "SELECT event_id, extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 "
            "FROM %s WHERE event_id ~ '^w3-[0-9]{4}-'" % table
        )
        how = (
            "commit time of the transaction that wrote the event's case_events row "
            "(track_commit_timestamp)"
        )
    except psycopg2.Error:
        db.rollback()
        cur.execute(
            "SELECT event_id, extract(epoch FROM applied_at)::float8 "
            "FROM case_events WHERE event_id ~ '^w3-[0-9]{4}-'"
        )
        how = "case_events.applied_at (the start of the applying transaction: an underestimate)"
    out = dict(cur.fetchall())
    db.close()
    return out, how


def kafka_times(bootstrap, topic, wanted):
    """{event_id: CreateTime (epoch seconds)} of the messages of topic whose mni.event_id header
    is in wanted: when the producer (mni produce, or ingest forwarding) produced each one."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "bench-hops", "enable.auto.commit": False}
    )
    parts = c.list_topics(topic, timeout=10).topics[topic].partitions
    ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    out, done = {}, {p for p, e in ends.items() if e == 0}
    deadline = time.time() + 60
    while len(done) < len(parts) and time.time() < deadline:
        for m in c.consume(10000, 0.5):
            if m.error():
                continue
            if m.offset() + 1 >= ends[m.partition()]:
                done.add(m.partition())
            eid = dict(m.headers() or []).get("mni.event_id")
            if eid and eid.decode() in wanted:
                out[eid.decode()] = m.timestamp()[1] / 1e3
    c.close()
    return out


def delays(commits, res, where):
    """Sorted delays (seconds) from the scheduled time of each event's run (its launch, or its
    write into the steady producer; where: event id -> index of its run in res) to its commit
    time."""
    sched = [x.t_sched for x in res.launches]
    return sorted(
        commits[e] - sched[i] for e, i in where.items() if e in commits and commits[e] is not None
    )


def wait_for_group(procs, alive, settle=2.0, limit=120):
    """Until every mni-assess instance has logged an assignment and none has logged another for
    `settle` seconds (the group's rebalances are over); returns at once with one instance."""
    assess = [p for n, p in procs.items() if n.startswith("assess")]
    if len(assess) < 2:
        return
    counts, since, t_end = None, time.time(), time.time() + limit
    while time.time() < t_end:
        alive()
        now = [p.log_lines('"partition assigned"') for p in assess]
        if now != counts:
            counts, since = now, time.time()
        elif min(now) > 0 and time.time() - since >= settle:
            return
        time.sleep(0.1)
    raise pipeline.BenchError("the mni-assess instances did not settle in their group")


def run_w3(ctx, data_dir):
    rep, env = ctx["rep"], ctx["env"]
    incidents = scaled(W3_INCIDENTS, workloads.W3_BLOCK, 2 * workloads.W3_BLOCK)
    wl = workloads.w3(os.path.join(data_dir, "w3"), incidents)
    rep.say(
        "\n== W3 lifecycle: %s incidents of 6 events "
        "(opened, 2 exposure counts, facts update, response step, report filed)%s"
        % (
            fmt(incidents),
            "; %d mni-assess instances in one group" % ASSESS_INSTANCES
            if ASSESS_INSTANCES > 1
            else "",
        )
    )
    chunks_a = wl.chunks[: len(wl.chunks) // 2]
    where_a = {e: i for i, c in enumerate(chunks_a) for e in workloads.event_ids(c)}
    conninfo = env.fresh("bench_w3")
    procs = pipeline.start_workers(
        env,
        "bench_w3",
        ctx["bin"],
        os.path.join(ctx["logs"], "w3"),
        assess_instances=ASSESS_INSTANCES,
    )
    penv = env.process_env("bench_w3")

    def alive():
        for p in procs.values():
            p.check()

    prog = pipeline.Progress.offsets(conninfo, "mni-assess", "incident.accepted")
    window = pipeline.WINDOW_BYTES // wl.max_event_bytes
    res_b = None
    try:
        pipeline.produce(ctx["bin"], penv, wl.warmup)
        prog.wait_for(1, 120, alive)
        wait_for_group(procs, alive)
        base = prog()
        pids = {p.name: p.pid for p in procs.values()}
        stmts = pipeline.Statements(env) if pipeline.STATEMENTS else None
        mem, cpu, ru, t0 = (
            pipeline.MemorySampler(pids),
            pipeline.CpuMeter(env, pids),
            children_cpu(),
            time.time(),
        )
        res_a, events_a, seconds_a = feed_or_partial(
            ctx, wl, penv, lambda: prog() - base, window, alive, max_running=2, chunks=chunks_a
        )
        rate_a = events_a / seconds_a
        # The target's rate when the pipeline sustains it (bench/README.md), else a share of
        # what it sustained, so that the queue stays bounded.
        rate_b = T_W3 if rate_a >= T_W3 else W3_DELAY_LOAD * rate_a
        if res_a:
            # The delay phase: the second half's incidents in runs of one period's worth of
            # events at the offered rate (whole incidents, so runs may overlap).
            per_run = max(1, int(round(rate_b * W3_RUN_PERIOD / 6)))
            limit = int(max(10, W3_DELAY_SECONDS * SCALE) * rate_b)
            first_b = len(chunks_a) * workloads.W3_BLOCK
            chunks_b, where_b = workloads.w3_runs(
                os.path.join(data_dir, "w3-runs"), first_b, incidents, per_run, limit
            )
            # One steady `mni produce --follow --no-pace -`, started and warmed up (its broker
            # connection and metadata) before the schedule begins; the window still guards.
            stream = pipeline.Stream(
                ctx["bin"], penv, chunks_b, window, rate_b, alive, ["--no-pace"]
            )
            stream.start()
            with open(wl.warmup_stream, "rb") as f:
                stream.write(f.read())
            prog.wait_for(prog() + 1, 120, lambda: (alive(), stream.check()))
            base_b = prog()
            res_b, events_b, seconds_b = feed_or_partial(
                ctx,
                wl,
                penv,
                lambda: prog() - base_b,
                window,
                alive,
                chunks=chunks_b,
                stream=stream,
            )
        produce_cpu, used, memory = children_cpu() - ru, cpu.stop(), mem.finish()
        total_seconds = time.time() - t0
        if stmts:
            stmts.write(
                os.path.join(os.path.dirname(ctx["logs"]), "statements-w3.txt"),
                "bench_w3",
                prog() - base,
            )
    finally:
        prog.close()
        pipeline.stop_all(procs)
    rep.say(
        "  throughput: %s events, as fast as the window allows (%s events; %d runs of %s): "
        "%s events/s (%.1f s)%s"
        % (
            fmt(events_a),
            fmt(window),
            len(chunks_a),
            fmt(chunks_a[0].events),
            fmt(rate_a),
            seconds_a,
            "" if res_a else " INCOMPLETE",
        )
    )
    out = {"rate": rate_a, "seconds": seconds_a}
    p99 = float("inf")
    if res_b:
        commits, how = commit_times(conninfo)
        d_b, d_a = delays(commits, res_b, where_b), delays(commits, res_a, where_a)
        p50, p95, p99 = (percentile(d_b, p) for p in (50, 95, 99))
        achieved = events_b / seconds_b
        rep.say(
            "  delay: %s events offered at %s/s (open loop, achieved %s/s): "
            "p50 %.0f, p95 %.0f, p99 %.0f, max %.0f ms"
            % (
                fmt(events_b),
                fmt(rate_b),
                fmt(achieved),
                p50 * 1e3,
                p95 * 1e3,
                p99 * 1e3,
                d_b[-1] * 1e3 if d_b else float("nan"),
            )
        )
        rep.say(
            "    measured for %s events from the scheduled time their run was written into one"
            % fmt(len(d_b))
        )
        rep.say(
            "    steady `mni produce --follow --no-pace -` (%s events every %.0f ms, median write"
            " %.1f ms)" % (fmt(6 * per_run), 6e3 * per_run / rate_b, res_b.produce_seconds() * 1e3)
        )
        rep.say("    to the %s" % how)
        rep.say(
            "    (a `mni produce` launched per run instead, as the throughput phase does: median"
            " %.0f ms for %s events, start-up included)"
            % (res_a.produce_seconds() * 1e3, fmt(chunks_a[0].events))
        )
        rep.say(
            "    (throughput phase, from each run's start, window's backlog included: "
            "p95 %.0f ms, p99 %.0f ms)" % (percentile(d_a, 95) * 1e3, percentile(d_a, 99) * 1e3)
        )
        # Where the delay goes: ingest's commit of the event (its event_log row) splits it
        # into produce -> ingest and ingest -> assess.
        accepted, _ = commit_times(conninfo, "event_log")
        d_in = delays(accepted, res_b, where_b)
        d_as = sorted(
            commits[e] - accepted[e] for e in where_b if e in commits and e in accepted
        )
        if d_in and d_as:
            rep.say(
                "    split at ingest's commit (event_log row): produce -> ingest p50 %.0f, "
                "p99 %.0f ms; ingest -> assess p50 %.0f, p99 %.0f ms"
                % tuple(1e3 * percentile(d, p) for d in (d_in, d_as) for p in (50, 99))
            )
            out.update(ingest_p99=percentile(d_in, 99), assess_p99=percentile(d_as, 99))
        if os.environ.get("MNI_BENCH_HOPS") == "1":
            boot = penv["MNI_KAFKA_BOOTSTRAP"]
            sent = kafka_times(boot, "incident.events", where_b)
            fwd = kafka_times(boot, "incident.accepted", where_b)
            sched = {e: res_b.launches[i].t_sched for e, i in where_b.items()}
            hops = [
                ("scheduled -> produced", sched, sent),
                ("produced -> ingest forwarded", sent, fwd),
                ("forwarded -> ingest committed", fwd, accepted),
                ("ingest committed -> assess committed", accepted, commits),
            ]
            for name, a_, b_ in hops:
                d = sorted(b_[e] - a_[e] for e in where_b if e in a_ and e in b_)
                rep.say(
                    "    hop %-38s p50 %5.0f, p99 %5.0f ms (%d events)"
                    % (name, 1e3 * percentile(d, 50), 1e3 * percentile(d, 99), len(d))
                )
        out.update(offered=rate_b, achieved=achieved, p50=p50, p95=p95, p99=p99, measured=len(d_b))
    say_cpu(rep, used, produce_cpu, total_seconds, cpu.backends())
    say_memory(rep, memory, "w3")
    log_notes(rep, procs)
    rep.figures["w3"] = out
    rep.target("W3 events/s", "%s/s" % fmt(rate_a), ">= 10,000/s", rate_a >= T_W3)
    rep.target(
        "W3 p99 delay at 10,000 events/s",
        "%.0f ms at %s/s" % (p99 * 1e3, fmt(rate_b)),
        "< 500 ms",
        rate_b >= T_W3 and p99 < T_W3_P99,
    )
    memory_targets(rep, "W3", [memory])


# ---- main ----


def main():
    rep = Report()
    out_dir = os.path.join(REPO, "build/bench")
    data_dir = os.path.join(out_dir, "data")
    os.makedirs(out_dir, exist_ok=True)
    started = time.time()
    rep.say(
        "== mni benchmarks, scale %g%s, %s, revision %s"
        % (
            SCALE,
            " (quick)" if SCALE < 1 else "",
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            revision(),
        )
    )
    rep.say("   machine: %s" % machine())
    rep.say(
        "   Kafka figures come from librdkafka's mock cluster (mni-mockbroker), not a real broker: "
        "it keeps"
    )
    rep.say(
        "   ~5 MiB per partition, so the producer is paced to stay within 4 MiB of the last "
        "consumer's commits."
    )
    rc = 0
    if "w1" in ONLY:
        rep.say("\n== W1 rule core (bench/bench_rules.c, one core)")
        run_w1(rep)
    if ONLY & {"floor", "w2", "python", "w3"}:
        env = pipeline.Env(
            REPO,
            os.environ.get("MNI_ENV_DIR", os.path.join(REPO, ".mni-env-bench")),
            os.path.join(REPO, "bin"),
        )
        env.up()
        ctx = {
            "rep": rep,
            "env": env,
            "bin": os.environ.get("MNI_BENCH_BIN", os.path.join(REPO, "bin")),
            "logs": os.path.join(out_dir, "logs"),
        }
        shutil.rmtree(ctx["logs"], ignore_errors=True)
        try:
            if ONLY & {"floor", "w2", "python"}:
                run_w2(ctx, data_dir)
            if "w3" in ONLY:
                run_w3(ctx, data_dir)
        except (BenchError, psycopg2.Error, OSError) as e:
            rep.say("\nbench: the harness failed: %s" % str(e).strip())
            rc = 1
        finally:
            env.down()
            if os.environ.get("MNI_BENCH_KEEP") != "1":
                shutil.rmtree(data_dir, ignore_errors=True)
    rep.say("\n== Targets (a MISS does not fail the build)")
    for name, figure, goal, ok in rep.targets:
        rep.say("  %-44s %-36s %-18s %s" % (name, figure, goal, "PASS" if ok else "MISS"))
    rep.say("\n   total %.0f s; worker logs in build/bench/logs/" % (time.time() - started))
    with open(os.path.join(out_dir, "last-run.txt"), "w") as f:
        f.write("\n".join(rep.lines) + "\n")
    with open(os.path.join(out_dir, "last-run.json"), "w") as f:
        json.dump(
            {
                "scale": SCALE,
                "figures": rep.figures,
                "targets": [
                    dict(zip(("name", "figure", "target", "pass"), t)) for t in rep.targets
                ],
            },
            f,
            indent=1,
            default=str,
        )
    return rc


if __name__ == "__main__":
    sys.exit(main())
