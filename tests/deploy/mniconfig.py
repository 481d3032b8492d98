"""mniconfig: what the tests of deploy/ and docs/ know about mni's configuration, taken from the
code and the built programs rather than written down a second time.

  programs()          the worker programs: each folder whose main.c runs worker_main, with the
                      config key of its input topic (worker_spec.input_topic)
  builtin_keys()      the keys of lib/runtime/config.c's table of built-in defaults
  print_config(...)   a program's --print-config (key -> (value, source)), run from $MNI_BIN
                      (else build/san/bin, else bin) with the given environment
  env_name(key)       the MNI_ variable that overrides a key (lib/runtime/config.h, rule 1)
  topic_partitions()  deploy/create-topics.sh's partition count of each topic
"""
import os
import re
import subprocess

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def bin_dir():
    for d in (os.environ.get("MNI_BIN"), os.path.join(ROOT, "build/san/bin"),
              os.path.join(ROOT, "bin")):
        if d and os.path.isfile(os.path.join(d, "mni-ingest")):
            return d
    raise RuntimeError("no built programs: set MNI_BIN or run make")


def programs():
    """{"ingest": "topic.events", ...}: every worker and the key of the topic it consumes."""
    found = {}
    for name in sorted(os.listdir(ROOT)):
        main = os.path.join(ROOT, name, "main.c")
        if not os.path.isfile(main):
            continue
        text = read(os.path.join(name, "main.c"))
        if "worker_main(" not in text:
            continue
        m = re.search(r'\.input_topic\s*=\s*"([^"]+)"', text)
        if not m:
            raise AssertionError(f"{name}/main.c: no .input_topic")
        found[name] = m.group(1)
    return found


def builtin_keys():
    text = read("lib/runtime/config.c")
    table = re.search(r"config_defaults\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
    if not table:
        raise AssertionError("lib/runtime/config.c: config_defaults[] not found")
    keys = re.findall(r'\{"([a-z0-9._-]+)",', table.group(1))
    # The topic.* keys come from the topic table (lib/model/topics.c).
    topics = re.search(r"mni_topics\[\]\s*=\s*\{(.*?)\n\};", read("lib/model/topics.c"), re.S)
    if not topics:
        raise AssertionError("lib/model/topics.c: mni_topics[] not found")
    return keys + ["topic." + t for t in re.findall(r'\{"([a-z]+)",', topics.group(1))]


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNI_")}
    env.update(extra or {})
    return env


def print_config(argv, env=None, config_path=None):
    """Runs $MNI_BIN/argv[0] argv[1:] --print-config; {key: (value, source)}."""
    cmd = [os.path.join(bin_dir(), argv[0])] + list(argv[1:])
    if config_path:
        cmd += ["--config", config_path]
    cmd.append("--print-config")
    r = subprocess.run(cmd, env=clean_env(env), capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    out = {}
    for line in r.stdout.splitlines():
        key, _, rest = line.partition(" = ")
        value, _, source = rest.rpartition("  # ")
        out[key] = (value, source)
    return out


# Placeholders that make the keys without a default show up in --print-config.
CONNECTIONS = {"MNI_KAFKA_BOOTSTRAP": "kafka.invalid:9092", "MNI_PG_CONNINFO": "host=db.invalid"}


def all_program_configs():
    """{"mni-ingest": {...}, ..., "mni web": {...}}: every program's defaults."""
    configs = {f"mni-{p}": print_config([f"mni-{p}"], CONNECTIONS) for p in programs()}
    configs["mni web"] = print_config(["mni", "web"], CONNECTIONS)
    return configs


def env_name(key):
    return "MNI_" + key.upper().replace(".", "_").replace("-", "_")


def topic_partitions():
    text = read("deploy/create-topics.sh")
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^create\s+(\S+)\s+(\d+)", text, re.M)}
