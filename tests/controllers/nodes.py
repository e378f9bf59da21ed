"""Static nodes for controller tests that play the kubelet themselves.

``parked_node`` is the plainest: a Node object with no status that no scheduler picks, so pods
can be bound to it by hand and pod GC leaves them alone (the node exists).

The node lifecycle controller marks a node whose Lease is not renewed Unknown after 50 s, and
its pods unready: exactly what happens to a node whose kubelet died. A test that runs pods by
hand on a node of its own still needs that node to look alive, so these nodes get a Lease that a
background timer renews every 10 s of cluster time, as a kubelet would.
"""

from __future__ import annotations

from typing import Any

from kubenb import Cluster
from kubenb.api import kinds
from kubenb.api.meta import now_rfc3339, now_rfc3339_micro
from kubenb.sim.node import node_object, node_status


def static_node(c: Cluster, name: str, index: int, **node: Any) -> dict[str, Any]:
    """A Ready node no simulated kubelet runs pods on, kept alive by Lease renewals."""
    created = c.client.create(kinds.NODES, node_object(name, index=index, **node))
    created["status"] = node_status(name, index=index, now=now_rfc3339(c.clock.datetime()))
    created = c.client.replace_status(kinds.NODES, created)

    def renew() -> None:
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": name, "namespace": "kube-node-lease"},
                 "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                          "renewTime": now_rfc3339_micro(c.clock.datetime())}}
        c.client.apply(kinds.LEASES, lease, force=True)
        c.clock.call_later(10, renew, background=True)

    renew()
    return created


def parked_node(name: str) -> dict[str, Any]:
    """A Node no kubelet runs and no scheduler picks: the test plays both."""
    node = node_object(name, index=1)
    node["spec"]["unschedulable"] = True
    return node
