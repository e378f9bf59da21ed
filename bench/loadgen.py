"""Drive an HTTP(S) create endpoint with wrk and report creates/s, client- and server-side.

Why wrk: the thing under test is a single-threaded Python server on a 2-core machine. A Python
load generator (aiohttp, httpx, the kubernetes client) spends about as much CPU per request as the
server does, so it would measure itself. wrk is C with a LuaJIT hook, spends a fraction of a core
per 10k requests/s, and speaks TLS (it does not verify the certificate, so a self-signed one is
fine). ``run_wrk`` reports wrk's own CPU use (``client_cpu_frac``) so a run where the generator
saturated its core can be recognised instead of trusted.

Why a Lua script, not wrk's built-in summary: wrk counts only status >= 400 as errors, and it
reports numbers as human text ("9.12k", "3.10ms") that is fiddly to parse. The script generates a
unique ``metadata.name`` per request (a create of an existing name is a 409, not a create), counts
every non-2xx response (a failed create must not count), and its ``done()`` prints one JSON line.

Why a server-side count: requests/s as the client sees it is not creates/s. The caller may pass
``server_count``, a callable returning how many objects the server has created so far; it is
sampled right before wrk starts and right after it exits, and ``server_creates_per_s`` is the
difference over that wall-clock window. That is the figure the creates/s goal is stated in. It
can be off by at most one request per connection: wrk abandons requests in flight when it stops,
and the server may finish those before or after the second sample.

Also here, because every bench script needs them: a self-signed TLS pair from ``trustme``, a way
to run a server in a child process that reports its port and a shared create counter, and the
one-line output format (``label  creates/s=…  p50=…ms  p99=…ms``).
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import multiprocessing.process
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypedDict

__all__ = [
    "Counter",
    "ServerProcess",
    "WrkError",
    "WrkResult",
    "configmap_body",
    "format_line",
    "loopback_socket",
    "run_wrk",
    "serve_in_process",
    "server_ssl_context",
    "tls_files",
]

# wrk's done() prints this marker before its JSON so stray output (warnings) cannot confuse parsing.
_RESULT_MARKER = "WRK_RESULT_JSON "
# Stands for the per-request name in the JSON template; split out and filled in by Lua.
_NAME_SENTINEL = "@@wrk-unique-name@@"


class WrkError(RuntimeError):
    """wrk is missing, failed, or printed no result line."""


class WrkResult(TypedDict):
    """Figures from one wrk run; latencies in milliseconds, rates per second."""

    requests: int  # responses received (any status)
    duration_s: float  # wrk's own measurement window
    requests_per_s: float  # all responses / duration, as wrk reports it
    creates_per_s: float  # 2xx responses / duration: what the client saw succeed
    latency_p50_ms: float
    p99_ms: float
    non_2xx: int  # responses with a status outside 200..299
    socket_errors: int  # connect + read + write + timeout errors (no response at all)
    first_non_2xx: str  # "STATUS body-prefix" of the first failure, "" when none: for diagnosis
    client_cpu_frac: float  # wrk's user+sys CPU / wall time; near threads*1.0 means wrk saturated
    server_creates: int | None  # server_count() after minus before, None without a hook
    server_window_s: float | None  # wall time between the two server_count() samples
    server_creates_per_s: float | None  # server_creates / server_window_s


def configmap_body(*, name_prefix: str = "bench", data_bytes: int = 64) -> dict[str, Any]:
    """A ConfigMap create body of a realistic small size; the name gets a unique suffix."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name_prefix, "labels": {"app": "bench"}},
        "data": {"payload": "x" * data_bytes},
    }


def _lua_string(text: str) -> str:
    """Quote ``text`` as a Lua string literal that survives any byte (decimal escapes)."""
    safe = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.,:;/{}[]@=+")
    # Always three digits: Lua reads up to three after the backslash, so "\\34" followed by
    # a digit (a quote before "7") would be read as one invalid escape.
    return '"' + "".join(chr(b) if b in safe else f"\\{b:03d}" for b in text.encode()) + '"'


# The script; %-placeholders are filled with Lua literals by _wrk_script.
# One Lua state per wrk thread runs request()/response(); done() runs in the main state and
# reaches the per-thread counters through the thread objects kept by setup().
_LUA_TEMPLATE = """
local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

local headers = {}
headers["Content-Type"] = "application/json"
headers["Accept"] = "application/json"
headers["Authorization"] = %(authorization)s
local body_prefix = %(body_prefix)s
local body_suffix = %(body_suffix)s
local unique = %(unique)s
local name_stem = %(name_stem)s
local method = "POST"
local path = %(path)s
local static_request = nil

counter = 0
ok = 0
bad = 0
first_bad = ""

function init(args)
  if not unique then
    static_request = wrk.format(method, path, headers, body_prefix)
  end
end

function request()
  if static_request then
    return static_request
  end
  counter = counter + 1
  local name = name_stem .. tid .. "-" .. counter
  return wrk.format(method, path, headers, body_prefix .. name .. body_suffix)
end

function response(status, hdrs, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    bad = bad + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

local function json_string(s)
  s = string.gsub(s, '[%%c"\\\\]', function(c)
    return string.format("\\\\u%%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local total_ok, total_bad, first = 0, 0, ""
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_bad = total_bad + t:get("bad")
    local fb = t:get("first_bad")
    if first == "" and fb ~= nil then first = fb end
  end
  local e = summary.errors
  io.write(%(marker)s, string.format(
    '{"duration_us": %%d, "requests": %%d, "ok": %%d, "bad": %%d, '
    .. '"socket_errors": %%d, "status_errors": %%d, "p50_us": %%d, "p99_us": %%d, '
    .. '"first_bad": %%s}\\n',
    summary.duration, summary.requests, total_ok, total_bad,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50.0), latency:percentile(99.0), json_string(first)))
end
"""


def _wrk_script(*, path: str, token: str, body_json: dict[str, Any], unique_name: bool) -> str:
    """Render the Lua script for one run; the body is serialised here, once."""
    if unique_name:
        body = copy.deepcopy(body_json)
        meta = body.setdefault("metadata", {})
        stem = str(meta.pop("name", None) or meta.pop("generateName", None) or "bench")
        meta["name"] = _NAME_SENTINEL
        # A per-run nonce keeps repeated runs against one server from colliding on names.
        stem = f"{stem.rstrip('-')}-{secrets.token_hex(3)}-"
        prefix, suffix = json.dumps(body, separators=(",", ":")).split(_NAME_SENTINEL)
    else:
        stem, prefix, suffix = "", json.dumps(body_json, separators=(",", ":")), ""
    return _LUA_TEMPLATE % {
        "authorization": _lua_string(f"Bearer {token}"),
        "body_prefix": _lua_string(prefix),
        "body_suffix": _lua_string(suffix),
        "unique": "true" if unique_name else "false",
        "name_stem": _lua_string(stem),
        "path": _lua_string(path),
        "marker": _lua_string(_RESULT_MARKER),
    }


def _parse_result(stdout: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith(_RESULT_MARKER):
            parsed: dict[str, Any] = json.loads(line[len(_RESULT_MARKER) :])
            return parsed
    raise WrkError(f"wrk printed no result line; its output was:\n{stdout[-2000:]}")


def run_wrk(
    url: str,
    *,
    token: str,
    body_json: dict[str, Any],
    seconds: float,
    connections: int,
    threads: int = 1,
    server_count: Callable[[], int] | None = None,
    unique_name: bool = True,
    timeout_s: float = 10.0,
) -> WrkResult:
    """POST ``body_json`` to ``url`` with wrk for ``seconds`` over ``connections`` connections.

    ``unique_name`` replaces ``metadata.name`` (or ``generateName``, used as the stem) by a name
    unique per request and per run; pass False to send ``body_json`` unchanged, e.g. to let the
    server apply ``generateName``. ``server_count`` is sampled before and after the run (see the
    module docstring). ``timeout_s`` is wrk's per-request timeout; a request slower than that is
    a socket error, not a latency sample.
    """
    wrk = shutil.which("wrk")
    if wrk is None:
        raise WrkError("wrk not found; install it with: apt-get install -y wrk")
    _, sep, rest = url.partition("://")
    path = "/" + rest.partition("/")[2] if sep else "/"
    with tempfile.TemporaryDirectory(prefix="kubenb-wrk-") as tmp:
        script = Path(tmp) / "create.lua"
        script.write_text(
            _wrk_script(path=path, token=token, body_json=body_json, unique_name=unique_name)
        )
        argv = [
            wrk,
            f"--threads={threads}",
            f"--connections={max(connections, threads)}",
            f"--duration={max(1, round(seconds))}s",
            f"--timeout={max(1, round(timeout_s))}s",
            f"--script={script}",
            url,
        ]
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        # Output goes to files, not pipes: a pipe nobody reads until wrk exits could fill up.
        with out_path.open("wb") as out, err_path.open("wb") as err:
            before = server_count() if server_count is not None else 0
            started = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            try:
                # wait4 gives this child's own CPU use (RUSAGE_CHILDREN would sum every child's).
                _, status, usage = os.wait4(proc.pid, 0)
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            proc.returncode = os.waitstatus_to_exitcode(status)
            window = time.perf_counter() - started
            after = server_count() if server_count is not None else 0
        stdout = out_path.read_text(errors="replace")
        stderr = err_path.read_text(errors="replace")
    if proc.returncode != 0:
        raise WrkError(f"wrk exited with {proc.returncode}: {stderr.strip() or stdout[-2000:]}")
    raw = _parse_result(stdout)
    duration = raw["duration_us"] / 1e6 or float("nan")
    server_creates = after - before if server_count is not None else None
    return WrkResult(
        requests=raw["requests"],
        duration_s=duration,
        requests_per_s=raw["requests"] / duration,
        creates_per_s=raw["ok"] / duration,
        latency_p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        non_2xx=raw["bad"],
        socket_errors=raw["socket_errors"],
        first_non_2xx=raw["first_bad"],
        client_cpu_frac=(usage.ru_utime + usage.ru_stime) / window,
        server_creates=server_creates,
        server_window_s=window if server_count is not None else None,
        server_creates_per_s=server_creates / window if server_creates is not None else None,
    )


def format_line(label: str, result: WrkResult) -> str:
    """One result as ``label  creates/s=N  p50=Xms  p99=Yms`` plus what qualifies it.

    creates/s is the server-side figure when there is one, else the client's 2xx rate.
    """
    rate = result["server_creates_per_s"]
    if rate is None:
        rate = result["creates_per_s"]
    parts = [
        f"{label:<24}",
        f"creates/s={rate:.0f}",
        f"p50={result['latency_p50_ms']:.1f}ms",
        f"p99={result['p99_ms']:.1f}ms",
        f"client-2xx/s={result['creates_per_s']:.0f}",
        f"non2xx={result['non_2xx']}",
        f"sockerr={result['socket_errors']}",
        f"wrk-cpu={result['client_cpu_frac']:.0%}",
    ]
    line = "  ".join(parts)
    if result["first_non_2xx"]:
        line += f"\n    first non-2xx: {result['first_non_2xx'][:200]!r}"
    return line


def tls_files(
    directory: Path, *, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
) -> tuple[Path, Path]:
    """Write a throwaway CA-signed server certificate and key into ``directory``; return both."""
    import trustme  # only the bench needs it; keep importing this module cheap

    ca = trustme.CA()
    cert = ca.issue_cert(*hosts)
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(str(cert_path), append=True)
    cert.private_key_pem.write_to_path(str(key_path))
    return cert_path, key_path


def server_ssl_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    """A server-side TLS context for the pair from ``tls_files``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert_path), str(key_path))
    return context


def loopback_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1, not yet listening (servers call listen)."""
    # proto must be IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY on accepted sockets
    # only when it sees that proto, and without it a server that writes a response in two parts
    # (uvicorn) waits ~40 ms per request on Nagle + delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Counter(Protocol):
    """The shared integer a server process bumps once per object it created."""

    value: int


@dataclass(frozen=True)
class ServerProcess:
    """A server running in a child process: where it listens and how many objects it created."""

    port: int
    counter: Counter
    process: multiprocessing.process.BaseProcess

    def count(self) -> int:
        """The server's create count right now: pass as ``run_wrk(server_count=...)``."""
        return self.counter.value


@contextmanager
def serve_in_process(
    target: Callable[..., None],
    *args: Any,
    ready_timeout_s: float = 60.0,
) -> Iterator[ServerProcess]:
    """Run ``target(ready, counter, *args)`` in a fresh (spawned) process until the block exits.

    ``target`` must be importable by module path, bind 127.0.0.1, send its port through
    ``ready`` (a Connection) once it accepts connections, then serve forever, adding 1 to
    ``counter.value`` per object created. A separate process keeps the server's GIL and event
    loop apart from this one's, so only wrk and the server share the machine's two cores.
    """
    ctx = multiprocessing.get_context("spawn")
    # Only the server writes it and a torn read is impossible for an aligned int64: no lock.
    counter = ctx.Value("q", 0, lock=False)
    parent_end, child_end = ctx.Pipe(duplex=False)
    process = ctx.Process(target=target, args=(child_end, counter, *args), daemon=True)
    process.start()
    child_end.close()
    try:
        if not parent_end.poll(ready_timeout_s):
            raise RuntimeError(
                f"server process {target.__name__} did not become ready in {ready_timeout_s}s"
            )
        port = int(parent_end.recv())
        yield ServerProcess(port=port, counter=counter, process=process)
    except EOFError:
        raise RuntimeError(f"server process {target.__name__} died before it was ready") from None
    finally:
        parent_end.close()
        process.terminate()
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()
