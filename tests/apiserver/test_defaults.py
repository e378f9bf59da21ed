"""Defaulting, create-time strategy effects and pod admission, as kube-apiserver 1.37 does them.

The expected objects are written out in full, as ``kubectl get -o json`` shows them on a real
cluster right after the create (minus the fields the store owns: uid, resourceVersion,
creationTimestamp, managedFields).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from kubenb.apiserver.defaults import (
    PriorityAdmissionError,
    admit_pod,
    admit_pod_priority,
    apply_defaults,
    defaulted_kinds,
    pod_qos_class,
    prepare_for_create,
    system_priority_classes,
)

NOW = "2026-01-02T03:04:05Z"
Obj = dict[str, Any]


def defaulted(group: str, version: str, kind: str, obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    apply_defaults(group=group, version=version, kind=kind, obj=out)
    return out


def created(group: str, version: str, kind: str, obj: Obj, *, uid: str = "uid-1") -> Obj:
    """The create path in kube-apiserver's order: decode+default, admission, strategy."""
    out = defaulted(group, version, kind, obj)
    if group == "" and kind == "Pod":
        admit_pod(out)
        admit_pod_priority(out, priority_classes={})
    out.setdefault("metadata", {})["uid"] = uid
    prepare_for_create(group=group, kind=kind, obj=out, now=NOW)
    return out


def container(name: str, image: str, **extra: Any) -> Obj:
    return {"name": name, "image": image, **extra}


def defaulted_container(name: str, image: str, policy: str, **extra: Any) -> Obj:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": policy,
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        **extra,
    }


TEMPLATE_SPEC_DEFAULTS = {
    "dnsPolicy": "ClusterFirst",
    "restartPolicy": "Always",
    "schedulerName": "default-scheduler",
    "securityContext": {},
    "terminationGracePeriodSeconds": 30,
}

POD_TOLERATIONS = [
    {
        "key": "node.kubernetes.io/not-ready",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
    {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
]


# ------------------------------------------------------------------------------------------
# Pods


def test_minimal_pod_through_the_whole_create_path() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nginx", "namespace": "default"},
        "spec": {"containers": [container("nginx", "nginx")]},
    }
    assert created("", "v1", "Pod", pod) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nginx", "namespace": "default", "uid": "uid-1", "generation": 1},
        "spec": {
            "containers": [defaulted_container("nginx", "nginx", "Always")],
            **TEMPLATE_SPEC_DEFAULTS,
            "enableServiceLinks": True,
            "tolerations": POD_TOLERATIONS,
            "priority": 0,
            "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("docker.io/library/nginx", "Always"),
        ("localhost:5000/app", "Always"),
        ("nginx:1.27", "IfNotPresent"),
        ("registry.k8s.io/pause:3.10", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
        ("Nginx", "IfNotPresent"),  # not a valid reference: no tag, so not "latest"
        ("", "IfNotPresent"),
    ],
)
def test_image_pull_policy_follows_the_tag(image: str, policy: str) -> None:
    pod = {"spec": {"containers": [container("c", image)]}}
    assert defaulted("", "v1", "Pod", pod)["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_pod_containers_probes_ports_env_and_lifecycle() -> None:
    pod = {
        "spec": {
            "initContainers": [container("init", "busybox:latest", command=["true"])],
            "containers": [
                container(
                    "app",
                    "example/app:1.0",
                    ports=[{"containerPort": 8080}, {"containerPort": 53, "protocol": "UDP"}],
                    env=[
                        {"name": "A", "value": "1"},
                        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {
                            "name": "NS",
                            "valueFrom": {
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}
                            },
                        },
                    ],
                    livenessProbe={"tcpSocket": {"port": 8080}, "periodSeconds": 5},
                    readinessProbe={"httpGet": {"port": 8080}},
                    startupProbe={"grpc": {"port": 9000}, "timeoutSeconds": 0},
                    lifecycle={"preStop": {"httpGet": {"port": 8080, "path": "/quit"}}},
                )
            ],
        }
    }
    spec = defaulted("", "v1", "Pod", pod)["spec"]
    assert spec["initContainers"] == [
        defaulted_container("init", "busybox:latest", "Always", command=["true"])
    ]
    assert spec["containers"] == [
        defaulted_container(
            "app",
            "example/app:1.0",
            "IfNotPresent",
            ports=[
                {"containerPort": 8080, "protocol": "TCP"},
                {"containerPort": 53, "protocol": "UDP"},
            ],
            env=[
                {"name": "A", "value": "1"},
                {
                    "name": "POD",
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name", "apiVersion": "v1"}},
                },
                {
                    "name": "NS",
                    "valueFrom": {
                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}
                    },
                },
            ],
            livenessProbe={
                "tcpSocket": {"port": 8080},
                "periodSeconds": 5,
                "timeoutSeconds": 1,
                "successThreshold": 1,
                "failureThreshold": 3,
            },
            readinessProbe={
                "httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
                "timeoutSeconds": 1,
                "periodSeconds": 10,
                "successThreshold": 1,
                "failureThreshold": 3,
            },
            # Probe counters are plain int32 in Go: an explicit 0 reads as unset.
            startupProbe={
                "grpc": {"port": 9000, "service": ""},
                "timeoutSeconds": 1,
                "periodSeconds": 10,
                "successThreshold": 1,
                "failureThreshold": 3,
            },
            lifecycle={"preStop": {"httpGet": {"port": 8080, "path": "/quit", "scheme": "HTTP"}}},
        )
    ]


def test_pod_volumes() -> None:
    pod = {
        "spec": {
            "containers": [container("c", "busybox:1")],
            "volumes": [
                {"name": "scratch"},
                {"name": "empty", "emptyDir": {"medium": "Memory"}},
                {"name": "secret", "secret": {"secretName": "s"}},
                {"name": "config", "configMap": {"name": "cm", "defaultMode": 256}},
                {"name": "host", "hostPath": {"path": "/var/log"}},
                {
                    "name": "downward",
                    "downwardAPI": {
                        "items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]
                    },
                },
                {
                    "name": "projected",
                    "projected": {
                        "sources": [
                            {"serviceAccountToken": {"path": "token"}},
                            {"configMap": {"name": "kube-root-ca.crt"}},
                            {
                                "downwardAPI": {
                                    "items": [
                                        {
                                            "path": "namespace",
                                            "fieldRef": {"fieldPath": "metadata.namespace"},
                                        }
                                    ]
                                }
                            },
                        ]
                    },
                },
                {
                    "name": "scratch-claim",
                    "ephemeral": {
                        "volumeClaimTemplate": {
                            "spec": {
                                "accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": "1Gi"}},
                            }
                        }
                    },
                },
                {"name": "claim", "persistentVolumeClaim": {"claimName": "data"}},
                {"name": "iscsi", "iscsi": {"targetPortal": "1.2.3.4", "iqn": "q", "lun": 0}},
                {"name": "image", "image": {"reference": "example/data:v1"}},
            ],
        }
    }
    assert defaulted("", "v1", "Pod", pod)["spec"]["volumes"] == [
        {"name": "scratch", "emptyDir": {}},
        {"name": "empty", "emptyDir": {"medium": "Memory"}},
        {"name": "secret", "secret": {"secretName": "s", "defaultMode": 420}},
        {"name": "config", "configMap": {"name": "cm", "defaultMode": 256}},
        {"name": "host", "hostPath": {"path": "/var/log", "type": ""}},
        {
            "name": "downward",
            "downwardAPI": {
                "items": [
                    {
                        "path": "labels",
                        "fieldRef": {"fieldPath": "metadata.labels", "apiVersion": "v1"},
                    }
                ],
                "defaultMode": 420,
            },
        },
        {
            "name": "projected",
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
                    {"configMap": {"name": "kube-root-ca.crt"}},
                    {
                        "downwardAPI": {
                            "items": [
                                {
                                    "path": "namespace",
                                    "fieldRef": {
                                        "fieldPath": "metadata.namespace",
                                        "apiVersion": "v1",
                                    },
                                }
                            ]
                        }
                    },
                ],
                "defaultMode": 420,
            },
        },
        {
            "name": "scratch-claim",
            "ephemeral": {
                "volumeClaimTemplate": {
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                        "volumeMode": "Filesystem",
                    }
                }
            },
        },
        {"name": "claim", "persistentVolumeClaim": {"claimName": "data"}},
        {
            "name": "iscsi",
            "iscsi": {"targetPortal": "1.2.3.4", "iqn": "q", "lun": 0, "iscsiInterface": "default"},
        },
        {"name": "image", "image": {"reference": "example/data:v1", "pullPolicy": "IfNotPresent"}},
    ]


def test_requests_default_to_limits_only_in_pods() -> None:
    resources = {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m"}}
    spec = {"containers": [container("c", "app:1", resources=copy.deepcopy(resources))]}
    pod = defaulted("", "v1", "Pod", {"spec": copy.deepcopy(spec)})
    assert pod["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "128Mi"},
        "requests": {"cpu": "250m", "memory": "128Mi"},
    }
    template = defaulted("", "v1", "PodTemplate", {"template": {"spec": copy.deepcopy(spec)}})
    assert template["template"]["spec"]["containers"][0]["resources"] == resources
    assert "enableServiceLinks" not in template["template"]["spec"]


def test_host_network_ports_only_in_pods() -> None:
    spec = {
        "hostNetwork": True,
        "containers": [container("c", "app:1", ports=[{"containerPort": 80}])],
    }
    pod = defaulted("", "v1", "Pod", {"spec": copy.deepcopy(spec)})
    assert pod["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP", "hostPort": 80}
    ]
    rs = defaulted("apps", "v1", "ReplicaSet", {"spec": {"template": {"spec": spec}}})
    assert rs["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP"}
    ]


def test_service_account_alias_is_mirrored() -> None:
    old = defaulted("", "v1", "Pod", {"spec": {"serviceAccount": "robot", "containers": []}})
    assert old["spec"]["serviceAccountName"] == "robot"
    assert old["spec"]["serviceAccount"] == "robot"
    new = defaulted(
        "",
        "v1",
        "Pod",
        {"spec": {"serviceAccountName": "a", "serviceAccount": "b", "containers": []}},
    )
    assert (new["spec"]["serviceAccountName"], new["spec"]["serviceAccount"]) == ("a", "a")


def test_pod_ip_fields_agree() -> None:
    singular = defaulted("", "v1", "Pod", {"spec": {}, "status": {"podIP": "10.0.0.5"}})
    assert singular["status"]["podIPs"] == [{"ip": "10.0.0.5"}]
    plural = defaulted(
        "",
        "v1",
        "Pod",
        {"status": {"podIPs": [{"ip": "10.0.0.6"}], "hostIPs": [{"ip": "1.1.1.1"}]}},
    )
    assert plural["status"]["podIP"] == "10.0.0.6"
    assert plural["status"]["hostIP"] == "1.1.1.1"
    conflict = defaulted(
        "", "v1", "Pod", {"status": {"podIP": "10.0.0.7", "podIPs": [{"ip": "10.0.0.8"}]}}
    )
    assert conflict["status"]["podIPs"] == [{"ip": "10.0.0.7"}]


@pytest.mark.parametrize(
    ("containers", "qos"),
    [
        ([{}], "BestEffort"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}}], "Guaranteed"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m"}}], "Guaranteed"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}], "Burstable"),
        ([{"limits": {"cpu": "1"}}], "Burstable"),
        ([{"requests": {"memory": "64Mi"}}], "Burstable"),
        ([{"requests": {"cpu": "0"}}], "BestEffort"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}}, {}], "Burstable"),
        (
            [{"limits": {"cpu": "2", "memory": "1G"}}, {"limits": {"cpu": 1, "memory": "1e9"}}],
            "Guaranteed",
        ),
        ([{"limits": {"nvidia.com/gpu": "1"}}], "BestEffort"),
    ],
)
def test_qos_class_on_create(containers: list[Obj], qos: str) -> None:
    pod = {
        "spec": {
            "containers": [
                container(f"c{i}", "app:1", resources=r) for i, r in enumerate(containers)
            ]
        }
    }
    assert created("", "v1", "Pod", pod)["status"]["qosClass"] == qos


def test_qos_class_from_pod_level_resources() -> None:
    spec = {
        "resources": {
            "limits": {"cpu": "1", "memory": "1Gi"},
            "requests": {"cpu": "1", "memory": "1Gi"},
        },
        "containers": [container("c", "app:1")],
    }
    assert pod_qos_class({"spec": spec}) == "Guaranteed"
    spec["resources"] = {"requests": {"cpu": "1"}}
    assert pod_qos_class({"spec": spec}) == "Burstable"


def test_scheduling_gates_label_keys_and_apparmor_on_create() -> None:
    pod = {
        "metadata": {
            "name": "p",
            "labels": {"app": "db", "rev": "7"},
            "annotations": {"container.apparmor.security.beta.kubernetes.io/c": "runtime/default"},
        },
        "spec": {
            "schedulingGates": [{"name": "example.com/wait"}],
            "containers": [container("c", "db:1")],
            "affinity": {
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchLabels": {"app": "db"}},
                            "matchLabelKeys": ["rev"],
                            "mismatchLabelKeys": ["app"],
                        }
                    ]
                }
            },
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "zone",
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": {"app": "db"}},
                    "matchLabelKeys": ["rev", "missing"],
                }
            ],
        },
    }
    out = created("", "v1", "Pod", pod)
    assert out["status"] == {
        "phase": "Pending",
        "qosClass": "BestEffort",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "lastProbeTime": None,
                "lastTransitionTime": NOW,
                "reason": "SchedulingGated",
                "message": "Scheduling is blocked due to non-empty scheduling gates",
            }
        ],
    }
    term = out["spec"]["affinity"]["podAntiAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ][0]
    assert term["labelSelector"] == {
        "matchLabels": {"app": "db"},
        "matchExpressions": [
            {"key": "rev", "operator": "In", "values": ["7"]},
            {"key": "app", "operator": "NotIn", "values": ["db"]},
        ],
    }
    assert out["spec"]["topologySpreadConstraints"][0]["labelSelector"] == {
        "matchLabels": {"app": "db"},
        "matchExpressions": [{"key": "rev", "operator": "In", "values": ["7"]}],
    }
    assert out["spec"]["containers"][0]["securityContext"] == {
        "appArmorProfile": {"type": "RuntimeDefault"}
    }


# ------------------------------------------------------------------------------------------
# Workloads


def web_template(image: str = "nginx:1.27") -> Obj:
    return {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [container("web", image)]},
    }


def web_template_defaulted(image: str = "nginx:1.27", policy: str = "IfNotPresent") -> Obj:
    return {
        "metadata": {"labels": {"app": "web"}},
        "spec": {
            "containers": [defaulted_container("web", image, policy)],
            **TEMPLATE_SPEC_DEFAULTS,
        },
    }


def test_deployment() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": web_template()},
    }
    expected = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": web_template_defaulted(),
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
    }
    assert defaulted("apps", "v1", "Deployment", deployment) == expected
    expected["metadata"] |= {"uid": "uid-1", "generation": 1}
    expected["status"] = {}
    assert created("apps", "v1", "Deployment", deployment) == expected


def test_deployment_recreate_strategy_gets_no_rolling_update() -> None:
    deployment = {"spec": {"strategy": {"type": "Recreate"}, "template": web_template()}}
    assert defaulted("apps", "v1", "Deployment", deployment)["spec"]["strategy"] == {
        "type": "Recreate"
    }


def test_replica_set() -> None:
    rs = {"metadata": {"name": "web"}, "spec": {"selector": {}, "template": web_template()}}
    expected = {
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {}, "template": web_template_defaulted()},
    }
    assert defaulted("apps", "v1", "ReplicaSet", rs) == expected
    out = created("apps", "v1", "ReplicaSet", rs)
    assert out["status"] == {"replicas": 0}
    assert out["metadata"]["generation"] == 1


def test_stateful_set() -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "web"}},
            "template": web_template("postgres:17"),
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
        },
    }
    expected = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "serviceName": "db",
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": web_template_defaulted("postgres:17"),
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"partition": 0, "maxUnavailable": 1},
            },
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Retain",
                "whenScaled": "Retain",
            },
            "revisionHistoryLimit": 10,
            "volumeClaimTemplates": [
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                        "volumeMode": "Filesystem",
                    },
                    "status": {"phase": "Pending"},
                }
            ],
        },
    }
    assert defaulted("apps", "v1", "StatefulSet", sts) == expected
    expected["metadata"] |= {"uid": "uid-1", "generation": 1}
    expected["status"] = {"replicas": 0, "availableReplicas": 0}
    assert created("apps", "v1", "StatefulSet", sts) == expected


def test_stateful_set_explicit_rolling_update_type_gets_no_partition() -> None:
    sts = {"spec": {"updateStrategy": {"type": "RollingUpdate"}}}
    assert defaulted("apps", "v1", "StatefulSet", sts)["spec"]["updateStrategy"] == {
        "type": "RollingUpdate"
    }
    sts = {"spec": {"updateStrategy": {"type": "OnDelete"}}}
    assert defaulted("apps", "v1", "StatefulSet", sts)["spec"]["updateStrategy"] == {
        "type": "OnDelete"
    }


def test_daemon_set() -> None:
    ds = {
        "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": web_template()},
    }
    expected = {
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": web_template_defaulted(),
            "updateStrategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
            },
            "revisionHistoryLimit": 10,
        },
    }
    assert defaulted("apps", "v1", "DaemonSet", ds) == expected
    expected["metadata"] |= {
        "uid": "uid-1",
        "generation": 1,
        "annotations": {"deprecated.daemonset.template.generation": "1"},
    }
    expected["status"] = {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    }
    assert created("apps", "v1", "DaemonSet", ds) == expected


def test_replication_controller_and_pod_template() -> None:
    rc = {"metadata": {"name": "old"}, "spec": {"template": web_template()}}
    expected = {
        "metadata": {"name": "old", "labels": {"app": "web"}},
        "spec": {"replicas": 1, "selector": {"app": "web"}, "template": web_template_defaulted()},
    }
    assert defaulted("", "v1", "ReplicationController", rc) == expected
    out = created("", "v1", "ReplicationController", rc)
    assert out["status"] == {"replicas": 0}
    assert out["metadata"]["generation"] == 1

    template = {"metadata": {"name": "t"}, "template": {"spec": web_template()["spec"]}}
    assert defaulted("", "v1", "PodTemplate", template) == {
        "metadata": {"name": "t"},
        "template": {"metadata": {}, "spec": web_template_defaulted()["spec"]},
    }


def pi_job() -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default"},
        "spec": {
            "backoffLimit": 4,
            "template": {
                "spec": {
                    "containers": [container("pi", "perl:5.34.0", command=["perl", "-e", "1"])],
                    "restartPolicy": "Never",
                }
            },
        },
    }


def test_job() -> None:
    spec_defaults = {
        "backoffLimit": 4,
        "completions": 1,
        "parallelism": 1,
        "completionMode": "NonIndexed",
        "suspend": False,
        "podReplacementPolicy": "TerminatingOrFailed",
        "manualSelector": False,
    }
    template_spec = {
        "containers": [
            defaulted_container("pi", "perl:5.34.0", "IfNotPresent", command=["perl", "-e", "1"])
        ],
        **TEMPLATE_SPEC_DEFAULTS,
        "restartPolicy": "Never",  # the job's own restart policy stays as given
    }
    assert defaulted("batch", "v1", "Job", pi_job()) == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default"},
        "spec": {**spec_defaults, "template": {"metadata": {}, "spec": template_spec}},
    }
    generated = {
        "batch.kubernetes.io/controller-uid": "uid-1",
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "uid-1",
        "job-name": "pi",
    }
    assert created("batch", "v1", "Job", pi_job()) == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "pi",
            "namespace": "default",
            "uid": "uid-1",
            "generation": 1,
            "labels": generated,  # copied from the template when the job has none
        },
        "spec": {
            **spec_defaults,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "uid-1"}},
            "template": {"metadata": {"labels": generated}, "spec": template_spec},
        },
        "status": {},
    }


def test_job_labels_from_template_and_own_labels() -> None:
    job = pi_job()
    job["spec"]["template"]["metadata"] = {"labels": {"app": "pi"}}
    out = created("batch", "v1", "Job", job)
    assert out["metadata"]["labels"] == out["spec"]["template"]["metadata"]["labels"]
    assert out["metadata"]["labels"]["app"] == "pi"
    assert out["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] == "uid-1"

    job = pi_job()
    job["metadata"]["labels"] = {"team": "a"}
    assert created("batch", "v1", "Job", job)["metadata"]["labels"] == {"team": "a"}


def test_job_variants() -> None:
    job = pi_job()
    job["spec"] |= {"completions": 5, "backoffLimitPerIndex": 1, "completionMode": "Indexed"}
    job["spec"]["podFailurePolicy"] = {
        "rules": [
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
            {"action": "FailJob", "onPodConditions": [{"type": "X", "status": "False"}]},
        ]
    }
    del job["spec"]["backoffLimit"]
    spec = defaulted("batch", "v1", "Job", job)["spec"]
    assert spec["completions"] == 5
    assert spec["parallelism"] == 1
    assert spec["backoffLimit"] == 2147483647
    assert spec["podReplacementPolicy"] == "Failed"
    assert spec["podFailurePolicy"]["rules"][0]["onPodConditions"] == [
        {"type": "DisruptionTarget", "status": "True"}
    ]
    assert spec["podFailurePolicy"]["rules"][1]["onPodConditions"] == [
        {"type": "X", "status": "False"}
    ]
    job = pi_job()
    job["spec"]["parallelism"] = 3
    spec = defaulted("batch", "v1", "Job", job)["spec"]
    assert "completions" not in spec  # a work queue: completions stays unset
    assert spec["parallelism"] == 3


def test_job_manual_selector_and_uid() -> None:
    job = pi_job()
    job["spec"]["manualSelector"] = True
    job["spec"]["selector"] = {"matchLabels": {"app": "pi"}}
    out = created("batch", "v1", "Job", job)
    assert out["spec"]["selector"] == {"matchLabels": {"app": "pi"}}
    assert out["spec"]["template"]["metadata"] == {}

    # Without a uid yet, one is assigned (kube-apiserver fills it just before this step) and the
    # selector and labels use it.
    job = defaulted("batch", "v1", "Job", pi_job())
    prepare_for_create(group="batch", kind="Job", obj=job, now=NOW)
    uid = job["metadata"]["uid"]
    assert re.fullmatch(r"[0-9a-f-]{36}", uid)
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert job["metadata"]["labels"]["controller-uid"] == uid


def test_cron_job_defaults_only_the_types_inside_its_job_template() -> None:
    cron = {
        "metadata": {"name": "hello"},
        "spec": {
            "schedule": "* * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [container("hello", "busybox:1.36")],
                            "restartPolicy": "OnFailure",
                        }
                    }
                }
            },
        },
    }
    expected = {
        "metadata": {"name": "hello"},
        "spec": {
            "schedule": "* * * * *",
            "concurrencyPolicy": "Allow",
            "suspend": False,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {},
                "spec": {
                    "template": {
                        "metadata": {},
                        "spec": {
                            "containers": [
                                defaulted_container("hello", "busybox:1.36", "IfNotPresent")
                            ],
                            **TEMPLATE_SPEC_DEFAULTS,
                            "restartPolicy": "OnFailure",
                        },
                    }
                },
            },
        },
    }
    assert defaulted("batch", "v1", "CronJob", cron) == expected
    out = created("batch", "v1", "CronJob", cron)
    assert out["status"] == {}
    assert out["metadata"]["generation"] == 1


# ------------------------------------------------------------------------------------------
# Services and endpoints


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"selector": {"app": "web"}, "ports": [{"port": 80}]},
            {
                "selector": {"app": "web"},
                "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                "sessionAffinity": "None",
                "type": "ClusterIP",
                "internalTrafficPolicy": "Cluster",
            },
        ),
        (
            {"type": "NodePort", "ports": [{"port": 80, "targetPort": "http", "protocol": "UDP"}]},
            {
                "type": "NodePort",
                "ports": [{"port": 80, "targetPort": "http", "protocol": "UDP"}],
                "sessionAffinity": "None",
                "externalTrafficPolicy": "Cluster",
                "internalTrafficPolicy": "Cluster",
            },
        ),
        (
            {"type": "LoadBalancer", "ports": [{"port": 443, "targetPort": 0}]},
            {
                "type": "LoadBalancer",
                "ports": [{"port": 443, "targetPort": 443, "protocol": "TCP"}],
                "sessionAffinity": "None",
                "externalTrafficPolicy": "Cluster",
                "internalTrafficPolicy": "Cluster",
                "allocateLoadBalancerNodePorts": True,
            },
        ),
        (
            {"type": "ExternalName", "externalName": "example.com"},
            {"type": "ExternalName", "externalName": "example.com", "sessionAffinity": "None"},
        ),
        (
            {"ports": [{"port": 80}], "externalIPs": ["1.2.3.4"], "sessionAffinity": "ClientIP"},
            {
                "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                "externalIPs": ["1.2.3.4"],
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
                "type": "ClusterIP",
                "externalTrafficPolicy": "Cluster",
                "internalTrafficPolicy": "Cluster",
            },
        ),
        (
            {
                "clusterIP": "None",
                "sessionAffinity": "None",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 5}},
            },
            {
                "clusterIP": "None",
                "sessionAffinity": "None",
                "type": "ClusterIP",
                "internalTrafficPolicy": "Cluster",
            },
        ),
    ],
)
def test_service(spec: Obj, expected: Obj) -> None:
    service = {"metadata": {"name": "s"}, "spec": spec}
    assert defaulted("", "v1", "Service", service) == {"metadata": {"name": "s"}, "spec": expected}
    assert created("", "v1", "Service", service)["status"] == {"loadBalancer": {}}


def test_load_balancer_status_ip_mode() -> None:
    service = {
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}, {"hostname": "lb.example"}]}},
    }
    assert defaulted("", "v1", "Service", service)["status"]["loadBalancer"]["ingress"] == [
        {"ip": "1.2.3.4", "ipMode": "VIP"},
        {"hostname": "lb.example"},
    ]


def test_endpoints_and_endpoint_slice() -> None:
    endpoints = {"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}
    assert defaulted("", "v1", "Endpoints", endpoints)["subsets"][0]["ports"] == [
        {"port": 80, "protocol": "TCP"}
    ]
    eps = {
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.1"]}],
        "ports": [{"port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}],
    }
    out = defaulted("discovery.k8s.io", "v1", "EndpointSlice", eps)
    assert out["ports"] == [
        {"port": 80, "name": "", "protocol": "TCP"},
        {"name": "dns", "port": 53, "protocol": "UDP"},
    ]
    assert created("discovery.k8s.io", "v1", "EndpointSlice", eps)["metadata"]["generation"] == 1


# ------------------------------------------------------------------------------------------
# Namespaces, storage, config


def test_namespace() -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}
    assert defaulted("", "v1", "Namespace", namespace) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "team", "labels": {"kubernetes.io/metadata.name": "team"}},
        "status": {"phase": "Active"},
    }
    assert created("", "v1", "Namespace", namespace) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "team",
            "uid": "uid-1",
            "labels": {"kubernetes.io/metadata.name": "team"},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }
    own = {"metadata": {"name": "x"}, "spec": {"finalizers": ["example.com/keep"]}}
    assert created("", "v1", "Namespace", own)["spec"]["finalizers"] == [
        "example.com/keep",
        "kubernetes",
    ]


def test_persistent_volume_claim() -> None:
    pvc = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    expected = {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Pending"},
    }
    assert defaulted("", "v1", "PersistentVolumeClaim", pvc) == expected
    with_status = copy.deepcopy(pvc) | {"status": {"phase": "Bound"}}
    out = created("", "v1", "PersistentVolumeClaim", with_status)
    assert out["status"] == {"phase": "Pending"}

    restored = copy.deepcopy(pvc)
    restored["spec"]["dataSource"] = {"kind": "PersistentVolumeClaim", "name": "src"}
    out = created("", "v1", "PersistentVolumeClaim", restored)
    assert out["spec"]["dataSourceRef"] == {"kind": "PersistentVolumeClaim", "name": "src"}


def test_transition_times_default_to_now() -> None:
    pv: Obj = {"spec": {}}
    prepare_for_create(group="", kind="PersistentVolume", obj=pv)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", pv["status"]["lastPhaseTransitionTime"])


def test_persistent_volume() -> None:
    pv = {
        "metadata": {"name": "pv1"},
        "spec": {
            "capacity": {"storage": "5Gi"},
            "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/data"},
        },
    }
    expected = {
        "metadata": {"name": "pv1"},
        "spec": {
            "capacity": {"storage": "5Gi"},
            "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/data", "type": ""},
            "persistentVolumeReclaimPolicy": "Retain",
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Pending"},
    }
    assert defaulted("", "v1", "PersistentVolume", pv) == expected
    assert created("", "v1", "PersistentVolume", pv)["status"] == {
        "phase": "Pending",
        "lastPhaseTransitionTime": NOW,
    }


def test_secret_node_limit_range_and_kinds_without_defaults() -> None:
    assert defaulted("", "v1", "Secret", {"data": {}})["type"] == "Opaque"
    assert (
        defaulted("", "v1", "Secret", {"type": "kubernetes.io/tls"})["type"] == "kubernetes.io/tls"
    )

    node = {"status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}
    assert defaulted("", "v1", "Node", node)["status"]["allocatable"] == {
        "cpu": "4",
        "memory": "8Gi",
        "pods": "110",
    }

    limit_range = {
        "spec": {
            "limits": [
                {"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "1Mi"}},
                {
                    "type": "Container",
                    "default": {"cpu": "200m"},
                    "defaultRequest": {"cpu": "100m"},
                },
                {"type": "Pod", "max": {"cpu": "4"}},
            ]
        }
    }
    assert defaulted("", "v1", "LimitRange", limit_range)["spec"]["limits"] == [
        {
            "type": "Container",
            "max": {"cpu": "1"},
            "min": {"memory": "1Mi"},
            "default": {"cpu": "1"},
            "defaultRequest": {"cpu": "1", "memory": "1Mi"},
        },
        {"type": "Container", "default": {"cpu": "200m"}, "defaultRequest": {"cpu": "100m"}},
        {"type": "Pod", "max": {"cpu": "4"}},
    ]

    for group, kind, obj in [
        ("", "ConfigMap", {"metadata": {"name": "cm"}}),
        ("", "ServiceAccount", {"metadata": {"name": "sa"}}),
        ("coordination.k8s.io", "Lease", {"metadata": {"name": "l"}, "spec": {}}),
        ("policy", "PodDisruptionBudget", {"spec": {"minAvailable": 1}}),
        ("networking.k8s.io", "Ingress", {"spec": {"rules": []}}),
        ("example.com", "Widget", {"spec": {"size": 1}}),
    ]:
        assert defaulted(group, "v1", kind, obj) == obj


def test_storage_scheduling_and_admission_configuration() -> None:
    assert defaulted("storage.k8s.io", "v1", "StorageClass", {"provisioner": "x"}) == {
        "provisioner": "x",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }
    assert defaulted("scheduling.k8s.io", "v1", "PriorityClass", {"value": 5}) == {
        "value": 5,
        "preemptionPolicy": "PreemptLowerPriority",
    }
    hook = {
        "name": "h.example.com",
        "clientConfig": {"service": {"namespace": "ns", "name": "svc"}},
        "rules": [
            {
                "operations": ["CREATE"],
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "resources": ["pods"],
            }
        ],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
    }
    common = {
        "failurePolicy": "Fail",
        "matchPolicy": "Equivalent",
        "namespaceSelector": {},
        "objectSelector": {},
        "timeoutSeconds": 10,
    }
    defaulted_hook = copy.deepcopy(hook) | common
    defaulted_hook["clientConfig"]["service"]["port"] = 443
    defaulted_hook["rules"][0]["scope"] = "*"
    validating = defaulted(
        "admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", {"webhooks": [hook]}
    )
    assert validating == {"webhooks": [defaulted_hook]}
    mutating = defaulted(
        "admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", {"webhooks": [hook]}
    )
    assert mutating == {"webhooks": [defaulted_hook | {"reinvocationPolicy": "Never"}]}


# ------------------------------------------------------------------------------------------
# networking, autoscaling, rbac, policy


def test_network_policy_and_ingress_class() -> None:
    ingress_only = {"spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}}
    assert defaulted("networking.k8s.io", "v1", "NetworkPolicy", ingress_only)["spec"] == {
        "podSelector": {},
        "ingress": [{"ports": [{"port": 80, "protocol": "TCP"}]}],
        "policyTypes": ["Ingress"],
    }
    both = {"spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}}
    assert defaulted("networking.k8s.io", "v1", "NetworkPolicy", both)["spec"]["policyTypes"] == [
        "Ingress",
        "Egress",
    ]
    assert created("networking.k8s.io", "v1", "NetworkPolicy", both)["metadata"]["generation"] == 1

    ingress_class = {"spec": {"controller": "x/y", "parameters": {"kind": "P", "name": "p"}}}
    out = defaulted("networking.k8s.io", "v1", "IngressClass", ingress_class)
    assert out["spec"]["parameters"] == {"kind": "P", "name": "p", "scope": "Cluster"}

    ingress = created("networking.k8s.io", "v1", "Ingress", {"spec": {}})
    assert ingress["status"] == {"loadBalancer": {}}
    assert ingress["metadata"]["generation"] == 1


def test_horizontal_pod_autoscaler_v2() -> None:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "maxReplicas": 5,
        },
    }
    assert defaulted("autoscaling", "v2", "HorizontalPodAutoscaler", hpa)["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "maxReplicas": 5,
        "minReplicas": 1,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80},
                },
            }
        ],
    }
    assert created("autoscaling", "v2", "HorizontalPodAutoscaler", hpa)["status"] == {
        "currentMetrics": None,
        "desiredReplicas": 0,
    }
    hpa["spec"]["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": 60}}
    assert defaulted("autoscaling", "v2", "HorizontalPodAutoscaler", hpa)["spec"]["behavior"] == {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 60,
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        },
    }


def test_horizontal_pod_autoscaler_v1() -> None:
    hpa = {
        "apiVersion": "autoscaling/v1",
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3},
    }
    assert defaulted("autoscaling", "v1", "HorizontalPodAutoscaler", hpa)["spec"] == {
        "scaleTargetRef": {"kind": "Deployment", "name": "web"},
        "maxReplicas": 3,
        "minReplicas": 1,
        "targetCPUUtilizationPercentage": 80,
    }
    assert created("autoscaling", "v1", "HorizontalPodAutoscaler", hpa)["status"] == {
        "currentReplicas": 0,
        "desiredReplicas": 0,
    }
    # Metrics other than CPU travel in an annotation in v1; then there is no CPU default.
    hpa["metadata"] = {"annotations": {"autoscaling.alpha.kubernetes.io/metrics": "[{}]"}}
    spec = defaulted("autoscaling", "v1", "HorizontalPodAutoscaler", hpa)["spec"]
    assert "targetCPUUtilizationPercentage" not in spec


@pytest.mark.parametrize("kind", ["RoleBinding", "ClusterRoleBinding"])
def test_role_bindings(kind: str) -> None:
    binding = {
        "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [
            {"kind": "User", "name": "alice"},
            {"kind": "Group", "name": "devs"},
            {"kind": "ServiceAccount", "name": "robot", "namespace": "ns"},
        ],
    }
    assert defaulted("rbac.authorization.k8s.io", "v1", kind, binding) == {
        "roleRef": {"kind": "ClusterRole", "name": "view", "apiGroup": "rbac.authorization.k8s.io"},
        "subjects": [
            {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"},
            {"kind": "Group", "name": "devs", "apiGroup": "rbac.authorization.k8s.io"},
            {"kind": "ServiceAccount", "name": "robot", "namespace": "ns"},
        ],
    }


def test_pod_disruption_budget_on_create() -> None:
    pdb = {"metadata": {"name": "p"}, "spec": {"minAvailable": 1}, "status": {"expectedPods": 3}}
    out = created("policy", "v1", "PodDisruptionBudget", pdb)
    assert out == {
        "metadata": {"name": "p", "uid": "uid-1", "generation": 1},
        "spec": {"minAvailable": 1},
        "status": {
            "disruptionsAllowed": 0,
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "expectedPods": 0,
        },
    }


# ------------------------------------------------------------------------------------------
# Properties over every kind: idempotence, explicit values, odd shapes.

FIXTURES: list[tuple[str, str, str, Callable[[], Obj]]] = [
    ("", "v1", "Event", lambda: {"metadata": {"name": "e"},
                                 "eventTime": "2026-01-15T10:00:00.5+00:00"}),
    (
        "",
        "v1",
        "Pod",
        lambda: {
            "metadata": {"name": "p", "labels": {"a": "b"}},
            "spec": {
                "hostNetwork": True,
                "containers": [
                    container(
                        "c", "app", ports=[{"containerPort": 1}], resources={"limits": {"cpu": "1"}}
                    )
                ],
                "volumes": [{"name": "v"}, {"name": "p", "projected": {"sources": []}}],
                "schedulingGates": [{"name": "g"}],
            },
            "status": {"podIP": "10.0.0.1"},
        },
    ),
    ("", "v1", "PodTemplate", lambda: {"template": web_template()}),
    ("", "v1", "ReplicationController", lambda: {"spec": {"template": web_template()}}),
    ("", "v1", "Service", lambda: {"spec": {"type": "LoadBalancer", "ports": [{"port": 1}]}}),
    ("", "v1", "Endpoints", lambda: {"subsets": [{"ports": [{"port": 1}]}]}),
    ("", "v1", "Namespace", lambda: {"metadata": {"name": "n"}}),
    ("", "v1", "Node", lambda: {"status": {"capacity": {"cpu": "1"}}}),
    (
        "",
        "v1",
        "LimitRange",
        lambda: {"spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}},
    ),
    ("", "v1", "Secret", lambda: {}),
    ("", "v1", "PersistentVolume", lambda: {"spec": {"rbd": {"monitors": ["m"], "image": "i"}}}),
    ("", "v1", "PersistentVolumeClaim", lambda: {"spec": {}}),
    ("apps", "v1", "Deployment", lambda: {"spec": {"template": web_template()}}),
    ("apps", "v1", "ReplicaSet", lambda: {"spec": {"template": web_template()}}),
    ("apps", "v1", "StatefulSet", lambda: {"spec": {"volumeClaimTemplates": [{"spec": {}}]}}),
    ("apps", "v1", "DaemonSet", lambda: {"spec": {"template": web_template()}}),
    ("batch", "v1", "Job", lambda: pi_job()),
    (
        "batch",
        "v1",
        "CronJob",
        lambda: {"spec": {"jobTemplate": {"spec": {"template": web_template()}}}},
    ),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", lambda: {"spec": {"behavior": {}}}),
    ("autoscaling", "v1", "HorizontalPodAutoscaler", lambda: {"apiVersion": "autoscaling/v1"}),
    ("networking.k8s.io", "v1", "NetworkPolicy", lambda: {"spec": {"egress": [{}]}}),
    ("networking.k8s.io", "v1", "IngressClass", lambda: {"spec": {"parameters": {}}}),
    ("discovery.k8s.io", "v1", "EndpointSlice", lambda: {"ports": [{}]}),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", lambda: {"subjects": [{"kind": "User"}]}),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", lambda: {"roleRef": {}}),
    ("storage.k8s.io", "v1", "StorageClass", lambda: {}),
    ("scheduling.k8s.io", "v1", "PriorityClass", lambda: {}),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        lambda: {"webhooks": [{"rules": [{}], "clientConfig": {"service": {}}}]},
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        lambda: {"webhooks": [{}]},
    ),
]


def test_fixtures_cover_every_defaulted_kind() -> None:
    assert {(group, kind) for group, _, kind, _ in FIXTURES} == defaulted_kinds()


@pytest.mark.parametrize(
    ("group", "version", "kind", "make"), FIXTURES, ids=[f"{g}/{k}" for g, _, k, _ in FIXTURES]
)
def test_defaulting_is_idempotent(
    group: str, version: str, kind: str, make: Callable[[], Obj]
) -> None:
    once = defaulted(group, version, kind, make())
    assert once != make()  # the fixture does exercise some default
    assert defaulted(group, version, kind, once) == once
    # What a create stores reads back unchanged: decoding from storage defaults again.
    stored = created(group, version, kind, make())
    assert defaulted(group, version, kind, stored) == stored


def test_list_kinds_default_each_item() -> None:
    items = [{"spec": {"containers": [container("c", "a:1")]}}, {"spec": {"containers": []}}]
    pod_list = defaulted("", "v1", "PodList", {"items": copy.deepcopy(items)})
    assert pod_list["items"] == [defaulted("", "v1", "Pod", item) for item in items]


EXPLICIT_TEMPLATE = {
    "metadata": {"labels": {"app": "x"}},
    "spec": {
        "dnsPolicy": "Default",
        "restartPolicy": "OnFailure",
        "securityContext": {"runAsUser": 1000},
        "terminationGracePeriodSeconds": 0,
        "schedulerName": "mine",
        "serviceAccountName": "sa",
        "serviceAccount": "sa",
        "containers": [
            {
                "name": "c",
                "image": "app",
                "imagePullPolicy": "Never",
                "terminationMessagePath": "/tmp/t",
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "500m"}},
                "ports": [{"containerPort": 80, "protocol": "SCTP", "hostPort": 8080}],
                "env": [
                    {"name": "E", "valueFrom": {"fieldRef": {"apiVersion": "v2", "fieldPath": "x"}}}
                ],
                "readinessProbe": {
                    "httpGet": {"port": 1, "path": "/h", "scheme": "HTTPS"},
                    "timeoutSeconds": 2,
                    "periodSeconds": 3,
                    "successThreshold": 4,
                    "failureThreshold": 5,
                },
            }
        ],
        "volumes": [
            {"name": "s", "secret": {"secretName": "s", "defaultMode": 0}},
            {"name": "h", "hostPath": {"path": "/", "type": "Directory"}},
        ],
    },
}


@pytest.mark.parametrize(
    ("group", "version", "kind", "obj"),
    [
        (
            "",
            "v1",
            "Pod",
            {
                "spec": {
                    **EXPLICIT_TEMPLATE["spec"],
                    "enableServiceLinks": False,
                    "hostNetwork": True,
                }
            },
        ),
        (
            "apps",
            "v1",
            "Deployment",
            {
                "spec": {
                    "replicas": 0,
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "50%"},
                    },
                    "revisionHistoryLimit": 0,
                    "progressDeadlineSeconds": 30,
                    "template": EXPLICIT_TEMPLATE,
                }
            },
        ),
        (
            "apps",
            "v1",
            "StatefulSet",
            {
                "spec": {
                    "replicas": 0,
                    "podManagementPolicy": "Parallel",
                    "updateStrategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"partition": 2, "maxUnavailable": "50%"},
                    },
                    "persistentVolumeClaimRetentionPolicy": {
                        "whenDeleted": "Delete",
                        "whenScaled": "Delete",
                    },
                    "revisionHistoryLimit": 1,
                    "template": EXPLICIT_TEMPLATE,
                    "volumeClaimTemplates": [
                        {
                            "apiVersion": "v1",
                            "kind": "PersistentVolumeClaim",
                            "spec": {"volumeMode": "Block"},
                            "status": {"phase": "Bound"},
                        }
                    ],
                }
            },
        ),
        (
            "apps",
            "v1",
            "DaemonSet",
            {
                "spec": {
                    "updateStrategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxUnavailable": "10%", "maxSurge": 1},
                    },
                    "revisionHistoryLimit": 2,
                    "template": EXPLICIT_TEMPLATE,
                }
            },
        ),
        (
            "batch",
            "v1",
            "Job",
            {
                "metadata": {"labels": {"team": "a"}},
                "spec": {
                    "completions": 0,
                    "parallelism": 0,
                    "backoffLimit": 0,
                    "completionMode": "Indexed",
                    "suspend": True,
                    "manualSelector": True,
                    "podReplacementPolicy": "Failed",
                    "template": EXPLICIT_TEMPLATE,
                },
            },
        ),
        (
            "batch",
            "v1",
            "CronJob",
            {
                "spec": {
                    "concurrencyPolicy": "Forbid",
                    "suspend": True,
                    "successfulJobsHistoryLimit": 0,
                    "failedJobsHistoryLimit": 0,
                    "jobTemplate": {"metadata": {}, "spec": {"template": EXPLICIT_TEMPLATE}},
                }
            },
        ),
        (
            "",
            "v1",
            "Service",
            {
                "spec": {
                    "type": "NodePort",
                    "sessionAffinity": "ClientIP",
                    "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
                    "ports": [{"port": 80, "targetPort": 8080, "protocol": "UDP"}],
                    "externalTrafficPolicy": "Local",
                    "internalTrafficPolicy": "Local",
                }
            },
        ),
        (
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            {
                "spec": {
                    "minReplicas": 2,
                    "metrics": [{"type": "Pods"}],
                    "behavior": {
                        "scaleUp": {
                            "stabilizationWindowSeconds": 5,
                            "selectPolicy": "Min",
                            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 1}],
                        },
                        "scaleDown": {
                            "stabilizationWindowSeconds": 5,
                            "selectPolicy": "Disabled",
                            "policies": [],
                            "tolerance": "0.05",
                        },
                    },
                }
            },
        ),
    ],
    ids=["Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service", "HPA"],
)
def test_explicit_values_are_never_overwritten(
    group: str, version: str, kind: str, obj: Obj
) -> None:
    assert defaulted(group, version, kind, obj) == obj


@pytest.mark.parametrize(
    ("group", "version", "kind", "make"), FIXTURES, ids=[f"{g}/{k}" for g, _, k, _ in FIXTURES]
)
@pytest.mark.parametrize("odd", [None, "text", 3, [], {"template": "x", "containers": [1, None]}])
def test_odd_shapes_do_not_crash(
    group: str, version: str, kind: str, make: Callable[[], Obj], odd: object
) -> None:
    # Validation rejects these later; defaulting must neither crash nor invent structure there.
    for key in ("spec", "status", "template", "webhooks", "ports", "subsets", "metadata"):
        obj = make() | {key: copy.deepcopy(odd)}
        apply_defaults(group=group, version=version, kind=kind, obj=obj)
        if odd is not None:
            assert isinstance(obj[key], type(odd))
        prepared = make() | {key: copy.deepcopy(odd)}
        if prepared.get("metadata") is None:
            prepared["metadata"] = {}
        if isinstance(prepared["metadata"], dict):
            prepared["metadata"]["uid"] = "uid-1"  # the store's part, which a Job relies on
        prepare_for_create(group=group, kind=kind, obj=prepared, now=NOW)
        if group == "" and kind == "Pod":
            admit_pod(prepared)
            admit_pod_priority(prepared, priority_classes={})


# ------------------------------------------------------------------------------------------
# Admission


def test_default_toleration_seconds() -> None:
    pod: Obj = {"spec": {"containers": []}}
    admit_pod(pod)
    assert pod["spec"]["tolerations"] == POD_TOLERATIONS
    admit_pod(pod)
    assert pod["spec"]["tolerations"] == POD_TOLERATIONS  # idempotent


@pytest.mark.parametrize(
    ("given", "added"),
    [
        ([{"operator": "Exists"}], []),  # tolerates everything
        ([{"operator": "Exists", "effect": "NoExecute"}], []),
        (
            [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}],
            ["node.kubernetes.io/unreachable"],
        ),
        (
            [{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}],
            ["node.kubernetes.io/not-ready"],
        ),
        (
            [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}],
            ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"],
        ),
        (
            [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
            ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"],
        ),
    ],
)
def test_default_toleration_seconds_respects_existing_tolerations(
    given: list[Obj], added: list[str]
) -> None:
    pod = {"spec": {"tolerations": copy.deepcopy(given)}}
    admit_pod(pod)
    assert pod["spec"]["tolerations"][: len(given)] == given
    assert [t["key"] for t in pod["spec"]["tolerations"][len(given) :]] == added
    assert all(t["tolerationSeconds"] == 300 for t in pod["spec"]["tolerations"][len(given) :])


def test_priority_admission() -> None:
    classes = {pc["metadata"]["name"]: pc for pc in system_priority_classes()}
    pod: Obj = {"spec": {"priorityClassName": "system-node-critical"}}
    admit_pod_priority(pod, priority_classes=classes)
    assert pod["spec"] == {
        "priorityClassName": "system-node-critical",
        "priority": 2000001000,
        "preemptionPolicy": "PreemptLowerPriority",
    }

    classes["low"] = {
        "metadata": {"name": "low"},
        "value": 10,
        "globalDefault": True,
        "preemptionPolicy": "Never",
    }
    classes["lower"] = {
        "metadata": {"name": "lower"},
        "value": 5,
        "globalDefault": True,
        "preemptionPolicy": "Never",
    }
    pod = {"spec": {}}
    admit_pod_priority(pod, priority_classes=classes)
    assert pod["spec"] == {"priorityClassName": "lower", "priority": 5, "preemptionPolicy": "Never"}

    with pytest.raises(PriorityAdmissionError, match="no PriorityClass with name nope"):
        admit_pod_priority({"spec": {"priorityClassName": "nope"}}, priority_classes=classes)
    with pytest.raises(PriorityAdmissionError, match="integer value of priority"):
        admit_pod_priority({"spec": {"priority": 7}}, priority_classes={})
    with pytest.raises(PriorityAdmissionError, match="PreemptionPolicy"):
        admit_pod_priority({"spec": {"preemptionPolicy": "Never"}}, priority_classes={})
    pod = {"spec": {"priority": 0, "preemptionPolicy": "PreemptLowerPriority"}}
    admit_pod_priority(pod, priority_classes={})
    assert pod["spec"] == {"priority": 0, "preemptionPolicy": "PreemptLowerPriority"}


def test_system_priority_classes_are_stored_defaulted() -> None:
    for pc in system_priority_classes():
        assert defaulted("scheduling.k8s.io", "v1", "PriorityClass", pc) == pc


def test_event_times_are_stored_as_go_writes_them() -> None:
    """kopf sends Python's isoformat; Go decodes metav1.Time / MicroTime and writes UTC ``Z``."""
    event = {"apiVersion": "v1", "kind": "Event",
             "metadata": {"name": "e", "namespace": "default"},
             "involvedObject": {"kind": "Pod", "name": "p"},
             "firstTimestamp": "2026-01-15T10:00:00.678519+00:00",
             "lastTimestamp": "2026-01-15T12:00:05+02:00",
             "eventTime": "2026-01-15T10:00:00.678519+00:00",
             "series": {"count": 2, "lastObservedTime": "2026-01-15T10:00:01Z"}}
    apply_defaults(group="", version="v1", kind="Event", obj=event)
    assert event["firstTimestamp"] == "2026-01-15T10:00:00Z"
    assert event["lastTimestamp"] == "2026-01-15T10:00:05Z"
    assert event["eventTime"] == "2026-01-15T10:00:00.678519Z"
    assert event["series"]["lastObservedTime"] == "2026-01-15T10:00:01.000000Z"
    canonical = dict(event)
    apply_defaults(group="", version="v1", kind="Event", obj=event)
    assert event == canonical  # idempotent
    odd = {"eventTime": None, "firstTimestamp": "not a time"}
    apply_defaults(group="", version="v1", kind="Event", obj=odd)
    assert odd == {"eventTime": None, "firstTimestamp": "not a time"}
