"""Decoding Kubernetes protobuf bodies, checked against what kubectl 1.37 itself sends.

The oracle: kubectl's typed clients send an object as protobuf, and the same kubectl command
with ``--dry-run=client -o json`` prints that very object through Go's JSON encoder. So for each
command, ``decode(captured protobuf) == dry-run JSON`` is exactly the property the apiserver
needs. The captured bodies and their JSON are kept under ``protobuf_fixtures/`` (regenerate with
``python -m tests.apiserver.test_protobuf``), and a live test re-captures them from the installed
kubectl so the fixtures cannot drift from the real client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from kubenb.api.resources import Registry
from kubenb.apiserver import protobuf
from kubenb.apiserver.discovery import Discovery, version_info
from kubenb.apiserver.protobuf import MAGIC, ProtobufError, decode

FIXTURES = Path(__file__).parent / "protobuf_fixtures"
PROTOBUF = "application/vnd.kubernetes.protobuf"

#: Fixture name -> kubectl arguments (the object is created in namespace "default"). Not here:
#: ``kubectl run`` and ``drain``'s evictions, which kubectl 1.37 sends as JSON.
CASES: dict[str, list[str]] = {
    "namespace": ["create", "namespace", "pb-demo"],
    "configmap": ["create", "configmap", "settings", "--from-literal=mode=fast",
                  "--from-literal=empty=", "--from-literal=greeting=héllo wörld"],
    "secret": ["create", "secret", "generic", "creds", "--from-literal=user=admin",
               "--from-literal=password=s3cr3t!", "--type=Opaque"],
    "deployment-0": ["create", "deployment", "idle", "--image=nginx:1.27", "--replicas=0"],
    "deployment-3": ["create", "deployment", "web", "--image=nginx:1.27", "--replicas=3",
                     "--port=80"],
    "service": ["create", "service", "clusterip", "api", "--tcp=80:8080", "--tcp=443:https"],
    "job": ["create", "job", "once", "--image=busybox:1.36", "--", "echo", "done"],
    "cronjob": ["create", "cronjob", "tick", "--image=busybox:1.36",
                "--schedule=*/5 * * * *", "--restart=OnFailure", "--", "date"],
    "role": ["create", "role", "reader", "--verb=get,list,watch",
             "--resource=pods,deployments.apps", "--resource-name=web"],
    "rolebinding": ["create", "rolebinding", "read-it", "--role=reader", "--user=alice",
                    "--serviceaccount=default:robot"],
    "pdb": ["create", "poddisruptionbudget", "web-pdb", "--selector=app=web",
            "--min-available=1"],
    "pdb-percent": ["create", "poddisruptionbudget", "web-pdb2", "--selector=app=web",
                    "--max-unavailable=25%"],
    "priorityclass": ["create", "priorityclass", "urgent", "--value=100000",
                      "--description=goes first", "--preemption-policy=Never"],
    "ingress": ["create", "ingress", "front", "--class=nginx",
                "--rule=foo.example.com/api*=api:8080,tls=foo-cert",
                "--rule=bar.example.com/=web:http", "--annotation=team=edge"],
    "hpa": ["autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu=80%"],
    "clusterrole": ["create", "clusterrole", "pod-reader", "--verb=get",
                    "--resource=pods,pods/log", "--non-resource-url=/healthz"],
    "serviceaccount": ["create", "serviceaccount", "robot"],
    "quota": ["create", "quota", "limits", "--hard=cpu=1500m,memory=2Gi,pods=10",
              "--scopes=NotTerminating"],
}


# --- capturing what kubectl sends -----------------------------------------------------------


#: Commands without a client-side dry run: only their body is recorded, and the test states
#: the expected object itself. ``debug node`` is how kubectl 1.37 sends a Pod as protobuf.
RAW_CASES: dict[str, list[str]] = {
    "pod-debug": ["debug", "node/n1", "--image=busybox:1.36", "--profile=legacy",
                  "--env=MODE=debug", "--", "sleep", "3600"],
}

#: Objects the capture server hands out, for commands that read before they write.
CANNED: dict[str, dict[str, Any]] = {
    "/api/v1/nodes/n1": {
        "kind": "Node", "apiVersion": "v1",
        "metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}},
        "spec": {}, "status": {}},
    "/apis/apps/v1/namespaces/default/deployments/web": {
        "kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}},
}


class CaptureServer:
    """A minimal HTTP apiserver stand-in: answers discovery and a few GETs, records POSTs.

    POSTs are answered 400 so kubectl stops there; the body is all the test needs.
    """

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, bytes]] = []
        self._discovery = Discovery(Registry())
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.method == "POST":
            self.posts.append((request.path, request.headers.get("Content-Type", ""), body))
            return web.json_response(
                {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                 "message": "captured", "reason": "BadRequest", "code": 400}, status=400)
        doc = CANNED.get(request.path) or self._discovery_doc(request.path)
        if doc is None:
            return web.json_response(
                {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                 "reason": "NotFound", "code": 404}, status=404)
        return web.json_response(doc)

    def _discovery_doc(self, path: str) -> dict[str, Any] | None:
        parts = path.strip("/").split("/")
        if path == "/version":
            return version_info()
        if path == "/api":
            return self._discovery.api_versions("127.0.0.1")
        if path == "/apis":
            return self._discovery.api_groups()
        if parts[0] == "api" and len(parts) == 2:
            return self._discovery.resource_list("", parts[1])
        if parts[0] == "apis" and len(parts) == 3:
            return self._discovery.resource_list(parts[1], parts[2])
        return None

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    def __enter__(self) -> CaptureServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()


def find_kubectl() -> str | None:
    return shutil.which(
        "kubectl", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


def run_kubectl(binary: str, server: CaptureServer, workdir: Path,
                args: list[str]) -> subprocess.CompletedProcess[str]:
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.touch()
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    return subprocess.run(
        [binary, f"--server=http://127.0.0.1:{server.port}", f"--cache-dir={workdir / 'cache'}",
         "--namespace=default", *args],
        capture_output=True, text=True, env=env, timeout=60, check=False)


def capture(binary: str, server: CaptureServer, workdir: Path,
            args: list[str]) -> tuple[bytes, Any]:
    """(protobuf body kubectl POSTs, the JSON the same command prints with dry-run=client)."""
    server.posts.clear()
    sent = run_kubectl(binary, server, workdir, args)
    # The first POST is the object; `autoscale` retries autoscaling/v1 after our 400.
    assert server.posts, f"kubectl sent nothing: {sent.stderr}"
    _path, content_type, body = server.posts[0]
    assert content_type == PROTOBUF
    dry = run_kubectl(binary, server, workdir, [*_before_dashdash(args), "--dry-run=client",
                                                "-o", "json", *_after_dashdash(args)])
    assert dry.returncode == 0, dry.stderr
    return body, json.loads(dry.stdout)


def _before_dashdash(args: list[str]) -> list[str]:
    return args[: args.index("--")] if "--" in args else args


def _after_dashdash(args: list[str]) -> list[str]:
    return args[args.index("--"):] if "--" in args else []


def regenerate() -> None:
    """Re-capture every fixture from the installed kubectl."""
    binary = find_kubectl()
    if binary is None:
        raise SystemExit("kubectl not found")
    FIXTURES.mkdir(exist_ok=True)
    with CaptureServer() as server, tempfile.TemporaryDirectory() as tmp:
        for name, args in CASES.items():
            body, expected = capture(binary, server, Path(tmp), args)
            (FIXTURES / f"{name}.pb").write_bytes(body)
            (FIXTURES / f"{name}.json").write_text(json.dumps(expected, indent=2) + "\n")
            print(f"{name}: {len(body)} bytes", file=sys.stderr)
        for name, args in RAW_CASES.items():
            server.posts.clear()
            run_kubectl(binary, server, Path(tmp), args)
            (FIXTURES / f"{name}.pb").write_bytes(server.posts[0][2])


# --- fixtures recorded from kubectl 1.37 ----------------------------------------------------


def load_fixture(name: str) -> tuple[bytes, Any]:
    return (FIXTURES / f"{name}.pb").read_bytes(), json.loads(
        (FIXTURES / f"{name}.json").read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_recorded_kubectl_body_decodes_to_its_json(name: str) -> None:
    body, expected = load_fixture(name)
    assert body.startswith(MAGIC)
    assert decode(body) == expected


def test_recorded_bodies_show_go_json_zero_value_rules() -> None:
    # Spot checks of the rules that make decoding more than reading fields.
    dep0 = decode(load_fixture("deployment-0")[0])
    assert dep0["spec"]["replicas"] == 0  # a *int32 keeps its zero
    assert dep0["status"] == {}  # a non-pointer struct is always printed
    assert "creationTimestamp" not in dep0["metadata"]  # omitzero on metav1.Time
    container = dep0["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {}
    assert "ports" not in container  # an empty slice with omitempty
    secret = decode(load_fixture("secret")[0])
    assert secret["data"] == {"password": base64.b64encode(b"s3cr3t!").decode(),
                              "user": base64.b64encode(b"admin").decode()}
    assert list(secret["data"]) == sorted(secret["data"])  # Go sorts map keys
    svc = decode(load_fixture("service")[0])
    assert [p["targetPort"] for p in svc["spec"]["ports"]] == [8080, "https"]
    pdb = decode(load_fixture("pdb-percent")[0])
    assert pdb["spec"]["maxUnavailable"] == "25%"
    quota = decode(load_fixture("quota")[0])
    assert quota["spec"]["hard"] == {"cpu": "1500m", "memory": "2Gi", "pods": "10"}
    cm = decode(load_fixture("configmap")[0])
    assert cm["data"]["empty"] == "" and cm["data"]["greeting"] == "héllo wörld"


def test_recorded_debug_pod() -> None:
    # generateNodeDebugPod plus the legacy profile (kubectl pkg/cmd/debug): host namespaces,
    # the node's root as a hostPath volume (VolumeSource is inlined into Volume).
    pod = decode((FIXTURES / "pod-debug.pb").read_bytes())
    name = pod["metadata"]["name"]
    assert name.startswith("node-debugger-n1-")
    assert pod == {
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "kubectl-debug"}},
        "spec": {
            "volumes": [{"name": "host-root", "hostPath": {"path": "/"}}],
            "containers": [{
                "name": "debugger", "image": "busybox:1.36", "command": ["sleep", "3600"],
                "env": [{"name": "MODE", "value": "debug"}], "resources": {},
                "volumeMounts": [{"name": "host-root", "mountPath": "/host"}],
                "terminationMessagePolicy": "File",
            }],
            "restartPolicy": "Never", "nodeName": "n1", "hostNetwork": True, "hostPID": True,
            "hostIPC": True, "tolerations": [{"operator": "Exists"}],
        },
        "status": {},
    }


# --- live: the installed kubectl against the capture server ---------------------------------


@pytest.fixture(scope="module")
def capture_server() -> Iterator[CaptureServer]:
    with CaptureServer() as server:
        yield server


@pytest.mark.parametrize("name", sorted(CASES))
def test_live_kubectl_body_decodes_to_its_dry_run_json(
    name: str, capture_server: CaptureServer, tmp_path: Path
) -> None:
    binary = find_kubectl()
    if binary is None:
        pytest.skip("kubectl is not installed")
    body, expected = capture(binary, capture_server, tmp_path, CASES[name])
    assert decode(body) == expected


# --- synthetic bodies: special types, unknown fields, malformed input -----------------------


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def fld(number: int, value: bytes | str | int, *, wire: int | None = None) -> bytes:
    """One encoded field: ints as varints, str/bytes length-delimited."""
    if isinstance(value, int):
        return varint(number << 3 | (0 if wire is None else wire)) + varint(value)
    raw = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(raw)) + raw


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    return MAGIC + fld(1, fld(1, api_version) + fld(2, kind)) + fld(2, raw)


def test_time_microtime_and_zero_time() -> None:
    # events.k8s.io/v1 Event: metadata(1), eventTime(2, MicroTime), series(3) with
    # count(1) and lastObservedTime(2, MicroTime), deprecatedFirstTimestamp(13, Time).
    # Time drops nanoseconds (metav1.Time.Unmarshal), MicroTime truncates to microseconds.
    meta = fld(1, "ev") + fld(8, fld(1, 1700000000) + fld(2, 5))
    series = fld(1, 3) + fld(2, fld(1, 1700000001) + fld(2, 123456789))
    raw = (fld(1, meta) + fld(2, fld(1, 1700000000) + fld(2, 987654321)) + fld(3, series)
           + fld(13, b""))
    ev = decode(envelope("events.k8s.io/v1", "Event", raw))
    assert ev == {
        "kind": "Event", "apiVersion": "events.k8s.io/v1",
        "metadata": {"name": "ev", "creationTimestamp": "2023-11-14T22:13:20Z"},
        "eventTime": "2023-11-14T22:13:20.987654Z",
        "series": {"count": 3, "lastObservedTime": "2023-11-14T22:13:21.123456Z"},
        # Non-pointer structs print even when absent; a zero Time prints as null.
        "regarding": {}, "deprecatedSource": {},
        "deprecatedFirstTimestamp": None, "deprecatedLastTimestamp": None,
    }
    # A zero MicroTime in a non-omitempty field is null too; the Go zero instant as well.
    raw = fld(1, fld(1, "ev")) + fld(3, fld(1, 1) + fld(2, fld(1, -62135596800)))
    ev = decode(envelope("events.k8s.io/v1", "Event", raw))
    assert ev["eventTime"] is None and ev["series"] == {"count": 1, "lastObservedTime": None}


def test_time_before_epoch_and_far_future() -> None:
    meta = fld(1, "x") + fld(8, fld(1, -86400))
    assert decode(envelope("v1", "ConfigMap", fld(1, meta)))["metadata"][
        "creationTimestamp"] == "1969-12-31T00:00:00Z"
    meta = fld(1, "x") + fld(8, fld(1, 253402300800))  # year 10000, past datetime's range
    assert decode(envelope("v1", "ConfigMap", fld(1, meta)))["metadata"][
        "creationTimestamp"] == "10000-01-01T00:00:00Z"


@pytest.mark.parametrize(("ns", "text"), [
    (0, "0s"), (1, "1ns"), (1500, "1.5µs"), (2_000_000, "2ms"), (1_500_000_000, "1.5s"),
    (60_000_000_000, "1m0s"), (3_600_000_000_000, "1h0m0s"), (5_405_000_000_000, "1h30m5s"),
    (-90_000_000_000, "-1m30s"),
])
def test_duration_text_matches_go(ns: int, text: str) -> None:
    # No served type carries a metav1.Duration today, so read the message directly.
    duration = protobuf._render_message(
        protobuf._schema(), "k8s.io.apimachinery.pkg.apis.meta.v1.Duration", fld(1, ns), "t")
    assert duration == text


def test_unknown_fields_are_skipped() -> None:
    # A newer client: unknown numbers of every wire type, in the object and in nested
    # messages, including a group.
    group = varint(99 << 3 | 3) + fld(1, 7) + varint(99 << 3 | 4)
    unknown = (fld(900, 5) + fld(901, b"\x01\x02") + varint(902 << 3 | 1) + b"\0" * 8
               + varint(903 << 3 | 5) + b"\0" * 4 + group)
    meta = fld(1, "cm") + unknown + fld(11, fld(1, "a") + fld(2, "b"))
    raw = fld(1, meta) + unknown + fld(2, fld(1, "k") + fld(2, "v"))
    cm = decode(envelope("v1", "ConfigMap", raw + fld(77, "future")))
    assert cm == {"kind": "ConfigMap", "apiVersion": "v1",
                  "metadata": {"name": "cm", "labels": {"a": "b"}}, "data": {"k": "v"}}


def test_inline_structs_and_pointer_fields() -> None:
    # A pod with a volume (VolumeSource is inlined into Volume) and a container whose
    # probe (ProbeHandler inlined) has an exec action.
    volume = fld(1, "cfg") + fld(2, fld(19, fld(1, fld(1, "settings"))))  # configMap
    probe = fld(1, fld(1, fld(1, "true"))) + fld(2, 0)  # exec.command, initialDelaySeconds
    container = fld(1, "c") + fld(2, "img") + fld(10, probe)
    spec = fld(1, volume) + fld(2, container)
    pod = decode(envelope("v1", "Pod", fld(1, fld(1, "p")) + fld(2, spec)))
    assert pod["spec"]["volumes"] == [{"name": "cfg", "configMap": {"name": "settings"}}]
    c = pod["spec"]["containers"][0]
    assert c["livenessProbe"] == {"exec": {"command": ["true"]}}  # int32 0 with omitempty
    assert c["resources"] == {}  # absent non-pointer struct still prints
    assert pod["status"] == {}


def test_eviction_with_delete_options() -> None:
    opts = fld(1, 0) + fld(4, "Foreground") + fld(5, "All")  # gracePeriodSeconds=0, dryRun
    raw = fld(1, fld(1, "p") + fld(3, "ns")) + fld(2, opts)
    ev = decode(envelope("policy/v1", "Eviction", raw))
    assert ev == {"kind": "Eviction", "apiVersion": "policy/v1",
                  "metadata": {"name": "p", "namespace": "ns"},
                  "deleteOptions": {"gracePeriodSeconds": 0, "propagationPolicy": "Foreground",
                                    "dryRun": ["All"]}}


def test_delete_options_under_any_group_version() -> None:
    raw = fld(4, "Background")
    for gv in ("v1", "apps/v1", "batch/v1", "meta.k8s.io/v1"):
        assert decode(envelope(gv, "DeleteOptions", raw)) == {
            "kind": "DeleteOptions", "apiVersion": gv, "propagationPolicy": "Background"}


def test_missing_type_meta_uses_the_endpoint_defaults() -> None:
    body = MAGIC + fld(2, fld(1, fld(1, "n")))
    assert decode(body, api_version="v1", kind="Namespace") == {
        "kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "n"}, "spec": {},
        "status": {}}
    with pytest.raises(ProtobufError, match="Kind"):
        decode(body)


def test_raw_extension_and_crd_schema_unions() -> None:
    # JSONSchemaProps: type=5, default=8 (JSON), maximum=9 (double), items=24 (OrArray),
    # properties=29 (map), additionalProperties=30 (OrBool), dependencies=32 (map of
    # OrStringArray), x-kubernetes-preserve-unknown-fields=38.
    inner = fld(5, "string")
    maximum = varint(9 << 3 | 1) + struct.pack("<d", 10.0)
    props = (fld(5, "object") + fld(8, fld(1, json.dumps({"a": [1, 2]}))) + maximum
             + fld(24, fld(1, inner))  # items: a single schema
             + fld(29, fld(1, "name") + fld(2, inner))
             + fld(30, fld(1, 1))  # additionalProperties: allows=true, no schema
             + fld(32, fld(1, "name") + fld(2, fld(2, "other")))
             + fld(38, 1))
    version = (fld(1, "v1") + fld(2, 1) + fld(3, 1)
               + fld(4, fld(1, props)))  # schema.openAPIV3Schema
    spec = fld(1, "example.com") + fld(3, fld(1, "widgets") + fld(4, "Widget")) + fld(
        4, "Namespaced") + fld(7, version)
    crd = decode(envelope("apiextensions.k8s.io/v1", "CustomResourceDefinition",
                          fld(1, fld(1, "widgets.example.com")) + fld(2, spec)))
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert schema == {
        "type": "object", "default": {"a": [1, 2]}, "maximum": 10, "items": {"type": "string"},
        "properties": {"name": {"type": "string"}}, "additionalProperties": True,
        "dependencies": {"name": ["other"]}, "x-kubernetes-preserve-unknown-fields": True,
    }
    assert crd["spec"]["names"] == {"plural": "widgets", "kind": "Widget"}
    assert crd["spec"]["versions"][0]["served"] is True
    # ControllerRevision.data is a RawExtension: embedded JSON comes back parsed.
    rev = decode(envelope("apps/v1", "ControllerRevision",
                          fld(1, fld(1, "r")) + fld(2, fld(1, b'{"spec":{"x":1}}')) + fld(3, 2)))
    assert rev["data"] == {"spec": {"x": 1}} and rev["revision"] == 2


@pytest.mark.parametrize(("body", "message"), [
    (b"", "empty data"),
    (b"{\"kind\":\"Pod\"}", "expected prefix"),
    (MAGIC, "empty body"),
    (MAGIC + b"\x0a\x05\x0a", "unexpected end"),  # typeMeta claims 5 bytes, has 1
    (MAGIC + b"\x0a", "end of data"),  # a tag without its length
    (MAGIC + b"\x00\x01", "illegal tag 0"),
    (MAGIC + b"\x0f", "illegal wire type"),
    (MAGIC + b"\x08" + b"\xff" * 11, "overflow"),
])
def test_malformed_envelopes(body: bytes, message: str) -> None:
    with pytest.raises(ProtobufError, match=message):
        decode(body)


def test_malformed_objects() -> None:
    with pytest.raises(ProtobufError, match='no kind "Gadget"'):
        decode(envelope("v1", "Gadget", b""))
    with pytest.raises(ProtobufError, match="wrong wire type"):
        decode(envelope("v1", "ConfigMap", fld(1, 5)))  # metadata as a varint
    with pytest.raises(ProtobufError, match="wrong wire type"):
        decode(envelope("v1", "Secret", fld(5, "yes")))  # immutable (bool) as bytes
    with pytest.raises(ProtobufError, match="IntOrString"):
        spec = fld(1, fld(1, "p") + fld(4, fld(1, 7)))  # ports[0].targetPort.type = 7
        decode(envelope("v1", "Service", fld(2, spec)))
    with pytest.raises(ProtobufError, match="quantities"):
        hard = fld(1, fld(1, "cpu") + fld(2, fld(1, "lots")))
        decode(envelope("v1", "ResourceQuota", fld(2, hard)))
    with pytest.raises(ProtobufError, match="not JSON"):
        decode(envelope("apps/v1", "ControllerRevision", fld(2, fld(1, b"{nope"))))
    with pytest.raises(ProtobufError, match="end of data"):
        decode(envelope("v1", "ConfigMap", fld(1, b"\x0a\x09abc")))  # truncated name
    assert issubclass(ProtobufError, ValueError)


def test_hostile_nesting_is_a_bad_request_not_a_crash() -> None:
    schema = b""
    for _ in range(5000):
        schema = fld(28, schema)  # JSONSchemaProps.not, nested
    version = fld(1, "v1") + fld(4, fld(1, schema))
    body = envelope("apiextensions.k8s.io/v1", "CustomResourceDefinition", fld(2, fld(7, version)))
    with pytest.raises(ProtobufError, match="nested too deeply"):
        decode(body)


def test_accepts_any_bytes_like_body() -> None:
    body, expected = load_fixture("namespace")
    assert decode(bytearray(body)) == decode(memoryview(body)) == expected


def test_repeated_scalars_packed_or_not_and_int32_wrap() -> None:
    # PodSecurityContext.supplementalGroups (repeated int64, 4) packed and unpacked;
    # runAsUser (*int64, 2) negative.
    packed = fld(4, varint(1) + varint(2))
    sc = packed + fld(4, 3) + fld(2, -5)
    pod = decode(envelope("v1", "Pod", fld(2, fld(14, sc))))
    assert pod["spec"]["securityContext"] == {"runAsUser": -5, "supplementalGroups": [1, 2, 3]}
    # an int32 written with 64-bit sign extension (how Go encodes negative int32)
    spec = fld(1, -1)  # DeploymentSpec.replicas
    assert decode(envelope("apps/v1", "Deployment", fld(2, spec)))["spec"]["replicas"] == -1


def test_known_kinds_cover_the_served_group_versions() -> None:
    kinds = protobuf.known_kinds()
    for api_version, kind in [
        ("v1", "Pod"), ("apps/v1", "Deployment"), ("batch/v1", "CronJob"),
        ("autoscaling/v1", "Scale"), ("autoscaling/v1", "HorizontalPodAutoscaler"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"), ("coordination.k8s.io/v1", "Lease"),
        ("discovery.k8s.io/v1", "EndpointSlice"), ("events.k8s.io/v1", "Event"),
        ("networking.k8s.io/v1", "Ingress"), ("policy/v1", "Eviction"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"), ("scheduling.k8s.io/v1", "PriorityClass"),
        ("storage.k8s.io/v1", "StorageClass"),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ]:
        assert kind in kinds[api_version], (api_version, kind)


if __name__ == "__main__":
    regenerate()
