"""Quantities and a pod's requests, as kube-scheduler counts them."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kubenb.api.quantity import milli_value, parse_quantity, value
from kubenb.scheduler.resources import pod_requests

MI = 1024 ** 2


@pytest.mark.parametrize(("text", "exact"), [
    ("250m", Fraction(1, 4)), ("1", 1), ("1.5Gi", 3 * 2 ** 29), ("100Mi", 100 * MI),
    ("1e3", 1000), ("2k", 2000), ("1E-3", Fraction(1, 1000)), ("+5", 5), (".5", Fraction(1, 2)),
    ("64M", 64 * 10 ** 6), (110, 110), (1.5, Fraction(3, 2)), ("500u", Fraction(1, 2000)),
])
def test_parse_quantity(text: str | int | float, exact: Fraction | int) -> None:
    assert parse_quantity(text) == exact


def test_values_round_up_like_apimachinery() -> None:
    assert milli_value("0.5m") == 1
    assert milli_value("100m") == 100
    assert milli_value("2") == 2000
    assert value("1.5") == 2
    assert value("1Ki") == 1024
    with pytest.raises(ValueError):
        parse_quantity("12 cores")
    with pytest.raises(ValueError):
        parse_quantity("1Kb")


def container(cpu: str | None = None, memory: str | None = None, **extra: object) -> dict:
    req = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    return {"name": "c", "resources": {"requests": req}, **extra}


def test_containers_add_up_and_init_containers_set_a_floor() -> None:
    spec = {"containers": [container("2", "1Gi"), container("1", "1Gi")],
            "initContainers": [container("2", "1Gi"), container("2", "3Gi")]}
    req = pod_requests(spec)
    assert (req.cpu, req.memory) == (3000, 3 * 1024 * MI)


def test_sidecars_add_to_what_follows_them() -> None:
    spec = {"containers": [container("1")],
            "initContainers": [container("500m", restartPolicy="Always"), container("2")]}
    # the sidecar runs beside the main container (1.5) and beside the second init (2.5)
    assert pod_requests(spec).cpu == 2500


def test_overhead_pod_level_and_extended_resources() -> None:
    spec = {"containers": [container("1", "1Gi")], "overhead": {"cpu": "250m", "memory": "64Mi"}}
    req = pod_requests(spec)
    assert (req.cpu, req.memory) == (1250, 1024 * MI + 64 * MI)
    spec = {"containers": [container("1", "1Gi"), container("1")],
            "resources": {"requests": {"cpu": "1500m"}}}
    assert pod_requests(spec).cpu == 1500  # pod-level requests replace the container sum
    spec = {"containers": [{"name": "c", "resources": {"requests": {"example.com/gpu": "2",
                                                                   "hugepages-2Mi": "4Mi"}}}]}
    req = pod_requests(spec)
    assert req.scalars == (("example.com/gpu", 2), ("hugepages-2Mi", 4 * MI))
    assert not req.zero


def test_non_zero_requests_for_scoring() -> None:
    req = pod_requests({"containers": [container(), container("300m")]})
    assert (req.cpu, req.nz_cpu) == (300, 400)  # the container with no cpu counts 100m
    assert (req.memory, req.nz_memory) == (0, 400 * MI)  # 200Mi each
