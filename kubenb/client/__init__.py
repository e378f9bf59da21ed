"""One client API, two transports: in-process (the embedded apiserver) and, later, HTTP."""

from kubenb.client.client import Client, ObjectList, PatchType, Transport, deepcopy

__all__ = ["Client", "ObjectList", "PatchType", "Transport", "deepcopy"]
