"""The same decision as :class:`~kubenb.scheduler.plugins.Cycle`, in time that does not grow
with the number of nodes looked at.

kube-scheduler filters nodes from a rotating start until it has found
``numFeasibleNodesToFind`` (500 of 5,000 nodes), scores those, and picks the best. Done node by
node in Python that is far too slow for thousands of pods, so for pods of one *shape* (the same
spec, namespace and labels: the replicas of a ReplicaSet) this module keeps, per node, the
*state* that decides the node's fate:

    (LeastAllocated score, BalancedAllocation score, untolerated PreferNoSchedule taints,
     preferred node-affinity weight, matching pods on the node, zone)

or "infeasible". Nodes are grouped by state in sorted lists of their positions in node-tree
order. A scheduling cycle then only needs, for each state, how many of its nodes fall in the
window of processed nodes (two bisections), computes the normalized scores once per state
(normalization needs the window's minimum and maximum, which the states give), and picks among
the nodes of the winning state(s). After a bind only the nodes in the cache's change log are
recomputed.

Used for pods without inter-pod affinity, explicit topology spread constraints, host ports or
``metadata.name`` node affinity, and only while no existing pod's affinity terms concern them;
everything else goes through the plugin-by-plugin cycle.
"""

from __future__ import annotations

import random
from bisect import bisect_left, insort
from typing import TYPE_CHECKING

from kubenb.scheduler.plugins import (
    HOSTNAME,
    MAX_NODE_SCORE,
    SYSTEM_DEFAULT_SPREAD,
    PodShape,
    balanced_allocation,
    least_allocated,
    normalizing_weight,
    num_feasible_nodes_to_find,
    spread_score,
)

if TYPE_CHECKING:
    from kubenb.api.selectors import LabelSelector
    from kubenb.scheduler.cache import NodeInfo, SchedulerCache, SelectorCount

__all__ = ["ShapeState", "eligible"]

INFEASIBLE = -1
_HOST_SKEW = dict(SYSTEM_DEFAULT_SPREAD)[HOSTNAME]
_ZONE_SKEW = SYSTEM_DEFAULT_SPREAD[1][1]

StateKey = tuple[int, int, int, int, int, str | None]
_WEIGHTS: dict[int, float] = {}


def _weight(size: int) -> float:
    w = _WEIGHTS.get(size)
    if w is None:
        w = _WEIGHTS[size] = normalizing_weight(size)
    return w


def eligible(shape: PodShape) -> bool:
    """Whether the shape's own spec allows the fast path (existing pods' affinity is checked
    by the scheduler)."""
    return (shape.terms is None and not shape.explicit_spread and not shape.ports
            and shape.name_set is None and not shape.name_conflict)


class ShapeState:
    """Per-node states of one pod shape, kept current from the cache's change log."""

    def __init__(self, shape: PodShape, cache: SchedulerCache) -> None:
        self.shape = shape
        self.cache = cache
        self.order_version = -1
        self.selector: LabelSelector | None = None
        self.counter: SelectorCount | None = None
        self.mark = 0
        self.n = 0
        self.state_of: list[int] = []
        self.ids: dict[StateKey, int] = {}
        self.keys: list[StateKey] = []
        self.positions: list[list[int]] = []
        #: the state ids that have nodes (what a decision looks at)
        self.live: dict[int, list[int]] = {}
        self.infeasible: list[int] = []
        self.static: list[tuple[int, bool, int, int, bool] | None] = []
        self.counted: list[int] = []
        self.zone_counts: dict[str, int] = {}

    # ------------------------------------------------------------------ upkeep

    def refresh(self) -> None:
        cache = self.cache
        selector = self.shape.default_selector
        counter = self.counter
        if (self.order_version != cache.order_version
                or (selector is not self.selector and selector != self.selector)
                or (counter is not None and not counter.alive)):
            self._rebuild()
            return
        changed = cache.changes_since(self.mark)
        if changed is None:
            self._rebuild()
            return
        if counter is not None:
            cache.touch(counter)
        order = cache.order
        n = self.n
        for node in dict.fromkeys(changed):
            pos = node.pos
            if 0 <= pos < n and order[pos] is node:
                self._update(pos)
        if len(order) > n:  # nodes appended at the end of the order
            self.state_of.extend([INFEASIBLE] * (len(order) - n))
            self.static.extend([None] * (len(order) - n))
            self.counted.extend([0] * (len(order) - n))
            self.n = len(order)
            for pos in range(n, self.n):
                self.state_of[pos] = INFEASIBLE
                self.infeasible.append(pos)  # positions grow: stays sorted
                self._update(pos)
        self.mark = cache.mark()

    def _rebuild(self) -> None:
        cache = self.cache
        shape = self.shape
        self.order_version = cache.order_version
        self.selector = shape.default_selector
        sel = self.selector
        self.counter = (cache.selector_count(shape.ns, sel)
                        if sel is not None and not sel.empty and not sel.nothing else None)
        self.n = n = len(cache.order)
        self.state_of = [INFEASIBLE] * n
        self.ids = {}
        self.keys = []
        self.positions = []
        self.live = {}
        self.infeasible = list(range(n))
        self.static = [None] * n
        self.counted = [0] * n
        self.zone_counts = {}
        self.mark = cache.mark()
        for pos in range(n):
            self._update(pos)

    def _update(self, pos: int) -> None:
        """Recompute the state of the node at ``pos`` and move it to its group."""
        node = self.cache.order[pos]
        shape = self.shape
        st = self.static[pos]
        if st is None or st[0] != node.static_version:
            ok = shape.static_filter(node) is None
            st = (node.static_version, ok, shape.prefer_taint_count(node) if ok else 0,
                  shape.preferred_affinity_score(node) if ok and shape.preferred_terms else 0,
                  shape.matches_node_affinity(node))
            self.static[pos] = st
        counter = self.counter
        hc = counter.counts.get(node.name, 0) if counter is not None else 0
        counted = hc if st[4] else 0
        old_counted = self.counted[pos]
        if counted != old_counted and node.zone is not None:
            self.zone_counts[node.zone] = self.zone_counts.get(node.zone, 0) + counted - old_counted
        self.counted[pos] = counted
        sid = INFEASIBLE
        if st[1] and self._fits(node):
            req = shape.req
            key = (least_allocated(node, req.nz_cpu, req.nz_memory),
                   0 if shape.best_effort else balanced_allocation(node, req.cpu, req.memory),
                   st[2], st[3],
                   (hc if node.has_host_label else -1) if counter is not None else -1,
                   node.zone if counter is not None else None)
            sid = self.ids.get(key, INFEASIBLE)
            if sid == INFEASIBLE:
                sid = self.ids[key] = len(self.keys)
                self.keys.append(key)
                self.positions.append([])
        old = self.state_of[pos]
        if old == sid:
            return
        lst = self.infeasible if old == INFEASIBLE else self.positions[old]
        del lst[bisect_left(lst, pos)]
        if not lst and old != INFEASIBLE:
            del self.live[old]
        if sid == INFEASIBLE:
            insort(self.infeasible, pos)
        else:
            lst = self.positions[sid]
            if not lst:
                self.live[sid] = lst
            insort(lst, pos)
        self.state_of[pos] = sid

    def _fits(self, n: NodeInfo) -> bool:
        """NodeResourcesFit's filter, as a yes or no."""
        req = self.shape.req
        if n.pod_count + 1 > n.alloc_pods:
            return False
        if req.cpu and req.cpu > n.alloc_cpu - n.req_cpu:
            return False
        if req.memory and req.memory > n.alloc_mem - n.req_mem:
            return False
        if req.ephemeral and req.ephemeral > n.alloc_eph - n.req_eph:
            return False
        for name, amount in req.scalars:
            if amount > n.alloc_scalars.get(name, 0) - n.req_scalars.get(name, 0):
                return False
        return True

    # ------------------------------------------------------------------ a decision

    def _infeasible_in(self, start: int, length: int) -> int:
        lst, n = self.infeasible, self.n
        end = start + length
        if end <= n:
            return bisect_left(lst, end) - bisect_left(lst, start)
        return len(lst) - bisect_left(lst, start) + bisect_left(lst, end - n)

    def choose(self, start: int, rng: random.Random) -> tuple[int | None, int]:
        """(position of the chosen node or None when nothing fits, nodes processed)."""
        n = self.n
        feasible_total = n - len(self.infeasible)
        if feasible_total == 0:
            return None, n
        want = num_feasible_nodes_to_find(n)
        if feasible_total < want:
            length, want = n, feasible_total
        else:
            length = want
            while True:
                found = length - self._infeasible_in(start, length)
                if found == want:
                    break
                length += want - found
        end = start + length
        wraps = end > n
        window: list[tuple[int, int, int, int]] = []  # (state id, count, lo index, hi/wrap)
        for sid, lst in self.live.items():
            lo = bisect_left(lst, start)
            if wraps:
                hi = bisect_left(lst, end - n)
                count = len(lst) - lo + hi
            else:
                hi = bisect_left(lst, end)
                count = hi - lo
            if count:
                window.append((sid, count, lo, hi))
        if want == 1:
            sid, _, lo, hi = window[0]
            return self._nth(sid, lo, 0, wraps), length
        keys = self.keys
        totals = self._scores([keys[w[0]] for w in window], want)
        best = max(totals)
        tied = [w for w, t in zip(window, totals, strict=True) if t == best]
        ties = sum(w[1] for w in tied)
        r = rng.randrange(ties) if ties > 1 else 0
        if len(tied) == 1:
            sid, _, lo, _ = tied[0]
            return self._nth(sid, lo, r, wraps), length
        merged: list[int] = []
        for sid, _, lo, hi in tied:
            lst = self.positions[sid]
            merged.extend(lst[lo:] + lst[:hi] if wraps else lst[lo:hi])
        merged.sort(key=lambda p: (p - start) % n)
        return merged[r], length

    def _nth(self, sid: int, lo: int, r: int, wraps: bool) -> int:
        """The r-th node of a state inside the window, in window order."""
        lst = self.positions[sid]
        if not wraps or lo + r < len(lst):
            return lst[lo + r]
        return lst[r - (len(lst) - lo)]

    def _scores(self, keys: list[StateKey], scored: int) -> list[int]:
        """The weighted total of each state, normalized over the window."""
        shape = self.shape
        taint_max = max(k[2] for k in keys)
        totals = []
        for k in keys:
            taint = (MAX_NODE_SCORE if taint_max == 0
                     else MAX_NODE_SCORE - MAX_NODE_SCORE * k[2] // taint_max)
            totals.append(k[0] + k[1] + 3 * taint)
        if shape.preferred_terms:
            aff_max = max(k[3] for k in keys)
            if aff_max:
                for i, k in enumerate(keys):
                    totals[i] += 2 * (MAX_NODE_SCORE * k[3] // aff_max)
        if self.counter is not None:
            host_w = _weight(scored)
            zones = {("" if k[5] is None else k[5]) for k in keys}
            zone_w = _weight(len(zones))
            raws = []
            zone_counts = self.zone_counts
            for k in keys:
                contrib = []
                if k[4] >= 0:
                    contrib.append((k[4], host_w, _HOST_SKEW))
                if k[5] is not None:
                    contrib.append((zone_counts.get(k[5], 0), zone_w, _ZONE_SKEW))
                raws.append(spread_score(contrib))
            lo, hi = min(raws), max(raws)
            for i, s in enumerate(raws):
                totals[i] += 2 * (MAX_NODE_SCORE if hi == 0
                                  else MAX_NODE_SCORE * (hi + lo - s) // hi)
        return totals
