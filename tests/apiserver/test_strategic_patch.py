"""Strategic merge patch: every strategy and directive, the patches kubectl sends, and kubectl.

Expected results follow the Go implementation (k8s.io/apimachinery strategicpatch); the last test
checks a set of cases against real ``kubectl patch --local``, which runs that Go code.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubenb.apiserver.patch.strategic import PatchError, strategic_merge
from kubenb.apiserver.schemas import schemas

Obj = dict[str, Any]


def smp(obj: Obj, patch: Obj) -> Obj:
    """Apply ``patch`` with the schema of ``obj``'s kind, checking that no input is changed."""
    group, _, version = obj["apiVersion"].rpartition("/")
    s = schemas()
    before_obj, before_patch = copy.deepcopy(obj), copy.deepcopy(patch)
    result = strategic_merge(obj, patch, schema=s.for_kind(group, version, obj["kind"]), schemas=s)
    assert obj == before_obj and patch == before_patch
    return result


def pod(spec: Obj | None = None, **metadata: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", **metadata},
        "spec": spec if spec is not None else {"containers": [ctr("app")]},
    }


def deployment(pod_spec: Obj, **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec},
            **spec,
        },
    }


def ctr(name: str, **fields: Any) -> Obj:
    return {"name": name, "image": name, **fields}


def names(items: list[Obj]) -> list[str]:
    return [item["name"] for item in items]


def containers(obj: Obj) -> list[Obj]:
    spec = obj["spec"]["template"]["spec"] if obj["kind"] == "Deployment" else obj["spec"]
    return spec["containers"]


# -- maps ----------------------------------------------------------------------------------------


def test_maps_merge_recursively_and_null_deletes_a_key() -> None:
    obj = pod(labels={"app": "web", "tier": "fe"}, annotations={"a": "1"})
    obj["spec"]["nodeName"] = "n1"
    result = smp(
        obj,
        {
            "metadata": {"labels": {"tier": None, "track": "beta"}, "annotations": None},
            "spec": {"nodeName": None, "restartPolicy": "Never", "absent": None},
        },
    )
    assert result["metadata"] == {"name": "p", "labels": {"app": "web", "track": "beta"}}
    assert result["spec"] == {"containers": [ctr("app")], "restartPolicy": "Never"}


def test_a_value_of_another_type_replaces_the_old_one() -> None:
    obj = pod(labels={"app": "web"})
    result = smp(obj, {"metadata": {"labels": ["oops"]}, "spec": {"containers": {"x": 1}}})
    assert result["metadata"]["labels"] == ["oops"]
    assert result["spec"]["containers"] == {"x": 1}


def test_patch_delete_and_patch_replace_on_a_map() -> None:
    obj = pod()
    obj["spec"]["securityContext"] = {"runAsUser": 1, "runAsGroup": 2}
    replaced = smp(obj, {"spec": {"securityContext": {"$patch": "replace", "runAsUser": 5}}})
    assert replaced["spec"]["securityContext"] == {"runAsUser": 5}
    deleted = smp(obj, {"spec": {"securityContext": {"$patch": "delete"}}})
    assert deleted["spec"]["securityContext"] == {}


def test_a_directive_map_for_a_missing_field_adds_nothing() -> None:
    # Go drops any map carrying $patch when there is nothing to apply it to.
    result = smp(pod(), {"spec": {"securityContext": {"$patch": "replace", "runAsUser": 5}}})
    assert "securityContext" not in result["spec"]


def test_replace_strategy_on_a_map_field() -> None:
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "pdb"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"a": "1", "b": "2"}}},
    }
    # PodDisruptionBudgetSpec.selector is tagged patchStrategy=replace.
    result = smp(pdb, {"spec": {"selector": {"matchLabels": {"c": "3"}}}})
    assert result["spec"] == {"minAvailable": 1, "selector": {"matchLabels": {"c": "3"}}}


# -- lists with a merge key ----------------------------------------------------------------------


def test_docs_example_adds_a_container_and_replaces_tolerations() -> None:
    # "Update API Objects in Place Using kubectl patch": patch-file.yaml, then the tolerations one.
    obj = deployment(
        {
            "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
            "tolerations": [{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}],
        },
        replicas=2,
    )
    added = smp(
        obj,
        {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "patch-demo-ctr-2", "image": "redis"}]}
                }
            }
        },
    )
    # As in the docs' output, the new container comes first.
    assert containers(added) == [
        {"name": "patch-demo-ctr-2", "image": "redis"},
        {"name": "patch-demo-ctr", "image": "nginx"},
    ]
    tolerations = [{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]
    replaced = smp(added, {"spec": {"template": {"spec": {"tolerations": tolerations}}}})
    assert replaced["spec"]["template"]["spec"]["tolerations"] == tolerations
    assert containers(replaced) == containers(added)


def test_items_merge_by_name_and_new_items_go_in_front_in_patch_order() -> None:
    obj = pod({"containers": [ctr("a", args=["x"]), ctr("b"), ctr("c")]})
    result = smp(
        obj,
        {
            "spec": {
                "containers": [
                    {"name": "n1", "image": "n1"},
                    {"name": "a", "image": "a2"},
                    ctr("n2"),
                ]
            }
        },
    )
    # The patch's items keep the patch's order; the server-only ones follow where they
    # can be compared with the live order.
    assert names(result["spec"]["containers"]) == ["n1", "a", "n2", "b", "c"]
    assert result["spec"]["containers"][1] == {"name": "a", "image": "a2", "args": ["x"]}


def test_patch_order_wins_over_live_order_for_items_in_both() -> None:
    # Go's "preserve the order from the patch in a merging list 2".
    obj = pod({"containers": [ctr("1"), ctr("2", args=["b"]), ctr("3")]})
    result = smp(
        obj, {"spec": {"containers": [{"name": "3", "args": ["c"]}, {"name": "1", "args": ["a"]}]}}
    )
    assert names(result["spec"]["containers"]) == ["2", "3", "1"]


@pytest.mark.parametrize(
    ("field", "live", "patch", "expected"),
    [
        (
            "ports",
            [{"containerPort": 80, "name": "http"}, {"containerPort": 443}],
            [{"containerPort": 443, "name": "https"}, {"containerPort": 8080}],
            # 80 stays in front: it preceded 443 in the live list; 8080 is new and follows 443.
            [
                {"containerPort": 80, "name": "http"},
                {"containerPort": 443, "name": "https"},
                {"containerPort": 8080},
            ],
        ),
        (
            "env",
            [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            [
                {
                    "name": "B",
                    "value": None,
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                }
            ],
            [
                {"name": "A", "value": "1"},
                {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            ],
        ),
        (
            "volumeMounts",
            [{"name": "data", "mountPath": "/data"}],
            [{"name": "cache", "mountPath": "/data", "readOnly": True}],
            [{"name": "cache", "mountPath": "/data", "readOnly": True}],
        ),
    ],
)
def test_container_lists_merge_on_their_own_keys(
    field: str, live: list[Obj], patch: list[Obj], expected: list[Obj]
) -> None:
    obj = pod({"containers": [ctr("app", **{field: live})]})
    result = smp(obj, {"spec": {"containers": [{"name": "app", field: patch}]}})
    assert result["spec"]["containers"][0][field] == expected


def test_owner_references_merge_by_uid_and_conditions_by_type() -> None:
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1"}
    obj = pod(ownerReferences=[ref])
    obj["status"] = {
        "conditions": [
            {"type": "Ready", "status": "False"},
            {"type": "Initialized", "status": "True"},
        ]
    }
    result = smp(
        obj,
        {
            "metadata": {"ownerReferences": [{"uid": "u1", "controller": True}]},
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "PodScheduled", "status": "True"},
                ]
            },
        },
    )
    assert result["metadata"]["ownerReferences"] == [{**ref, "controller": True}]
    assert result["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "PodScheduled", "status": "True"},
        {"type": "Initialized", "status": "True"},
    ]


def test_patch_delete_removes_every_item_with_the_key() -> None:
    obj = pod({"containers": [ctr("a"), ctr("b"), ctr("a", image="again")]})
    result = smp(
        obj,
        {
            "spec": {
                "containers": [
                    {"$patch": "delete", "name": "a"},
                    {"$patch": "delete", "name": "zz"},
                ]
            }
        },
    )
    assert result["spec"]["containers"] == [ctr("b")]


def test_patch_replace_in_a_list_takes_the_patch_items_only() -> None:
    obj = pod({"containers": [ctr("a"), ctr("b")]})
    result = smp(obj, {"spec": {"containers": [ctr("y"), ctr("x"), {"$patch": "replace"}]}})
    assert result["spec"]["containers"] == [ctr("y"), ctr("x")]


def test_merge_key_values_compare_with_their_json_type() -> None:
    obj = pod({"containers": [ctr("app", ports=[{"containerPort": 80}])]})
    result = smp(
        obj,
        {
            "spec": {
                "containers": [{"name": "app", "ports": [{"containerPort": 80.0, "name": "f"}]}]
            }
        },
    )
    # 80 and 80.0 are different values to Go, so the float one is a new item.
    assert result["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80.0, "name": "f"},
        {"containerPort": 80},
    ]


# -- lists of scalars ----------------------------------------------------------------------------


def test_finalizers_merge_as_a_set() -> None:
    result = smp(pod(finalizers=["a", "b"]), {"metadata": {"finalizers": ["c", "a", "d"]}})
    assert result["metadata"]["finalizers"] == ["c", "a", "d", "b"]


def test_delete_from_primitive_list() -> None:
    obj = pod(finalizers=["a", "b", "c"])
    result = smp(obj, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "absent"]}})
    assert result["metadata"]["finalizers"] == ["a", "c"]
    # Deleting from a list that is not there does not create it.
    assert (
        "finalizers"
        not in smp(pod(), {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})["metadata"]
    )


def test_delete_from_primitive_list_ignores_the_field_strategy() -> None:
    obj = pod({"containers": [ctr("app", args=["-v", "--x", "-q"])]})
    result = smp(
        obj, {"spec": {"containers": [{"name": "app", "$deleteFromPrimitiveList/args": ["--x"]}]}}
    )
    assert result["spec"]["containers"][0]["args"] == ["-v", "-q"]


def test_lists_without_a_strategy_are_replaced() -> None:
    obj = pod({"containers": [ctr("app", args=["a", "b"])], "tolerations": [{"key": "k1"}]})
    result = smp(
        obj,
        {"spec": {"containers": [{"name": "app", "args": ["c"]}], "tolerations": [{"key": "k2"}]}},
    )
    assert result["spec"]["containers"][0]["args"] == ["c"]
    assert result["spec"]["tolerations"] == [{"key": "k2"}]


# -- $setElementOrder ----------------------------------------------------------------------------


def test_set_element_order_alone_reorders_a_list() -> None:
    obj = pod({"containers": [ctr("a"), ctr("b"), ctr("c")]})
    order = [{"name": "c"}, {"name": "a"}, {"name": "b"}]
    result = smp(obj, {"spec": {"$setElementOrder/containers": order}})
    assert names(result["spec"]["containers"]) == ["c", "a", "b"]
    # Entries the list does not have are ignored (Go: "$setElementOrder contains item that is
    # not present in the int list to be merged").
    fin = smp(
        pod(finalizers=["1", "3"]), {"metadata": {"$setElementOrder/finalizers": ["3", "2", "1"]}}
    )
    assert fin["metadata"]["finalizers"] == ["3", "1"]


def test_set_element_order_keeps_server_only_items_in_their_place() -> None:
    # Go's "set elements order in a list with server-only items 3".
    live = [ctr("1", args=["a"]), ctr("2"), ctr("7"), ctr("9"), ctr("8"), ctr("3"), ctr("4")]
    order = [{"name": n} for n in ["2", "1", "4", "3"]]
    result = smp(pod({"containers": live}), {"spec": {"$setElementOrder/containers": order}})
    assert names(result["spec"]["containers"]) == ["2", "1", "7", "9", "8", "4", "3"]
    assert result["spec"]["containers"][1] == ctr("1", args=["a"])


def test_set_element_order_must_agree_with_the_patch_list() -> None:
    obj = pod({"containers": [ctr("1"), ctr("3"), ctr("2")]})
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "1"}, {"name": "2"}, {"name": "3"}],
            "containers": [{"name": "3", "image": "x"}, {"name": "1", "image": "y"}],
        }
    }
    with pytest.raises(PatchError, match="doesn't match"):
        smp(obj, patch)


def test_kubectl_apply_three_way_patch() -> None:
    # What kubectl apply sends after the manifest changed: replicas 1 -> 3, label "tier" and
    # container "old" removed, container "web" added first, env B removed and C added. The
    # live object also has a "proxy" container that some other client injected.
    obj = deployment(
        {
            "containers": [
                ctr("app", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]),
                ctr("proxy"),
                ctr("old"),
            ]
        },
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
    )
    obj["metadata"]["labels"] = {"app": "web", "tier": "fe"}
    patch = {
        "metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
            "labels": {"tier": None},
        },
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}, {"name": "app"}],
                    "containers": [
                        {"image": "web", "name": "web"},
                        {
                            "$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
                            "env": [{"name": "C", "value": "3"}, {"$patch": "delete", "name": "B"}],
                            "name": "app",
                        },
                        {"$patch": "delete", "name": "old"},
                    ],
                }
            },
        },
    }
    result = smp(obj, patch)
    assert result["metadata"]["labels"] == {"app": "web"}
    assert result["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/last-applied-configuration": "{...}"
    }
    assert result["spec"]["replicas"] == 3
    assert result["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%"},
    }
    # Go reads the live order after deleting "old" in place and appending "web" into the freed
    # slot, so "proxy" ends up first; kubectl against a real apiserver shows the same.
    assert containers(result) == [
        ctr("proxy"),
        ctr("web"),
        ctr("app", env=[{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]),
    ]


def test_kubectl_set_image_patch() -> None:
    obj = deployment({"containers": [ctr("app"), ctr("side")]})
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "app"}, {"name": "side"}],
                    "containers": [{"image": "app:2", "name": "app"}],
                }
            }
        }
    }
    assert containers(smp(obj, patch)) == [{"name": "app", "image": "app:2"}, ctr("side")]


# -- $retainKeys ---------------------------------------------------------------------------------


def test_retain_keys_clears_the_other_members_of_a_union() -> None:
    obj = deployment(
        {"containers": [ctr("app")]},
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
    )
    # kubectl apply, after the manifest switched to Recreate:
    result = smp(obj, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
    assert result["spec"]["strategy"] == {"type": "Recreate"}
    # Without the directive the stale rollingUpdate stays (that is why kubectl sends it).
    plain = smp(obj, {"spec": {"strategy": {"type": "Recreate"}}})
    assert plain["spec"]["strategy"] == {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}


def test_retain_keys_on_merged_volume_items() -> None:
    obj = pod(
        {
            "containers": [ctr("app")],
            "volumes": [
                {"name": "v", "emptyDir": {}},
                {"name": "w", "secret": {"secretName": "s"}},
            ],
        }
    )
    patch = {
        "spec": {
            "$setElementOrder/volumes": [{"name": "v"}, {"name": "w"}],
            "volumes": [
                {"$retainKeys": ["configMap", "name"], "configMap": {"name": "cm"}, "name": "v"}
            ],
        }
    }
    result = smp(obj, patch)
    assert result["spec"]["volumes"] == [
        {"name": "v", "configMap": {"name": "cm"}},
        {"name": "w", "secret": {"secretName": "s"}},
    ]


def test_retain_keys_must_list_every_key_the_patch_sets() -> None:
    obj = pod({"containers": [ctr("app")], "volumes": [{"name": "v", "emptyDir": {}}]})
    bad = {
        "spec": {"volumes": [{"$retainKeys": ["name"], "configMap": {"name": "cm"}, "name": "v"}]}
    }
    with pytest.raises(PatchError, match="retainKeys"):
        smp(obj, bad)


# -- schema unknown ------------------------------------------------------------------------------


def test_without_a_schema_maps_merge_and_lists_are_replaced() -> None:
    original = {"spec": {"a": {"x": 1, "y": 2}, "items": [{"name": "a"}, {"name": "b"}]}}
    patch = {"spec": {"a": {"y": None, "z": 3}, "items": [{"name": "c"}]}}
    result = strategic_merge(original, patch, schema=None, schemas=schemas())
    assert result == {"spec": {"a": {"x": 1, "z": 3}, "items": [{"name": "c"}]}}


def test_fields_unknown_to_a_known_kind_are_merged_like_schemaless_ones() -> None:
    obj = pod()
    obj["spec"]["extra"] = {"keep": True, "list": [1, 2]}
    result = smp(obj, {"spec": {"extra": {"list": [3], "new": "x"}}})
    assert result["spec"]["extra"] == {"keep": True, "list": [3], "new": "x"}


# -- results and errors --------------------------------------------------------------------------


def test_result_shares_nothing_with_the_inputs() -> None:
    obj = pod(labels={"app": "web"})
    patch = {"spec": {"containers": [{"name": "new", "image": "i", "args": ["x"]}]}}
    result = smp(obj, patch)
    result["metadata"]["labels"]["app"] = "changed"
    result["spec"]["containers"][0]["args"].append("y")
    assert obj["metadata"]["labels"] == {"app": "web"}
    assert patch["spec"]["containers"][0]["args"] == ["x"]


def test_directive_keys_do_not_leak_into_added_values() -> None:
    obj = deployment({"containers": [ctr("app")]})
    del obj["spec"]["selector"]
    patch = {
        "spec": {
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "new",
                            "image": "i",
                            "$setElementOrder/ports": [{"containerPort": 1}],
                            "ports": [{"containerPort": 1}],
                        }
                    ]
                }
            },
        }
    }
    result = smp(obj, patch)
    assert result["spec"]["strategy"] == {"type": "Recreate"}
    assert containers(result)[0] == {"name": "new", "image": "i", "ports": [{"containerPort": 1}]}


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"spec": {"$patch": "bogus"}}, "unknown patch type"),
        ({"spec": {"containers": [{"$patch": "bogus", "name": "app"}]}}, "unknown patch type"),
        # "merge" exists only as a struct tag; Go rejects it as a directive.
        ({"spec": {"$patch": "merge"}}, "unknown patch type"),
        ({"spec": {"containers": [{"$patch": "merge"}]}}, "cannot yet be specified"),
        (
            {"spec": {"containers": [{"image": "no-name"}]}},
            "does not contain declared merge key: name",
        ),
        ({"spec": {"containers": [{"$patch": "delete"}]}}, "does not contain declared merge key"),
        ({"spec": {"$setElementOrder": []}}, "setElementOrder"),
        ({"spec": {"$deleteFromPrimitiveListX": []}}, "primitive list"),
        ({"spec": {"volumes": [{"name": "v", "$retainKeys": "name"}]}}, "retainKeys"),
        ({"metadata": {"finalizers": [["nested"]]}}, "lists of lists"),
        ({"metadata": {"finalizers": ["a", 1]}}, "not identical"),
        ({"spec": {"containers": ["app"]}}, "not identical"),
    ],
)
def test_invalid_patches_raise_patch_error(patch: Obj, message: str) -> None:
    obj = pod(
        {"containers": [ctr("app")], "volumes": [{"name": "v", "emptyDir": {}}]}, finalizers=[]
    )
    with pytest.raises(PatchError, match=message):
        smp(obj, patch)


def test_patch_error_is_a_value_error_with_the_field_path() -> None:
    obj = deployment({"containers": [ctr("app")]})
    with pytest.raises(ValueError, match=r"^spec\.template\.spec\.containers: "):
        smp(obj, {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})


# -- against kubectl -----------------------------------------------------------------------------


def _kubectl() -> str | None:
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.exists() else shutil.which("kubectl")


_DIRECTIVE_PREFIXES = ("$setElementOrder/", "$deleteFromPrimitiveList/")


def _as_typed(value: Any) -> Any:
    """Go leaves stray directive keys and nulls in added values; its typed decode drops them."""
    if isinstance(value, dict):
        return {
            k: _as_typed(v)
            for k, v in value.items()
            if v is not None
            and k not in ("$patch", "$retainKeys")
            and not k.startswith(_DIRECTIVE_PREFIXES)
        }
    if isinstance(value, list):
        return [_as_typed(v) for v in value]
    return value


KUBECTL_CASES: list[tuple[str, Obj, Obj]] = [
    (
        "merge, add and delete containers",
        pod({"containers": [ctr("a"), ctr("b"), ctr("c")]}),
        {
            "spec": {
                "containers": [
                    {"name": "c", "image": "x"},
                    ctr("z"),
                    {"$patch": "delete", "name": "b"},
                ]
            }
        },
    ),
    (
        "set order with a server-only item and a deletion",
        pod({"containers": [ctr("a"), ctr("s"), ctr("b"), ctr("d")]}),
        {
            "spec": {
                "$setElementOrder/containers": [{"name": "n"}, {"name": "b"}, {"name": "a"}],
                "containers": [ctr("n"), {"$patch": "delete", "name": "d"}],
            }
        },
    ),
    (
        "finalizers: order, add and delete",
        pod(finalizers=["a", "b", "c"]),
        {
            "metadata": {
                "$setElementOrder/finalizers": ["c", "d", "a"],
                "finalizers": ["d"],
                "$deleteFromPrimitiveList/finalizers": ["b"],
            }
        },
    ),
    (
        "empty set order: Go's comparator is inconsistent, its stable sort decides",
        pod({"containers": [ctr(str(n)) for n in range(23)]}),
        {
            "spec": {
                "$setElementOrder/containers": [],
                "containers": [ctr(f"n{n}") for n in range(25)],
            }
        },
    ),
    (
        "replace a list, merge a nested one",
        pod({"containers": [ctr("a", ports=[{"containerPort": 80}]), ctr("b")]}),
        {
            "spec": {
                "containers": [
                    {
                        "name": "a",
                        "ports": [{"containerPort": 81}, {"containerPort": 80, "name": "http"}],
                    },
                    {"name": "c", "image": "c", "env": [{"name": "X", "value": None}]},
                ]
            }
        },
    ),
    (
        "retainKeys on a deployment strategy and nulls",
        deployment(
            {"containers": [ctr("a")]},
            strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
        ),
        {
            "spec": {
                "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
                "replicas": None,
                "paused": True,
            }
        },
    ),
    (
        "a directive map for a missing field",
        pod(),
        {
            "spec": {
                "securityContext": {"$patch": "replace", "runAsUser": 5},
                "dnsConfig": {"$patch": "delete"},
            }
        },
    ),
    (
        "duplicate keys in the patch merge into the appended item",
        pod({"containers": [ctr("a")]}),
        {"spec": {"containers": [ctr("n", args=["1"]), {"name": "n", "command": ["sh"]}]}},
    ),
]


@pytest.mark.parametrize(
    ("obj", "patch"), [case[1:] for case in KUBECTL_CASES], ids=[c[0] for c in KUBECTL_CASES]
)
def test_matches_kubectl_patch_local(obj: Obj, patch: Obj, tmp_path: Path) -> None:
    kubectl = _kubectl()
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    manifest = tmp_path / "obj.json"
    manifest.write_text(json.dumps(obj))
    (tmp_path / "kubeconfig").write_text("")
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "kubeconfig"), "HOME": str(tmp_path)}
    done = subprocess.run(
        [
            kubectl,
            "patch",
            "--local",
            "-f",
            str(manifest),
            "--type",
            "strategic",
            "-p",
            json.dumps(patch),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    assert smp(obj, patch) == _as_typed(json.loads(done.stdout))
