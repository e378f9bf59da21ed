"""Failure injection: break the simulated data plane and watch Kubernetes react.

The self-healing story of the Kubernetes docs needs something to heal from. Each fault here is
what would happen to a real node or container, and produces exactly the Kubernetes behaviour that
follows from it, nothing staged: a killed container restarts per ``restartPolicy`` (and a killed
pod's ReplicaSet makes a new one), a node that stops heartbeating is marked NotReady by the node
lifecycle controller and its pods are evicted, a failing image pull shows ``ErrImagePull``::

    cluster.faults.kill_container("default", "web-7d9c-abcde")
    cluster.faults.node_down("node-2")
    cluster.advance(360)      # the node goes NotReady, its pods are evicted and replaced

Faults are applied on the engine thread, in the order they are asked for, at its next step (so
they never race with the kubelets); ``settle()`` or ``advance()`` then shows their effect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kubenb.api import errors
from kubenb.api.annotations import CPU_USAGE as CPU_USAGE_ANNOTATION
from kubenb.api.annotations import MEMORY_USAGE
from kubenb.api.kinds import PODS
from kubenb.api.quantity import milli_value
from kubenb.api.quantity import value as quantity_value
from kubenb.client.client import Client, PatchType
from kubenb.sim.kubelet import RUNNING, Ctr, Kubelets, Run

__all__ = ["Faults"]


class Faults:
    """The failure-injection API of a cluster's simulated nodes (``cluster.faults``)."""

    def __init__(self, kubelets: Kubelets, client: Client) -> None:
        self.kubelets = kubelets
        self.client = client

    # ------------------------------------------------------------------ helpers

    def _soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the engine thread at its next step (a foreground timer, so ``settle``
        waits for it)."""
        self.kubelets.clock.call_later(0, fn)

    def _run(self, namespace: str, pod: str) -> Run:
        run = self.kubelets.runs.get((namespace, pod))
        if run is None:
            raise ValueError(f"pod {namespace}/{pod} is not running on a simulated node")
        return run

    def _containers(self, run: Run, container: str | None) -> list[Ctr]:
        if container is None:
            return [c for c in run.main]
        found = [c for c in run.ctrs if c.name == container]
        if not found:
            raise ValueError(f"pod {run.key[0]}/{run.key[1]} has no container {container!r}")
        return found

    def _alive(self, run: Run) -> bool:
        """Whether the pod still runs on a node whose kubelet is up."""
        state = self.kubelets.nodes.get(run.node)
        return state is not None and state.up and self.kubelets.runs.get(run.key) is run

    def _node(self, name: str) -> None:
        if name not in self.kubelets.nodes:
            raise ValueError(f"no simulated node {name!r}")

    def _mark(self, run: Run, containers: list[Ctr], fault: str, on: bool) -> None:
        for c in containers:
            if on:
                c.faults = (c.faults or set()) | {fault}
            elif c.faults:
                c.faults.discard(fault)
                if not c.faults:
                    c.faults = None

    # ------------------------------------------------------------------ containers

    def kill_container(self, namespace: str, pod: str, container: str | None = None) -> None:
        """The container's process is killed (SIGKILL, exit code 137); it restarts per the
        pod's ``restartPolicy``. Without ``container``, every running app container."""
        self._kill(namespace, pod, container, "Error")

    def oom_kill(self, namespace: str, pod: str, container: str | None = None) -> None:
        """The container is killed for exceeding its memory limit (``OOMKilled``, 137)."""
        self._kill(namespace, pod, container, "OOMKilled")

    def _kill(self, namespace: str, pod: str, container: str | None, reason: str) -> None:
        run = self._run(namespace, pod)
        targets = self._containers(run, container)
        kubelets = self.kubelets

        def kill() -> None:
            for c in targets:
                if c.state == RUNNING and self._alive(run):
                    kubelets._exited(run, c, 137, reason)

        self._soon(kill)

    def crash_loop(self, namespace: str, pod: str, container: str | None = None) -> None:
        """The container crashes now and on every start after one second (exit code 1): it
        goes into CrashLoopBackOff until :meth:`recover`."""
        run = self._run(namespace, pod)
        targets = self._containers(run, container)
        kubelets = self.kubelets

        def crash() -> None:
            self._mark(run, targets, "crash", True)
            for c in targets:
                if c.state == RUNNING and self._alive(run):
                    kubelets._exited(run, c, 1, "Error",
                                     "kubenb: simulated crash (Faults.crash_loop), exit code 1")

        self._soon(crash)

    def fail_liveness(self, namespace: str, pod: str, container: str | None = None) -> None:
        """The container hangs: its liveness probe fails until the kubelet restarts it
        (``Unhealthy`` events, then ``Killing``). The restarted container is healthy."""
        run = self._run(namespace, pod)
        targets = self._containers(run, container)
        pod_obj = self.kubelets._pod(run)
        for c in targets:
            spec = self.kubelets._spec(pod_obj, c) if pod_obj is not None else {}
            if not spec.get("livenessProbe"):
                raise ValueError(f"container {c.name!r} has no livenessProbe: nothing would "
                                 "notice it hanging")
        self._set_probe_fault(run, targets, "liveness", True)

    def fail_readiness(self, namespace: str, pod: str, container: str | None = None) -> None:
        """The container reports not ready (as a failing readiness probe) until
        :meth:`recover`: the pod leaves its Services' endpoints."""
        run = self._run(namespace, pod)
        self._set_probe_fault(run, self._containers(run, container), "readiness", True)

    def recover(self, namespace: str, pod: str, container: str | None = None) -> None:
        """End the container faults of a pod (crash loop, failing probes)."""
        run = self._run(namespace, pod)
        targets = self._containers(run, container)
        self._set_probe_fault(run, targets, "readiness", False)
        self._set_probe_fault(run, targets, "liveness", False)
        self._soon(lambda: self._mark(run, targets, "crash", False))

    def _set_probe_fault(self, run: Run, targets: list[Ctr], fault: str, on: bool) -> None:
        kubelets = self.kubelets

        def apply() -> None:
            if kubelets.runs.get(run.key) is not run:
                return  # (faults are marked on a downed node too: they apply once it is up)
            self._mark(run, targets, fault, on)
            for c in targets:
                kubelets.kick_probes(run, c)

        self._soon(apply)

    def delete_pod(self, namespace: str, pod: str, *,
                   grace_period_seconds: int | None = None) -> None:
        """Delete the pod through the API, as ``kubectl delete pod`` does (graceful unless
        ``grace_period_seconds=0``)."""
        try:
            self.client.delete(PODS, pod, namespace, grace_period_seconds=grace_period_seconds)
        except errors.NotFound:
            raise ValueError(f"pod {namespace}/{pod} not found") from None

    # ------------------------------------------------------------------ load

    def cpu_load(self, namespace: str, selector_or_pod: str | Mapping[str, str],
                 millicores: int | str | None) -> list[str]:
        """Make pods busy: set their simulated CPU usage (the ``kubenb.io/cpu-usage``
        annotation the HorizontalPodAutoscaler and the metrics API read) to ``millicores`` per
        pod (an int, or a quantity such as ``"250m"`` or ``"0.5"``); None takes them back to the
        idle baseline. ``selector_or_pod`` is a pod name, a label selector (``"app=web"``) or a
        dict of labels. Returns the names of the pods changed; pods created later start idle."""
        value: str | None = None
        if millicores is not None:
            milli = millicores if isinstance(millicores, int) else milli_value(millicores)
            if milli < 0:
                raise ValueError(f"CPU usage cannot be negative: {millicores!r}")
            value = f"{milli}m"
        return self._annotate_pods(namespace, selector_or_pod, CPU_USAGE_ANNOTATION, value)

    def memory_load(self, namespace: str, selector_or_pod: str | Mapping[str, str],
                    size: int | str | None) -> list[str]:
        """Make pods use memory: set their simulated usage (the ``kubenb.io/memory-usage``
        annotation) to ``size`` per pod (bytes, or a quantity such as ``"300Mi"``); None takes
        them back to the default (half their memory requests). Pods are chosen as by
        :meth:`cpu_load`."""
        text: str | None = None
        if size is not None:
            amount = size if isinstance(size, int) else quantity_value(size)
            if amount < 0:
                raise ValueError(f"memory usage cannot be negative: {size!r}")
            text = str(amount)
        return self._annotate_pods(namespace, selector_or_pod, MEMORY_USAGE, text)

    def _annotate_pods(self, namespace: str, selector_or_pod: str | Mapping[str, str],
                       annotation: str, value: str | None) -> list[str]:
        """Set (or, with None, remove) ``annotation`` on a pod or on the pods a selector
        matches; returns the names of the pods changed."""
        if isinstance(selector_or_pod, Mapping):
            selector = ",".join(f"{k}={v}" for k, v in sorted(selector_or_pod.items()))
        elif any(ch in selector_or_pod for ch in "=!(, "):
            selector = selector_or_pod
        else:
            try:
                pods = [self.client.get(PODS, selector_or_pod, namespace)]
            except errors.NotFound:
                raise ValueError(f"pod {namespace}/{selector_or_pod} not found") from None
            selector = None
        if selector is not None:
            pods = self.client.list(PODS, namespace, label_selector=selector).items
            if not pods:
                raise ValueError(f"no pod in namespace {namespace!r} matches {selector!r}")
        changed = []
        for pod in pods:
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            try:
                self.client.patch(PODS, meta["name"], {"metadata": {"annotations": {
                    annotation: value}}}, namespace, patch_type=PatchType.MERGE)
            except errors.NotFound:
                continue
            changed.append(meta["name"])
        return sorted(changed)

    # ------------------------------------------------------------------ nodes

    def node_down(self, name: str) -> None:
        """The machine stops: no Lease renewals, no status, its containers are gone. The node
        lifecycle controller then marks it NotReady and evicts its pods."""
        self._node(name)
        self._soon(lambda: self.kubelets.node_down(name))

    def node_up(self, name: str) -> None:
        """The machine boots again: the kubelet heartbeats and restarts the pods it had."""
        self._node(name)
        self._soon(lambda: self.kubelets.node_up(name))

    def partition(self, name: str) -> None:
        """Cut the node off the API server: its containers go on running, but it can neither
        heartbeat nor report, nor see what the API asks of it."""
        self._node(name)
        self._soon(lambda: self.kubelets.partition(name))

    def heal(self, name: str) -> None:
        """End a partition: the kubelet heartbeats again and reconciles its pods (it stops
        those the API deleted meanwhile and reports the others)."""
        self._node(name)
        self._soon(lambda: self.kubelets.heal(name))

    # ------------------------------------------------------------------ images

    def fail_image_pulls(self, pattern: str, node: str | None = None) -> None:
        """Pulls of images matching ``pattern`` (shell-style, on the image as written or
        normalised: ``"nginx*"``, ``"docker.io/library/redis:*"``) fail with a registry error,
        on ``node`` or everywhere. Images already on a node are not pulled again
        (``IfNotPresent``)."""
        if node is not None:
            self._node(node)
        entry = (pattern, node)
        self._soon(lambda: self.kubelets.pull_failures.append(entry))

    def clear_image_pulls(self, pattern: str | None = None, node: str | None = None) -> None:
        """Let pulls succeed again (all of them, or those of one ``fail_image_pulls``)."""

        def clear() -> None:
            failures = self.kubelets.pull_failures
            failures[:] = [(p, n) for p, n in failures
                           if not ((pattern is None or p == pattern)
                                   and (node is None or n == node))]

        self._soon(clear)

    def clear(self) -> None:
        """End every fault: container faults, failing pulls, partitions and downed nodes."""
        kubelets = self.kubelets

        def clear_all() -> None:
            kubelets.pull_failures.clear()
            for run in list(kubelets.runs.values()):
                for c in run.ctrs:
                    if c.faults:
                        had_probe_fault = bool(c.faults & {"readiness", "liveness"})
                        c.faults = None
                        if had_probe_fault:
                            kubelets.kick_probes(run, c)
            for name, state in list(kubelets.nodes.items()):
                if not state.up:
                    kubelets.node_up(name)
                elif not state.reachable:
                    kubelets.heal(name)

        self._soon(clear_all)
