"""``kubenb serve`` as a user runs it: ready line, kubeconfig, signals, --nodes, --state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import Kubectl


def start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "kubenb", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "ready" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, line


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> int:
    proc.send_signal(sig)
    return proc.wait(timeout=30)


def test_serve_writes_kubeconfig_and_exits_cleanly(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    proc, line = start(tmp_path, "--nodes", "3", "--kubeconfig", str(kubeconfig))
    try:
        assert str(kubeconfig) in line
        text = kubeconfig.read_text()
        assert "certificate-authority-data" in text and "token:" in text
        assert "current-context: kubenb" in text and "https://127.0.0.1:" in text
        assert oct(os.stat(kubeconfig).st_mode & 0o777) == "0o600"
        kubectl = Kubectl(str(kubeconfig))
        nodes = kubectl("get", "nodes", "-o", "name").split()
        assert nodes == ["node/node-1", "node/node-2", "node/node-3"]
        namespaces = kubectl("get", "namespaces", "-o", "name").split()
        assert set(namespaces) == {"namespace/default", "namespace/kube-system",
                                   "namespace/kube-public", "namespace/kube-node-lease"}
    finally:
        code = stop(proc)
    assert code == 0


def test_serve_sigint_exits_zero(tmp_path: Path) -> None:
    proc, _ = start(tmp_path, "--kubeconfig", str(tmp_path / "kc"))
    assert stop(proc, signal.SIGINT) == 0


def test_state_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    kubeconfig = tmp_path / "kc"
    proc, _ = start(tmp_path, "--state", str(state), "--kubeconfig", str(kubeconfig))
    try:
        Kubectl(str(kubeconfig))("apply", "-f", "-", input=(
            '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept"},'
            ' "data": {"answer": "42"}}'))
    finally:
        assert stop(proc) == 0
    proc, _ = start(tmp_path, "--state", str(state), "--kubeconfig", str(kubeconfig))
    try:
        kubectl = Kubectl(str(kubeconfig))
        assert kubectl("get", "configmap", "kept", "-o", "jsonpath={.data.answer}") == "42"
    finally:
        assert stop(proc) == 0


def test_help_documents_every_flag() -> None:
    out = subprocess.run([sys.executable, "-m", "kubenb", "serve", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for flag in ("--port", "--kubeconfig", "--nodes", "--state", "--insecure-http", "--host",
                 "--speed", "--no-controllers", "--event-ttl"):
        assert flag in out


def test_insecure_http_for_debugging(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    proc, line = start(tmp_path, "--insecure-http", "--kubeconfig", str(kubeconfig))
    try:
        assert "http://127.0.0.1:" in line
        deadline = time.monotonic() + 10
        out = ""
        while time.monotonic() < deadline and not out:
            out = Kubectl(str(kubeconfig))("get", "namespaces", "-o", "name")
        assert "namespace/default" in out
    finally:
        assert stop(proc) == 0


def test_bad_speed_is_refused_with_a_readable_message() -> None:
    proc = subprocess.run([sys.executable, "-m", "kubenb", "serve", "--speed", "fast"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "--speed: speed must be a positive number or 'max', got 'fast'" in proc.stderr


def test_negative_event_ttl_is_refused() -> None:
    proc = subprocess.run([sys.executable, "-m", "kubenb", "serve", "--event-ttl", "-5"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "--event-ttl must be >= 0" in proc.stderr
