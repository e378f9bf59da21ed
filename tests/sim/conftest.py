"""The simulated kubelet's tests run on a max-speed cluster with two nodes, recording Events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kubenb import Cluster
from tests.sim.util import record_events


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with Cluster(nodes=2, speed="max", serve=False, seed=1) as c:
        record_events(c)
        yield c
