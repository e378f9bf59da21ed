"""The layering is a checked fact, and the package's public names are what __all__ says."""

from __future__ import annotations

import os
import subprocess
import sys

import kubenb


def test_import_contracts_hold() -> None:
    lint = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    proc = subprocess.run([lint], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(__file__)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 5 kept, 0 broken" in proc.stdout


def test_public_names() -> None:
    assert sorted(kubenb.__all__) == ["APIError", "Cluster", "__version__"]
    for name in kubenb.__all__:
        assert getattr(kubenb, name) is not None
