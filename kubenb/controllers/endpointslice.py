"""The EndpointSlice controller (``pkg/controller/endpointslice`` and the reconciler of
``k8s.io/endpointslice``): what kube-proxy and DNS read to find a Service's pods.

For every Service with a selector, discovery.k8s.io/v1 EndpointSlices named ``<service>-xxxxx``
(``generateName``), labelled ``kubernetes.io/service-name`` and ``endpointslice.kubernetes.io/
managed-by: endpointslice-controller.k8s.io`` (plus the Service's own labels, and
``service.kubernetes.io/headless`` for a headless one), owned by the Service (the garbage
collector deletes them with it), each holding at most 100 endpoints of one address type and one
set of ports. An endpoint is a pod with an IP: ``addresses: [podIP]``, ``conditions``
(``serving`` = the pod is Ready, ``terminating`` = it is being deleted, ``ready`` = serving and
not terminating, or always with ``publishNotReadyAddresses``), ``nodeName``, ``zone`` when the
node has a ``topology.kubernetes.io/zone`` label, ``hostname`` for a pod whose subdomain is the
Service, and ``targetRef`` to the pod. Terminating pods stay (with their conditions), pods in a
terminal phase or without an IP do not; a pod on a node the cluster does not know is left out
(unless ``publishNotReadyAddresses``), with a FailedToUpdateEndpointSlices event, until the node
appears. A Service with no endpoints keeps one empty "placeholder" slice.

The reconciler is upstream's, applied to the pods that changed since the last sync rather than
to all of them: a changed endpoint is updated in place, a gone one removed (a slice left empty
is deleted), new ones fill the slices already being updated (fullest first), then the existing
slice they fit best, then new slices; a slice to create takes the name of one to delete. Only
slices whose content changes are written. Each written slice carries the
``endpoints.kubernetes.io/last-change-trigger-time`` annotation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import ENDPOINTSLICES, NODES
from kubenb.client.client import deepcopy
from kubenb.controllers.endpoints import (
    HEADLESS_LABEL,
    TRIGGER_TIME_ANNOTATION,
    Port,
    ServicePodsController,
    is_service_ip_set,
    pod_ip_for_service,
    service_family,
    service_ports,
    service_selector,
    should_pod_be_in_endpoints,
    should_set_hostname,
    target_ref,
)
from kubenb.controllers.podutil import is_pod_ready
from kubenb.runtime.controller import Request, Result
from kubenb.runtime.informer import BY_NODE, Handler, Key, by_node, key_of
from kubenb.runtime.manager import Manager

__all__ = ["EndpointSliceController", "MAX_ENDPOINTS_PER_SLICE"]

Obj = dict[str, Any]
PortKey = tuple[Port, ...]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
ZONE_LABEL = "topology.kubernetes.io/zone"
#: kube-controller-manager's --max-endpoints-per-slice default
MAX_ENDPOINTS_PER_SLICE = 100

#: informer index names (the slice indexes are this controller's; the pod one is shared)
SLICES_BY_SERVICE = "endpointslice/service"
SLICES_BY_POD = "endpointslice/pod"
PODS_BY_NODE = BY_NODE  # the shared index


def _managed(obj: Obj) -> str | None:
    """The Service a slice belongs to, when this controller manages it."""
    labels = obj["metadata"].get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != CONTROLLER_NAME:
        return None
    return labels.get(SERVICE_NAME_LABEL)


def _slices_by_service(obj: Obj) -> Iterable[str]:
    svc = _managed(obj)
    return (f"{obj['metadata'].get('namespace', '')}/{svc}",) if svc else ()


def _slices_by_pod(obj: Obj) -> Iterable[str]:
    if _managed(obj) is None:
        return ()
    ns = obj["metadata"].get("namespace", "")
    return {f"{ns}/{ref['name']}" for ep in obj.get("endpoints") or ()
            if (ref := ep.get("targetRef")) and ref.get("kind") == "Pod" and ref.get("name")}


def _endpoint_pod(ep: Obj) -> str | None:
    ref = ep.get("targetRef")
    return ref.get("name") if ref and ref.get("kind") == "Pod" else None


def _port_key(slice_: Obj) -> PortKey:
    return tuple((p.get("name") or "", p.get("port"), p.get("protocol") or "TCP",
                  p.get("appProtocol")) for p in slice_.get("ports") or ())


def _slice_port(port: Port) -> Obj:
    name, number, protocol, app = port
    out: Obj = {"name": name, "port": number, "protocol": protocol}
    if app:
        out["appProtocol"] = app
    return out


def _owned_by(slice_: Obj, uid: str | None) -> bool:
    return any(ref.get("uid") == uid and ref.get("kind") == "Service"
               and ref.get("apiVersion") == "v1"
               for ref in slice_["metadata"].get("ownerReferences") or ())


def _slice_to_fill(candidates: list[Obj], count: int) -> Obj | None:
    """``getSliceToFill``: the slice whose free room ``count`` endpoints fill most closely."""
    best, best_diff = None, MAX_ENDPOINTS_PER_SLICE
    for candidate in candidates:
        diff = MAX_ENDPOINTS_PER_SLICE - (count + len(candidate.get("endpoints") or ()))
        if 0 <= diff < best_diff:
            best, best_diff = candidate, diff
            if diff == 0:
                break
    return best


class EndpointSliceController(ServicePodsController):
    """``endpointslice-controller``."""

    name = "endpointslice-controller"

    def setup(self, mgr: Manager) -> None:
        super().setup(mgr)
        self.nodes = mgr.informer(NODES)
        self.slices = mgr.informer(ENDPOINTSLICES)
        self.slices.add_index(SLICES_BY_SERVICE, _slices_by_service)
        self.slices.add_index(SLICES_BY_POD, _slices_by_pod)
        self.pods.add_index(PODS_BY_NODE, by_node)
        self.slices.add_handler(Handler(on_add=self._slice_changed,
                                        on_update=lambda _old, new: self._slice_changed(new),
                                        on_delete=self._slice_deleted))
        self.nodes.add_handler(Handler(on_add=self._node_changed,
                                       on_update=self._node_updated,
                                       on_delete=self._node_changed))
        self._written: dict[Key, str] = {}  # slice -> the resourceVersion this controller wrote
        self._deleting: set[Key] = set()
        self._synced: set[Key] = set()

    # -- events
    def _slice_changed(self, slice_: Obj) -> None:
        svc = _managed(slice_)
        if svc is None:
            return
        key = key_of(slice_)
        if self._written.get(key) == slice_["metadata"].get("resourceVersion"):
            return  # our own write coming back
        self._full.add((key[0], svc))
        self.queue.add(Request(key[0], svc))

    def _slice_deleted(self, slice_: Obj) -> None:
        key = key_of(slice_)
        self._written.pop(key, None)
        if key in self._deleting:
            self._deleting.discard(key)
            return
        svc = _managed(slice_)
        if svc is not None:
            self._full.add((key[0], svc))
            self.queue.add(Request(key[0], svc))

    def _node_changed(self, node: Obj) -> None:
        """A node appeared or went: its pods' endpoints (left out, or with a zone) change."""
        for pod in self.pods.by_index(PODS_BY_NODE, node["metadata"]["name"]):
            self._touch_pod(pod)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if (old["metadata"].get("labels") or {}).get(ZONE_LABEL) != \
                (new["metadata"].get("labels") or {}).get(ZONE_LABEL):
            self._node_changed(new)

    def _touch_pod(self, pod: Obj) -> None:
        meta = pod["metadata"]
        ns = meta.get("namespace") or ""
        for svc in sorted(self._pod_services.get((ns, meta["name"]), ())):
            self._pod_touched((ns, svc), meta["name"])

    def _forget(self, key: Key) -> None:
        super()._forget(key)
        self._synced.discard(key)

    # -- reconcile
    def reconcile(self, request: Request) -> Result | None:
        key = (request.namespace, request.name)
        ns = request.namespace
        svc = self.services.get(request.name, ns)
        if svc is None or service_selector(svc) is None:
            # a deleted Service's slices are the garbage collector's; a Service without a
            # selector gets its slices from someone else
            self._forget(key)
            return None
        full, dirty = self._take(key)
        if key not in self._synced:
            full = True
        family = service_family(svc)
        existing = [s for s in self.slices.by_index(SLICES_BY_SERVICE, f"{ns}/{request.name}")
                    if not s["metadata"].get("deletionTimestamp")]
        owned: list[Obj] = []
        foreign: list[Obj] = []
        uid = svc["metadata"].get("uid")
        for s in existing:
            mine = s.get("addressType") == family and _owned_by(s, uid)
            (owned if mine else foreign).append(s)
        members = self._members.get(key, set())
        if full:
            touched = set(members)
            for s in owned:
                touched.update(p for ep in s.get("endpoints") or ()
                               if (p := _endpoint_pod(ep)) is not None)
            examined = owned
        else:
            touched = dirty
            names: set[str] = set()
            for pod_name in touched:
                names.update(s["metadata"]["name"]
                             for s in self.slices.by_index(SLICES_BY_POD, f"{ns}/{pod_name}"))
            examined = [s for s in owned
                        if s["metadata"]["name"] in names or not s.get("endpoints")]
        desired, missing_nodes = self._desired(svc, sorted(touched), members, family)
        trigger = self._trigger_time(key, svc, touched, full)
        labels = self._labels(svc)
        creates, updates, deletes = self._plan(svc, owned, examined, touched, desired, labels,
                                               family, full)
        if full:
            deletes.extend(foreign)
        if len(existing) == len(deletes) and not creates:
            if len(deletes) == 1 and self._is_placeholder(deletes[0], labels, family):
                deletes = []
            else:
                creates.append(self._new_slice(svc, (), family, labels))
        # a slice to create takes the place of one to delete
        kept: list[Obj] = []
        for old in deletes:
            if creates and _owned_by(old, uid) and old.get("addressType") == family:
                reused = creates.pop()
                meta = reused["metadata"]
                meta.pop("generateName", None)
                meta["name"] = old["metadata"]["name"]
                meta["resourceVersion"] = old["metadata"]["resourceVersion"]
                updates.append(reused)
            else:
                kept.append(old)
        deletes = kept
        self._synced.add(key)
        failures = self._write(svc, creates, updates, deletes, trigger)
        if missing_nodes:
            failures += [f"skipping Pod {p} for Service {ns}/{request.name}: Node {n} Not Found"
                         for p, n in missing_nodes]
        if failures:
            self.events.warning(svc, "FailedToUpdateEndpointSlices",
                                f"Error updating Endpoint Slices for Service {ns}/{request.name}: "
                                + "; ".join(failures[:5]))
        if len(failures) > len(missing_nodes):
            self._full.add(key)
            return Result(requeue=True)
        return None

    def _desired(self, svc: Obj, names: list[str], members: set[str], family: str
                 ) -> tuple[dict[PortKey, dict[str, Obj]], list[tuple[str, str]]]:
        """The endpoints the given pods should have, by port set; and the pods whose node is
        unknown (left out)."""
        ns = svc["metadata"].get("namespace", "")
        publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
        desired: dict[PortKey, dict[str, Obj]] = {}
        missing: list[tuple[str, str]] = []
        for pod_name in names:
            if pod_name not in members:
                continue
            pod = self.pods.get(pod_name, ns)
            if pod is None or not should_pod_be_in_endpoints(pod, True):
                continue
            ip = pod_ip_for_service(svc, pod, family)
            if ip is None:
                continue
            node_name = (pod.get("spec") or {}).get("nodeName") or ""
            node = self.nodes.get(node_name) if node_name else None
            if node is None and not publish:
                missing.append((pod_name, node_name))
                continue
            serving = is_pod_ready(pod)
            terminating = bool(pod["metadata"].get("deletionTimestamp"))
            ep: Obj = {"addresses": [ip],
                       "conditions": {"ready": publish or (serving and not terminating),
                                      "serving": serving, "terminating": terminating}}
            if should_set_hostname(pod, svc):
                ep["hostname"] = pod["spec"]["hostname"]
            if node_name:
                ep["nodeName"] = node_name
            ep["targetRef"] = target_ref(pod)
            zone = ((node or {}).get("metadata", {}).get("labels") or {}).get(ZONE_LABEL)
            if zone:
                ep["zone"] = zone
            desired.setdefault(service_ports(svc, pod), {})[pod_name] = ep
        return desired, missing

    def _labels(self, svc: Obj) -> dict[str, str]:
        """``setEndpointSliceLabels``: the Service's labels, then the reserved ones."""
        reserved = (SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL)
        labels = {k: v for k, v in (svc["metadata"].get("labels") or {}).items()
                  if k not in reserved}
        if not is_service_ip_set(svc):
            labels[HEADLESS_LABEL] = ""
        labels[SERVICE_NAME_LABEL] = svc["metadata"]["name"]
        labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
        return labels

    def _plan(self, svc: Obj, owned: list[Obj], examined: list[Obj], touched: set[str],
              desired: dict[PortKey, dict[str, Obj]], labels: dict[str, str], family: str,
              full: bool) -> tuple[list[Obj], list[Obj], list[Obj]]:
        """``reconcileByPortMapping`` for every port set, on the examined slices."""
        creates: list[Obj] = []
        updates: list[Obj] = []
        deletes: list[Obj] = []
        examined_names = {s["metadata"]["name"] for s in examined}
        unchanged: dict[PortKey, list[Obj]] = {}
        for s in owned:
            if s["metadata"]["name"] not in examined_names:
                unchanged.setdefault(_port_key(s), []).append(s)
        remaining = {pk: dict(eps) for pk, eps in desired.items()}
        # 1. update or remove the endpoints of the touched pods where they are
        for s in examined:
            pk = _port_key(s)
            want = remaining.get(pk, {})
            endpoints: list[Obj] = []
            changed = False
            for ep in s.get("endpoints") or ():
                pod_name = _endpoint_pod(ep)
                if (pod_name is None and full) or (pod_name is not None and pod_name in touched):
                    new = want.pop(pod_name, None) if pod_name is not None else None
                    if new is None:
                        changed = True
                        continue
                    changed = changed or new != ep
                    endpoints.append(new)
                else:
                    endpoints.append(ep)
            if changed:
                if endpoints:
                    updates.append(self._copy(s, endpoints, labels))
                else:
                    deletes.append(s)
            elif (s["metadata"].get("labels") or {}) != labels:
                updates.append(self._copy(s, endpoints, labels))
            else:
                unchanged.setdefault(pk, []).append(s)
        # 2. fill the slices being updated, fullest first; 3. then the best fitting unchanged
        # slice, then new slices
        for pk, want in remaining.items():
            if not want:
                continue
            pending = list(want.values())
            for s in sorted((u for u in updates if _port_key(u) == pk),
                            key=lambda u: -len(u["endpoints"])):
                room = MAX_ENDPOINTS_PER_SLICE - len(s["endpoints"])
                if room > 0 and pending:
                    s["endpoints"].extend(pending[:room])
                    del pending[:room]
            while pending:
                candidates = unchanged.get(pk, [])
                target = _slice_to_fill(candidates, len(pending)) \
                    if len(pending) < MAX_ENDPOINTS_PER_SLICE and candidates else None
                if target is None:
                    target = self._new_slice(svc, pk, family, labels)
                    creates.append(target)
                else:
                    candidates[:] = [c for c in candidates if c is not target]
                    target = self._copy(target, list(target.get("endpoints") or ()), labels)
                    updates.append(target)
                room = MAX_ENDPOINTS_PER_SLICE - len(target["endpoints"])
                target["endpoints"].extend(pending[:room])
                del pending[:room]
        # an examined slice left empty (the placeholder, once endpoints exist) goes
        for candidates in unchanged.values():
            deletes.extend(s for s in candidates
                           if not s.get("endpoints") and s["metadata"]["name"] in examined_names)
        return creates, updates, deletes

    def _copy(self, slice_: Obj, endpoints: list[Obj], labels: dict[str, str]) -> Obj:
        out = {k: v for k, v in slice_.items() if k != "endpoints"}
        out = deepcopy(out)
        out["metadata"]["labels"] = dict(labels)
        out["endpoints"] = endpoints
        return out

    def _new_slice(self, svc: Obj, ports: PortKey, family: str, labels: dict[str, str]) -> Obj:
        meta = svc["metadata"]
        name = meta["name"]
        # "<service>-" as the prefix, if the name leaves room for the random suffix
        prefix = f"{name}-" if len(name) + 1 <= 253 - 5 else name
        out: Obj = {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": prefix, "namespace": meta.get("namespace", ""),
                         "labels": dict(labels),
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Service",
                                              "name": name, "uid": meta.get("uid", ""),
                                              "controller": True,
                                              "blockOwnerDeletion": True}]},
            "addressType": family, "endpoints": [],
        }
        if ports:
            out["ports"] = [_slice_port(p) for p in ports]
        return out

    @staticmethod
    def _is_placeholder(slice_: Obj, labels: dict[str, str], family: str) -> bool:
        return not slice_.get("endpoints") and not slice_.get("ports") and \
            slice_.get("addressType") == family and \
            (slice_["metadata"].get("labels") or {}) == labels

    def _write(self, svc: Obj, creates: list[Obj], updates: list[Obj], deletes: list[Obj],
               trigger: str | None) -> list[str]:
        ns = svc["metadata"].get("namespace", "")
        failures: list[str] = []

        def annotate(slice_: Obj) -> None:
            meta = slice_["metadata"]
            annotations = dict(meta.get("annotations") or {})
            if trigger is not None:
                annotations[TRIGGER_TIME_ANNOTATION] = trigger
            else:
                annotations.pop(TRIGGER_TIME_ANNOTATION, None)
            if annotations:
                meta["annotations"] = annotations
            else:
                meta.pop("annotations", None)

        def record(result: Obj) -> None:
            self._written[key_of(result)] = result["metadata"].get("resourceVersion", "")

        if not svc["metadata"].get("deletionTimestamp"):
            for slice_ in creates:
                annotate(slice_)
                try:
                    record(self.client.create(ENDPOINTSLICES, deepcopy(slice_), ns))
                except errors.APIError as exc:
                    message = exc.status.get("message", str(exc))
                    if isinstance(exc, errors.Forbidden) and "terminat" in message.lower():
                        return []  # the namespace is going away
                    failures.append(f"failed to create EndpointSlice for Service "
                                    f"{ns}/{svc['metadata']['name']}: {message}")
        for slice_ in updates:
            annotate(slice_)
            try:
                record(self.client.replace(ENDPOINTSLICES, deepcopy(slice_)))
            except errors.APIError as exc:
                failures.append(f"failed to update {slice_['metadata']['name']} EndpointSlice "
                                f"for Service {ns}/{svc['metadata']['name']}: "
                                f"{exc.status.get('message', exc)}")
        for slice_ in deletes:
            key = key_of(slice_)
            self._deleting.add(key)
            try:
                self.client.delete(ENDPOINTSLICES, key[1], ns)
            except errors.NotFound:
                self._deleting.discard(key)
            except errors.APIError as exc:
                self._deleting.discard(key)
                failures.append(f"failed to delete {key[1]} EndpointSlice for Service "
                                f"{ns}/{svc['metadata']['name']}: "
                                f"{exc.status.get('message', exc)}")
        return failures

    def unconverged(self) -> list[str]:
        return []
