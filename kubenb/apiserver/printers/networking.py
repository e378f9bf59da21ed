"""Printers for networking.k8s.io and discovery.k8s.io kinds.

Ingress, IngressClass, NetworkPolicy, ServiceCIDR, IPAddress and EndpointSlice, as the matching
``print*`` functions of ``pkg/printers/internalversion`` render them. (Service and Endpoints are
core/v1 and live in ``core``.)
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from kubenb.apiserver.printers.cells import (
    Cell,
    Obj,
    _age,
    _format_selector,
    _g,
    _l,
    _list_with_more,
    _m,
    _name,
    _s,
)
from kubenb.apiserver.printers.columns import _AGE, _NAME, _Col, _prints


@_prints(
    ("networking.k8s.io", "Ingress"),
    columns=(
        _NAME,
        _Col(
            "Class",
            doc="The name of the IngressClass resource that should be used for additional "
            "configuration",
        ),
        _Col(
            "Hosts", doc="Hosts that incoming requests are matched against before the ingress rule"
        ),
        _Col("Address", doc="Address is a list containing ingress points for the load-balancer"),
        _Col("Ports", doc="Ports of TLS configurations that open"),
        _AGE,
    ),
)
def _ingress(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    rules = _l(spec, "rules")
    hosts: list[str] = []
    more = False
    for rule in rules:  # formatHosts: "more" once three hosts are listed and another rule follows
        more = more or len(hosts) == 3
        if not more and _s(rule, "host"):
            hosts.append(_s(rule, "host"))
    host_cell = ",".join(hosts) or "*"
    if more and hosts:
        host_cell = f"{host_cell} + {len(rules) - 3} more..."
    lb = sorted(
        {_s(i, "ip") or _s(i, "hostname") for i in _l(obj, "status", "loadBalancer", "ingress")}
        - {""}
    )
    return [
        _name(obj),
        _s(spec, "ingressClassName") or "<none>",
        host_cell,
        ",".join(lb),
        "80, 443" if _l(spec, "tls") else "80",
        _age(obj, now),
    ]


@_prints(
    ("networking.k8s.io", "IngressClass"),
    columns=(
        _NAME,
        _Col("Controller", doc="Controller that is responsible for handling this class"),
        _Col("Parameters", doc="A reference to a resource with additional parameters"),
        _AGE,
    ),
)
def _ingress_class(obj: Obj, now: datetime.datetime) -> list[Cell]:
    params = _g(obj, "spec", "parameters")
    text = "<none>"
    if isinstance(params, Mapping):
        text = _s(params, "kind")
        if isinstance(params.get("apiGroup"), str):
            text = f"{text}.{params['apiGroup']}"
        text = f"{text}/{_s(params, 'name')}"
    return [_name(obj), _s(obj, "spec", "controller"), text, _age(obj, now)]


@_prints(
    ("networking.k8s.io", "NetworkPolicy"),
    columns=(
        _NAME,
        _Col("Pod-Selector", doc=("networking.v1.NetworkPolicySpec", "podSelector")),
        _AGE,
    ),
)
def _network_policy(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _format_selector(_g(obj, "spec", "podSelector") or {}), _age(obj, now)]


@_prints(
    ("networking.k8s.io", "ServiceCIDR"),
    columns=(_NAME, _Col("CIDRs", doc=("networking.v1.ServiceCIDRSpec", "cidrs")), _AGE),
)
def _service_cidr(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), ",".join(str(c) for c in _l(obj, "spec", "cidrs")), _age(obj, now)]


@_prints(
    ("networking.k8s.io", "IPAddress"),
    columns=(_NAME, _Col("ParentRef", doc=("networking.v1.IPAddressSpec", "parentRef"))),
)
def _ip_address(obj: Obj, now: datetime.datetime) -> list[Cell]:
    # Upstream's row has an Age cell beyond its two columns; kubectl prints only the columns.
    ref = _g(obj, "spec", "parentRef")
    parent = "<none>"
    if isinstance(ref, Mapping):
        group_resource = _s(ref, "resource") + (f".{_s(ref, 'group')}" if _s(ref, "group") else "")
        parent = group_resource.lower()
        if _s(ref, "namespace"):
            parent += "/" + _s(ref, "namespace")
        parent += "/" + _s(ref, "name")
    return [_name(obj), parent, _age(obj, now)]


@_prints(
    ("discovery.k8s.io", "EndpointSlice"),
    columns=(
        _NAME,
        _Col("AddressType", doc=("discovery.v1.EndpointSlice", "addressType")),
        _Col("Ports", doc=("discovery.v1.EndpointSlice", "ports")),
        _Col("Endpoints", doc=("discovery.v1.EndpointSlice", "endpoints")),
        _AGE,
    ),
)
def _endpoint_slice(obj: Obj, now: datetime.datetime) -> list[Cell]:
    ports = []
    for port in _l(obj, "ports"):
        number, name = _g(port, "port"), _g(port, "name")
        ports.append(
            str(number) if isinstance(number, int) else name if isinstance(name, str) else "*"
        )
    addresses = [str(a) for e in _l(obj, "endpoints") for a in _l(e, "addresses")]
    return [
        _name(obj),
        _s(obj, "addressType"),
        _list_with_more(ports, len(ports)),
        _list_with_more(addresses, len(addresses)),
        _age(obj, now),
    ]
