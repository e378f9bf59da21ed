"""``Cluster``: the embedded Kubernetes cluster, wired together.

One object owns the resource registry, the store (optionally on SQLite), the API endpoints, the
HTTPS server with its kubeconfig, and the control plane: the engine (:mod:`kubenb.runtime`) that
runs the controllers of kube-controller-manager, the scheduler and one simulated kubelet per
node, all on one cluster clock::

    with kubenb.Cluster(nodes=3) as cluster:
        subprocess.run(["kubectl", "--kubeconfig", cluster.kubeconfig, "get", "nodes"])

    with kubenb.Cluster(nodes=3, speed="max", serve=False) as cluster:
        cluster.client.create(kinds.DEPLOYMENTS, deployment)
        print(cluster.settle())          # runs until converged; simulated time jumps ahead

Controllers, scheduler and kubelets reach the store only through :attr:`Cluster.client` (the
in-process transport), exactly as they would reach a real apiserver.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from kubenb.api import meta
from kubenb.api.resources import Registry
from kubenb.apiserver.endpoints import Endpoints, WriteOptions
from kubenb.apiserver.schemas import schemas
from kubenb.apiserver.server import APIServer, write_kubeconfig
from kubenb.apiserver.store import Backend, Store
from kubenb.client.client import Client
from kubenb.client.inprocess import InProcessTransport
from kubenb.runtime.clock import Clock, Timer, make_clock
from kubenb.runtime.manager import Manager, SettleReport
from kubenb.sim.node import node_object, node_status

if TYPE_CHECKING:
    from kubenb.sim.faults import Faults
    from kubenb.sim.kubelet import Kubelets

__all__ = ["EVENT_TTL", "Cluster"]

#: how long an Event lives after its last write: kube-apiserver's ``--event-ttl`` default (1h)
EVENT_TTL = 3600.0
#: how often, in cluster seconds, the engine deletes what expired
LEASE_CHECK_PERIOD = 10.0
EVENTS = ("", "events")


class Cluster:
    """An embedded cluster: store + API server + control plane + nodes. A context manager.

    ``speed`` is the cluster clock: 1 is real time, 10 ten times faster, ``"max"`` a virtual
    clock that jumps ahead whenever nothing is left to do (deterministic with ``seed``).
    ``controllers=False`` gives the bare apiserver with static Ready nodes; ``serve=False``
    skips the HTTP server (Python access only). Events are deleted ``event_ttl`` seconds of
    cluster time after their last write, as kube-apiserver's ``--event-ttl`` does (None keeps
    them for ever); the engine does it, so a cluster without controllers keeps them too.
    """

    def __init__(self, *, nodes: int = 0, port: int = 0, host: str = "127.0.0.1",
                 kubeconfig: str | os.PathLike[str] | None = None, tls: bool = True,
                 state: str | os.PathLike[str] | None = None, token: str | None = None,
                 history: int = 50_000, speed: float | str = 1.0, controllers: bool = True,
                 serve: bool = True, seed: int | None = None,
                 clock: Clock | None = None, event_ttl: float | None = EVENT_TTL) -> None:
        if seed is not None:
            meta.seed(seed)
        self.clock = clock or make_clock(speed)
        self.registry = Registry()
        self.schemas = schemas()
        backend: Backend | None = None
        if state is not None:
            from kubenb.apiserver.sqlite import SQLiteBackend

            backend = SQLiteBackend(state)
        self.store = Store(self.registry, backend=backend, history=history,
                           clock=self.clock.datetime,
                           ttl={EVENTS: float(event_ttl)} if event_ttl else None)
        self._expiry: Timer | None = None
        self.endpoints = Endpoints(self.store, self.registry, self.schemas)
        self.server: APIServer | None = (
            APIServer(self.endpoints, host=host, port=port, tls=tls, token=token)
            if serve else None)
        #: the in-process client every component of the control plane uses
        self.client = Client(InProcessTransport(self.endpoints), field_manager="kubenb")
        self.manager = Manager(self.client, self.clock)
        self.kubelets: Kubelets | None = None
        #: failure injection (kill a container, take a node down...); None without controllers
        self.faults: Faults | None = None
        if controllers:
            self._control_plane()
        self._kubeconfig_path = kubeconfig
        self.kubeconfig: str = ""
        self._nodes = nodes
        self.started = False

    def _control_plane(self) -> None:
        from kubenb.controllers import default_controllers
        from kubenb.scheduler import Scheduler
        from kubenb.sim.faults import Faults
        from kubenb.sim.kubelet import Kubelets

        for controller in default_controllers():
            self.manager.add(controller)
        self.scheduler = self.manager.add(Scheduler())
        self.kubelets = Kubelets()
        self.manager.add(self.kubelets)
        self.endpoints.logs = self.kubelets.logs
        self.endpoints.execs = self.kubelets.exec
        self.endpoints.log_followers = self.kubelets.follow
        self.endpoints.attachers = self.kubelets.attach
        self.endpoints.http = self.kubelets.http
        self.faults = Faults(self.kubelets, self.client)

    def start(self) -> Cluster:
        if self.started:
            return self
        if self.server is not None:
            self.server.start()
            self.kubeconfig = str(write_kubeconfig(self._kubeconfig_path, self.server))
        self._bootstrap()
        if self.kubelets is not None:
            self._arm_expiry()
            self.manager.start()
            if self.clock.virtual:
                # let the control plane finish its own start-up (node registration, the default
                # StorageClass...) before the caller's first write, so what a seeded run does
                # never depends on how the two threads interleaved
                self.manager.settle(30)
        self.started = True
        return self

    def _arm_expiry(self) -> None:
        """Sweep expired Events every LEASE_CHECK_PERIOD seconds of cluster time, on the engine's
        thread: a background chore, which keeps no settle waiting and moves no virtual time."""
        def sweep() -> None:
            self.store.expire()
            if self._expiry is not None:  # not stopped meanwhile
                self._arm_expiry()

        self._expiry = self.clock.call_later(LEASE_CHECK_PERIOD, sweep, background=True)

    def stop(self) -> None:
        if not self.started:
            return
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self.manager.stop()
        if self.server is not None:
            self.server.stop()
        self.store.close()
        self.started = False
        if self._kubeconfig_path is None and self.kubeconfig:
            Path(self.kubeconfig).unlink(missing_ok=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self.server is not None, "Cluster(serve=False) has no URL"
        return self.server.url

    @property
    def token(self) -> str | None:
        return self.server.token if self.server is not None else None

    @property
    def ca_pem(self) -> bytes:
        assert self.server is not None, "Cluster(serve=False) has no certificate"
        return self.server.ca_pem

    # ------------------------------------------------------------------ control plane

    def settle(self, timeout: float = 30.0) -> SettleReport:
        """Run until nothing is left to do but background chores (or ``timeout`` wall
        seconds); the report is true when converged and lists what is not."""
        return self.manager.settle(timeout)

    def advance(self, seconds: float, timeout: float = 60.0) -> SettleReport:
        """On ``speed="max"``: let ``seconds`` of cluster time pass, then settle."""
        return self.manager.advance(seconds, timeout)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Hold the control plane while several writes are made, then let it react to all."""
        with self.manager.paused():
            yield

    # ------------------------------------------------------------------ bootstrap

    def _bootstrap(self) -> None:
        """What a fresh cluster has: the ``kubernetes`` Service and the requested nodes."""
        services = self.registry.get("", "v1", "services")
        assert services is not None
        opts = WriteOptions(field_manager="kube-apiserver", validate=False)
        if not self.store.exists(services, "default", "kubernetes"):
            self.endpoints.create(services, "default", {
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "kubernetes", "labels": {
                    "component": "apiserver", "provider": "kubernetes"}},
                "spec": {"clusterIP": "10.96.0.1", "ports": [
                    {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
            }, opts)
        self._apiserver_endpoints(opts)
        for i in range(1, self._nodes + 1):
            self.add_node(f"node-{i}", index=i)

    def _apiserver_endpoints(self, opts: WriteOptions) -> None:
        """The ``kubernetes`` Service has no selector: kube-apiserver itself publishes where it
        listens, as Endpoints and an EndpointSlice (here the control plane's simulated address,
        in the nodes' network)."""
        address, port = "172.18.0.1", 6443
        endpoints = self.registry.get("", "v1", "endpoints")
        slices = self.registry.get("discovery.k8s.io", "v1", "endpointslices")
        assert endpoints is not None and slices is not None
        if not self.store.exists(endpoints, "default", "kubernetes"):
            self.endpoints.create(endpoints, "default", {
                "apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": "kubernetes", "labels": {
                    "endpointslice.kubernetes.io/skip-mirror": "true"}},
                "subsets": [{"addresses": [{"ip": address}],
                             "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
            }, opts)
        if not self.store.exists(slices, "default", "kubernetes"):
            self.endpoints.create(slices, "default", {
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": "kubernetes",
                             "labels": {"kubernetes.io/service-name": "kubernetes"}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
                "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
            }, opts)

    def add_node(self, name: str, *, index: int = 0, cpu: str = "4", memory: str = "16Gi",
                 pods: str = "110", labels: dict[str, str] | None = None,
                 taints: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Add a node. With the control plane it is a simulated kubelet that registers itself,
        heartbeats and runs pods; without, a static Ready Node object."""
        if self.kubelets is not None:
            return self.kubelets.add_node(name, index=index, cpu=cpu, memory=memory, pods=pods,
                                          labels=labels, taints=taints)
        nodes = self.registry.get("", "v1", "nodes")
        assert nodes is not None
        if self.store.exists(nodes, None, name):
            return self.store.get(nodes, None, name)
        opts = WriteOptions(field_manager="kubelet", validate=False)
        self.endpoints.create(nodes, None, node_object(name, index=index, labels=labels,
                                                       taints=taints), opts)
        return self.endpoints.replace(nodes, None, name, {
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": node_status(name, index=index, now=self.endpoints._now(), cpu=cpu,
                                  memory=memory, pods=pods),
        }, opts, subresource="status")
