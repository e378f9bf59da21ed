"""Where a connection to a Service goes, as pure data: the ready endpoints behind one of its
ports. Both ``services/proxy`` (the API server's ResourceLocation) and the simulated kube-proxy
(``curl`` in a container) pick from this list, in turn."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["backends", "port_name"]

Obj = Mapping[str, Any]


def port_name(service: Obj, port: int) -> str | None:
    """The name of the Service port numbered ``port`` (``""`` when unnamed); None if none."""
    for p in (service.get("spec") or {}).get("ports") or ():
        if p.get("port") == port:
            return str(p.get("name", ""))
    return None


def backends(endpoints: Obj, name: str | None) -> list[tuple[str, int]]:
    """(pod name, target port) of every ready pod address in ``endpoints`` for the Service
    port called ``name``; ``None`` takes each subset's first port (a headless Service's name
    leads to its pods' addresses, whatever the port)."""
    out = []
    for subset in endpoints.get("subsets") or ():
        ports = subset.get("ports") or ()
        chosen = ports[:1] if name is None else [p for p in ports if p.get("name", "") == name]
        for p in chosen:
            for address in subset.get("addresses") or ():
                ref = address.get("targetRef") or {}
                if ref.get("kind") == "Pod":
                    out.append((str(ref.get("name")), int(p.get("port") or 0)))
    return out
