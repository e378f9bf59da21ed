"""Tests of the load-generation harness against real servers on 127.0.0.1 (no timing asserts).

They check what the figures rest on: that every request carries a fresh name (kmock answers a
duplicate name with 409), that failures are counted as non-2xx and not as creates, and that the
server-side count agrees with the client's 2xx count.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator

import pytest

from bench.http_stacks import CREATE_PATH, TOKEN, serve_aiohttp, serve_uvicorn
from bench.kmock_creates import kmock_available, serve_kmock
from bench.loadgen import (
    _NAME_SENTINEL,
    ServerProcess,
    _wrk_script,
    configmap_body,
    format_line,
    run_wrk,
    serve_in_process,
    tls_files,
)

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
needs_kmock = pytest.mark.skipif(not kmock_available(), reason="kmock is not installed")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    cert, key = tls_files(tmp_path_factory.mktemp("tls"))
    return str(cert), str(key)


@pytest.fixture()
def kmock_server(tls: tuple[str, str]) -> Iterator[ServerProcess]:
    with serve_in_process(serve_kmock, tls) as server:
        yield server


def _lua_literal(script: str, name: str) -> str:
    match = re.search(rf"^local {name} = (.*)$", script, re.MULTILINE)
    assert match is not None
    literal = match.group(1)
    # _lua_string writes only printable ASCII and decimal escapes: undo the escapes.
    assert literal.startswith('"') and literal.endswith('"')
    return re.sub(r"\\(\d{1,3})", lambda m: chr(int(m.group(1))), literal[1:-1])


def test_script_splits_the_body_around_a_unique_name() -> None:
    body = configmap_body(name_prefix="cm")
    body["data"]["quote"] = 'a "quoted" \\ value\n'
    script = _wrk_script(path=CREATE_PATH, token="t0k", body_json=body, unique_name=True)
    prefix = _lua_literal(script, "body_prefix")
    suffix = _lua_literal(script, "body_suffix")
    stem = _lua_literal(script, "name_stem")
    assert re.fullmatch(r"cm-[0-9a-f]{6}-", stem)
    sent = json.loads(prefix + stem + "0-1" + suffix)  # what request() in the script sends
    assert sent["metadata"]["name"] == stem + "0-1"
    assert sent["data"] == body["data"]
    assert body["metadata"]["name"] == "cm"  # the caller's dict is left alone
    assert _NAME_SENTINEL not in prefix + suffix
    assert _lua_literal(script, "path") == CREATE_PATH
    assert 'headers["Authorization"] = "Bearer t0k"' in script


def test_script_without_unique_names_sends_the_body_unchanged() -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "x-"}}
    script = _wrk_script(path="/p", token="t", body_json=body, unique_name=False)
    assert json.loads(_lua_literal(script, "body_prefix")) == body
    assert _lua_literal(script, "body_suffix") == ""


@needs_wrk
@needs_kmock
def test_every_request_gets_a_fresh_name_across_runs_and_threads(
    kmock_server: ServerProcess,
) -> None:
    url = f"https://127.0.0.1:{kmock_server.port}{CREATE_PATH}"
    for threads in (1, 2):  # a second run on the same server must not reuse names either
        result = run_wrk(
            url,
            token=TOKEN,
            body_json=configmap_body(),
            seconds=1,
            connections=2,
            threads=threads,
            server_count=kmock_server.count,
        )
        assert result["non_2xx"] == 0, result["first_non_2xx"]
        assert result["socket_errors"] == 0
        assert result["requests"] > 0
        assert result["server_creates"] is not None
        # Every 2xx wrk saw was counted by the server inside the window. Beyond those, the
        # server may count requests wrk abandoned in flight when it stopped (at most one per
        # connection, of this run or the previous one) but never a duplicate name.
        ok = round(result["creates_per_s"] * result["duration_s"])
        assert ok <= result["server_creates"] <= ok + 2 + 2


@needs_wrk
@needs_kmock
def test_a_repeated_name_is_a_failure_not_a_create(kmock_server: ServerProcess) -> None:
    result = run_wrk(
        f"https://127.0.0.1:{kmock_server.port}{CREATE_PATH}",
        token=TOKEN,
        body_json=configmap_body(name_prefix="same-name"),
        unique_name=False,
        seconds=1,
        connections=1,
        server_count=kmock_server.count,
    )
    assert kmock_server.count() == 1  # only the first create stored an object
    assert result["server_creates"] == 1
    assert result["non_2xx"] == result["requests"] - 1 > 0
    assert result["first_non_2xx"].startswith("409 ")
    # kmock's Status body (quotes and all) came through the Lua-to-JSON escaping intact.
    assert '"kind": "Status"' in result["first_non_2xx"]


@needs_wrk
@pytest.mark.parametrize("stack", ["aiohttp", "uvicorn"])
def test_bare_handler_rejects_a_wrong_token_and_counts_nothing(
    stack: str, tls: tuple[str, str]
) -> None:
    serving = (
        serve_in_process(serve_aiohttp, tls, False)
        if stack == "aiohttp"
        else serve_in_process(serve_uvicorn, tls)
    )
    with serving as server:
        url = f"https://127.0.0.1:{server.port}{CREATE_PATH}"
        body = configmap_body()
        wrong = run_wrk(
            url, token="wrong", body_json=body, seconds=1, connections=4, server_count=server.count
        )
        right = run_wrk(
            url, token=TOKEN, body_json=body, seconds=1, connections=4, server_count=server.count
        )
    assert wrong["requests"] > 0
    assert wrong["non_2xx"] == wrong["requests"]
    assert wrong["creates_per_s"] == 0
    assert wrong["server_creates"] == 0
    assert wrong["first_non_2xx"].startswith("401 ")
    assert right["non_2xx"] == 0
    assert right["server_creates"] is not None and right["server_creates"] > 0


def test_format_line_prefers_the_server_side_rate() -> None:
    line = format_line(
        "stack",
        {
            "requests": 100,
            "duration_s": 1.0,
            "requests_per_s": 100.0,
            "creates_per_s": 90.0,
            "latency_p50_ms": 3.14,
            "p99_ms": 8.0,
            "non_2xx": 10,
            "socket_errors": 0,
            "first_non_2xx": '409 {"code":409}',
            "client_cpu_frac": 0.25,
            "server_creates": 88,
            "server_window_s": 1.1,
            "server_creates_per_s": 80.0,
        },
    )
    first, second = line.splitlines()
    assert re.match(
        r"stack\s+creates/s=80  p50=3\.1ms  p99=8\.0ms  client-2xx/s=90  non2xx=10", first
    )
    assert "409" in second
