"""test_docs: the operator's guide cannot rot.

  - docs/configuration.md has a row for every key of lib/runtime/config.c's built-in table and
    every key any program prints with --print-config (the workers, `mni web`), with the default
    each program prints ("(none)" for a key without a value, "(empty)" for an empty one), and
    no row for a key nothing reads;
  - docs/operators-guide.md names every metric series lib/runtime/metrics.c writes and every
    probe path it serves, and its topics table has every topic.* key with its default name and
    the partition count deploy/create-topics.sh creates;
  - every relative link of docs/*.md and deploy/RUNBOOK.md points at a file that exists, and
    every #anchor at a heading of that file;
  - the runbooks the guide promises exist as sections of deploy/RUNBOOK.md;
  - the files and tests the guide cites exist.
"""
import os
import re
import unittest

import mniconfig

DOCS = ["docs/operators-guide.md", "docs/configuration.md", "deploy/RUNBOOK.md",
        "deploy/README.md"]


def table_rows(text):
    """key -> default cell of configuration.md's table."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^\|\s*`([a-z0-9._<>-]+)`\s*\|([^|]*)\|", line)
        if m:
            rows[m.group(1)] = m.group(2).strip()
    return rows


def anchor(heading):
    """GitHub's anchor of a Markdown heading."""
    a = heading.strip().lower()
    a = re.sub(r"[^\w\- ]", "", a)
    return a.replace(" ", "-")


def anchors(path):
    text = mniconfig.read(path)
    return {anchor(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}


class ConfigurationTable(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rows = table_rows(mniconfig.read("docs/configuration.md"))
        cls.configs = mniconfig.all_program_configs()
        cls.builtin = mniconfig.builtin_keys()

    def test_every_builtin_key_is_documented(self):
        self.assertGreater(len(self.builtin), 10)
        for key in self.builtin:
            self.assertIn(key, self.rows, f"{key} (lib/runtime/config.c) not in configuration.md")

    def test_every_printed_key_has_its_default(self):
        for program, cfg in self.configs.items():
            for key, (value, source) in cfg.items():
                with self.subTest(program=program, key=key):
                    self.assertIn(key, self.rows, f"{key} ({program}) not in configuration.md")
                    cell = self.rows[key]
                    if source != "default":  # no default: set by the test's placeholders
                        self.assertIn("(none)", cell)
                    elif value == "****":  # a secret's default is masked: only empty ones exist
                        self.assertIn("(empty)", cell)
                    elif value == "":
                        self.assertIn("(empty)", cell)
                    else:
                        self.assertIn(f"`{value}`", cell)

    def test_no_row_for_an_unknown_key(self):
        known = set(self.builtin) | {"kafka.<property>"}
        for cfg in self.configs.values():
            known |= set(cfg)
        for key in self.rows:
            self.assertIn(key, known, f"configuration.md documents {key}, which nothing reads")


class Guide(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.guide = mniconfig.read("docs/operators-guide.md")

    def test_every_metric_is_documented(self):
        code = mniconfig.read("lib/runtime/metrics.c")
        names = set(re.findall(r"\b(mni_[a-z_]+?)(?:_bucket|_sum|_count)?[{ \"]", code))
        names = {n for n in names if not n.endswith("_")}
        self.assertGreater(len(names), 15)
        for name in sorted(names):
            self.assertRegex(self.guide, rf"`{name}[`{{]", f"{name} not in the guide's metrics")

    def test_topics_table_matches_the_code(self):
        rows = re.findall(r"^\|\s*`(topic\.[a-z]+)`\s*\|\s*`([^`]+)`\s*\|\s*(\d+)\s*\|",
                          self.guide, re.M)
        partitions = mniconfig.topic_partitions()
        defaults = mniconfig.print_config(["mni-ingest"], mniconfig.CONNECTIONS)
        topic_keys = {k for k in defaults if k.startswith("topic.")}
        self.assertEqual({key for key, _, _ in rows}, topic_keys)
        for key, name, count in rows:
            with self.subTest(key=key):
                self.assertEqual(defaults[key][0], name)
                self.assertEqual(partitions.get(name), int(count), "deploy/create-topics.sh")

    def test_every_probe_is_documented(self):
        code = mniconfig.read("lib/runtime/metrics.c")
        for path in re.findall(r'"(/[a-z]+)"', code):
            self.assertIn(f"`{path}`", self.guide)

    def test_links_resolve(self):
        for doc in DOCS:
            text = mniconfig.read(doc)
            base = os.path.dirname(doc)
            for target in re.findall(r"\]\(([^)\s]+)\)", text):
                if re.match(r"^[a-z]+://", target):
                    continue
                with self.subTest(doc=doc, link=target):
                    path, _, frag = target.partition("#")
                    path = os.path.normpath(os.path.join(base, path)) if path else doc
                    self.assertTrue(os.path.exists(os.path.join(mniconfig.ROOT, path)), path)
                    if frag and path.endswith(".md"):
                        self.assertIn(frag, anchors(path), f"no heading #{frag} in {path}")

    def test_runbooks_exist(self):
        have = anchors("deploy/RUNBOOK.md")
        for section in ("a-stuck-partition", "dead-letters-piling-up", "an-overdue-deadline",
                        "a-lost-broker"):
            self.assertIn(section, have)

    def test_cited_files_exist(self):
        for path in set(re.findall(r"`((?:deploy|tests|lib|schemas|scripts|db)/[^`* ]+)`",
                                   self.guide)):
            path = path.rstrip("/")
            if "<" in path:
                continue
            with self.subTest(path=path):
                self.assertTrue(os.path.exists(os.path.join(mniconfig.ROOT, path)), path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
