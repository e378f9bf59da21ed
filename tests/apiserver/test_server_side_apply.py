"""Server-side apply and managedFields bookkeeping.

Expected values follow structured-merge-diff and the apiserver's field manager; the managedFields
of the nginx Deployment (``kubectl apply --server-side``) and of ``kubectl create deployment`` are
what a real cluster shows for them.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kubenb.apiserver.patch.apply import (
    LAST_APPLIED_ANNOTATION,
    ApplyConflict,
    ApplyError,
    FieldManagerInvalid,
    manager_from_user_agent,
    record_update,
    server_side_apply,
    validate_patch_options,
)
from kubenb.apiserver.schemas import schemas

Obj = dict[str, Any]

DEPLOYMENT = schemas().for_kind("apps", "v1", "Deployment")
CONFIGMAP = schemas().for_kind("", "v1", "ConfigMap")


def t(minute: int) -> str:
    return f"2025-01-01T00:{minute:02d}:00Z"


def apply(
    live: Obj | None,
    config: Obj,
    manager: str = "kubectl",
    *,
    force: bool = False,
    now: str = t(0),
    schema: Obj | None = None,
    api_version: str | None = None,
    **kw: Any,
) -> Obj:
    """Run server_side_apply and check that it leaves its inputs alone."""
    before = copy.deepcopy((live, config))
    if schema is None:
        schema = DEPLOYMENT if config.get("kind") == "Deployment" else CONFIGMAP
    result = server_side_apply(
        live,
        config,
        manager=manager,
        force=force,
        schema=schema,
        schemas=schemas(),
        api_version=api_version or config["apiVersion"],
        now=now,
        **kw,
    )
    assert (live, config) == before
    return result


def update(
    old: Obj | None,
    new: Obj,
    manager: str,
    *,
    now: str = t(0),
    schema: Obj | None = None,
    **kw: Any,
) -> Obj:
    """Run record_update and return ``new`` carrying the resulting managedFields."""
    before = copy.deepcopy((old, new))
    schema = schema or (DEPLOYMENT if new.get("kind") == "Deployment" else CONFIGMAP)
    fields = record_update(
        old,
        new,
        manager=manager,
        schema=schema,
        schemas=schemas(),
        api_version=new["apiVersion"],
        now=now,
        **kw,
    )
    assert (old, new) == before
    out = copy.deepcopy(new)
    if fields:
        out["metadata"]["managedFields"] = fields
    else:
        out["metadata"].pop("managedFields", None)
    return out


def managers(obj: Obj) -> list[tuple[str, str]]:
    return [
        (e.get("manager", ""), e["operation"]) for e in obj["metadata"].get("managedFields", [])
    ]


def fields_of(obj: Obj, manager: str, operation: str | None = None) -> Obj:
    for e in obj["metadata"]["managedFields"]:
        if e.get("manager") == manager and operation in (None, e["operation"]):
            return e["fieldsV1"]
    raise AssertionError(f"no entry for {manager}")


def nginx(**spec: Any) -> Obj:
    """The nginx Deployment of the Kubernetes docs, as ``kubectl apply --server-side`` sends it."""
    body = {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {
                "containers": [
                    {"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}
                ]
            },
        },
    }
    body.update(spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx-deployment", "labels": {"app": "nginx"}},
        "spec": body,
    }


def configmap(data: Obj | None = None, **metadata: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", **metadata},
        **({"data": data} if data is not None else {}),
    }


# ---- encoding -------------------------------------------------------------------------------


def test_deployment_applied_by_kubectl_matches_a_real_cluster() -> None:
    obj = apply(None, nginx())
    assert obj["metadata"]["managedFields"] == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": "2025-01-01T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"nginx"}': {
                                    ".": {},
                                    "f:image": {},
                                    "f:name": {},
                                    "f:ports": {
                                        'k:{"containerPort":80,"protocol":"TCP"}': {
                                            ".": {},
                                            "f:containerPort": {},
                                        }
                                    },
                                }
                            }
                        },
                    },
                },
            },
        }
    ]
    # The object itself is the configuration (defaulting is the caller's business) and shares
    # nothing with it.
    assert obj["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]
    config = nginx()
    created = apply(None, config)
    created["spec"]["template"]["spec"]["containers"][0]["ports"].append({"containerPort": 1})
    assert config == nginx()
    assert list(obj["metadata"]["managedFields"][0]) == [
        "manager",
        "operation",
        "apiVersion",
        "time",
        "fieldsType",
        "fieldsV1",
    ]


def test_kubectl_create_records_update_fields_with_dots_for_new_nodes() -> None:
    created = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "nginx",
            "namespace": "default",
            "labels": {"app": "nginx"},
            "uid": "1",
            "resourceVersion": "5",
            "generation": 1,
            "creationTimestamp": "2025-01-01T00:00:00Z",
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "nginx"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {
                    "containers": [{"name": "nginx", "image": "nginx", "resources": {}}],
                    "restartPolicy": "Always",
                    "securityContext": {},
                },
            },
        },
        "status": {},
    }
    fields = fields_of(update(None, created, "kubectl-create"), "kubectl-create", "Update")
    # Maps and list items that appeared carry ".", structs that every Deployment has do not;
    # name, uid, resourceVersion ... are never tracked, status belongs to the status subresource.
    assert fields == {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:strategy": {
                "f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}},
                "f:type": {},
            },
            "f:template": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"nginx"}': {
                            ".": {},
                            "f:image": {},
                            "f:name": {},
                            "f:resources": {},
                        }
                    },
                    "f:restartPolicy": {},
                    "f:securityContext": {},
                },
            },
        },
    }


def test_set_items_are_values_and_entries_sort_apply_first_then_by_time() -> None:
    obj = apply(
        None,
        configmap({"a": "1"}, finalizers=["example.com/a", "example.com/b"]),
        "applier",
        now=t(5),
    )
    obj = update(obj, {**obj, "data": {"a": "1", "b": "2"}}, "editor", now=t(1))
    assert managers(obj) == [("applier", "Apply"), ("editor", "Update")]
    # An applied list is not a member itself, only its items are.
    assert fields_of(obj, "applier")["f:metadata"] == {
        "f:finalizers": {'v:"example.com/a"': {}, 'v:"example.com/b"': {}}
    }
    later = update(obj, {**obj, "data": {"a": "1", "b": "2", "c": "3"}}, "another", now=t(0))
    assert managers(later) == [("applier", "Apply"), ("another", "Update"), ("editor", "Update")]


def test_client_sent_managed_fields_are_read_canonically_and_kept() -> None:
    live = apply(None, configmap({"a": "1"}))
    sent = copy.deepcopy(live)
    sent["metadata"]["managedFields"] = [
        {
            "manager": "tool",
            "operation": "Update",
            "apiVersion": "v1",
            "time": "2025-01-01T01:00:00+01:00",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {".": {}, "f:a": {}}, "x:future": {}},
        }
    ]
    out = update(live, sent, "tool")
    assert out["metadata"]["managedFields"] == [
        {
            "manager": "tool",
            "operation": "Update",
            "apiVersion": "v1",
            "time": "2025-01-01T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {".": {}, "f:a": {}}},
        }
    ]


def test_empty_managed_fields_reset_tracking_until_the_next_apply() -> None:
    live = apply(None, configmap({"a": "1"}))
    for reset in ([], [{}]):
        sent = copy.deepcopy(live)
        sent["metadata"]["managedFields"] = reset
        sent["data"] = {"a": "2"}
        cleared = update(live, sent, "kubectl-edit")
        assert "managedFields" not in cleared["metadata"]
        # Untracked objects stay untracked on updates ...
        again = update(cleared, {**cleared, "data": {"a": "3"}}, "kubectl-edit")
        assert "managedFields" not in again["metadata"]
        # ... and the first apply credits existing fields to "before-first-apply".
        applied = apply(again, configmap({"a": "3"}, labels={"x": "y"}), "ssa", now=t(3))
        assert managers(applied) == [("ssa", "Apply"), ("before-first-apply", "Update")]
        assert fields_of(applied, "before-first-apply") == {"f:data": {".": {}, "f:a": {}}}


# ---- apply semantics ------------------------------------------------------------------------


def test_reapply_without_a_field_removes_it() -> None:
    obj = apply(None, configmap({"a": "1", "b": "2"}, labels={"app": "x", "tier": "web"}))
    obj = apply(obj, configmap({"a": "1"}, labels={"app": "x"}), now=t(1))
    assert obj["data"] == {"a": "1"}
    assert obj["metadata"]["labels"] == {"app": "x"}
    assert fields_of(obj, "kubectl") == {
        "f:data": {"f:a": {}},
        "f:metadata": {"f:labels": {"f:app": {}}},
    }


def test_dropped_field_survives_when_another_manager_owns_it() -> None:
    obj = apply(None, configmap({"a": "1", "b": "2"}), "first")
    obj = apply(obj, configmap({"b": "2"}), "second", now=t(1))
    obj = apply(obj, configmap({"a": "1"}), "first", now=t(2))
    assert obj["data"] == {"a": "1", "b": "2"}
    # An empty map is a value the applier owns; leaving data out altogether owns nothing.
    emptied = apply(obj, configmap({}), "second", now=t(3))
    assert emptied["data"] == {"a": "1"}
    assert fields_of(emptied, "second") == {"f:data": {}}
    gone = apply(obj, configmap(), "second", now=t(3))
    assert gone["data"] == {"a": "1"}
    assert managers(gone) == [("first", "Apply")]


def test_dropped_field_set_by_an_update_manager_is_kept() -> None:
    obj = apply(None, configmap({"a": "1"}))
    obj = update(obj, {**obj, "data": {"a": "1", "b": "2"}}, "kubectl-edit", now=t(1))
    obj = apply(obj, configmap({"c": "3"}), now=t(2))
    assert obj["data"] == {"b": "2", "c": "3"}


def test_same_value_from_two_appliers_is_shared_without_conflict() -> None:
    obj = apply(None, configmap({"a": "1"}), "one")
    obj = apply(obj, configmap({"a": "1"}), "two", now=t(1))
    assert fields_of(obj, "one") == fields_of(obj, "two") == {"f:data": {"f:a": {}}}
    # The object did not change, so the newcomer's entry carries no time, as upstream.
    assert [e.get("time") for e in obj["metadata"]["managedFields"]] == [None, t(0)]


def test_conflict_names_the_owner_and_field_and_force_transfers_ownership() -> None:
    obj = apply(None, configmap({"a": "1", "b": "2"}), "one")
    with pytest.raises(ApplyConflict) as err:
        apply(obj, configmap({"a": "9"}), "two", now=t(1))
    assert err.value.conflicts == [("one", ".data.a")]
    assert err.value.message() == 'Apply failed with 1 conflict: conflict with "one": .data.a'
    assert err.value.status()["code"] == 409
    assert err.value.status()["details"]["causes"] == [
        {"type": "FieldManagerConflict", "message": 'conflict with "one"', "field": ".data.a"}
    ]
    forced = apply(obj, configmap({"a": "9"}), "two", force=True, now=t(1))
    assert forced["data"] == {"a": "9", "b": "2"}
    assert fields_of(forced, "one") == {"f:data": {"f:b": {}}}
    assert fields_of(forced, "two") == {"f:data": {"f:a": {}}}


def test_scale_takes_replicas_and_the_next_apply_conflicts() -> None:
    obj = update(None, nginx(), "kubectl-client-side-apply", now=t(0))
    scaled = copy.deepcopy(obj)
    scaled["spec"]["replicas"] = 5
    scaled = update(obj, scaled, "kubectl-scale", now=t(1))
    assert fields_of(scaled, "kubectl-scale") == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in fields_of(scaled, "kubectl-client-side-apply")["f:spec"]
    with pytest.raises(ApplyConflict) as err:
        apply(scaled, nginx(replicas=3), "my-tool", now=t(2))
    assert err.value.message() == (
        'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas'
    )


def test_conflicts_in_lists_and_with_several_managers_print_like_the_apiserver() -> None:
    obj = update(None, nginx(), "kubectl-client-side-apply")
    labelled = copy.deepcopy(obj)
    labelled["metadata"]["labels"]["team"] = "a"
    obj = update(obj, labelled, "labeler", now=t(1))
    changed = nginx(replicas=1)
    changed["metadata"]["labels"] = {"app": "other", "team": "b"}
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    with pytest.raises(ApplyConflict) as err:
        apply(obj, changed, "my-tool", now=t(2))
    assert err.value.message() == (
        'Apply failed with 4 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n'
        "- .metadata.labels.app\n"
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="nginx"].image\n'
        'conflicts with "labeler" using apps/v1:\n'
        "- .metadata.labels.team"
    )
    assert err.value.conflicts[-1] == ("labeler", ".metadata.labels.team")


def test_status_is_neither_applied_nor_owned_on_the_main_resource() -> None:
    live = apply(None, nginx())
    live["status"] = {"replicas": 3}
    config = nginx()
    config["status"] = {"replicas": 99}
    obj = apply(live, config, now=t(1))
    assert obj["status"] == {"replicas": 3}
    assert "f:status" not in fields_of(obj, "kubectl")
    # On the status subresource it is the other way round.
    status = apply(
        live,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "nginx-deployment"},
            "spec": {"replicas": 7},
            "status": {"readyReplicas": 2},
        },
        "kube-controller-manager",
        subresource="status",
        now=t(2),
    )
    assert status["spec"]["replicas"] == 3
    assert status["status"] == {"replicas": 3, "readyReplicas": 2}
    entry = next(
        e for e in status["metadata"]["managedFields"] if e["manager"] == "kube-controller-manager"
    )
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:readyReplicas": {}}}


def test_apply_creates_and_a_noop_apply_keeps_the_time() -> None:
    created = apply(None, configmap({"a": "1"}), now=t(0))
    assert created["data"] == {"a": "1"}
    again = apply(created, configmap({"a": "1"}), now=t(9))
    assert again["metadata"]["managedFields"][0]["time"] == t(0)
    moved = apply(created, configmap({"a": "2"}), now=t(9))
    assert moved["metadata"]["managedFields"][0]["time"] == t(9)


# ---- lists and maps -------------------------------------------------------------------------


def test_containers_merge_by_name_and_keep_other_owners_items() -> None:
    obj = apply(None, nginx())
    extra = copy.deepcopy(obj)
    extra["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    extra = update(obj, extra, "injector", now=t(1))
    config = nginx()
    config["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    config["spec"]["template"]["spec"]["containers"].insert(0, {"name": "init", "image": "alpine"})
    obj = apply(extra, config, now=t(2))
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [
        ("init", "alpine"),
        ("nginx", "nginx:1.27"),
        ("sidecar", "busybox"),
    ]
    assert containers[1]["ports"] == [{"containerPort": 80}]
    assert fields_of(obj, "injector")["f:spec"]["f:template"]["f:spec"]["f:containers"] == {
        'k:{"name":"sidecar"}': {".": {}, "f:image": {}, "f:name": {}}
    }
    # Dropping a container from the configuration removes it.
    obj = apply(obj, nginx(), now=t(3))
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == [
        "nginx",
        "sidecar",
    ]


def test_atomic_lists_are_replaced_and_owned_whole() -> None:
    config = nginx()
    config["spec"]["template"]["spec"]["containers"][0]["args"] = ["a", "b"]
    obj = apply(None, config)
    config["spec"]["template"]["spec"]["containers"][0]["args"] = ["c"]
    obj = apply(obj, config, now=t(1))
    container = obj["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["c"]
    owned = fields_of(obj, "kubectl")["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert owned['k:{"name":"nginx"}']["f:args"] == {}


def test_set_lists_union_items_of_different_appliers() -> None:
    obj = apply(None, configmap({}, finalizers=["a", "b"]), "one")
    obj = apply(obj, configmap({}, finalizers=["c", "b"]), "two", now=t(1))
    assert obj["metadata"]["finalizers"] == ["a", "c", "b"]
    obj = apply(obj, configmap({}, finalizers=["a"]), "one", now=t(2))
    assert obj["metadata"]["finalizers"] == ["a", "c", "b"]
    obj = apply(obj, configmap({}, finalizers=[]), "two", now=t(3))
    assert obj["metadata"]["finalizers"] == ["a"]


def test_atomic_map_selector_is_one_field() -> None:
    obj = apply(None, nginx())
    config = nginx(selector={"matchLabels": {"app": "nginx", "tier": "web"}})
    with pytest.raises(ApplyConflict) as err:
        apply(obj, config, "other", now=t(1))
    assert err.value.conflicts == [("kubectl", ".spec.selector")]


CRD_SCHEMA: Obj = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["port", "protocol"],
                    "items": {
                        "type": "object",
                        "properties": {
                            "port": {"type": "integer"},
                            "name": {"type": "string"},
                            "protocol": {"type": "string", "default": "TCP"},
                        },
                    },
                },
                "targets": {
                    "type": "array",
                    "x-kubernetes-patch-strategy": "merge",
                    "x-kubernetes-patch-merge-key": "name",
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "weight": {"type": "integer"}},
                    },
                },
                "tags": {"type": "array", "items": {"type": "string"}},
                "params": {"type": "object", "additionalProperties": {"type": "string"}},
                "blob": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}


def widget(**spec: Any) -> Obj:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": spec,
    }


def test_custom_resource_lists_maps_and_unknown_fields() -> None:
    config = widget(
        ports=[{"port": 80}],
        targets=[{"name": "a", "weight": 1}],
        tags=["x"],
        params={"k": "v"},
        blob={"deep": {"x": 1}, "list": [1, 2]},
    )
    obj = apply(None, config, "ctl", schema=CRD_SCHEMA)
    assert fields_of(obj, "ctl") == {
        "f:spec": {
            # Unknown fields are "deduced": maps granular (entries are members), lists atomic.
            "f:blob": {"f:deep": {".": {}, "f:x": {}}, "f:list": {}},
            "f:params": {"f:k": {}},
            "f:ports": {'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}}},
            "f:tags": {},
            "f:targets": {'k:{"name":"a"}': {".": {}, "f:name": {}, "f:weight": {}}},
        }
    }
    other = widget(targets=[{"name": "b", "weight": 2}], blob={"deep": {"y": 2}})
    merged = apply(obj, other, "other", schema=CRD_SCHEMA, now=t(1))
    assert merged["spec"]["targets"] == [{"name": "a", "weight": 1}, {"name": "b", "weight": 2}]
    assert merged["spec"]["blob"] == {"deep": {"x": 1, "y": 2}, "list": [1, 2]}
    with pytest.raises(ApplyError) as err:
        apply(obj, widget(colour="red"), "ctl", schema=CRD_SCHEMA)
    assert err.value.code == 500
    assert str(err.value) == (
        "failed to create typed patch object (/w; example.com/v1, Kind=Widget): "
        ".spec.colour: field not declared in schema"
    )


# ---- updates --------------------------------------------------------------------------------


def test_update_transfers_changed_fields_and_drops_empty_entries() -> None:
    obj = apply(None, configmap({"a": "1"}), "one")
    edited = update(obj, {**obj, "data": {"a": "2"}}, "kubectl-edit", now=t(1))
    assert managers(edited) == [("kubectl-edit", "Update")]
    assert fields_of(edited, "kubectl-edit") == {"f:data": {"f:a": {}}}
    # Removing a field takes it from its owner, an empty entry disappears.
    emptied = update(edited, {**edited, "data": {}}, "cleaner", now=t(2))
    assert "managedFields" not in emptied["metadata"]


def test_one_entry_per_manager_operation_version_and_subresource() -> None:
    obj = apply(None, nginx())
    obj = update(
        obj,
        {**obj, "metadata": {**obj["metadata"], "annotations": {"a": "1"}}},
        "kube-controller-manager",
        now=t(1),
    )
    status = copy.deepcopy(obj)
    status["status"] = {"replicas": 3}
    obj = update(obj, status, "kube-controller-manager", now=t(2), subresource="status")
    ann = copy.deepcopy(obj)
    ann["metadata"]["annotations"]["b"] = "2"
    obj = update(obj, ann, "kube-controller-manager", now=t(3))
    entries = [
        (e["manager"], e["operation"], e.get("subresource", ""))
        for e in obj["metadata"]["managedFields"]
    ]
    assert entries == [
        ("kubectl", "Apply", ""),
        ("kube-controller-manager", "Update", "status"),
        ("kube-controller-manager", "Update", ""),
    ]
    main = obj["metadata"]["managedFields"][2]
    assert main["time"] == t(3)
    assert main["fieldsV1"] == {"f:metadata": {"f:annotations": {".": {}, "f:a": {}, "f:b": {}}}}


def test_status_subresource_ignores_managed_fields_in_the_request() -> None:
    obj = apply(None, nginx())
    status = copy.deepcopy(obj)
    status["metadata"]["managedFields"] = []
    status["status"] = {"replicas": 1}
    out = update(obj, status, "kubelet", subresource="status", now=t(1))
    assert managers(out) == [("kubectl", "Apply"), ("kubelet", "Update")]


def test_more_than_ten_update_managers_fold_into_ancient_changes() -> None:
    obj = apply(None, configmap({}))
    for i in range(12):
        obj = update(
            obj, {**obj, "data": {**obj.get("data", {}), f"k{i}": "v"}}, f"m{i}", now=t(i + 1)
        )
    # The oldest updaters are merged as they exceed ten; the bucket takes the newest time.
    names = [e["manager"] for e in obj["metadata"]["managedFields"]]
    assert names == ["kubectl", "ancient-changes", *(f"m{i}" for i in range(3, 12))]
    assert fields_of(obj, "ancient-changes") == {"f:data": {"f:k0": {}, "f:k1": {}, "f:k2": {}}}
    assert obj["metadata"]["managedFields"][1]["time"] == t(3)


def test_unknown_manager_name_and_user_agent_prefix() -> None:
    assert manager_from_user_agent("kubectl/v1.37.0 (linux/amd64) kubernetes/abcdef") == "kubectl"
    assert manager_from_user_agent("OpenAPI-Generator/33.1.0/python") == "OpenAPI-Generator"
    assert manager_from_user_agent("bad\x00name/1") == "badname"
    assert manager_from_user_agent("x" * 200) == "x" * 128
    assert manager_from_user_agent(None) == ""
    obj = update(None, configmap({"a": "1"}), "")
    assert managers(obj) == [("unknown", "Update")]


def test_patch_options_validation_messages() -> None:
    with pytest.raises(FieldManagerInvalid) as err:
        validate_patch_options(field_manager=None, apply=True)
    assert str(err.value) == (
        'PatchOptions.meta.k8s.io "" is invalid: '
        "fieldManager: Required value: is required for apply patch"
    )
    status = err.value.status()
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"] == [
        {
            "reason": "FieldValueRequired",
            "field": "fieldManager",
            "message": "Required value: is required for apply patch",
        }
    ]
    with pytest.raises(FieldManagerInvalid, match="force: Forbidden"):
        validate_patch_options(field_manager="x", apply=False, force=True)
    validate_patch_options(field_manager="kubectl", apply=True, force=True)
    validate_patch_options(field_manager=None, apply=False)


def test_apply_rejects_wrong_types_and_sent_managed_fields() -> None:
    with pytest.raises(ApplyError, match=r"^invalid object type: apps/v1, Kind=StatefulSet$"):
        apply(None, {**nginx(), "kind": "StatefulSet"}, schema=DEPLOYMENT, api_version="apps/v1")
    sent = nginx()
    sent["metadata"]["managedFields"] = []
    with pytest.raises(ApplyError, match=r"^metadata\.managedFields must be nil$") as err:
        apply(None, sent)
    assert err.value.status()["code"] == 400
    bad = nginx(replicas="three")
    with pytest.raises(
        ApplyError, match=r"\.spec\.replicas: expected numeric \(int or float\), got string"
    ):
        apply(None, bad)
    dup = nginx()
    dup["spec"]["template"]["spec"]["containers"].append({"name": "nginx", "image": "x"})
    with pytest.raises(ApplyError, match=r'duplicate entries for key \[name="nginx"\]'):
        apply(None, dup)


# ---- kubectl client-side → server-side --------------------------------------------------------


def csa_created() -> Obj:
    config = nginx()
    created = copy.deepcopy(config)
    created["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: json.dumps(config) + "\n"}
    return update(None, created, "kubectl-client-side-apply")


def test_kubectl_server_side_apply_takes_over_client_side_apply_fields() -> None:
    obj = csa_created()
    changed = nginx(replicas=5)
    obj = apply(obj, changed, "kubectl", now=t(1))
    assert obj["spec"]["replicas"] == 5
    assert "f:replicas" in fields_of(obj, "kubectl", "Apply")["f:spec"]
    # The annotation follows what kubectl applied.
    assert json.loads(obj["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]) == changed
    # Any other manager name gets the ordinary conflict.
    with pytest.raises(ApplyConflict):
        apply(csa_created(), changed, "my-tool", now=t(1))


def test_kubectl_upgrade_still_conflicts_on_fields_changed_since_the_last_client_side_apply() -> (
    None
):
    obj = csa_created()
    scaled = copy.deepcopy(obj)
    scaled["spec"]["replicas"] = 7
    scaled = update(obj, scaled, "kubectl-scale", now=t(1))
    with pytest.raises(ApplyConflict) as err:
        apply(scaled, nginx(replicas=5), "kubectl", now=t(2))
    assert err.value.conflicts == [("kubectl-scale", ".spec.replicas")]


def test_null_in_configuration_is_owned_and_stored() -> None:
    obj = apply(None, configmap({"a": "1"}, annotations=None))
    assert obj["metadata"]["annotations"] is None
    assert fields_of(obj, "kubectl")["f:metadata"] == {"f:annotations": {}}


def test_service_and_custom_resource_creates_mark_new_lists_and_structs() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
            "selector": {"app": "web"},
            "type": "ClusterIP",
        },
    }
    fields = record_update(
        None,
        service,
        manager="kubectl-expose",
        schema=schemas().for_kind("", "v1", "Service"),
        schemas=schemas(),
        api_version="v1",
        now="2025-01-01T00:00:00.5Z",
    )
    assert fields[0]["time"] == "2025-01-01T00:00:00Z"
    # ports did not exist in a zero Service, so the list itself is new; selector is atomic.
    assert fields[0]["fieldsV1"] == {
        "f:spec": {
            "f:ports": {
                ".": {},
                'k:{"port":80,"protocol":"TCP"}': {
                    ".": {},
                    "f:name": {},
                    "f:port": {},
                    "f:protocol": {},
                    "f:targetPort": {},
                },
            },
            "f:selector": {},
            "f:type": {},
        }
    }
    # A custom resource starts from an empty object: spec itself is new.
    custom = update(None, widget(tags=["a"]), "kubectl-create", schema=CRD_SCHEMA)
    assert fields_of(custom, "kubectl-create") == {"f:spec": {".": {}, "f:tags": {}}}


def test_apply_conflict_can_be_built_by_callers() -> None:
    err = ApplyConflict([("a", ".spec.x"), ("b", ".spec.y"), ("a", ".spec.z")])
    assert err.message() == (
        'Apply failed with 3 conflicts: conflicts with "a":\n- .spec.x\n- .spec.z\n'
        'conflicts with "b":\n- .spec.y'
    )
    assert str(err) == err.message()
