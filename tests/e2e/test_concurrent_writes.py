"""Writes that reach the server together: each gets its own answer, and only the good ones land.

The HTTP façade runs writes that arrive together as a batch, one after another
(``kubenb.apiserver.http._WriteBatch``); these tests hold it to what a client of a real apiserver
sees when it sends many writes at once.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

import aiohttp

from kubenb import Cluster
from kubenb.api import kinds
from kubenb.apiserver.http import _WriteBatch

NS = "default"
CM = f"/api/v1/namespaces/{NS}/configmaps"


def _configmap(name: str, value: str = "v") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"k": value}}


async def _send(cluster: Cluster, requests: list[tuple[str, str, Any, str]]
                ) -> list[tuple[int, dict[str, Any]]]:
    """Send every request at once, each on its own connection; answers in the same order."""
    context = ssl.create_default_context(cadata=cluster.ca_pem.decode())
    headers = {"Authorization": f"Bearer {cluster.token}"}
    connector = aiohttp.TCPConnector(ssl=context, limit=0)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        async def one(method: str, path: str, body: Any, ctype: str
                      ) -> tuple[int, dict[str, Any]]:
            async with session.request(method, cluster.url + path,
                                       data=None if body is None else json.dumps(body),
                                       headers={"Content-Type": ctype}) as resp:
                return resp.status, await resp.json()

        return list(await asyncio.gather(*(one(*r) for r in requests)))


def test_concurrent_creates_each_get_their_own_answer() -> None:
    with Cluster() as cluster:
        cluster.client.create(kinds.CONFIGMAPS, _configmap("taken"), NS)
        names = [f"cm-{i}" for i in range(30)] + ["taken"] * 10
        answers = asyncio.run(_send(cluster, [("POST", CM, _configmap(n), "application/json")
                                              for n in names]))
        for name, (status, body) in zip(names, answers, strict=True):
            if name == "taken":
                assert status == 409, body
                assert body["kind"] == "Status" and body["reason"] == "AlreadyExists"
                assert body["details"]["name"] == "taken"
            else:
                assert status == 201, body
                assert body["metadata"]["name"] == name
        stored = {o["metadata"]["name"]: o
                  for o in cluster.client.list(kinds.CONFIGMAPS, NS).items}
        assert set(stored) == {*names}
        # every create got its own resourceVersion, and the answers carry what was stored
        versions = [body["metadata"]["resourceVersion"] for _, body in answers[:30]]
        assert len(set(versions)) == 30
        for name, (_, body) in zip(names[:30], answers[:30], strict=True):
            assert stored[name]["metadata"]["resourceVersion"] == \
                body["metadata"]["resourceVersion"]


def test_concurrent_mixed_writes() -> None:
    with Cluster() as cluster:
        for i in range(10):
            cluster.client.create(kinds.CONFIGMAPS, _configmap(f"mixed-{i}"), NS)
        merge = "application/merge-patch+json"
        requests: list[tuple[str, str, Any, str]] = []
        for i in range(5, 10):
            requests.append(("PATCH", f"{CM}/mixed-{i}", {"data": {"k": f"patched-{i}"}}, merge))
        requests += [("DELETE", f"{CM}/mixed-{i}", None, "application/json") for i in range(5)]
        requests.append(("PATCH", f"{CM}/absent", {"data": {"k": "x"}}, merge))
        requests.append(("PUT", f"{CM}/mixed-9", {**_configmap("mixed-9", "put"),
                                                   "metadata": {"name": "mixed-9",
                                                                "resourceVersion": "1"}},
                         "application/json"))
        answers = asyncio.run(_send(cluster, requests))
        for i, (status, body) in zip(range(5, 10), answers[:5], strict=True):
            assert status == 200 and body["data"] == {"k": f"patched-{i}"}, body
        for i, (status, body) in zip(range(5), answers[5:10], strict=True):
            # a ConfigMap leaves at once: the answer is a Success Status naming it
            assert status == 200 and body["status"] == "Success", body
            assert body["details"]["name"] == f"mixed-{i}"
        assert answers[10][0] == 404 and answers[10][1]["reason"] == "NotFound"
        assert answers[11][0] == 409 and answers[11][1]["reason"] == "Conflict"
        left = {o["metadata"]["name"]: o["data"]["k"]
                for o in cluster.client.list(kinds.CONFIGMAPS, NS).items
                if o["metadata"]["name"].startswith("mixed-")}
        assert left == {f"mixed-{i}": f"patched-{i}" for i in range(5, 10)}


def test_write_batch_runs_its_writes_in_order_each_with_its_own_answer() -> None:
    ran: list[str] = []

    def write(label: str, *, fail: bool = False) -> Any:
        def run() -> Any:
            ran.append(label)
            if fail:
                raise ValueError(label)
            return label
        return run

    async def scenario() -> tuple[list[Any], _WriteBatch]:
        batch = _WriteBatch()
        first = batch.run(write("first"))
        cancelled = batch.run(write("cancelled"))
        failing = batch.run(write("failing", fail=True))
        last = batch.run(write("last"))
        cancelled.cancel()
        assert ran == []  # nothing runs in the turn the writes arrive in
        results = await asyncio.gather(first, failing, last, return_exceptions=True)
        return results, batch

    results, batch = asyncio.run(scenario())
    assert ran == ["first", "failing", "last"]
    assert results[0] == "first" and results[2] == "last"
    assert isinstance(results[1], ValueError) and str(results[1]) == "failing"
    assert (batch.batches, batch.ran) == (1, 4)


def test_write_batch_grows_while_writes_keep_arriving() -> None:
    async def scenario() -> tuple[list[int], _WriteBatch]:
        batch = _WriteBatch()
        futures = []
        for turn in range(5):  # one more write in each of five loop turns
            futures.append(batch.run(lambda t=turn: t))
            await asyncio.sleep(0)
        assert batch.batches == 0  # still growing: nothing has run
        out = list(await asyncio.gather(*futures))
        # a write after the batch ran starts the next one
        out.append(await batch.run(lambda: 5))
        return out, batch

    out, batch = asyncio.run(scenario())
    assert out == [0, 1, 2, 3, 4, 5]
    assert (batch.batches, batch.ran) == (2, 6)


def test_write_batch_runs_at_its_limit_without_waiting() -> None:
    async def scenario() -> tuple[int, int]:
        batch = _WriteBatch()
        small = batch.run(lambda: "small")
        await asyncio.sleep(0)  # one turn: the first check sees the batch new, and waits
        ran_small = batch.ran
        await small
        full = [batch.run(lambda: None) for _ in range(batch.limit)]
        await asyncio.sleep(0)  # the check due now finds it full and runs it
        ran_full = batch.ran - 1
        await asyncio.gather(*full)
        return ran_small, ran_full

    ran_small, ran_full = asyncio.run(scenario())
    assert ran_small == 0
    assert ran_full == _WriteBatch.limit
