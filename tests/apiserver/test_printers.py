"""Server-side printing: the Tables kubectl prints, cell by cell, as a 1.37 apiserver makes them."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubenb.api.errors import BadRequest
from kubenb.apiserver.printers import columns as printers
from kubenb.apiserver.printers import human_duration, table

NOW = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)


def ago(seconds: float) -> str:
    """An RFC 3339 timestamp ``seconds`` before NOW."""
    moment = NOW - datetime.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str, age: float = 300, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "creationTimestamp": ago(age), **extra}


def headers(group: str, kind: str, **kwargs: Any) -> list[str]:
    t = table(group=group, kind=kind, objects=[], now=NOW, **kwargs)
    return [c["name"] for c in t["columnDefinitions"]]


def wide_headers(group: str, kind: str) -> list[str]:
    t = table(group=group, kind=kind, objects=[], now=NOW)
    return [c["name"] for c in t["columnDefinitions"] if c["priority"] == 1]


def cells(group: str, kind: str, obj: dict[str, Any], **kwargs: Any) -> list[Any]:
    t = table(group=group, kind=kind, objects=[obj], now=NOW, **kwargs)
    return t["rows"][0]["cells"]


def pod(status: dict[str, Any], *, spec: dict[str, Any] | None = None, **metadata: Any) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta("web-0", **metadata),
        "spec": spec or {"containers": [{"name": "app", "image": "nginx"}], "nodeName": "node-1"},
        "status": status,
    }


def running(name: str = "app", restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "ready": True,
        "restartCount": restarts,
        "state": {"running": {"startedAt": ago(600)}},
        **extra,
    }


# ------------------------------------------------------------------------------ ages


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (-1.5, "0s"),  # a little clock skew still reads as "now"
        (-2.5, "<invalid>"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (330, "5m30s"),
        (599, "9m59s"),
        (600, "10m"),
        (179 * 60 + 59, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 5 * 60, "3h5m"),
        (8 * 3600 + 59 * 60, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (8 * 86400 + 5 * 3600, "8d"),
        (729 * 86400, "729d"),
        (730 * 86400, "2y"),
        (2 * 365 * 86400 + 10 * 86400, "2y10d"),
        (9 * 365 * 86400 + 100 * 86400, "9y"),
    ],
)
def test_human_duration_matches_apimachinery(seconds: float, text: str) -> None:
    assert human_duration(datetime.timedelta(seconds=seconds)) == text


def test_age_of_missing_timestamp_is_unknown() -> None:
    row = cells("", "ConfigMap", {"metadata": {"name": "cm"}, "data": {}})
    assert row == ["cm", 0, "<unknown>"]


def test_age_understands_fractional_and_offset_timestamps() -> None:
    ts = (NOW - datetime.timedelta(hours=2)).astimezone(
        datetime.timezone(datetime.timedelta(hours=2))
    )
    obj = {"metadata": {"name": "a", "creationTimestamp": ts.isoformat(timespec="microseconds")}}
    assert cells("", "ServiceAccount", obj) == ["a", "120m"]


# ------------------------------------------------------------------------------ pods


def test_pod_columns_and_wide_columns() -> None:
    assert headers("", "Pod") == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
        "IP",
        "Node",
        "Nominated Node",
        "Readiness Gates",
    ]
    assert wide_headers("", "Pod") == ["IP", "Node", "Nominated Node", "Readiness Gates"]


def test_running_pod_with_restarts_and_readiness_gates() -> None:
    obj = pod(
        {
            "phase": "Running",
            "podIP": "10.0.0.7",
            "podIPs": [{"ip": "10.0.0.7"}, {"ip": "fd00::7"}],
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "example.com/lb", "status": "True"},
            ],
            "containerStatuses": [
                running(
                    "app", 2, lastState={"terminated": {"exitCode": 1, "finishedAt": ago(300)}}
                ),
                running("sidecar", 0),
            ],
        },
        spec={
            "containers": [{"name": "app"}, {"name": "sidecar"}],
            "nodeName": "node-1",
            "readinessGates": [{"conditionType": "example.com/lb"}, {"conditionType": "x/y"}],
        },
        age=3 * 86400 + 4 * 3600,
    )
    assert cells("", "Pod", obj) == [
        "web-0",
        "2/2",
        "Running",
        "2 (5m ago)",
        "3d4h",
        "10.0.0.7",
        "node-1",
        "<none>",
        "1/2",
    ]


def test_pending_pod_without_statuses() -> None:
    obj = pod({"phase": "Pending"}, spec={"containers": [{"name": "a"}, {"name": "b"}]})
    assert cells("", "Pod", obj) == [
        "web-0",
        "0/2",
        "Pending",
        "0",
        "5m",
        "<none>",
        "<none>",
        "<none>",
        "<none>",
    ]


def test_container_creating() -> None:
    waiting = {
        "name": "app",
        "ready": False,
        "restartCount": 0,
        "state": {"waiting": {"reason": "ContainerCreating"}},
    }
    obj = pod({"phase": "Pending", "containerStatuses": [waiting]})
    assert cells("", "Pod", obj)[1:4] == ["0/1", "ContainerCreating", "0"]


def test_crash_loop_back_off() -> None:
    status = {
        "name": "app",
        "ready": False,
        "restartCount": 5,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(75)}},
    }
    obj = pod({"phase": "Running", "containerStatuses": [status]})
    assert cells("", "Pod", obj)[1:4] == ["0/1", "CrashLoopBackOff", "5 (75s ago)"]


def test_terminating_pod() -> None:
    obj = pod({"phase": "Running", "containerStatuses": [running()]}, deletionTimestamp=ago(10))
    assert cells("", "Pod", obj)[1:4] == ["1/1", "Terminating", "0"]


def test_deleted_pod_on_lost_node_is_unknown() -> None:
    obj = pod(
        {"phase": "Running", "reason": "NodeLost", "containerStatuses": [running()]},
        deletionTimestamp=ago(10),
    )
    assert cells("", "Pod", obj)[2] == "Unknown"


def test_completed_pod_has_completed_row_condition() -> None:
    done = {
        "name": "app",
        "ready": False,
        "restartCount": 0,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
    }
    obj = pod({"phase": "Succeeded", "containerStatuses": [done]})
    t = table(group="", kind="Pod", objects=[obj], now=NOW)
    assert t["rows"][0]["cells"][1:4] == ["0/1", "Completed", "0"]
    assert t["rows"][0]["conditions"] == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]


def test_failed_container_without_reason_prints_exit_code() -> None:
    failed = {"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 137}}}
    obj = pod({"phase": "Failed", "containerStatuses": [failed]})
    t = table(group="", kind="Pod", objects=[obj], now=NOW)
    assert t["rows"][0]["cells"][2] == "ExitCode:137"
    assert t["rows"][0]["conditions"][0]["reason"] == "Failed"


def test_running_pod_has_no_row_conditions() -> None:
    t = table(group="", kind="Pod", objects=[pod({"phase": "Running"})], now=NOW)
    assert "conditions" not in t["rows"][0]


def test_completed_container_next_to_a_running_one() -> None:
    spec = {"containers": [{"name": "job"}, {"name": "proxy"}]}
    statuses = [
        {
            "name": "job",
            "ready": False,
            "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
        },
        running("proxy"),
    ]
    ready_pod = pod(
        {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": statuses,
        },
        spec=spec,
    )
    assert cells("", "Pod", ready_pod)[1:3] == ["1/2", "Running"]
    unready_pod = pod({"phase": "Running", "containerStatuses": statuses}, spec=spec)
    assert cells("", "Pod", unready_pod)[1:3] == ["1/2", "NotReady"]


def test_init_container_running() -> None:
    spec = {"initContainers": [{"name": "migrate"}], "containers": [{"name": "app"}]}
    status = {
        "phase": "Pending",
        "conditions": [{"type": "Initialized", "status": "False"}],
        "initContainerStatuses": [{"name": "migrate", "restartCount": 0, "state": {"running": {}}}],
        "containerStatuses": [
            {"name": "app", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}
        ],
    }
    assert cells("", "Pod", pod(status, spec=spec))[1:4] == ["0/1", "Init:0/1", "0"]


def test_init_container_crash_looping_counts_its_restarts() -> None:
    spec = {"initContainers": [{"name": "a"}, {"name": "b"}], "containers": [{"name": "app"}]}
    status = {
        "phase": "Pending",
        "initContainerStatuses": [
            {
                "name": "a",
                "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
            },
            {
                "name": "b",
                "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 2, "finishedAt": ago(30)}},
            },
        ],
    }
    assert cells("", "Pod", pod(status, spec=spec))[1:4] == [
        "0/1",
        "Init:CrashLoopBackOff",
        "3 (30s ago)",
    ]


def test_init_container_failed_with_signal() -> None:
    spec = {"initContainers": [{"name": "a"}], "containers": [{"name": "app"}]}
    status = {
        "phase": "Pending",
        "initContainerStatuses": [
            {
                "name": "a",
                "restartCount": 0,
                "state": {"terminated": {"exitCode": 137, "signal": 9}},
            }
        ],
    }
    assert cells("", "Pod", pod(status, spec=spec))[2] == "Init:Signal:9"


def test_sidecar_init_container_counts_as_a_container() -> None:
    spec = {
        "initContainers": [{"name": "mesh", "restartPolicy": "Always"}],
        "containers": [{"name": "app"}],
    }
    status = {
        "phase": "Running",
        "conditions": [{"type": "Initialized", "status": "True"}],
        "initContainerStatuses": [
            {
                "name": "mesh",
                "ready": True,
                "started": True,
                "restartCount": 1,
                "state": {"running": {}},
                "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(3600)}},
            },
        ],
        "containerStatuses": [running()],
    }
    assert cells("", "Pod", pod(status, spec=spec))[1:4] == ["2/2", "Running", "1 (60m ago)"]


def test_scheduling_gated_pod() -> None:
    status = {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
    }
    assert cells("", "Pod", pod(status))[2] == "SchedulingGated"


# ------------------------------------------------------------------------------ workloads


def template(*containers: tuple[str, str]) -> dict[str, Any]:
    return {"spec": {"containers": [{"name": n, "image": i} for n, i in containers]}}


def test_deployment_mid_rollout() -> None:
    assert headers("apps", "Deployment") == [
        "Name",
        "Ready",
        "Up-to-date",
        "Available",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]
    obj = {
        "metadata": meta("web", age=330),
        "spec": {
            "replicas": 3,
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}],
            },
            "template": template(("nginx", "nginx:1.27"), ("log", "busybox")),
        },
        "status": {"replicas": 4, "readyReplicas": 2, "updatedReplicas": 1, "availableReplicas": 2},
    }
    assert cells("apps", "Deployment", obj) == [
        "web",
        "2/3",
        1,
        2,
        "5m30s",
        "nginx,log",
        "nginx:1.27,busybox",
        "app=web,tier in (be,fe)",
    ]


def test_new_deployment_without_status_uses_default_replicas() -> None:
    obj = {"metadata": meta("web"), "spec": {"template": template(("a", "a"))}}
    assert cells("apps", "Deployment", obj)[:4] == ["web", "0/1", 0, 0]


def test_replica_set_and_replication_controller() -> None:
    assert headers("apps", "ReplicaSet") == [
        "Name",
        "Desired",
        "Current",
        "Ready",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]
    rs = {
        "metadata": meta("web-5d4f"),
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d4f"}},
            "template": template(("nginx", "nginx")),
        },
        "status": {"replicas": 3, "readyReplicas": 1},
    }
    assert cells("apps", "ReplicaSet", rs) == [
        "web-5d4f",
        3,
        3,
        1,
        "5m",
        "nginx",
        "nginx",
        "app=web,pod-template-hash=5d4f",
    ]
    rc = {
        "metadata": meta("old"),
        "spec": {"replicas": 2, "selector": {"app": "old"}, "template": template(("c", "img"))},
        "status": {"replicas": 2},
    }
    assert cells("", "ReplicationController", rc) == ["old", 2, 2, 0, "5m", "c", "img", "app=old"]


def test_stateful_set_and_daemon_set() -> None:
    assert headers("apps", "StatefulSet") == ["Name", "Ready", "Age", "Containers", "Images"]
    sts = {
        "metadata": meta("db"),
        "spec": {"replicas": 3, "template": template(("pg", "postgres:17"))},
        "status": {"readyReplicas": 3},
    }
    assert cells("apps", "StatefulSet", sts) == ["db", "3/3", "5m", "pg", "postgres:17"]
    assert headers("apps", "DaemonSet") == [
        "Name",
        "Desired",
        "Current",
        "Ready",
        "Up-to-date",
        "Available",
        "Node Selector",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]
    ds = {
        "metadata": meta("agent"),
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "spec": {
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "containers": [{"name": "a", "image": "agent:1"}],
                }
            },
        },
        "status": {
            "desiredNumberScheduled": 3,
            "currentNumberScheduled": 3,
            "numberReady": 2,
            "updatedNumberScheduled": 3,
            "numberAvailable": 2,
        },
    }
    assert cells("apps", "DaemonSet", ds) == [
        "agent",
        3,
        3,
        2,
        3,
        2,
        "kubernetes.io/os=linux",
        "5m",
        "a",
        "agent:1",
        "app=agent",
    ]


def test_job_columns_complete_and_running() -> None:
    assert headers("batch", "Job") == [
        "Name",
        "Status",
        "Completions",
        "Duration",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]
    done = {
        "metadata": meta("pi", age=120),
        "spec": {
            "completions": 1,
            "parallelism": 1,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
            "template": template(("pi", "perl")),
        },
        "status": {
            "succeeded": 1,
            "startTime": ago(118),
            "completionTime": ago(83),
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True"},
                {"type": "Complete", "status": "True"},
            ],
        },
    }
    assert cells("batch", "Job", done) == [
        "pi",
        "Complete",
        "1/1",
        "35s",
        "2m",
        "pi",
        "perl",
        "batch.kubernetes.io/controller-uid=u1",
    ]
    work_queue = {
        "metadata": meta("queue"),
        "spec": {"parallelism": 3, "template": template(("w", "w"))},
        "status": {"startTime": ago(90)},
    }
    assert cells("batch", "Job", work_queue)[1:4] == ["Running", "0/1 of 3", "90s"]
    unstarted = {"metadata": meta("new"), "spec": {"template": template(("w", "w"))}}
    assert cells("batch", "Job", unstarted)[1:4] == ["Running", "0/1", ""]


def test_job_status_precedence() -> None:
    def state(conditions: list[dict[str, str]], **metadata: Any) -> str:
        obj = {
            "metadata": meta("j", **metadata),
            "spec": {"completions": 2},
            "status": {"conditions": conditions},
        }
        return cells("batch", "Job", obj)[1]

    assert state([{"type": "Failed", "status": "True"}]) == "Failed"
    assert state([{"type": "Suspended", "status": "True"}]) == "Suspended"
    assert (
        state([{"type": "Suspended", "status": "True"}], deletionTimestamp=ago(1)) == "Terminating"
    )
    assert state([{"type": "FailureTarget", "status": "True"}]) == "FailureTarget"
    assert state([{"type": "Complete", "status": "False"}]) == "Running"


def test_cron_job() -> None:
    assert headers("batch", "CronJob") == [
        "Name",
        "Schedule",
        "Timezone",
        "Suspend",
        "Active",
        "Last Schedule",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]
    obj = {
        "metadata": meta("backup", age=7200),
        "spec": {
            "schedule": "*/5 * * * *",
            "jobTemplate": {"spec": {"template": template(("b", "backup:2"))}},
        },
        "status": {"active": [{"name": "backup-1"}], "lastScheduleTime": ago(45)},
    }
    assert cells("batch", "CronJob", obj) == [
        "backup",
        "*/5 * * * *",
        "<none>",
        "False",
        1,
        "45s",
        "120m",
        "b",
        "backup:2",
        "<none>",
    ]
    obj["spec"].update(suspend=True, timeZone="Europe/Paris")
    del obj["status"]
    assert cells("batch", "CronJob", obj)[2:6] == ["Europe/Paris", "True", 0, "<none>"]


def test_controller_revision_and_pod_template() -> None:
    rev = {
        "metadata": {
            **meta("web-7b9"),
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "StatefulSet",
                    "name": "web",
                    "controller": True,
                    "uid": "u",
                }
            ],
        },
        "revision": 3,
    }
    assert cells("apps", "ControllerRevision", rev) == ["web-7b9", "statefulset.apps/web", 3, "5m"]
    assert (
        cells("apps", "ControllerRevision", {"metadata": meta("orphan"), "revision": 1})[1]
        == "<none>"
    )
    tpl = {
        "metadata": meta("tpl"),
        "template": {"metadata": {"labels": {"b": "2", "a": "1"}}, **template(("x", "img"))},
    }
    assert headers("", "PodTemplate") == ["Name", "Containers", "Images", "Pod Labels"]
    assert cells("", "PodTemplate", tpl) == ["tpl", "x", "img", "a=1,b=2"]


def test_hpa_targets() -> None:
    assert headers("autoscaling", "HorizontalPodAutoscaler") == [
        "Name",
        "Reference",
        "Targets",
        "MinPods",
        "MaxPods",
        "Replicas",
        "Age",
    ]
    obj = {
        "apiVersion": "autoscaling/v2",
        "metadata": meta("web"),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 2,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 60},
                    },
                },
                {
                    "type": "Resource",
                    "resource": {
                        "name": "memory",
                        "target": {"type": "AverageValue", "averageValue": "1000Mi"},
                    },
                },
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": "qps"},
                        "target": {"type": "AverageValue", "averageValue": "1k"},
                    },
                },
            ],
        },
        "status": {
            "currentReplicas": 3,
            "currentMetrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "current": {"averageUtilization": 45}},
                }
            ],
        },
    }
    assert cells("autoscaling", "HorizontalPodAutoscaler", obj) == [
        "web",
        "Deployment/web",
        "cpu: 45%/60%, memory: <unknown>/1000Mi + 1 more...",
        "2",
        10,
        3,
        "5m",
    ]
    v1 = {
        "apiVersion": "autoscaling/v1",
        "metadata": meta("old"),
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "old"}, "maxReplicas": 4},
        "status": {"currentReplicas": 1},
    }
    assert cells("autoscaling", "HorizontalPodAutoscaler", v1)[2:6] == [
        "cpu: <unknown>/80%",
        "1",
        4,
        1,
    ]


# ------------------------------------------------------------------------------ core objects


def test_services() -> None:
    assert headers("", "Service") == [
        "Name",
        "Type",
        "Cluster-IP",
        "External-IP",
        "Port(s)",
        "Age",
        "Selector",
    ]
    svc = {
        "metadata": meta("web"),
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"],
            "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
            "selector": {"app": "web"},
        },
    }
    assert cells("", "Service", svc) == [
        "web",
        "ClusterIP",
        "10.96.0.10",
        "<none>",
        "80/TCP,53/UDP",
        "5m",
        "app=web",
    ]
    node_port = {
        "metadata": meta("np"),
        "spec": {
            "type": "NodePort",
            "clusterIPs": ["10.96.1.1"],
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
        },
    }
    assert cells("", "Service", node_port)[1:5] == [
        "NodePort",
        "10.96.1.1",
        "<none>",
        "80:30080/TCP",
    ]
    pending = {
        "metadata": meta("lb"),
        "spec": {
            "type": "LoadBalancer",
            "clusterIPs": ["10.96.2.2"],
            "ports": [{"port": 443, "nodePort": 31443}],
        },
    }
    assert cells("", "Service", pending)[3:5] == ["<pending>", "443:31443/TCP"]
    pending["status"] = {
        "loadBalancer": {
            "ingress": [
                {"ip": "203.0.113.9"},
                {"hostname": "a-very-long-load-balancer.example.com"},
            ]
        }
    }
    assert cells("", "Service", pending)[3] == "203.0.113.9,a-very-long-load-balancer.example.com"
    headless = {
        "metadata": meta("db"),
        "spec": {"clusterIP": "None", "clusterIPs": ["None"], "selector": {}},
    }
    assert cells("", "Service", headless)[1:7] == [
        "ClusterIP",
        "None",
        "<none>",
        "<none>",
        "5m",
        "<none>",
    ]
    external = {
        "metadata": meta("ext"),
        "spec": {"type": "ExternalName", "externalName": "db.example.com"},
    }
    assert cells("", "Service", external)[1:4] == ["ExternalName", "<none>", "db.example.com"]


def test_node_ready_with_roles() -> None:
    assert headers("", "Node") == [
        "Name",
        "Status",
        "Roles",
        "Age",
        "Version",
        "Internal-IP",
        "External-IP",
        "OS-Image",
        "Kernel-Version",
        "Container-Runtime",
    ]
    node = {
        "metadata": {
            "name": "cp-1",
            "creationTimestamp": ago(40 * 86400),
            "labels": {
                "node-role.kubernetes.io/control-plane": "",
                "node-role.kubernetes.io/etcd": "",
                "kubernetes.io/role": "master",
            },
        },
        "spec": {"unschedulable": True},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"},
            ],
            "addresses": [
                {"type": "Hostname", "address": "cp-1"},
                {"type": "InternalIP", "address": "192.168.1.10"},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.37.0",
                "osImage": "Debian GNU/Linux 13",
                "kernelVersion": "6.12.0",
                "containerRuntimeVersion": "containerd://2.1.0",
            },
        },
    }
    assert cells("", "Node", node) == [
        "cp-1",
        "Ready,SchedulingDisabled",
        "control-plane,etcd,master",
        "40d",
        "v1.37.0",
        "192.168.1.10",
        "<none>",
        "Debian GNU/Linux 13",
        "6.12.0",
        "containerd://2.1.0",
    ]
    bare = {
        "metadata": {"name": "n", "creationTimestamp": ago(60)},
        "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]},
    }
    assert cells("", "Node", bare) == [
        "n",
        "NotReady",
        "<none>",
        "60s",
        "",
        "<none>",
        "<none>",
        "<unknown>",
        "<unknown>",
        "<unknown>",
    ]
    assert cells("", "Node", {"metadata": {"name": "x"}})[1] == "Unknown"


def test_core_v1_event() -> None:
    assert headers("", "Event") == [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Subobject",
        "Source",
        "Message",
        "First Seen",
        "Count",
        "Name",
    ]
    assert wide_headers("", "Event") == ["Subobject", "Source", "First Seen", "Count", "Name"]
    event = {
        "metadata": meta("web-0.17f3", age=600),
        "involvedObject": {"kind": "Pod", "name": "web-0", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff",
        "message": "Back-off restarting failed container\n",
        "type": "Warning",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(600),
        "lastTimestamp": ago(30),
        "count": 12,
    }
    assert cells("", "Event", event) == [
        "30s",
        "Warning",
        "BackOff",
        "pod/web-0",
        "spec.containers{app}",
        "kubelet, node-1",
        "Back-off restarting failed container",
        "10m",
        12,
        "web-0.17f3",
    ]


def test_events_k8s_io_event_uses_the_same_printer() -> None:
    event = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": meta("web.1", age=90),
        "eventTime": "2025-03-01T11:58:30.123456Z",
        "reportingController": "default-scheduler",
        "reportingInstance": "default-scheduler-cp-1",
        "action": "Binding",
        "reason": "Scheduled",
        "regarding": {"kind": "Pod", "namespace": "default", "name": "web-0"},
        "note": "Successfully assigned default/web-0 to node-1",
        "type": "Normal",
    }
    assert headers("events.k8s.io", "Event") == headers("", "Event")
    assert cells("events.k8s.io", "Event", event) == [
        # 89.88s ago: Go truncates, so 89s
        "89s",
        "Normal",
        "Scheduled",
        "pod/web-0",
        "",
        "default-scheduler, default-scheduler-cp-1",
        "Successfully assigned default/web-0 to node-1",
        "89s",
        1,
        "web.1",
    ]
    event["series"] = {"count": 4, "lastObservedTime": "2025-03-01T11:59:50.000000Z"}
    assert cells("events.k8s.io", "Event", event)[0] == "10s"
    assert cells("events.k8s.io", "Event", event)[8] == 4


def test_namespaces_configmaps_secrets_service_accounts() -> None:
    assert headers("", "Namespace") == ["Name", "Status", "Age"]
    ns = {
        "metadata": {"name": "team-a", "creationTimestamp": ago(5)},
        "status": {"phase": "Terminating"},
    }
    assert cells("", "Namespace", ns) == ["team-a", "Terminating", "5s"]
    assert headers("", "ConfigMap") == ["Name", "Data", "Age"]
    cm = {"metadata": meta("cfg"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert cells("", "ConfigMap", cm) == ["cfg", 3, "5m"]
    assert headers("", "Secret") == ["Name", "Type", "Data", "Age"]
    secret = {
        "metadata": meta("tls"),
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "", "tls.key": ""},
    }
    assert cells("", "Secret", secret) == ["tls", "kubernetes.io/tls", 2, "5m"]
    assert cells("", "Secret", {"metadata": meta("plain")})[1:3] == ["Opaque", 0]
    assert headers("", "ServiceAccount") == ["Name", "Age"]


def test_endpoints_and_endpoint_slices() -> None:
    ep = {
        "metadata": meta("web"),
        "subsets": [
            {
                "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                "ports": [{"port": 8080}, {"port": 9090}],
            },
            {"addresses": [{"ip": "fd00::3"}], "ports": [{"port": 8080}]},
        ],
    }
    assert cells("", "Endpoints", ep) == [
        "web",
        "10.0.0.1:8080,10.0.0.2:8080,10.0.0.1:9090 + 2 more...",
        "5m",
    ]
    assert cells("", "Endpoints", {"metadata": meta("none")})[1] == "<none>"
    headless = {"metadata": meta("h"), "subsets": [{"addresses": [{"ip": "fd00::3"}]}]}
    assert cells("", "Endpoints", headless)[1] == "fd00::3"
    assert headers("discovery.k8s.io", "EndpointSlice") == [
        "Name",
        "AddressType",
        "Ports",
        "Endpoints",
        "Age",
    ]
    eps = {
        "metadata": meta("web-abc"),
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 80}, {"name": "metrics"}],
        "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]}],
    }
    assert cells("discovery.k8s.io", "EndpointSlice", eps) == [
        "web-abc",
        "IPv4",
        "80,metrics",
        "10.0.0.1,10.0.0.2",
        "5m",
    ]
    empty = {"metadata": meta("e"), "addressType": "IPv6"}
    assert cells("discovery.k8s.io", "EndpointSlice", empty)[2:4] == ["<unset>", "<unset>"]


def test_persistent_volumes_and_claims() -> None:
    assert headers("", "PersistentVolume") == [
        "Name",
        "Capacity",
        "Access Modes",
        "Reclaim Policy",
        "Status",
        "Claim",
        "StorageClass",
        "VolumeAttributesClass",
        "Reason",
        "Age",
        "VolumeMode",
    ]
    pv = {
        "metadata": {"name": "pv-1", "creationTimestamp": ago(86400)},
        "spec": {
            "capacity": {"storage": "10Gi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "claimRef": {"namespace": "default", "name": "data"},
            "storageClassName": "fast",
            "volumeMode": "Block",
        },
        "status": {"phase": "Bound"},
    }
    assert cells("", "PersistentVolume", pv) == [
        "pv-1",
        "10Gi",
        "RWO,RWX",
        "Delete",
        "Bound",
        "default/data",
        "fast",
        "<unset>",
        "",
        "24h",
        "Block",
    ]
    assert headers("", "PersistentVolumeClaim") == [
        "Name",
        "Status",
        "Volume",
        "Capacity",
        "Access Modes",
        "StorageClass",
        "VolumeAttributesClass",
        "Age",
        "VolumeMode",
    ]
    pvc = {
        "metadata": {
            **meta("data"),
            "annotations": {"volume.beta.kubernetes.io/storage-class": "legacy"},
        },
        "spec": {
            "volumeName": "pv-1",
            "storageClassName": "fast",
            "resources": {"requests": {"storage": "5Gi"}},
        },
        "status": {
            "phase": "Bound",
            "capacity": {"storage": "10240Mi"},
            "accessModes": ["ReadWriteOnce"],
        },
    }
    assert cells("", "PersistentVolumeClaim", pvc) == [
        "data",
        "Bound",
        "pv-1",
        "10Gi",
        "RWO",
        "legacy",
        "<unset>",
        "5m",
        "Filesystem",
    ]
    unbound = {
        "metadata": meta("new", deletionTimestamp=ago(1)),
        "spec": {"storageClassName": "fast"},
    }
    assert cells("", "PersistentVolumeClaim", unbound)[1:6] == ["Terminating", "", "", "", "fast"]


def test_resource_quota_splits_requests_and_limits() -> None:
    quota = {
        "metadata": meta("compute"),
        "status": {
            "hard": {
                "requests.cpu": "2",
                "limits.memory": "4Gi",
                "pods": "10",
                "limits.cpu": "4000m",
            },
            "used": {"requests.cpu": "500m", "limits.memory": "1Gi", "pods": "3"},
        },
    }
    assert headers("", "ResourceQuota") == ["Name", "Request", "Limit", "Age"]
    assert cells("", "ResourceQuota", quota) == [
        "compute",
        "pods: 3/10, requests.cpu: 500m/2",
        "limits.cpu: 0/4, limits.memory: 1Gi/4Gi",
        "5m",
    ]


# ------------------------------------------------------------------------------ other groups


def test_ingress_and_ingress_class() -> None:
    assert headers("networking.k8s.io", "Ingress") == [
        "Name",
        "Class",
        "Hosts",
        "Address",
        "Ports",
        "Age",
    ]
    ing = {
        "metadata": meta("web"),
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {"host": "a.example.com"},
                {"host": "b.example.com"},
                {},
                {"host": "c.example.com"},
                {"host": "d.example.com"},
            ],
            "tls": [{"hosts": ["a.example.com"]}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.5"}, {"ip": "203.0.113.4"}]}},
    }
    assert cells("networking.k8s.io", "Ingress", ing) == [
        "web",
        "nginx",
        "a.example.com,b.example.com,c.example.com + 2 more...",
        "203.0.113.4,203.0.113.5",
        "80, 443",
        "5m",
    ]
    catch_all = {"metadata": meta("any"), "spec": {"defaultBackend": {}}}
    assert cells("networking.k8s.io", "Ingress", catch_all)[1:5] == ["<none>", "*", "", "80"]
    ic = {
        "metadata": meta("nginx"),
        "spec": {
            "controller": "k8s.io/ingress-nginx",
            "parameters": {
                "apiGroup": "k8s.example.com",
                "kind": "IngressParameters",
                "name": "external-lb",
            },
        },
    }
    assert cells("networking.k8s.io", "IngressClass", ic) == [
        "nginx",
        "k8s.io/ingress-nginx",
        "IngressParameters.k8s.example.com/external-lb",
        "5m",
    ]


def test_network_policy_and_pdb() -> None:
    np = {"metadata": meta("deny"), "spec": {"podSelector": {}}}
    assert cells("networking.k8s.io", "NetworkPolicy", np) == ["deny", "<none>", "5m"]
    np["spec"]["podSelector"] = {
        "matchExpressions": [{"key": "role", "operator": "DoesNotExist"}],
        "matchLabels": {"app": "db"},
    }
    assert cells("networking.k8s.io", "NetworkPolicy", np)[1] == "app=db,!role"
    assert headers("policy", "PodDisruptionBudget") == [
        "Name",
        "Min Available",
        "Max Unavailable",
        "Allowed Disruptions",
        "Age",
    ]
    pdb = {
        "metadata": meta("web"),
        "spec": {"minAvailable": "50%"},
        "status": {"disruptionsAllowed": 1},
    }
    assert cells("policy", "PodDisruptionBudget", pdb) == ["web", "50%", "N/A", 1, "5m"]
    pdb["spec"] = {"maxUnavailable": 1}
    assert cells("policy", "PodDisruptionBudget", pdb)[1:3] == ["N/A", "1"]


def test_rbac_bindings_and_default_convertor_for_roles() -> None:
    assert headers("rbac.authorization.k8s.io", "RoleBinding") == [
        "Name",
        "Role",
        "Age",
        "Users",
        "Groups",
        "ServiceAccounts",
    ]
    rb = {
        "metadata": meta("edit"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [
            {"kind": "User", "name": "alice"},
            {"kind": "User", "name": "bob"},
            {"kind": "Group", "name": "devs"},
            {"kind": "ServiceAccount", "namespace": "ci", "name": "deployer"},
        ],
    }
    assert cells("rbac.authorization.k8s.io", "RoleBinding", rb) == [
        "edit",
        "ClusterRole/edit",
        "5m",
        "alice, bob",
        "devs",
        "ci/deployer",
    ]
    assert cells("rbac.authorization.k8s.io", "ClusterRoleBinding", rb)[:2] == [
        "edit",
        "ClusterRole/edit",
    ]
    for kind in ("Role", "ClusterRole"):
        t = table(
            group="rbac.authorization.k8s.io",
            kind=kind,
            objects=[{"metadata": meta("view")}],
            now=NOW,
        )
        assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Created At"]
        assert t["rows"][0]["cells"] == ["view", "2025-03-01T11:55:00Z"]


def test_storage_class_lease_priority_class() -> None:
    sc = {
        "metadata": {
            "name": "standard",
            "creationTimestamp": ago(7200),
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "rancher.io/local-path",
        "volumeBindingMode": "WaitForFirstConsumer",
    }
    assert headers("storage.k8s.io", "StorageClass") == [
        "Name",
        "Provisioner",
        "ReclaimPolicy",
        "VolumeBindingMode",
        "AllowVolumeExpansion",
        "Age",
    ]
    assert cells("storage.k8s.io", "StorageClass", sc) == [
        "standard (default)",
        "rancher.io/local-path",
        "Delete",
        "WaitForFirstConsumer",
        False,
        "120m",
    ]
    lease = {
        "metadata": meta("kube-scheduler", age=86400 * 3),
        "spec": {"holderIdentity": "cp-1_0f9e"},
    }
    assert headers("coordination.k8s.io", "Lease") == ["Name", "Holder", "Age"]
    assert cells("coordination.k8s.io", "Lease", lease) == ["kube-scheduler", "cp-1_0f9e", "3d"]
    pc = {
        "metadata": {"name": "system-node-critical", "creationTimestamp": ago(60)},
        "value": 2000001000,
    }
    assert headers("scheduling.k8s.io", "PriorityClass") == [
        "Name",
        "Value",
        "Global-Default",
        "Age",
        "PreemptionPolicy",
    ]
    assert cells("scheduling.k8s.io", "PriorityClass", pc) == [
        "system-node-critical",
        2000001000,
        False,
        "60s",
        "PreemptLowerPriority",
    ]


def test_kinds_served_by_the_default_convertor() -> None:
    for group, kind in [
        ("", "LimitRange"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("storage.k8s.io", "CSIStorageCapacity"),
    ]:
        assert headers(group, kind) == ["Name", "Created At"]
    crd = {
        "metadata": {
            "name": "widgets.example.com",
            "creationTimestamp": "2024-06-01T08:30:00+02:00",
        }
    }
    assert cells("apiextensions.k8s.io", "CustomResourceDefinition", crd) == [
        "widgets.example.com",
        "2024-06-01T06:30:00Z",
    ]


def test_unknown_kind_gets_name_and_created_at() -> None:
    t = table(group="example.com", kind="Widget", objects=[{"metadata": {"name": "w"}}], now=NOW)
    assert t["columnDefinitions"][1] == {
        "name": "Created At",
        "type": "date",
        "format": "",
        "description": t["columnDefinitions"][1]["description"],
        "priority": 0,
    }
    assert t["columnDefinitions"][1]["description"].startswith("CreationTimestamp is a timestamp")
    assert t["rows"][0]["cells"] == ["w", "0001-01-01T00:00:00Z"]
    # the default convertor appends rows to a nil slice: an empty result is null, not []
    assert table(group="example.com", kind="Widget", objects=[], now=NOW)["rows"] is None
    assert table(group="", kind="Pod", objects=[], now=NOW)["rows"] == []


def test_csr_and_api_service() -> None:
    csr = {
        "metadata": meta("node-csr-abc", age=30),
        "spec": {
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
            "username": "system:node:n1",
            "expirationSeconds": 86400,
        },
        "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "LS0t"},
    }
    assert cells("certificates.k8s.io", "CertificateSigningRequest", csr) == [
        "node-csr-abc",
        "30s",
        "kubernetes.io/kube-apiserver-client-kubelet",
        "system:node:n1",
        "24h",
        "Approved,Issued",
    ]
    local = {
        "metadata": {"name": "v1.apps", "creationTimestamp": ago(60)},
        "status": {"conditions": [{"type": "Available", "status": "True"}]},
    }
    assert cells("apiregistration.k8s.io", "APIService", local) == [
        "v1.apps",
        "Local",
        "True",
        "60s",
    ]
    remote = {
        "metadata": {"name": "v1beta1.metrics.k8s.io", "creationTimestamp": ago(60)},
        "spec": {"service": {"namespace": "kube-system", "name": "metrics-server"}},
        "status": {
            "conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints"}]
        },
    }
    assert cells("apiregistration.k8s.io", "APIService", remote)[1:3] == [
        "kube-system/metrics-server",
        "False (MissingEndpoints)",
    ]


# ------------------------------------------------------------------------------ custom resources

PRINTER_COLUMNS = [
    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
    {"name": "Ratio", "type": "number", "jsonPath": ".status.ratio", "format": "double"},
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    },
    {
        "name": "Paused",
        "type": "boolean",
        "jsonPath": ".spec.paused",
        "priority": 1,
        "description": "Is it paused?",
    },
    {"name": "App", "type": "string", "jsonPath": ".metadata.labels.app\\.kubernetes\\.io/name"},
    {"name": "Size", "type": "string", "jsonPath": ".spec.size"},
    {"name": "Images", "type": "string", "jsonPath": ".spec.containers[*].image"},
    {"name": "Selector", "type": "string", "jsonPath": ".spec.selector"},
    {"name": "Missing", "type": "string", "jsonPath": ".status.nothing.here"},
    {"name": "Started", "type": "date", "jsonPath": ".status.startTime"},
]


def widget(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {**meta("w1"), "labels": {"app.kubernetes.io/name": "shop"}},
        "spec": {
            "replicas": 3,
            "paused": False,
            "size": 2.5,
            "containers": [{"image": "a:1"}, {"image": "b:2"}],
            "selector": {"matchLabels": {"tier": "<fe>"}},
            **spec,
        },
        "status": {
            "ratio": 2,
            "startTime": ago(3700),
            "conditions": [
                {"type": "Synced", "status": "True"},
                {"type": "Ready", "status": "False"},
            ],
        },
    }


def test_crd_columns_are_name_then_the_printer_columns() -> None:
    t = table(
        group="example.com",
        kind="Widget",
        objects=[widget()],
        now=NOW,
        printer_columns=PRINTER_COLUMNS,
    )
    names = [c["name"] for c in t["columnDefinitions"]]
    assert names == [
        "Name",
        "Replicas",
        "Ratio",
        "Ready",
        "Paused",
        "App",
        "Size",
        "Images",
        "Selector",
        "Missing",
        "Started",
    ]
    by_name = {c["name"]: c for c in t["columnDefinitions"]}
    assert by_name["Name"]["format"] == "name"
    assert by_name["Ratio"] == {
        "name": "Ratio",
        "type": "number",
        "format": "double",
        "description": "Custom resource definition column (in JSONPath format): .status.ratio",
        "priority": 0,
    }
    assert by_name["Paused"]["description"] == "Is it paused?"
    assert by_name["Paused"]["priority"] == 1
    assert t["rows"][0]["cells"] == [
        "w1",
        3,
        2,
        "False",
        False,
        "shop",
        "2.5",
        "a:1",
        '{"matchLabels":{"tier":"\\u003cfe\\u003e"}}',
        None,
        "61m",
    ]


def test_crd_cell_types_follow_the_column_type() -> None:
    cols = [
        {"name": "AsInt", "type": "integer", "jsonPath": ".spec.size"},
        {"name": "AsNumber", "type": "number", "jsonPath": ".spec.replicas"},
        {"name": "AsString", "type": "string", "jsonPath": ".spec.replicas"},
        {"name": "BoolAsInt", "type": "integer", "jsonPath": ".spec.paused"},
        {"name": "BadDate", "type": "date", "jsonPath": ".spec.when"},
        {"name": "BigFloat", "type": "string", "jsonPath": ".spec.big"},
        {"name": "Null", "type": "string", "jsonPath": ".spec.nothing"},
    ]
    obj = widget(when="yesterday", big=12345678.0, nothing=None)
    row = table(group="example.com", kind="Widget", objects=[obj], now=NOW, printer_columns=cols)[
        "rows"
    ][0]
    assert row["cells"] == ["w1", 2, 3, "3", None, "<invalid>", "1.2345678e+07", "<no value>"]


def test_crd_without_printer_columns_gets_age() -> None:
    t = table(group="example.com", kind="Widget", objects=[widget()], now=NOW, printer_columns=[])
    assert [(c["name"], c["type"]) for c in t["columnDefinitions"]] == [
        ("Name", "string"),
        ("Age", "date"),
    ]
    assert t["columnDefinitions"][1]["description"].startswith("CreationTimestamp is a timestamp")
    assert t["rows"][0]["cells"] == ["w1", "5m"]
    assert (
        table(group="example.com", kind="Widget", objects=[], now=NOW, printer_columns=[])["rows"]
        == []
    )


def test_crd_column_named_age_is_not_duplicated() -> None:
    cols = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    t = table(group="example.com", kind="Widget", objects=[widget()], now=NOW, printer_columns=cols)
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Age"]
    assert t["rows"][0]["cells"] == ["w1", "5m"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".spec.containers[0].image", "a:1"),
        (".spec.containers[-1].image", "b:2"),
        (".spec.containers[5].image", None),  # out of range fails the path: empty cell
        (".spec.containers[1:].image", "b:2"),
        (".spec.containers[0,1].image", "a:1"),
        (".metadata.labels['app.kubernetes.io/name']", "shop"),
        (".status.conditions[?(@.status=='True')].type", "Synced"),
        ('.status.conditions[?(@.type!="Synced")].type', "Ready"),
        (".status.conditions[?(@.reason)].type", None),
        (".status.conditions[?(@.missing == 1)].type", None),
        ("..image", "a:1"),
        (".spec.replicas.deeper", None),
        (".spec[", None),
    ],
)
def test_crd_jsonpath_subset(path: str, expected: Any) -> None:
    cols = [{"name": "X", "type": "string", "jsonPath": path}]
    t = table(group="example.com", kind="Widget", objects=[widget()], now=NOW, printer_columns=cols)
    assert t["rows"][0]["cells"][1] == expected


def test_crd_filter_comparing_numbers() -> None:
    cols = [{"name": "Big", "type": "string", "jsonPath": ".spec.items[?(@.n > 2)].name"}]
    obj = widget(items=[{"n": 1, "name": "one"}, {"n": 5, "name": "five"}])
    t = table(group="example.com", kind="Widget", objects=[obj], now=NOW, printer_columns=cols)
    assert t["rows"][0]["cells"][1] == "five"
    # comparing an int with a string is an error in Go templates, so the cell stays empty
    cols = [{"name": "Bad", "type": "string", "jsonPath": ".spec.items[?(@.n > 'x')].name"}]
    t = table(group="example.com", kind="Widget", objects=[obj], now=NOW, printer_columns=cols)
    assert t["rows"][0]["cells"][1] is None


# ------------------------------------------------------------------------------ the Table envelope


def test_include_object_variants() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta("cfg", resourceVersion="42"),
        "data": {"k": "v"},
    }
    partial = {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }
    for value in ("Metadata", ""):
        t = table(group="", kind="ConfigMap", objects=[obj], now=NOW, include_object=value)
        assert t["rows"][0]["object"] == partial
    assert table(group="", kind="ConfigMap", objects=[obj], now=NOW)["rows"][0]["object"] == partial
    full = table(group="", kind="ConfigMap", objects=[obj], now=NOW, include_object="Object")
    assert full["rows"][0]["object"] == obj
    none = table(group="", kind="ConfigMap", objects=[obj], now=NOW, include_object="None")
    assert none["rows"][0] == {"cells": ["cfg", 1, "5m"], "object": None}
    with pytest.raises(BadRequest) as caught:
        table(group="", kind="ConfigMap", objects=[obj], now=NOW, include_object="Everything")
    assert (
        'includeObject: Invalid value: "Everything": '
        "must be 'Metadata', 'Object', 'None', or empty" in str(caught.value)
    )


def test_initial_events_end_bookmark_always_carries_metadata() -> None:
    bookmark = {
        "metadata": {"resourceVersion": "9", "annotations": {"k8s.io/initial-events-end": "true"}}
    }
    t = table(group="", kind="ConfigMap", objects=[bookmark], now=NOW, include_object="None")
    assert t["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_envelope_metadata_and_watch_events_without_columns() -> None:
    obj = {"metadata": meta("cfg")}
    t = table(group="", kind="ConfigMap", objects=[obj], now=NOW)
    assert (t["kind"], t["apiVersion"], t["metadata"]) == ("Table", "meta.k8s.io/v1", {})
    listed = table(
        group="",
        kind="ConfigMap",
        objects=[obj],
        now=NOW,
        resource_version="123",
        continue_token="abc",
        remaining_item_count=7,
    )
    assert listed["metadata"] == {
        "resourceVersion": "123",
        "continue": "abc",
        "remainingItemCount": 7,
    }
    later = table(group="", kind="ConfigMap", objects=[obj], now=NOW, include_columns=False)
    assert later["columnDefinitions"] is None
    assert later["rows"][0]["cells"] == ["cfg", 0, "5m"]


def test_column_definitions_have_all_fields_and_upstream_descriptions() -> None:
    cols = table(group="", kind="Pod", objects=[], now=NOW)["columnDefinitions"]
    assert all(set(c) == {"name", "type", "format", "description", "priority"} for c in cols)
    by_name = {c["name"]: c for c in cols}
    assert by_name["Name"]["format"] == "name"
    assert by_name["Name"]["description"].startswith("Name must be unique within a namespace.")
    assert by_name["IP"]["description"].startswith("podIP address allocated to the pod.")
    assert by_name["Restarts"]["type"] == "string"


def test_every_openapi_description_reference_resolves() -> None:
    missing = []
    for key, printer in printers._PRINTERS.items():
        for col in printer.columns:
            if not isinstance(col.doc, str) and not printers._openapi_doc(*col.doc):
                missing.append((key, col.name, col.doc))
    assert missing == []


def test_every_printer_survives_a_bare_object_and_fills_every_column() -> None:
    for (group, kind), printer in printers._PRINTERS.items():
        t = table(group=group, kind=kind, objects=[{"metadata": {"name": "x"}}], now=NOW)
        row = t["rows"][0]["cells"]
        # upstream's IPAddress row carries an Age cell beyond its two columns
        extra = 1 if kind == "IPAddress" else 0
        assert len(row) == len(t["columnDefinitions"]) + extra, (group, kind)
        assert len(printer.columns) == len(t["columnDefinitions"])


def test_flow_schemas_are_ordered_by_precedence_then_name() -> None:
    def fs(name: str, precedence: int) -> dict[str, Any]:
        return {
            "metadata": meta(name),
            "spec": {
                "matchingPrecedence": precedence,
                "priorityLevelConfiguration": {"name": "pl"},
            },
        }

    t = table(
        group="flowcontrol.apiserver.k8s.io",
        kind="FlowSchema",
        objects=[fs("b", 500), fs("a", 500), fs("exempt", 1)],
        now=NOW,
    )
    assert [r["cells"][0] for r in t["rows"]] == ["exempt", "a", "b"]
    assert t["rows"][0]["cells"] == ["exempt", "pl", 1, "<none>", "5m", "?"]


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("1000", "1k"),
        ("1024", "1024"),
        ("0.5Gi", "512Mi"),
        ("1.5Gi", "1536Mi"),
        ("100Mi", "100Mi"),
        ("0.1", "100m"),
        ("2000m", "2"),
        ("1e3", "1e3"),
        ("0", "0"),
        (5, "5"),
        ("512", "512"),
    ],
)
def test_quantities_print_canonically(given: Any, canonical: str) -> None:
    pv = {"metadata": meta("pv"), "spec": {"capacity": {"storage": given}}}
    assert cells("", "PersistentVolume", pv)[1] == canonical
