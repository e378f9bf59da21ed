"""kube-scheduler: filter and score nodes for each pending pod, then bind it.

:mod:`~kubenb.scheduler.scheduler` is the controller (queue, binding, failures, preemption),
:mod:`~kubenb.scheduler.plugins` the default profile's plugins run one by one,
:mod:`~kubenb.scheduler.fastpath` the same decision kept incrementally for pods of one shape,
:mod:`~kubenb.scheduler.cache` the scheduler's view of nodes and bound pods, and
:mod:`~kubenb.scheduler.resources` what a pod requests.

Where it differs from kube-scheduler 1.37, knowingly:

- Ties between equally scored nodes are broken by a seeded random generator (deterministic),
  and the filter walks nodes one by one, so "nodes processed" (which moves the next start
  index) is exact rather than what parallel workers happened to check.
- No scheduling queue hints beyond "which plugin rejected the pod"; no extenders, profiles
  other than ``default-scheduler``, ImageLocality (simulated nodes report no images),
  VolumeRestrictions, NodeVolumeLimits, VolumeZone, DRA claims (the DynamicResources
  PostFilter's "no new claims to deallocate" is still part of the message).
- A node whose Ready condition is not True repels pods as the node lifecycle controller's
  ``not-ready`` / ``unreachable`` NoSchedule taints do, even before that controller has added
  them (kube-scheduler itself only looks at the taints).
- Preemption starts its dry run at the first node (no random offset) and does not re-evaluate
  spreading or inter-pod affinity without the victims; nominated pods do not reserve room on
  their node for others.
"""

from kubenb.scheduler.scheduler import Scheduler

__all__ = ["Scheduler"]
