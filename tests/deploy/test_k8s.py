"""test_k8s: deploy/k8s checked against the code it deploys. No Debian package validates
Kubernetes manifests without a cluster (kubectl's --dry-run=client still asks a server for the
API's schema; kubeconform is not packaged), so the YAML is parsed here (python3-yaml) and its
structure checked, together with what only this repository can say:

  - every document has apiVersion, kind and metadata.name, with the API versions current
    Kubernetes serves (apps/v1, batch/v1, policy/v1, v1);
  - every worker (a folder whose main.c runs worker_main) has a Deployment running its program,
    with a readiness probe on /readyz and a liveness probe on /livez, both on the container
    port the worker listens on (metrics.port of the mounted configuration, or MNI_METRICS_PORT),
    metrics.bind reachable from outside the container, and paths the metrics server serves;
  - no Deployment has more replicas than its input topic has partitions (create-topics.sh);
  - every Deployment has a PodDisruptionBudget selecting its pods;
  - the ConfigMap's mni.conf is accepted by every worker (--print-config with it exits 0),
    holds only keys the programs know, and no secret;
  - every Secret key is an environment variable the configuration reads, and the value it sets
    is masked by --print-config;
  - the migration Job runs `mni db migrate` with the same configuration and Secret;
  - the containers run as the numeric user the image declares (deploy/Dockerfile).
"""
import os
import re
import tempfile
import unittest

import yaml

import mniconfig

K8S = os.path.join(mniconfig.ROOT, "deploy", "k8s")
API = {"Deployment": "apps/v1", "Job": "batch/v1", "PodDisruptionBudget": "policy/v1",
       "ConfigMap": "v1", "Secret": "v1",
       "Kustomization": "kustomize.config.k8s.io/v1beta1"}


def load_all():
    docs = []
    for name in sorted(os.listdir(K8S)):
        if name.endswith(".yaml"):
            with open(os.path.join(K8S, name), encoding="utf-8") as f:
                for doc in yaml.safe_load_all(f):
                    if doc is not None:
                        docs.append((name, doc))
    return docs


def of_kind(docs, kind):
    return [d for _, d in docs if d.get("kind") == kind]


def conf_lines(text):
    """key -> value of a mni.conf text."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip()
    return out


class K8sManifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = load_all()
        cls.deployments = {d["metadata"]["name"]: d for d in of_kind(cls.docs, "Deployment")}
        cls.configmap = of_kind(cls.docs, "ConfigMap")[0]
        cls.conf_text = cls.configmap["data"]["mni.conf"]
        cls.conf = conf_lines(cls.conf_text)
        cls.secret = of_kind(cls.docs, "Secret")[0]
        cls.programs = mniconfig.programs()

    def test_documents_are_well_formed(self):
        self.assertGreater(len(self.docs), 0)
        for name, doc in self.docs:
            kind = doc.get("kind")
            self.assertIn(kind, API, f"{name}: unexpected kind {kind}")
            self.assertEqual(doc.get("apiVersion"), API[kind], f"{name}: {kind}")
            if kind != "Kustomization":
                self.assertTrue(doc.get("metadata", {}).get("name"), f"{name}: no metadata.name")

    def test_kustomization_lists_existing_files(self):
        kust = of_kind(self.docs, "Kustomization")[0]
        for res in kust["resources"]:
            self.assertTrue(os.path.isfile(os.path.join(K8S, res)), res)
        listed = set(kust["resources"])
        for name in os.listdir(K8S):
            # The Secret is a template and the Job runs on its own (kustomization.yaml says why).
            if name.endswith(".yaml") and name not in ("kustomization.yaml", "secret.yaml",
                                                       "migrate-job.yaml"):
                self.assertIn(name, listed)

    def container(self, program):
        dep = self.deployments.get(f"mni-{program}")
        self.assertIsNotNone(dep, f"no Deployment mni-{program}")
        containers = dep["spec"]["template"]["spec"]["containers"]
        self.assertEqual(len(containers), 1)
        return dep, containers[0]

    def listen_port(self, c):
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        return int(env.get("MNI_METRICS_PORT", self.conf.get("metrics.port", "0")))

    def probe_port(self, c, probe):
        port = probe["httpGet"]["port"]
        if isinstance(port, int):
            return port
        named = [p["containerPort"] for p in c.get("ports", []) if p.get("name") == port]
        self.assertEqual(len(named), 1, f"port {port} not declared")
        return named[0]

    def test_every_worker_has_a_deployment_with_both_probes_on_its_port(self):
        served = mniconfig.read("lib/runtime/metrics.c")
        self.assertGreater(len(self.programs), 0)
        for program in self.programs:
            with self.subTest(program=program):
                dep, c = self.container(program)
                self.assertEqual(c["command"][0], f"mni-{program}")
                port = self.listen_port(c)
                self.assertGreater(port, 0, "metrics.port 0: no probe endpoint")
                self.assertEqual(self.conf.get("metrics.bind"), "0.0.0.0",
                                 "probes come from outside the container")
                for kind, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
                    probe = c.get(kind)
                    self.assertIsNotNone(probe, kind)
                    self.assertEqual(probe["httpGet"]["path"], path)
                    self.assertEqual(self.probe_port(c, probe), port, kind)
                    self.assertIn(f'"{path}"', served, f"{path} not served by metrics.c")
                self.assertEqual(c["ports"][0]["containerPort"], port)
                ann = dep["spec"]["template"]["metadata"].get("annotations", {})
                self.assertEqual(ann.get("prometheus.io/port"), str(port))

    def test_configuration_is_mounted_where_mni_config_points(self):
        for program in self.programs:
            with self.subTest(program=program):
                dep, c = self.container(program)
                self.assert_config_mounted(dep["spec"]["template"]["spec"], c)

    def assert_config_mounted(self, pod, c):
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        path = env.get("MNI_CONFIG")
        self.assertIsNotNone(path)
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        ok = [n for n, mp in mounts.items()
              if os.path.join(mp, "mni.conf") == path
              and volumes[n].get("configMap", {}).get("name") == self.configmap["metadata"]["name"]]
        self.assertEqual(len(ok), 1, f"{path} is not the ConfigMap's mni.conf")
        refs = [e["secretRef"]["name"] for e in c.get("envFrom", []) if "secretRef" in e]
        self.assertEqual(refs, [self.secret["metadata"]["name"]])

    def test_replicas_at_most_the_input_partitions(self):
        partitions = mniconfig.topic_partitions()
        for program, topic_key in self.programs.items():
            with self.subTest(program=program):
                dep, _ = self.container(program)
                topic = self.conf.get(topic_key)
                self.assertIsNotNone(topic, f"{topic_key} not in the ConfigMap")
                self.assertIn(topic, partitions, f"{topic} not created by create-topics.sh")
                replicas = dep["spec"]["replicas"]
                self.assertGreaterEqual(replicas, 1)
                self.assertLessEqual(replicas, partitions[topic])
                rolling = dep["spec"]["strategy"]["rollingUpdate"]
                self.assertEqual(rolling["maxSurge"], 0)

    def test_every_deployment_has_a_disruption_budget(self):
        pdbs = of_kind(self.docs, "PodDisruptionBudget")
        for name, dep in self.deployments.items():
            with self.subTest(deployment=name):
                labels = dep["spec"]["template"]["metadata"]["labels"]
                self.assertEqual(dep["spec"]["selector"]["matchLabels"].items() - labels.items(),
                                 set())
                mine = [p for p in pdbs
                        if p["spec"]["selector"]["matchLabels"].items() <= labels.items()]
                self.assertEqual(len(mine), 1)
                spec = mine[0]["spec"]
                self.assertTrue("maxUnavailable" in spec or "minAvailable" in spec)

    def test_configmap_keys_are_real_and_accepted(self):
        known = set(mniconfig.builtin_keys())
        for cfg in mniconfig.all_program_configs().values():
            known |= set(cfg)
        for key in self.conf:
            self.assertTrue(key in known or key.startswith("kafka."), f"unknown key {key}")
            self.assertFalse(re.search(r"password|secret|token|hmac", key), f"secret {key}")
        self.assertNotIn("pg.conninfo", self.conf, "the connection string (password) is a secret")
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write(self.conf_text)
        try:
            for program in self.programs:
                with self.subTest(program=program):
                    pg_only = {"MNI_PG_CONNINFO": mniconfig.CONNECTIONS["MNI_PG_CONNINFO"]}
                    cfg = mniconfig.print_config([f"mni-{program}"], pg_only, f.name)
                    for key, value in self.conf.items():
                        self.assertEqual(cfg[key], (value, cfg[key][1]))
                        self.assertTrue(cfg[key][1].startswith("file "), key)
        finally:
            os.unlink(f.name)

    def test_secret_keys_are_read_and_masked(self):
        data = dict(self.secret.get("stringData", {}))
        self.assertIn("MNI_PG_CONNINFO", data)
        for var in data:
            with self.subTest(var=var):
                self.assertTrue(var.startswith("MNI_"), var)
                value = "s3cr3t-placeholder"
                base_env = {k: v for k, v in mniconfig.CONNECTIONS.items() if k != var}
                env = dict(base_env)
                env[var] = (f"host=db.invalid password={value}" if var == "MNI_PG_CONNINFO"
                            else value)
                base = mniconfig.print_config(["mni-notify"], base_env)
                cfg = mniconfig.print_config(["mni-notify"], env)
                changed = [k for k in cfg if k not in base or cfg[k][1] != base[k][1]]
                self.assertEqual(len(changed), 1, f"{var} sets {changed}")
                self.assertEqual(cfg[changed[0]][1], f"env {var}")
                self.assertNotIn(value, cfg[changed[0]][0], f"{changed[0]} printed unmasked")

    def test_migration_job(self):
        jobs = of_kind(self.docs, "Job")
        self.assertEqual(len(jobs), 1)
        pod = jobs[0]["spec"]["template"]["spec"]
        self.assertEqual(pod["restartPolicy"], "Never")
        c = pod["containers"][0]
        self.assertEqual(c["command"], ["mni", "db", "migrate"])
        self.assert_config_mounted(pod, c)

    def test_user_matches_the_image(self):
        m = re.search(r"^USER\s+(\d+)\s*$", mniconfig.read("deploy/Dockerfile"), re.M)
        self.assertIsNotNone(m, "deploy/Dockerfile: USER must be numeric for runAsNonRoot")
        pods = [d["spec"]["template"]["spec"] for d in self.deployments.values()]
        pods += [j["spec"]["template"]["spec"] for j in of_kind(self.docs, "Job")]
        for pod in pods:
            self.assertTrue(pod["securityContext"]["runAsNonRoot"])
            self.assertEqual(pod["securityContext"]["runAsUser"], int(m.group(1)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
