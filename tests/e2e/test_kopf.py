"""A kopf operator, unchanged, against the embedded cluster: what an operator author tests here.

The operator runs as ``kopf run`` does, in its own process, logged in with the kubeconfig. It
sees custom resources through discovery and watches, adds its finalizer, patches status from its
handlers, posts Events, and lets the object go when its deletion handler is done.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.api.kinds import builtin
from tests.e2e.test_control_plane import eventually

CRDS = builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions")

OPERATOR = textwrap.dedent('''
    import kopf

    @kopf.on.startup()
    def configure(settings: kopf.OperatorSettings, **_):
        settings.posting.loggers = True  # handlers' log lines become Events
        settings.watching.server_timeout = 10

    @kopf.on.create("kopf.dev", "v1", "kopfexamples")
    def created(spec, name, logger, **_):
        logger.info(f"greeting {name}")
        return {"greeting": f"hello {spec.get('field')}"}

    @kopf.on.update("kopf.dev", "v1", "kopfexamples")
    def updated(spec, patch, **_):
        patch.status["field"] = spec.get("field")

    @kopf.on.delete("kopf.dev", "v1", "kopfexamples")
    def deleted(name, logger, **_):
        logger.info(f"goodbye {name}")
''')


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Any]]:
    root: Path = tmp_path_factory.mktemp("kopf")
    (root / "operator.py").write_text(OPERATOR)
    with Cluster(nodes=1, kubeconfig=root / "kubeconfig") as c:
        c.client.create(CRDS, {
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "kopfexamples.kopf.dev"},
            "spec": {"group": "kopf.dev", "scope": "Namespaced",
                     "names": {"plural": "kopfexamples", "singular": "kopfexample",
                               "kind": "KopfExample"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": {
                                       "type": "object",
                                       "x-kubernetes-preserve-unknown-fields": True}}}]}})
        examples = eventually(lambda: c.registry.get("kopf.dev", "v1", "kopfexamples"),
                              30, "the CRD to be served")
        env = {**os.environ, "KUBECONFIG": c.kubeconfig}
        env.pop("KUBERNETES_SERVICE_HOST", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "kopf", "run", "--standalone", "--all-namespaces",
             str(root / "operator.py")], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        try:
            yield c, examples
        finally:
            proc.terminate()
            output, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, output[-3000:]
        assert "Traceback" not in output, output[-3000:]


def test_an_operator_handles_create_update_and_delete(operator: tuple[Cluster, Any]) -> None:
    c, examples = operator
    c.client.create(examples, {"apiVersion": "kopf.dev/v1", "kind": "KopfExample",
                               "metadata": {"name": "ex1", "namespace": "default"},
                               "spec": {"field": "value"}})
    status = eventually(lambda: (c.client.get(examples, "ex1", "default").get("status")
                                 or {}).get("created"), 30, "the create handler's status")
    assert status == {"greeting": "hello value"}
    obj = c.client.get(examples, "ex1", "default")
    assert obj["metadata"]["finalizers"] == ["kopf.zalando.org/KopfFinalizerMarker"]
    c.client.patch(examples, "ex1", {"spec": {"field": "changed"}}, "default")
    eventually(lambda: (c.client.get(examples, "ex1", "default").get("status") or {}).get(
        "field") == "changed", 30, "the update handler")
    c.client.delete(examples, "ex1", "default")

    def gone() -> bool:
        try:
            c.client.get(examples, "ex1", "default")
        except errors.NotFound:
            return True
        return False

    eventually(gone, 30, "the finalizer to be removed and the object to go")
    messages = eventually(lambda: {
        e["message"] for e in c.client.list(kinds.EVENTS, "default").items
        if e["involvedObject"].get("name") == "ex1"} >= {"greeting ex1", "goodbye ex1"} and {
        e["message"] for e in c.client.list(kinds.EVENTS, "default").items
        if e["involvedObject"].get("name") == "ex1"}, 30, "the operator's Events")
    assert "greeting ex1" in messages
