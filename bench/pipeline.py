"""Driving the real pipeline for `make bench`: the embedded environment, the workers, paced
producing through `mni produce`, progress, memory and CPU of each process.

Environment. One private scripts/mni-env (its own MNI_ENV_DIR) for the whole run, its
PostgreSQL created with track_commit_timestamp = on (MNI_PG_SETTINGS), so that the commit time
of every case_events row is known exactly (W3's delays), and shared_buffers = 1GB, room for the
indexes of W2's two person sets (5,000,000 tokens; PostgreSQL's default 128 MB made W2 and its
floor evict and re-read them: bench/README.md "shared_buffers for W2"). Each workload gets a fresh database
(created and migrated with `mni db migrate`) and a fresh mock cluster (the broker is stopped and
`mni-env up` starts a new one), so no workload inherits another's topics, offsets or tables.

Pacing. librdkafka's mock cluster keeps about 5 MiB per partition and silently drops the oldest
message sets beyond that, consumed or not (devenv/mockbroker.c). A consumer further behind than
that loses events. So the harness keeps the JSON bytes of what it has sent but the last consumer
(mni-assess on incident.accepted, or the Python baseline) has not yet committed under
WINDOW_BYTES (4 MiB): a chunk of events is sent only when it fits in the window, either by a
`mni produce` run of its own (Feed: W3's throughput phase) or written into one long-lived `mni
produce --follow -` through a pipe, as a producer system would (Stream: W2, its Python baseline
and W3's delay phase). The JSON of an event is larger than its Avro, the committed offset is
behind the fetch position, and one partition never holds more than the whole window, so the
bound is conservative; ingest's copy on incident.accepted is bounded by the same window.
Progress is the sum of the consumer's next offsets in consumer_offsets, which the workers
advance in each batch's transaction: committed, not merely read. `mni produce` paces itself as
well, against mni-ingest only (cli/produce_pace.h); the window here also covers assess, which
reads what ingest forwards. For the Python baseline, which has no mni-ingest in front of it,
and for W3's delay phase, the producer runs with --no-pace and the window alone. Optionally a
rate (events/s) spaces the chunks in time as well (open loop: each chunk has its scheduled
time, and a late one is measured from the schedule, not from when it was sent).

Memory. A sampler thread reads VmRSS of each worker from /proc every 0.25 s and VmHWM (the
kernel's peak) at the end; flatness compares the largest RSS of the first minute with that of
the last minute (thirds of the run when it is shorter than three minutes). A run shorter than
MIN_JUDGED_S is not judged: its first third ends before the workers' first full batches (a
quick W3's mni-notify read 50 MB in its first 2 s and 72 MB after, flat at 73-75 MB for the
whole of every full-size run), so "growing" there says nothing about a leak.
"""

import fcntl
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

import psycopg2
import psycopg2.extensions

# MNI_BENCH_WINDOW_MIB: the window in MiB, to measure how it bounds a rate (bench/README.md).
WINDOW_BYTES = int(float(os.environ.get("MNI_BENCH_WINDOW_MIB", "4")) * (1 << 20))
STALL_SECONDS = float(os.environ.get("MNI_BENCH_STALL_SECONDS", "90"))
MAX_SECONDS = float(os.environ.get("MNI_BENCH_MAX_SECONDS", "1800"))
# How often a Feed reads the consumers' progress (and reaps and launches `mni produce` runs).
# 20 ms, not 5: at 5 ms the poll and its backend took ~1.2 CPU seconds of a 13 s W2 run from the
# two cores the pipeline runs on (bench/README.md, h/crit); the end of a run is seen at most
# 20 ms late, which counts against mni, never for it.
POLL_SECONDS = 0.02
STATEMENTS = os.environ.get("MNI_BENCH_STATEMENTS") == "1"
# Further postgresql.conf lines for the bench cluster (e.g. "shared_buffers = 2GB"), to measure
# a setting against the default in alternated runs.
PG_SETTINGS = os.environ.get("MNI_BENCH_PG_SETTINGS", "").replace(";", "\n")
WORKERS = ("ingest", "assess", "notify")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


class Incomplete(BenchError):
    """A feed that did not finish: the consumer committed nothing for STALL_SECONDS, or the
    run took longer than MAX_SECONDS. consumed of total events when it gave up at t_end, the
    first chunk having been sent at t_first."""

    def __init__(self, why, consumed, total, t_first, t_end):
        super().__init__("%s at %d of %d events" % (why, consumed, total))
        self.consumed, self.total, self.t_first, self.t_end = consumed, total, t_first, t_end


# ---- environment ----


class Env:
    """The private embedded environment (scripts/mni-env) of one bench run."""

    def __init__(self, repo, env_dir, bin_dir):
        self.repo, self.env_dir, self.bin_dir = repo, env_dir, bin_dir
        self.vars = {}

    def _mni_env(self, *args):
        env = dict(os.environ, MNI_ENV_DIR=self.env_dir, MNI_BIN=self.bin_dir)
        env["MNI_PG_SETTINGS"] = "track_commit_timestamp = on\nshared_buffers = 1GB"
        if PG_SETTINGS:
            env["MNI_PG_SETTINGS"] += "\n" + PG_SETTINGS
        if STATEMENTS:
            env["MNI_PG_SETTINGS"] += (
                "\nshared_preload_libraries = 'pg_stat_statements'"
                "\npg_stat_statements.track = all"
            )
        r = subprocess.run(
            [os.path.join(self.repo, "scripts/mni-env"), *args],
            env=env,
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            raise BenchError(
                "mni-env %s failed: %s" % (" ".join(args), (r.stderr or r.stdout).strip())
            )

    def up(self):
        self._mni_env("up")
        self.vars = {}
        with open(os.path.join(self.env_dir, "env")) as f:
            for m in re.finditer(r"^export (\w+)='([^']*)'$", f.read(), re.M):
                self.vars[m.group(1)] = m.group(2)

    def down(self):
        self._mni_env("down")

    def conninfo(self, dbname):
        return psycopg2.extensions.make_dsn(self.vars["MNI_PG_CONNINFO"], dbname=dbname)

    def process_env(self, dbname):
        env = dict(
            os.environ,
            MNI_PG_CONNINFO=self.conninfo(dbname),
            MNI_KAFKA_BOOTSTRAP=self.vars["MNI_KAFKA_BOOTSTRAP"],
        )
        # The bench's workers and the Python baseline share the local schema id table.
        env.pop("MNI_SCHEMA_REGISTRY_URL", None)
        return env

    def broker_pid(self):
        with open(os.path.join(self.env_dir, "mockbroker.pid")) as f:
            return int(f.read().strip())

    def postmaster_pid(self):
        base = os.path.join(self.env_dir, "pg")
        path_file = os.path.join(self.env_dir, "pg.path")
        if os.path.exists(path_file):
            with open(path_file) as f:
                base = f.read().strip()
        with open(os.path.join(base, "data", "postmaster.pid")) as f:
            return int(f.readline())

    def restart_broker(self):
        """A new, empty mock cluster (the one mni-env started is stopped by its pid)."""
        pid = self.broker_pid()
        os.kill(pid, signal.SIGTERM)
        for _ in range(300):
            if not os.path.exists("/proc/%d" % pid):
                break
            time.sleep(0.05)
        else:
            raise BenchError("mni-mockbroker (pid %d) did not stop" % pid)
        self.up()

    def fresh(self, dbname, kafka=True):
        """A new database `dbname` with the mni schema (and a new mock cluster); its conninfo.
        The databases of earlier workloads (bench_*) are dropped first: a plain DROP DATABASE,
        which stops an autovacuum worker in its way by itself (FORCE would need the right to
        signal the superuser's processes, which the mni role has not)."""
        admin = psycopg2.connect(self.vars["MNI_PG_CONNINFO"], dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'")
            for (old,) in cur.fetchall():
                cur.execute("DROP DATABASE %s" % old)
            cur.execute("CREATE DATABASE %s" % dbname)
        admin.close()
        if kafka:
            self.restart_broker()
        r = subprocess.run(
            [os.path.join(self.bin_dir, "mni"), "db", "migrate"],
            env=self.process_env(dbname),
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            raise BenchError("mni db migrate: %s" % r.stderr.strip())
        return self.conninfo(dbname)


class Statements:
    """The statements PostgreSQL ran over a timed part, ranked by total time (pg_stat_statements,
    loaded when MNI_BENCH_STATEMENTS=1; track = all, so statements inside functions and
    triggers are listed too, marked nested, and their time is part of their caller's). As the
    superuser over the private socket (trust), since the extension is the superuser's."""

    def __init__(self, env):
        dsn = psycopg2.extensions.parse_dsn(env.vars["MNI_PG_CONNINFO"])
        self.conn = psycopg2.connect(
            host=dsn["host"], port=dsn["port"], user="postgres", dbname="postgres"
        )
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            cur.execute("SELECT pg_stat_statements_reset()")

    def write(self, path, dbname, events):
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT toplevel, calls, total_exec_time, rows, "
                "regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = %s) "
                "ORDER BY total_exec_time DESC",
                (dbname,),
            )
            rows = cur.fetchall()
        self.conn.close()
        top = sum(r[2] for r in rows if r[0])
        with open(path, "w") as f:
            f.write(
                "%d events; top-level statements %.0f ms in all, %.3f ms/event\n"
                % (events, top, top / max(events, 1))
            )
            f.write("  ms/event  share  calls/event  rows/call  statement\n")
            for toplevel, calls, ms, nrows, query in rows:
                f.write(
                    "%10.4f %5.1f%% %11.3f %10.1f  %s%s\n"
                    % (
                        ms / max(events, 1),
                        100 * ms / max(top, 1e-9),
                        calls / max(events, 1),
                        nrows / max(calls, 1),
                        "" if toplevel else "(nested) ",
                        query[:400],
                    )
                )


# ---- processes ----


class Process:
    """A process of the bench (a worker or the Python baseline), its output in a log file."""

    def __init__(self, name, argv, env, log_path):
        self.name, self.log_path = name, log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def check(self):
        if self.proc.poll() is not None:
            raise BenchError(
                "%s exited with status %d (log: %s)"
                % (self.name, self.proc.returncode, self.log_path)
            )

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def log_lines(self, pattern):
        with open(self.log_path, errors="replace") as f:
            return sum(1 for line in f if pattern in line)


def start_workers(env, dbname, bin_dir, log_dir, names=WORKERS, assess_instances=1):
    """The workers, each under its name; assess_instances > 1 adds mni-assess instances of the
    same consumer group, named assess-2, assess-3, ..."""
    os.makedirs(log_dir, exist_ok=True)
    penv = env.process_env(dbname)
    programs = {n: n for n in names}
    if "assess" in names:
        programs.update({"assess-%d" % k: "assess" for k in range(2, assess_instances + 1)})
    return {
        n: Process(
            "mni-" + n,
            [os.path.join(bin_dir, "mni-" + prog)],
            penv,
            os.path.join(log_dir, n + ".log"),
        )
        for n, prog in programs.items()
    }


def stop_all(procs):
    for p in procs.values():
        p.stop()


class Progress:
    """Messages a consumer group has committed on a topic (sum of next offsets), via
    consumer_offsets, or any one-number query."""

    def __init__(self, conninfo, sql, args=()):
        self.db = psycopg2.connect(conninfo)
        self.db.autocommit = True
        self.cur = self.db.cursor()
        # Prepared once: the harness polls every POLL_SECONDS, and parsing and planning the query each
        # time cost ~7% of PostgreSQL's CPU in a W2 run (perf), taken from the pipeline it
        # measures.
        n = sql.count("%s")
        params = tuple("$%d" % (i + 1) for i in range(n))
        self.cur.execute("PREPARE bench_progress AS " + sql % params)
        self.sql = "EXECUTE bench_progress" + (" (%s)" % ", ".join(["%s"] * n) if n else "")
        self.args = args

    @classmethod
    def offsets(cls, conninfo, group, topic):
        return cls(
            conninfo,
            "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets "
            "WHERE group_id = %s AND topic = %s",
            (group, topic),
        )

    def __call__(self):
        self.cur.execute(self.sql, self.args)
        return int(self.cur.fetchone()[0])

    def wait_for(self, n, timeout, alive=lambda: None):
        deadline = time.time() + timeout
        while self() < n:
            alive()
            if time.time() > deadline:
                raise BenchError(
                    "warm-up: consumer did not commit %d message(s) in %.0f s" % (n, timeout)
                )
            time.sleep(0.02)

    def close(self):
        self.db.close()


def produce(bin_dir, env, path, options=()):
    """One `mni produce [OPTIONS] FILE` run, to completion."""
    argv = [os.path.join(bin_dir, "mni"), "produce", *options, path]
    r = subprocess.run(argv, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError("mni produce %s: %s" % (path, r.stderr.strip()))


class Launch:
    """One `mni produce` run of chunk `index`: when it was due, started and ended."""

    def __init__(self, index, events, t_sched, t_launch, proc, errors):
        self.index, self.events, self.proc, self.errors = index, events, proc, errors
        self.t_sched, self.t_launch, self.t_exit = t_sched, t_launch, None


class FeedResult:
    def __init__(self, launches, t_first, t_done):
        self.launches, self.t_first, self.t_done = launches, t_first, t_done

    @property
    def seconds(self):
        return self.t_done - self.t_first

    def produce_seconds(self):
        """Median wall time of one `mni produce` run."""
        d = sorted(x.t_exit - x.t_launch for x in self.launches)
        return d[len(d) // 2] if d else 0.0


class Feed:
    """Sends chunks with `mni produce` (see the module comment on pacing) until consumed()
    counts every event of them; consumed() is relative to the first chunk. At most
    max_running runs at once; with rate (events/s), run i is due when the events before it
    are due at that rate from the first run's start."""

    def __init__(
        self, bin_dir, penv, chunks, consumed, window_events, max_running, rate, alive, options
    ):
        self.argv = [os.path.join(bin_dir, "mni"), "produce", *options]
        self.penv, self.chunks, self.consumed, self.alive = penv, chunks, consumed, alive
        self.window = max(window_events, max(c.events for c in chunks))
        self.max_running, self.rate = max_running, rate
        self.total = sum(c.events for c in chunks)
        self.launches, self.running = [], []
        self.next, self.sent, self.t_first = 0, 0, None

    def run(self):
        try:
            return self._loop()
        finally:
            for x in self.running:  # only when giving up: runs in flight are of no use now
                x.proc.kill()
                x.proc.wait()
                x.errors.close()

    def _loop(self):
        last_c, last_t = -1, time.time()
        while True:
            now = time.time()
            self._reap(now)
            c = self.consumed()
            if c >= self.total and self.next == len(self.chunks) and not self._busy():
                return FeedResult(self.launches, self.t_first, now)
            self.alive()
            if c != last_c:
                last_c, last_t = c, now
            elif now - last_t > STALL_SECONDS and self.sent > c:
                why = "no progress for %.0f s" % (now - last_t)
                raise Incomplete(why, c, self.total, self.t_first, now)
            if self.t_first is not None and now - self.t_first > MAX_SECONDS:
                why = "stopped after %.0f s (MNI_BENCH_MAX_SECONDS)" % MAX_SECONDS
                raise Incomplete(why, c, self.total, self.t_first, now)
            while self._may_launch(c, now):
                self._launch(now)
            time.sleep(POLL_SECONDS)

    def _busy(self):
        return bool(self.running)

    def _reap(self, now):
        for x in list(self.running):
            rc = x.proc.poll()
            if rc is None:
                continue
            x.t_exit = now
            self.running.remove(x)
            x.errors.seek(0)
            text = x.errors.read().decode(errors="replace").strip()
            x.errors.close()
            if rc != 0:
                raise BenchError("mni produce %s: %s" % (self.chunks[x.index].path, text))

    def _due(self, now):
        if self.t_first is None or self.rate is None:
            return now
        return self.t_first + self.sent / self.rate

    def _may_launch(self, consumed, now):
        if self.next == len(self.chunks) or len(self.running) >= self.max_running:
            return False
        if self.sent + self.chunks[self.next].events - consumed > self.window:
            return False
        return now >= self._due(now)

    def _launch(self, now):
        chunk = self.chunks[self.next]
        due = self._due(now)
        if self.t_first is None:
            self.t_first = due
        errors = tempfile.TemporaryFile()
        proc = subprocess.Popen(
            self.argv + [chunk.path], env=self.penv, stdout=subprocess.DEVNULL, stderr=errors
        )
        x = Launch(self.next, chunk.events, due, time.time(), proc, errors)
        self.launches.append(x)
        self.running.append(x)
        self.sent += chunk.events
        self.next += 1


class Stream(Feed):
    """Writes chunks, each at its scheduled time (rate) and within the window, into ONE
    long-lived `mni produce --follow OPTIONS -` through a pipe, as a producer system would,
    until consumed() counts every event of them. start() launches it (and may send warm-up lines
    first: write()); run() feeds the chunks, closes the pipe after the last one and checks that
    the producer ended well. Each chunk's Launch records when it was due (t_sched), when its
    write began (t_launch) and ended (t_exit)."""

    def __init__(
        self, bin_dir, penv, chunks, window_events, rate, alive, options, preload=True
    ):
        super().__init__(bin_dir, penv, chunks, None, window_events, 1, rate, alive, options)
        self.argv += ["--follow", "-"]
        # preload: every chunk read beforehand, so that a write's time is the pipe's alone (W3's
        # delays); else each chunk is read when its turn comes (W2: hundreds of MB at full size).
        self.data = None
        if preload:
            self.data = []
            for c in chunks:
                with open(c.path, "rb") as f:
                    self.data.append(f.read())
        self.proc = self.errors = None

    def start(self):
        self.errors = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            self.argv,
            env=self.penv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self.errors,
            bufsize=0,
        )
        try:  # room for a few runs, so that a write rarely waits for the producer to read
            fcntl.fcntl(self.proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
        except OSError:
            pass

    def write(self, data):
        self.proc.stdin.write(data)

    def stop(self):
        """Kills the producer when it still runs (a run given up) and releases its files."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.errors:
            self.errors.close()

    def run(self, consumed):
        self.consumed = consumed
        try:
            return self._loop()
        finally:
            if self.proc.poll() is None:  # only when giving up
                self.proc.kill()
                self.proc.wait()
            self.errors.close()

    def _busy(self):
        return self.proc.poll() is None

    def check(self):
        """Raises BenchError when the producer ended before its input did, or failed."""
        self._reap(time.time())

    def _reap(self, now):
        rc = self.proc.poll()
        if rc is None:
            return
        if rc != 0 or self.next < len(self.chunks):
            self.errors.seek(0)
            text = self.errors.read().decode(errors="replace").strip()
            raise BenchError("mni produce --follow: exit %d: %s" % (rc, text))

    def _launch(self, now):
        due = self._due(now)
        if self.t_first is None:
            self.t_first = due
        x = Launch(self.next, self.chunks[self.next].events, due, time.time(), None, None)
        if self.data is not None:
            self.write(self.data[self.next])
        else:
            with open(self.chunks[self.next].path, "rb") as f:
                self.write(f.read())
        x.t_exit = time.time()
        self.launches.append(x)
        self.sent += x.events
        self.next += 1
        if self.next == len(self.chunks):
            self.proc.stdin.close()  # the producer delivers what it read and exits


def feed(
    bin_dir,
    penv,
    chunks,
    consumed,
    window_events,
    max_running=1,
    rate=None,
    alive=None,
    options=(),
):
    """Feed(...).run(); options go to every `mni produce` run."""
    alive = alive or (lambda: None)
    return Feed(
        bin_dir, penv, chunks, consumed, window_events, max_running, rate, alive, options
    ).run()


# ---- memory and CPU ----


def proc_status_kb(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler(threading.Thread):
    """RSS of named processes over time (see the module comment)."""

    PERIOD = 0.25
    MIN_JUDGED_S = 30.0

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids = pids
        self.samples = {n: [] for n in pids}
        self.halt = threading.Event()
        self.t0 = time.time()
        self.start()

    def run(self):
        while not self.halt.is_set():
            t = time.time()
            for n, pid in self.pids.items():
                self.samples[n].append((t, proc_status_kb(pid, "VmRSS")))
            self.halt.wait(self.PERIOD)

    def finish(self):
        """{name: {peak_mb, first_mb, last_mb, flat}}; call while the processes still run.
        flat is None when the run was too short to judge (MIN_JUDGED_S)."""
        self.halt.set()
        self.join()
        t1 = time.time()
        span = t1 - self.t0
        window = 60.0 if span >= 180 else span / 3
        out = {}
        for n, pid in self.pids.items():
            s = self.samples[n]
            first = max([kb for t, kb in s if t - self.t0 <= window] or [0])
            last = max([kb for t, kb in s if t1 - t <= window] or [0])
            peak = max([proc_status_kb(pid, "VmHWM")] + [kb for _, kb in s])
            out[n] = {
                "peak_mb": peak / 1024,
                "first_mb": first / 1024,
                "last_mb": last / 1024,
                "window_s": window,
                # Flat: the last window's largest RSS within 25% (or 8 MiB) of the first's.
                "flat": (last <= max(first * 1.25, first + 8192))
                if span >= self.MIN_JUDGED_S
                else None,
                "span_s": span,
            }
        return out


def cpu_seconds(pid, children=False):
    """utime + stime of pid (with children: also its reaped children's)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def postgres_cpu(postmaster):
    """CPU seconds of a PostgreSQL server: the postmaster with its reaped children, plus the
    live children (backends, autovacuum, checkpointer, WAL writer)."""
    total = cpu_seconds(postmaster, children=True)
    for _, fields in postmaster_children(postmaster):
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def postmaster_children(postmaster):
    """(pid, the /proc stat fields after the command name) of each live child of postmaster."""
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                yield int(d), fields


class Perf:
    """With MNI_BENCH_PERF=1, `perf record -g` on every live child of the postmaster (the
    workers' backends, autovacuum, the WAL writer...) over a timed part, into path; `perf
    report -i path` says where PostgreSQL spends its time. A no-op otherwise."""

    def __init__(self, env, path):
        self.proc = None
        if os.environ.get("MNI_BENCH_PERF") != "1":
            return
        pg = env.postmaster_pid()
        pids = [pg] + [pid for pid, _ in postmaster_children(pg)]
        dsn = psycopg2.extensions.parse_dsn(env.vars["MNI_PG_CONNINFO"])
        conn = psycopg2.connect(
            host=dsn["host"], port=dsn["port"], user="postgres", dbname="postgres"
        )
        with conn.cursor() as cur, open(path + ".pids", "w") as f:
            cur.execute("SELECT pid, application_name, backend_type FROM pg_stat_activity")
            for row in cur.fetchall():
                f.write("%s\t%s\t%s\n" % row)
        conn.close()
        self.proc = subprocess.Popen(
            ["perf", "record", "-F", "499", "-g", "-o", path, "-p", ",".join(map(str, pids))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait()


class CpuMeter:
    """CPU seconds spent by each named process (and PostgreSQL, the mock broker) between
    construction and stop(); backends() then splits PostgreSQL's by the application_name of
    each backend that was alive at stop() (a worker's backend goes with its worker; what the
    harness's poll, the background processes and the backends that ended meanwhile used is
    "other")."""

    def __init__(self, env, pids):
        self.env, self.pids = env, dict(pids)
        self.pids["mockbroker"] = env.broker_pid()
        self.pg = env.postmaster_pid()
        self.by_backend = {}
        self.start = self._snap()
        self.start_children = self._children()

    def _snap(self):
        s = {n: cpu_seconds(p) for n, p in self.pids.items()}
        s["postgres"] = postgres_cpu(self.pg)
        return s

    def _children(self):
        return {
            pid: (int(f[11]) + int(f[12])) / CLK_TCK for pid, f in postmaster_children(self.pg)
        }

    def _names(self):
        dsn = psycopg2.extensions.parse_dsn(self.env.vars["MNI_PG_CONNINFO"])
        conn = psycopg2.connect(
            host=dsn["host"], port=dsn["port"], user="postgres", dbname="postgres"
        )
        with conn.cursor() as cur:
            cur.execute("SELECT pid, application_name FROM pg_stat_activity")
            names = {pid: name for pid, name in cur.fetchall()}
        conn.close()
        return names

    def stop(self):
        end, children = self._snap(), self._children()
        used = {n: end[n] - self.start[n] for n in end}
        try:
            names = self._names()
        except psycopg2.Error:
            names = {}
        self.by_backend = {}
        for pid, sec in children.items():
            name = names.get(pid) or "other"
            self.by_backend[name] = (
                self.by_backend.get(name, 0.0) + sec - self.start_children.get(pid, 0.0)
            )
        self.by_backend["other"] = used["postgres"] - sum(
            v for n, v in self.by_backend.items() if n != "other"
        )
        return used

    def backends(self):
        """{application_name: CPU seconds} of PostgreSQL's backends over the timed part."""
        return dict(self.by_backend)
