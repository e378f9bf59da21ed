"""The Endpoints controller (``pkg/controller/endpoint``), and what it shares with the
EndpointSlice controller: which pods a Service selects and how a pod becomes an endpoint.

Kubernetes 1.37 still runs both controllers: kube-proxy and DNS read EndpointSlices, while the
deprecated core/v1 Endpoints keeps ``kubectl get endpoints`` and old clients working. For every
Service with a selector (not ExternalName; the ``kubernetes`` Service in ``default`` has none,
the apiserver owns its endpoints) the controller writes an Endpoints object of the same name:
ready pods under ``addresses``, not-ready ones under ``notReadyAddresses`` (all of them under
``addresses`` with ``publishNotReadyAddresses``), terminating pods left out unless
``publishNotReadyAddresses``, pods without an IP or in a terminal phase always left out; ports
resolved per pod (a named ``targetPort`` is looked up in the pod's containerPorts), addresses
grouped into subsets by the ports they share (``RepackSubsets``), at most 1000 addresses (the
rest truncated, with the ``endpoints.kubernetes.io/over-capacity`` annotation).

Upstream recomputes a Service's endpoints from all its pods on every sync. Here the common base
class keeps, from the informers' events, which pods each Service selects and which of them
changed since the last sync, so a sync costs what changed, not the size of the Service (the
10,000-pod benchmark). For Endpoints, whose single object is rewritten whole anyway, pod changes
of a Service with more than 1000 pods are batched for a second (upstream's
``--endpoint-updates-batch-period``, which defaults to 0).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping
from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import ENDPOINTS, PODS, SERVICES
from kubenb.client.client import deepcopy
from kubenb.controllers.podutil import condition, is_pod_ready, now_string, parse_time
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.informer import Handler, Key, key_of
from kubenb.runtime.manager import Manager

__all__ = [
    "EndpointsController", "ServicePodsController", "TriggerTimes", "find_port",
    "pod_ip_for_service", "repack_subsets", "service_selector", "should_pod_be_in_endpoints",
]

Obj = dict[str, Any]
#: (name, port, protocol, appProtocol): an EndpointPort, hashable
Port = tuple[str, int, str, str | None]

MANAGED_BY_LABEL = "endpoints.kubernetes.io/managed-by"
HEADLESS_LABEL = "service.kubernetes.io/headless"
TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"
OVER_CAPACITY_ANNOTATION = "endpoints.kubernetes.io/over-capacity"
#: addresses an Endpoints object may hold before it is truncated (``maxCapacity``)
MAX_CAPACITY = 1000
#: cluster seconds a large Service's pod changes are gathered before its Endpoints is rewritten
LARGE_SERVICE_BATCH = 1.0
#: the kube-controller-manager's field manager (what managedFields show for both controllers)
FIELD_MANAGER = "kube-controller-manager"


# ---------------------------------------------------------------------------------------------
# What both controllers need to know about Services and pods.

def service_selector(svc: Obj) -> dict[str, str] | None:
    """The selector the controllers follow, None when they must leave the Service alone (no
    selector, an empty one, which the API does not keep either, or type ExternalName)."""
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return None
    return dict(spec["selector"]) if spec.get("selector") else None


def selects(selector: Mapping[str, str], labels: Mapping[str, str] | None) -> bool:
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def is_service_ip_set(svc: Obj) -> bool:
    ip = (svc.get("spec") or {}).get("clusterIP")
    return bool(ip) and ip != "None"


def is_headless(svc: Obj) -> bool:
    return (svc.get("spec") or {}).get("clusterIP") == "None"


def should_pod_be_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    """``ShouldPodBeInEndpoints``: not terminal, has an IP, and not terminating unless asked."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    if not status.get("podIP") and not status.get("podIPs"):
        return False
    return include_terminating or not pod["metadata"].get("deletionTimestamp")


def _ipv6(ip: str) -> bool:
    return ":" in ip


def service_family(svc: Obj) -> str:
    """IPv4 or IPv6: the Service's first IP family (the apiserver may not set ipFamilies: then
    the family of its cluster IP, and IPv4 for a headless Service)."""
    spec = svc.get("spec") or {}
    families = spec.get("ipFamilies") or ()
    if families:
        return str(families[0])
    ip = spec.get("clusterIP") or ""
    return "IPv6" if ip and ip != "None" and _ipv6(ip) else "IPv4"


def pod_ip_for_service(svc: Obj, pod: Obj, family: str | None = None) -> str | None:
    """The pod's first IP of the Service's family."""
    family = family or service_family(svc)
    status = pod.get("status") or {}
    ips = [entry.get("ip", "") for entry in status.get("podIPs") or ()] or [
        status.get("podIP") or ""]
    for ip in ips:
        if ip and _ipv6(ip) == (family == "IPv6"):
            return ip
    return None


def find_port(pod: Obj, svc_port: Mapping[str, Any]) -> int | None:
    """``FindPort``: a numeric targetPort as is; a named one from the pod's containerPorts of the
    same protocol (sidecar init containers included), None when the pod has no such port."""
    target = svc_port.get("targetPort")
    if target is None or target == "" or target == 0:
        target = svc_port.get("port")
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = svc_port.get("protocol") or "TCP"
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or ())
    containers += [c for c in spec.get("initContainers") or ()
                   if c.get("restartPolicy") == "Always"]
    for container in containers:
        for port in container.get("ports") or ():
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def service_ports(svc: Obj, pod: Obj) -> tuple[Port, ...]:
    """The Service's ports as this pod serves them (ports the pod lacks are left out)."""
    out: list[Port] = []
    for sp in (svc.get("spec") or {}).get("ports") or ():
        number = find_port(pod, sp)
        if number is None:
            continue
        out.append((sp.get("name") or "", number, sp.get("protocol") or "TCP",
                    sp.get("appProtocol")))
    return tuple(out)


def should_set_hostname(pod: Obj, svc: Obj) -> bool:
    spec = pod.get("spec") or {}
    return bool(spec.get("hostname")) and spec.get("subdomain") == svc["metadata"]["name"] and \
        pod["metadata"].get("namespace") == svc["metadata"].get("namespace")


def target_ref(pod: Obj) -> Obj:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta["name"],
            "uid": meta.get("uid", "")}


def _projection(pod: Obj) -> tuple[Any, ...]:
    """What of a pod can change its endpoints (other updates are ignored)."""
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    ready = condition(pod, "Ready")
    return (status.get("podIP"), str(status.get("podIPs")), status.get("phase"),
            bool(pod["metadata"].get("deletionTimestamp")), spec.get("nodeName"),
            spec.get("hostname"), spec.get("subdomain"),
            (ready or {}).get("status"), (ready or {}).get("lastTransitionTime"))


class TriggerTimes:
    """``endpoints.kubernetes.io/last-change-trigger-time`` for one Service
    (``TriggerTimeTracker``): the earliest readiness change of a selected pod (or the Service's
    creation) not yet published; none on the first sync."""

    __slots__ = ("known", "pods", "service")

    def __init__(self) -> None:
        self.known = False
        self.pods: dict[str, float] = {}
        self.service = 0.0

    def compute(self, svc: Obj, pods: Iterable[tuple[str, Obj | None]], full: bool) -> str | None:
        earliest: float | None = None
        seen: dict[str, float] = {} if full else self.pods
        previous = self.pods
        for name, pod in pods:
            ready = condition(pod, "Ready") if pod is not None else None
            when = parse_time((ready or {}).get("lastTransitionTime"))
            if when is None:
                seen.pop(name, None)
                continue
            if when > previous.get(name, 0.0):
                earliest = when if earliest is None else min(earliest, when)
            seen[name] = when
        self.pods = seen
        created = parse_time(svc["metadata"].get("creationTimestamp")) or 0.0
        if created > self.service:
            earliest = created if earliest is None else min(earliest, created)
        self.service = created
        if not self.known:
            self.known = True
            return None
        return now_string(earliest) if earliest is not None else None


class ServicePodsController(Controller):
    """Keeps which pods each Service selects, and which changed since the Service's last sync.

    ``_members[(ns, svc)]`` is the names of the selected pods, ``_dirty[(ns, svc)]`` those whose
    endpoint may have changed, and ``_full`` the Services to recompute from scratch (first sync,
    a Service change, an endpoint object changed by someone else).
    """

    primary = SERVICES

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager(FIELD_MANAGER)
        self.clock = mgr.clock
        self.events = mgr.recorder(self.name)
        self.services = mgr.informer(SERVICES)
        self.pods = mgr.informer(PODS)
        self._selectors: dict[str, dict[str, dict[str, str]]] = {}
        self._members: dict[Key, set[str]] = {}
        self._pod_services: dict[Key, set[str]] = {}
        self._dirty: dict[Key, set[str]] = {}
        self._full: set[Key] = set()
        self._triggers: dict[Key, TriggerTimes] = {}
        self.services.add_handler(Handler(on_add=self._service_changed,
                                          on_update=lambda _old, new: self._service_changed(new),
                                          on_delete=self._service_deleted))
        self.pods.add_handler(Handler(on_add=lambda pod: self._pod_changed(None, pod),
                                      on_update=self._pod_changed,
                                      on_delete=lambda pod: self._pod_changed(pod, None)))

    # -- events
    def _service_changed(self, svc: Obj) -> None:
        key = key_of(svc)
        selector = service_selector(svc)
        known = self._selectors.setdefault(key[0], {})
        if known.get(key[1]) != selector:
            if selector is None:
                known.pop(key[1], None)
            else:
                known[key[1]] = selector
            self._rematch(key, selector)
        self._full.add(key)
        self.queue.add(Request(*key))

    def _service_deleted(self, svc: Obj) -> None:
        key = key_of(svc)
        self._selectors.get(key[0], {}).pop(key[1], None)
        self._rematch(key, None)
        self._dirty.pop(key, None)
        self.queue.add(Request(*key))

    def _rematch(self, key: Key, selector: dict[str, str] | None) -> None:
        """A Service's selector changed: list the pods of its namespace once."""
        ns, name = key
        old = self._members.pop(key, set())
        new: set[str] = set()
        if selector is not None:
            for pod in self.pods.list(ns):
                if selects(selector, pod["metadata"].get("labels")):
                    new.add(pod["metadata"]["name"])
        for pod_name in old - new:
            services = self._pod_services.get((ns, pod_name))
            if services is not None:
                services.discard(name)
                if not services:
                    del self._pod_services[(ns, pod_name)]
        for pod_name in new - old:
            self._pod_services.setdefault((ns, pod_name), set()).add(name)
        if new:
            self._members[key] = new

    def _pod_changed(self, old: Obj | None, new: Obj | None) -> None:
        pod = new if new is not None else old
        assert pod is not None
        meta = pod["metadata"]
        ns, name = meta.get("namespace") or "", meta["name"]
        pkey = (ns, name)
        if new is None:
            affected = self._pod_services.pop(pkey, set())
            for svc in affected:
                members = self._members.get((ns, svc))
                if members is not None:
                    members.discard(name)
        elif old is None or old["metadata"].get("labels") != meta.get("labels"):
            selectors = self._selectors.get(ns)
            labels = meta.get("labels") or {}
            matched = {svc for svc, sel in selectors.items() if selects(sel, labels)} \
                if selectors else set()
            previous = self._pod_services.get(pkey, set())
            if matched != previous:
                for svc in previous - matched:
                    self._members.get((ns, svc), set()).discard(name)
                for svc in matched - previous:
                    self._members.setdefault((ns, svc), set()).add(name)
                if matched:
                    self._pod_services[pkey] = matched
                else:
                    self._pod_services.pop(pkey, None)
            affected = matched | previous
        else:
            affected = self._pod_services.get(pkey, set())
            if not affected or _projection(old) == _projection(new):
                return
        for svc in sorted(affected):  # sets of str iterate by hash: keep runs deterministic
            self._pod_touched((ns, svc), name)

    def _pod_touched(self, key: Key, pod_name: str) -> None:
        self._dirty.setdefault(key, set()).add(pod_name)
        self.queue.add(Request(*key))

    # -- reconcile helpers
    def _take(self, key: Key) -> tuple[bool, set[str]]:
        """Whether to recompute the Service from scratch, and the pods changed since."""
        full = key in self._full
        self._full.discard(key)
        return full, self._dirty.pop(key, set())

    def _forget(self, key: Key) -> None:
        self._dirty.pop(key, None)
        self._full.discard(key)
        self._triggers.pop(key, None)

    def _trigger_time(self, key: Key, svc: Obj, names: Iterable[str], full: bool) -> str | None:
        members = self._members.get(key, set())
        ns = key[0]
        tracker = self._triggers.get(key)
        if tracker is None:
            tracker = self._triggers[key] = TriggerTimes()
        return tracker.compute(svc, ((n, self.pods.get(n, ns) if n in members else None)
                                     for n in names), full)


# ---------------------------------------------------------------------------------------------
# core/v1 Endpoints.

#: one pod's contribution: its address, whether it is ready, and the ports it serves
#: (``()`` for a headless Service without ports)
Entry = tuple[Obj, bool, tuple[Port, ...]]


def _endpoint_port(port: Port) -> Obj:
    name, number, protocol, app = port
    out: Obj = {"port": number, "protocol": protocol}
    if name:
        out["name"] = name
    if app:
        out["appProtocol"] = app
    return out


def repack_subsets(entries: Iterable[Entry]) -> list[Obj]:
    """``RepackSubsets``: each port maps to the addresses serving it; ports with the same
    addresses (and readiness) share a subset. Addresses sort by IP then pod UID."""
    addresses: dict[tuple[str, str], Obj] = {}
    by_port: dict[Port | None, dict[tuple[str, str], bool]] = {}
    for address, ready, ports in entries:
        akey = (address["ip"], address.get("targetRef", {}).get("uid", ""))
        addresses.setdefault(akey, address)
        for port in ports or (None,):
            seen = by_port.setdefault(port, {})
            if not seen.get(akey, False):
                seen[akey] = ready
    groups: dict[frozenset[tuple[tuple[str, str], bool]], list[Port]] = {}
    for port, seen in by_port.items():
        ports = groups.setdefault(frozenset(seen.items()), [])
        if port is not None:
            ports.append(port)
    subsets: list[tuple[Any, Obj]] = []
    for members, ports in groups.items():
        ready = sorted(k for k, r in members if r)
        not_ready = sorted(k for k, r in members if not r)
        ports.sort(key=lambda p: (p[0], p[1], p[2], p[3] or ""))
        subset: Obj = {}
        if ready:
            subset["addresses"] = [addresses[k] for k in ready]
        if not_ready:
            subset["notReadyAddresses"] = [addresses[k] for k in not_ready]
        if ports:
            subset["ports"] = [_endpoint_port(p) for p in ports]
        order = ([(p[0], p[1], p[2]) for p in ports], (ready or not_ready or [("", "")])[0])
        subsets.append((order, subset))
    subsets.sort(key=lambda item: item[0])
    return [subset for _, subset in subsets]


def _count(subsets: list[Obj]) -> int:
    return sum(len(s.get("addresses") or ()) + len(s.get("notReadyAddresses") or ())
               for s in subsets)


def truncate_subsets(subsets: list[Obj]) -> bool:
    """``truncateEndpoints``: keep at most MAX_CAPACITY addresses, ready ones first, each subset
    keeping its share; True when something was cut."""
    ready = sum(len(s.get("addresses") or ()) for s in subsets)
    not_ready = sum(len(s.get("notReadyAddresses") or ()) for s in subsets)
    if ready + not_ready <= MAX_CAPACITY:
        return False
    cut_ready = ready > MAX_CAPACITY
    budget = MAX_CAPACITY if cut_ready else MAX_CAPACITY - ready
    total = ready if cut_ready else not_ready
    left = budget
    for subset in subsets:
        field = "addresses" if cut_ready else "notReadyAddresses"
        items = subset.get(field) or []
        share = min(math.ceil(len(items) / total * budget), left) if total else 0
        kept = items[:share]
        if kept:
            subset[field] = kept
        else:
            subset.pop(field, None)
        if cut_ready:
            subset.pop("notReadyAddresses", None)
        left -= len(kept)
    return True


class EndpointsController(ServicePodsController):
    """``endpoint-controller``: one core/v1 Endpoints per Service with a selector."""

    name = "endpoint-controller"

    def setup(self, mgr: Manager) -> None:
        super().setup(mgr)
        self.endpoints = mgr.informer(ENDPOINTS)
        # as upstream, only a deletion brings the controller back (to recreate the object)
        self.endpoints.add_handler(Handler(on_delete=self._endpoints_deleted))
        self._entries: dict[Key, dict[str, Entry]] = {}

    def _endpoints_deleted(self, ep: Obj) -> None:
        self.queue.add(Request(*key_of(ep)))

    def _pod_touched(self, key: Key, pod_name: str) -> None:
        self._dirty.setdefault(key, set()).add(pod_name)
        if len(self._members.get(key, ())) > MAX_CAPACITY:
            self.queue.add_after(Request(*key), LARGE_SERVICE_BATCH)
        else:
            self.queue.add(Request(*key))

    def _forget(self, key: Key) -> None:
        super()._forget(key)
        self._entries.pop(key, None)

    def reconcile(self, request: Request) -> Result | None:
        key = (request.namespace, request.name)
        svc = self.services.get(request.name, request.namespace)
        if svc is None:
            self._forget(key)
            if self.endpoints.get(request.name, request.namespace) is not None:
                with contextlib.suppress(errors.NotFound):
                    self.client.delete(ENDPOINTS, request.name, request.namespace)
            return None
        if service_selector(svc) is None:
            self._forget(key)  # its endpoints are written out of band
            return None
        full, dirty = self._take(key)
        entries = self._entries.get(key)
        members = self._members.get(key, set())
        if entries is None or full:
            full, entries, names = True, {}, set(members)
        else:
            names = dirty
        for pod_name in names:
            pod = self.pods.get(pod_name, request.namespace) if pod_name in members else None
            entry = self._entry(svc, pod) if pod is not None else None
            if entry is None:
                entries.pop(pod_name, None)
            else:
                entries[pod_name] = entry
        self._entries[key] = entries
        trigger = self._trigger_time(key, svc, names, full)
        subsets = repack_subsets(entries.values())
        labels = dict(svc["metadata"].get("labels") or {})
        labels[MANAGED_BY_LABEL] = self.name
        if not is_service_ip_set(svc):
            labels[HEADLESS_LABEL] = ""
        current = self.endpoints.get(request.name, request.namespace)
        if current is not None:
            annotations = current["metadata"].get("annotations") or {}
            capacity_ok = _count(subsets) <= MAX_CAPACITY and \
                OVER_CAPACITY_ANNOTATION not in annotations
            if (current.get("subsets") or []) == subsets and capacity_ok and \
                    (current["metadata"].get("labels") or {}) == labels:
                return None
            new = {k: v for k, v in current.items() if k not in ("metadata", "subsets")}
            new["metadata"] = deepcopy(current["metadata"])
        else:
            new = {"apiVersion": "v1", "kind": "Endpoints",
                   "metadata": {"name": request.name, "namespace": request.namespace}}
        meta = new["metadata"]
        annotations = dict(meta.get("annotations") or {})
        if trigger is not None:
            annotations[TRIGGER_TIME_ANNOTATION] = trigger
        else:
            annotations.pop(TRIGGER_TIME_ANNOTATION, None)
        if truncate_subsets(subsets):
            annotations[OVER_CAPACITY_ANNOTATION] = "truncated"
        else:
            annotations.pop(OVER_CAPACITY_ANNOTATION, None)
        meta["labels"] = labels
        if annotations:
            meta["annotations"] = annotations
        else:
            meta.pop("annotations", None)
        new["subsets"] = subsets
        try:
            if current is None:
                self.client.create(ENDPOINTS, new, request.namespace)
            else:
                self.client.replace(ENDPOINTS, new)
        except errors.APIError as exc:
            message = exc.status.get("message", str(exc))
            if current is None and isinstance(exc, errors.Forbidden) and \
                    "terminat" in message.lower():
                return None  # the namespace is going away
            name = f"{request.namespace}/{request.name}"
            if current is None:
                self.events.warning(new, "FailedToCreateEndpoint",
                                    f"Failed to create endpoint for service {name}: {message}")
            else:
                self.events.warning(new, "FailedToUpdateEndpoint",
                                    f"Failed to update endpoint {name}: {message}")
            self._full.add(key)
            return Result(requeue=True)
        return None

    def _entry(self, svc: Obj, pod: Obj) -> Entry | None:
        spec = svc.get("spec") or {}
        publish = bool(spec.get("publishNotReadyAddresses"))
        if not should_pod_be_in_endpoints(pod, publish):
            return None
        ip = pod_ip_for_service(svc, pod)
        if ip is None:
            return None
        address: Obj = {"ip": ip}
        if should_set_hostname(pod, svc):
            address["hostname"] = pod["spec"]["hostname"]
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            address["nodeName"] = node
        address["targetRef"] = target_ref(pod)
        ready = publish or is_pod_ready(pod)
        if not spec.get("ports"):
            return (address, ready, ()) if is_headless(svc) else None
        ports = service_ports(svc, pod)
        return (address, ready, ports) if ports else None

    def unconverged(self) -> list[str]:
        return []
