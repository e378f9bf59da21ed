"""What a simulated container does: its program, run on the cluster clock, read from its spec.

A tutorial's pods behave as on a real cluster when the simulation understands what they run:
``sleep 3600``, ``sh -c "echo hello; exit 1"``, the counter loop of the logging docs
(``i=0; while true; do echo "$i: $(date)"; i=$((i+1)); sleep 1; done``), the liveness example
(``touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600``), or an image with no command at
all (nginx serves, busybox exits at once). So this module holds a small POSIX-shell interpreter
whose commands take *simulated* time: ``sleep`` advances the program's clock instead of waiting.

A program is a generator of timed events, offsets in seconds from the container's start:
output lines (what ``kubectl logs`` shows), files created and removed (what exec probes such as
``cat /tmp/healthy`` look at), the exit code, or "runs until stopped". Nothing is stored while a
container runs: the kubelet asks :func:`outcome` once per start (when does it exit, with which
code), and :func:`log_lines` replays the program up to "now" whenever logs are read, which keeps a
never-ending logging loop free (no timers, no memory).

What is understood: ``;`` ``&&`` ``||`` ``|`` ``!``, ``while``/``until``/``for``/``if``,
``{ }`` and ``( )``, variables and ``export``, ``$VAR`` ``${VAR:-x}`` ``$?`` ``$(cmd)`` `` `cmd` ``
``$((i+1))``, redirections to files and ``/dev/null``, and the commands ``echo printf sleep
exit true false : printenv env date hostname cat seq head tail grep wc sort tee touch rm mkdir
test [ read wait trap`` (plus silent ones such as ``cd`` or ``apk add``). Anything else is taken
for a server process that runs until it is stopped.
"""

from __future__ import annotations

import ast
import datetime
import functools
import math
import operator
import re
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kubenb.sim.images import Image

__all__ = [
    "EXIT", "FILE", "FOREVER", "NOEXIT", "OUT", "RUNS_FOREVER", "Context", "Outcome", "Program",
    "log_lines",
    "outcome", "program_for", "run_probe",
]

# event kinds
OUT, FILE, EXIT, FOREVER, NOEXIT, TICK = range(6)
Event = tuple[float, int, Any]

#: a loop iteration takes this much simulated time, so a loop with no sleep still moves on
_ITERATION = 0.001
#: how many events one replay may take before the program is assumed to go on for ever
_BUDGET = 20_000
_LOG_BUDGET = 400_000


@dataclass(frozen=True)
class Context:
    """What a container sees when it starts: its environment, hostname and the clock."""

    env: tuple[tuple[str, str], ...] = ()
    hostname: str = "pod"
    start: float = 0.0  # Unix seconds at the container's start
    stdin: bool = False  # spec.stdin (an interactive shell waits for input)
    #: the files there at the start (path, content): what its volumes hold
    files: tuple[tuple[str, str], ...] = ()
    #: ``(host, port, path) -> (status, body) | error text | None`` for ``curl`` and ``wget``:
    #: given to ``kubectl exec`` commands, which run at one moment of the cluster; a program's
    #: run is replayed at other moments, so there they succeed silently (None: unresolvable)
    http: Callable[[str, int, str], Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Outcome:
    """How one run of a program ends."""

    exit_after: float | None  # seconds after the start; None: runs until stopped
    code: int = 0
    #: (offset, path, content or None when removed): what exec probes look at
    files: tuple[tuple[float, str, str | None], ...] = ()


RUNS_FOREVER = Outcome(None)


class Program:
    """A container's program; shared by every container with the same image and command."""

    def run(self, ctx: Context) -> Iterator[Event]:
        raise NotImplementedError

    def outcome(self, ctx: Context) -> Outcome | None:
        """A shortcut for :func:`outcome` when the answer is known without a replay."""
        return None


# ---------------------------------------------------------------------------------------------
# simple programs


def _fill(line: str, ctx: Context, tag: str) -> str:
    """Fill ``{time:<fmt>}``, ``{tag}``, ``{hostname}`` and ``{ip}`` in an image's start line."""
    if "{" not in line:
        return line
    when = datetime.datetime.fromtimestamp(ctx.start, datetime.UTC)

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key.startswith("time:"):
            return when.strftime(key[5:])
        if key == "tag":
            return tag
        if key == "hostname":
            return ctx.hostname
        if key == "ip":
            return dict(ctx.env).get("POD_IP", "10.244.0.2")
        return m.group(0)

    return re.sub(r"\{(time:[^}]*|tag|hostname|ip)\}", sub, line)


class Server(Program):
    """Logs its start lines, then runs until stopped."""

    def __init__(self, lines: Sequence[str] = (), tag: str = "latest") -> None:
        self.lines = tuple(lines)
        self.tag = tag

    def run(self, ctx: Context) -> Iterator[Event]:
        for line in self.lines:
            yield (0.0, OUT, _fill(line, ctx, self.tag))
        yield (0.0, FOREVER, None)

    def outcome(self, ctx: Context) -> Outcome | None:
        return RUNS_FOREVER


class Finite(Program):
    """Prints its lines over ``seconds`` and exits with ``code``."""

    def __init__(self, lines: Sequence[str] = (), code: int = 0, seconds: float = 0.0) -> None:
        self.lines = tuple(lines)
        self.code = code
        self.seconds = seconds

    def run(self, ctx: Context) -> Iterator[Event]:
        for line in self.lines:
            yield (0.0, OUT, _fill(line, ctx, ""))
        yield (self.seconds, EXIT, self.code)

    def outcome(self, ctx: Context) -> Outcome | None:
        return Outcome(self.seconds, self.code)


class Script(Program):
    """A parsed shell script (or a command in exec form) interpreted on simulated time."""

    def __init__(self, node: Node, argv0: str = "sh", args: tuple[str, ...] = ()) -> None:
        self.node = node
        self.argv0 = argv0
        self.args = args

    def run(self, ctx: Context) -> Iterator[Event]:
        shell = Shell(ctx, self.argv0, self.args)
        return shell.main(self.node)


# ---------------------------------------------------------------------------------------------
# programs from a container spec

_SHELLS = {"sh", "bash", "ash", "dash", "zsh", "ksh"}
#: commands that start a known server, and what it logs
_SERVER_COMMANDS: dict[str, tuple[str, ...]] = {}


def _server_lines() -> None:
    from kubenb.sim.images import KNOWN

    lib = "docker.io/library/"
    _SERVER_COMMANDS.update({
        "nginx": KNOWN[lib + "nginx"].lines[-3:],
        "redis-server": KNOWN[lib + "redis"].lines,
        "postgres": KNOWN[lib + "postgres"].lines[1:],
        "mysqld": KNOWN[lib + "mysql"].lines,
        "httpd-foreground": KNOWN[lib + "httpd"].lines,
        "rails": KNOWN[lib + "rails"].lines,
        "puma": KNOWN[lib + "rails"].lines[3:],
    })


@functools.lru_cache(maxsize=2048)
def program_for(argv: tuple[str, ...], image: Image | None, tag: str = "latest",
                stdin: bool = False) -> Program:
    """The program a container runs: ``argv`` is ``command + args`` after Kubernetes'
    ``$(VAR)`` expansion; empty means the image's default."""
    if not argv:
        if image is None or image.kind == "server":
            return Server(image.lines if image else (), tag)
        if image.kind == "job":
            return Finite(image.lines)
        return Server() if stdin else Finite()  # a shell with no input exits at once
    name = argv[0].rsplit("/", 1)[-1]
    if name in _SHELLS:
        script, rest = _shell_args(argv[1:])
        if script is None:
            return Server() if stdin or rest else Finite()
        try:
            node = parse(script)
        except ShellSyntaxError as exc:
            return Finite([f"{name}: syntax error: {exc}"], code=2)
        return Script(node, rest[0] if rest else name, tuple(rest[1:]))
    if name in _BUILTINS or name in _QUIET or name in ("perl", "python", "python3"):
        if name == "perl" and any("bpi(" in a for a in argv):
            digits = int(re.search(r"bpi\((\d+)\)", " ".join(argv)).group(1))  # type: ignore[union-attr]
            return Finite([_pi(digits)], seconds=round(min(digits, 100_000) / 400, 3))
        if name.startswith("python") and argv[1:3] == ("-m", "http.server"):
            port = argv[3] if len(argv) > 3 else "8000"
            return Server([f"Serving HTTP on 0.0.0.0 port {port} (http://0.0.0.0:{port}/) ..."])
        if name in _BUILTINS or name in _QUIET:
            return Script(Simple((), tuple(Word(((_LIT, a),)) for a in argv), ()))
    if not _SERVER_COMMANDS:
        _server_lines()
    if name in _SERVER_COMMANDS:
        return Server(_SERVER_COMMANDS[name], tag)
    if name == "bundle" and "rails" in argv:
        return Server(_SERVER_COMMANDS["rails"], tag)
    if image is not None and image.kind == "server":
        return Server(image.lines, tag)
    return Server()


def _shell_args(args: Sequence[str]) -> tuple[str | None, list[str]]:
    """``sh -c SCRIPT [name args...]`` (options such as ``-e``, ``-ec``, ``-o pipefail``)."""
    i, command = 0, False
    while i < len(args):
        a = args[i]
        if a in ("-o", "+o"):
            i += 2
            continue
        if a.startswith(("-", "+")) and len(a) > 1 and a != "--":
            command = command or "c" in a
            i += 1
            continue
        if a == "--":
            i += 1
        break
    rest = list(args[i:])
    if command:
        if not rest:
            return "", []
        return rest[0], rest[1:]
    return None, rest


def _pi(digits: int) -> str:
    """``digits`` significant digits of pi (Machin's formula), as ``perl -Mbignum=bpi``."""
    digits = max(1, min(digits, 100_000))
    guard = 10
    scale = 10 ** (digits + guard)

    def arctan_inv(x: int) -> int:
        total = term = scale // x
        n, sign, x2 = 1, -1, x * x
        while term:
            term //= x2
            n += 2
            total += sign * (term // n)
            sign = -sign
        return total

    pi = 4 * (4 * arctan_inv(5) - arctan_inv(239))
    text = str((pi // 10 ** guard + 5) // 10)  # rounded in the last digit, as bignum
    return text[0] + ("." + text[1:digits] if digits > 1 else "")


# ---------------------------------------------------------------------------------------------
# running programs


def outcome(program: Program, ctx: Context) -> Outcome:
    """Replay ``program`` until it exits, or until it is clear it never will."""
    known = program.outcome(ctx)
    if known is not None:
        return known
    files: list[tuple[float, str, str | None]] = []
    for n, (t, kind, payload) in enumerate(program.run(ctx)):
        if kind == EXIT:
            return Outcome(t, int(payload), tuple(files))
        if kind in (FOREVER, NOEXIT) or n > _BUDGET:
            return Outcome(None, 0, tuple(files))
        if kind == FILE:
            files.append((t, payload[0], payload[1]))
    return Outcome(None, 0, tuple(files))  # pragma: no cover: programs end with EXIT/FOREVER


def log_lines(program: Program, ctx: Context, until: float,
              limit: int = 100_000) -> list[tuple[float, str]]:
    """The lines ``program`` has written ``until`` seconds after its start (at most the last
    ``limit``), each with its offset."""
    out: deque[tuple[float, str]] = deque(maxlen=limit)
    for n, (t, kind, payload) in enumerate(program.run(ctx)):
        if t > until + 1e-9:
            break
        if kind == OUT:
            out.append((t, payload))
        elif kind in (EXIT, FOREVER) or n > _LOG_BUDGET:
            break
    return list(out)


def files_at(timeline: Sequence[tuple[float, str, str | None]],
             at: float) -> dict[str, str | None]:
    """The files a program has touched, as they are ``at`` seconds after its start."""
    state: dict[str, str | None] = {}
    for t, path, content in timeline:
        if t > at:
            break
        state[path] = content
    return state


def run_probe(argv: Sequence[str], ctx: Context,
              files: dict[str, str | None]) -> tuple[int, str]:
    """Run an exec probe's command against the container's files; (exit code, output)."""
    code, output, _written = run_command(argv, ctx, files)
    return code, output


def run_command(argv: Sequence[str], ctx: Context, files: dict[str, str | None]
                ) -> tuple[int, str, dict[str, str | None]]:
    """Run a command (``kubectl exec``, an exec probe) against the container's files:
    (exit code, output, the files it wrote or removed, None for removed)."""
    program = program_for(tuple(argv), None)
    if not isinstance(program, Script):
        return 0, "", {}
    shell = Shell(ctx, program.argv0, program.args)
    shell.files.update(files)
    shell.touched.update(files)
    lines: list[str] = []
    written: dict[str, str | None] = {}
    code = 0
    for n, (_t, kind, payload) in enumerate(shell.main(program.node)):
        if kind == OUT:
            lines.append(payload)
        elif kind == FILE:
            written[payload[0]] = payload[1]
        elif kind == EXIT:
            code = int(payload)
            break
        elif kind in (FOREVER, NOEXIT) or n > 1000:
            break
    return code, "\n".join(lines), written


# ---------------------------------------------------------------------------------------------
# the shell: tokens


class ShellSyntaxError(ValueError):
    pass


_LIT, _DQ, _UQ = 0, 1, 2  # word parts: literal, double-quoted (expand), unquoted (expand+split)


@dataclass(frozen=True)
class Word:
    parts: tuple[tuple[int, str], ...]

    @property
    def plain(self) -> str | None:
        """The text of an unquoted word without expansions (keywords, names), else None."""
        if len(self.parts) == 1 and self.parts[0][0] == _UQ and "$" not in self.parts[0][1] \
                and "`" not in self.parts[0][1]:
            return self.parts[0][1]
        return None

    @property
    def raw(self) -> str:
        return "".join(text for _, text in self.parts)


_OPS = ("&&", "||", ";;", ">>", "&>", ">&", "2>&1", "1>&2", "2>>", "2>", "1>", ";", "&", "|",
        "(", ")", "<", ">", "\n")
_KEYWORDS = {"while", "until", "for", "if", "then", "elif", "else", "fi", "do", "done", "in",
             "{", "}", "!"}


def _read_balanced(s: str, i: int, open_: str, close: str) -> int:
    """Index just past the ``close`` matching the ``open_`` before ``i`` (quotes respected)."""
    depth = 1
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            j = s.find("'", i + 1)
            i = (j if j >= 0 else len(s) - 1) + 1
            continue
        if c == '"':
            i = _read_dq(s, i + 1)[1]
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ShellSyntaxError(f"unterminated {open_!r}")


def _read_dq(s: str, i: int) -> tuple[str, int]:
    """The raw text of a double-quoted string starting at ``i``, and the index past it."""
    start = i
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return s[start:i], i + 1
        if c == "$" and s.startswith("$(", i):
            i = _read_balanced(s, i + 2, "(", ")")
            continue
        if c == "`":
            j = s.find("`", i + 1)
            i = (j if j >= 0 else len(s) - 1) + 1
            continue
        i += 1
    raise ShellSyntaxError("unterminated quoted string")


def _flush_unquoted(parts: list[tuple[int, str]], buf: list[str]) -> None:
    if buf:
        parts.append((_UQ, "".join(buf)))
        buf.clear()


def tokenize(s: str) -> list[tuple[str, Any]]:
    """Words and operators; a comment runs to the end of its line."""
    tokens: list[tuple[str, Any]] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c in " \t\r":
            i += 1
            continue
        if c == "\\" and i + 1 < n and s[i + 1] == "\n":
            i += 2
            continue
        if c == "#":
            j = s.find("\n", i)
            i = n if j < 0 else j
            continue
        op = next((o for o in _OPS if s.startswith(o, i)), None)
        if op is not None and not (op[0].isdigit() and i > 0 and s[i - 1] not in " \t\n;&|"):
            tokens.append(("op", ";" if op == "\n" else op))
            i += len(op)
            continue
        parts: list[tuple[int, str]] = []
        buf: list[str] = []
        flush = functools.partial(_flush_unquoted, parts, buf)
        while i < n:
            c = s[i]
            if c in " \t\r\n;&|()<>":
                break
            if c == "\\":
                flush()
                if i + 1 < n:
                    parts.append((_LIT, s[i + 1]))
                i += 2
            elif c == "'":
                flush()
                j = s.find("'", i + 1)
                if j < 0:
                    raise ShellSyntaxError("unterminated quoted string")
                parts.append((_LIT, s[i + 1:j]))
                i = j + 1
            elif c == '"':
                flush()
                text, i = _read_dq(s, i + 1)
                parts.append((_DQ, text))
            elif c == "$" and s.startswith("$(", i):
                end = _read_balanced(s, i + 2, "(", ")")
                buf.append(s[i:end])
                i = end
            elif c == "$" and s.startswith("${", i):
                end = s.find("}", i)
                if end < 0:
                    raise ShellSyntaxError("bad substitution")
                buf.append(s[i:end + 1])
                i = end + 1
            elif c == "`":
                j = s.find("`", i + 1)
                if j < 0:
                    raise ShellSyntaxError("unterminated `")
                buf.append(s[i:j + 1])
                i = j + 1
            else:
                buf.append(c)
                i += 1
        flush()
        if not parts:  # pragma: no cover: every character is consumed above
            raise ShellSyntaxError(f"unexpected {s[i]!r}")
        tokens.append(("word", Word(tuple(parts))))
    return tokens


# ---------------------------------------------------------------------------------------------
# the shell: syntax tree


class Node:
    __slots__ = ()


@dataclass(frozen=True)
class Simple(Node):
    assigns: tuple[tuple[str, Word], ...]
    words: tuple[Word, ...]
    redirs: tuple[tuple[str, Word | None], ...]


@dataclass(frozen=True)
class Seq(Node):
    items: tuple[tuple[str, Node], ...]  # (";" | "&&" | "||" | "&", node): how it follows


@dataclass(frozen=True)
class Pipe(Node):
    stages: tuple[Node, ...]
    negate: bool = False


@dataclass(frozen=True)
class Loop(Node):
    cond: Node
    body: Node
    until: bool
    endless: bool  # the condition is always true and the body cannot leave the loop


@dataclass(frozen=True)
class For(Node):
    var: str
    words: tuple[Word, ...] | None
    body: Node


@dataclass(frozen=True)
class If(Node):
    branches: tuple[tuple[Node, Node], ...]
    otherwise: Node | None


@dataclass(frozen=True)
class Group(Node):
    body: Node
    subshell: bool


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=")


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def keyword(self) -> str | None:
        tok = self.peek()
        if tok is not None and tok[0] == "word":
            plain = tok[1].plain
            if plain in _KEYWORDS:
                return plain
        return None

    def expect(self, kw: str) -> None:
        if self.keyword() != kw:
            tok = self.peek()
            found = "end of file" if tok is None else (
                tok[1].raw if tok[0] == "word" else tok[1])
            raise ShellSyntaxError(f"unexpected {found!r} (expecting {kw!r})")
        self.i += 1

    def skip_separators(self) -> None:
        while (tok := self.peek()) is not None and tok == ("op", ";"):
            self.i += 1

    def parse_list(self, stops: frozenset[str] = frozenset()) -> Node:
        items: list[tuple[str, Node]] = []
        while True:
            self.skip_separators()
            tok = self.peek()
            if tok is None or tok == ("op", ")") or self.keyword() in stops:
                break
            first = len(items)
            self.parse_and_or(items)
            tok = self.peek()
            if tok == ("op", "&"):  # the and-or list just read runs in the background
                self.i += 1
                job = items[first][1] if len(items) - first == 1 else Seq(tuple(items[first:]))
                del items[first:]
                items.append(("&", job))
            elif tok == ("op", ";"):
                self.i += 1
        if len(items) == 1 and items[0][0] == ";":
            return items[0][1]
        return Seq(tuple(items))

    def parse_and_or(self, items: list[tuple[str, Node]]) -> None:
        items.append((";", self.parse_pipeline()))
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in ("&&", "||"):
            self.i += 1
            self.skip_separators()
            items.append((tok[1], self.parse_pipeline()))

    def parse_pipeline(self) -> Node:
        negate = False
        if self.keyword() == "!":
            self.i += 1
            negate = True
        stages = [self.parse_command()]
        while self.peek() == ("op", "|"):
            self.i += 1
            self.skip_separators()
            stages.append(self.parse_command())
        if len(stages) == 1 and not negate:
            return stages[0]
        return Pipe(tuple(stages), negate)

    def parse_command(self) -> Node:
        kw = self.keyword()
        if kw in ("while", "until"):
            self.i += 1
            cond = self.parse_list(frozenset({"do"}))
            self.expect("do")
            body_start = self.i
            body = self.parse_list(frozenset({"done"}))
            body_tokens = self.toks[body_start:self.i]
            self.expect("done")
            endless = _always(cond, kw == "until") and not any(
                t[0] == "word" and t[1].plain in ("exit", "break", "return")
                for t in body_tokens)
            return Loop(cond, body, kw == "until", endless)
        if kw == "for":
            self.i += 1
            tok = self.peek()
            if tok is None or tok[0] != "word" or not _NAME.match(tok[1].raw):
                raise ShellSyntaxError("bad for loop variable")
            var = tok[1].raw
            self.i += 1
            words: list[Word] | None = None
            self.skip_separators()
            if self.keyword() == "in":
                self.i += 1
                words = []
                while (tok := self.peek()) is not None and tok[0] == "word":
                    words.append(tok[1])
                    self.i += 1
            self.skip_separators()
            self.expect("do")
            body = self.parse_list(frozenset({"done"}))
            self.expect("done")
            return For(var, None if words is None else tuple(words), body)
        if kw == "if":
            self.i += 1
            branches = []
            otherwise = None
            while True:
                cond = self.parse_list(frozenset({"then"}))
                self.expect("then")
                body = self.parse_list(frozenset({"elif", "else", "fi"}))
                branches.append((cond, body))
                kw2 = self.keyword()
                self.i += 1
                if kw2 == "elif":
                    continue
                if kw2 == "else":
                    otherwise = self.parse_list(frozenset({"fi"}))
                    self.expect("fi")
                elif kw2 != "fi":
                    raise ShellSyntaxError("unexpected end of file (expecting 'fi')")
                break
            return If(tuple(branches), otherwise)
        if kw == "{":
            self.i += 1
            body = self.parse_list(frozenset({"}"}))
            self.expect("}")
            return Group(body, subshell=False)
        if self.peek() == ("op", "("):
            self.i += 1
            body = self.parse_list()
            if self.peek() != ("op", ")"):
                raise ShellSyntaxError("unexpected end of file (expecting ')')")
            self.i += 1
            return Group(body, subshell=True)
        return self.parse_simple()

    def parse_simple(self) -> Node:
        assigns: list[tuple[str, Word]] = []
        words: list[Word] = []
        redirs: list[tuple[str, Word | None]] = []
        while (tok := self.peek()) is not None:
            kind, value = tok
            if kind == "op":
                if value in (">", ">>", "<", "2>", "2>>", "&>", "1>"):
                    self.i += 1
                    target = self.peek()
                    if target is None or target[0] != "word":
                        raise ShellSyntaxError("syntax error: unexpected redirection")
                    self.i += 1
                    redirs.append((value, target[1]))
                    continue
                if value in ("2>&1", "1>&2", ">&"):
                    self.i += 1
                    if value == ">&" and (t := self.peek()) is not None and t[0] == "word":
                        self.i += 1
                    redirs.append((value, None))
                    continue
                break
            if not words and (m := _ASSIGN.match(value.raw)) and value.parts[0][0] == _UQ \
                    and value.parts[0][1].startswith(m.group(0)):
                name = m.group(1)
                first = value.parts[0]
                rest = ((first[0], first[1][len(m.group(0)):]), *value.parts[1:])
                assigns.append((name, Word(tuple(p for p in rest if p[1] or p[0] != _UQ))))
                self.i += 1
                continue
            if words and value.plain in ("}",) and not redirs:
                break
            if not words and value.plain in _KEYWORDS - {"{", "}", "!"} and value.plain not in (
                    "in",):
                raise ShellSyntaxError(f"unexpected {value.plain!r}")
            words.append(value)
            self.i += 1
        if not assigns and not words and not redirs:
            tok = self.peek()
            found = "end of file" if tok is None else (tok[1].raw if tok[0] == "word" else tok[1])
            raise ShellSyntaxError(f"unexpected {found!r}")
        return Simple(tuple(assigns), tuple(words), tuple(redirs))


def _always(cond: Node, until: bool) -> bool:
    """Whether a loop condition is constant: ``while true``/``while :``/``until false``."""
    if isinstance(cond, Simple) and len(cond.words) == 1 and not cond.assigns:
        word = cond.words[0].plain
        return word in (("false",) if until else ("true", ":"))
    return isinstance(cond, Simple) and not until and [w.raw for w in cond.words] in (
        ["[", "1", "]"], ["[", "true", "]"])


@functools.lru_cache(maxsize=1024)
def parse(script: str) -> Node:
    """Parse a script (cached: every replica of a Deployment runs the same one)."""
    parser = _Parser(tokenize(script))
    node = parser.parse_list()
    if parser.peek() is not None:
        tok = parser.peek()
        assert tok is not None
        raise ShellSyntaxError(f"unexpected {tok[1].raw if tok[0] == 'word' else tok[1]!r}")
    return node


# ---------------------------------------------------------------------------------------------
# the shell: execution


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class _Forever(Exception):
    """The program blocks until it is stopped (a server, ``sleep infinity``, ``tail -f``)."""


class _Break(Exception):
    def __init__(self, levels: int, cont: bool) -> None:
        self.levels = levels
        self.cont = cont


#: commands with no output that succeed at once
_QUIET = {"cd", "mkdir", "cp", "mv", "chmod", "chown", "ln", "set", "unset", "ulimit", "umask",
          "source", ".", "apk", "apt", "apt-get", "yum", "dnf", "microdnf", "pip", "pip3",
          "nslookup", "dig", "host", "kill", "sync", "mount", "sysctl",
          "shift", "local", "readonly", "alias", "hash", "type", "command", "getent", "usermod",
          "useradd", "adduser", "addgroup", "groupadd", "update-ca-certificates", "npm", "yarn",
          "git", "tar", "gzip", "unzip", "sed", "awk", "chgrp", "install", "ping", "nc",
          "logger", "stty", "clear", "reset", "tput", "cut", "tr", "xargs", "find", "diff",
          "md5sum", "sha256sum", "base64", "stat", "file", "du", "df", "free", "ps", "top",
          "netstat", "ss", "ip", "ifconfig", "route", "iptables", "export"}


class Shell:
    """One run of a script: variables, files, the program's clock and its exit status."""

    def __init__(self, ctx: Context, argv0: str = "sh", args: Sequence[str] = ()) -> None:
        self.ctx = ctx
        self.env: dict[str, str] = dict(ctx.env)
        self.vars: dict[str, str] = dict(self.env)
        self.exported: set[str] = set(self.env)
        self.argv0 = argv0
        self.args = list(args)
        self.t = 0.0
        self.status = 0
        self.files: dict[str, str | None] = dict(ctx.files)
        self.touched: set[str] = set()
        self.capture: list[str] | None = None
        self.stdin: list[str] | None = None
        self.pending: list[Event] = []
        self.background = False
        self.loops = 0

    # -- entry point
    def main(self, node: Node) -> Iterator[Event]:
        try:
            yield from self.ex(node)
        except _Exit as e:
            yield (self.t, EXIT, e.code)
            return
        except _Forever:
            yield (self.t, FOREVER, None)
            return
        except _Break:
            pass
        yield (self.t, EXIT, self.status)

    # -- output
    def write(self, lines: Sequence[str]) -> Iterator[Event]:
        if self.capture is not None:
            self.capture.extend(lines)
            return
        for line in lines:
            yield (self.t, OUT, line)

    def set_file(self, path: str, content: str | None) -> Iterator[Event]:
        self.files[path] = content
        self.touched.add(path)
        yield (self.t, FILE, (path, content))

    def exists(self, path: str) -> bool:
        if path in self.files:
            return self.files[path] is not None
        return not path.startswith("/tmp/")  # an image's own files are there; /tmp starts empty

    # -- nodes
    def ex(self, node: Node) -> Iterator[Event]:
        if isinstance(node, Simple):
            yield from self.ex_simple(node)
        elif isinstance(node, Seq):
            for op, item in node.items:
                if (op == "&&" and self.status != 0) or (op == "||" and self.status == 0):
                    continue
                if op == "&":
                    self.background = True  # a background job: its output goes on, unwaited
                    continue
                yield from self.ex(item)
        elif isinstance(node, Pipe):
            yield from self.ex_pipe(node)
        elif isinstance(node, Loop):
            yield from self.ex_loop(node)
        elif isinstance(node, For):
            words = (self.expand_words(node.words) if node.words is not None
                     else list(self.args))
            yield from self._flush()
            self.status = 0
            for w in words:
                self.vars[node.var] = w
                began = self.t
                try:
                    yield from self.ex(node.body)
                except _Break as b:
                    if b.levels > 1:
                        raise _Break(b.levels - 1, b.cont) from None
                    if not b.cont:
                        break
                yield from self._iteration(began)
        elif isinstance(node, If):
            for cond, body in node.branches:
                yield from self.ex(cond)
                if self.status == 0:
                    yield from self.ex(body)
                    return
            if node.otherwise is not None:
                yield from self.ex(node.otherwise)
            else:
                self.status = 0
        elif isinstance(node, Group):
            if node.subshell:
                saved = (dict(self.vars), set(self.exported))
                try:
                    yield from self.ex(node.body)
                except _Exit as e:
                    self.status = e.code
                finally:
                    self.vars, self.exported = saved
            else:
                yield from self.ex(node.body)

    def ex_loop(self, node: Loop) -> Iterator[Event]:
        if node.endless:
            yield (self.t, NOEXIT, None)
        status = 0
        while True:
            began = self.t
            yield from self.ex(node.cond)
            if (self.status == 0) == node.until:
                break
            try:
                yield from self.ex(node.body)
                status = self.status
            except _Break as b:
                if b.levels > 1:
                    raise _Break(b.levels - 1, b.cont) from None
                if not b.cont:
                    break
            yield from self._iteration(began)
        self.status = status

    def _iteration(self, began: float) -> Iterator[Event]:
        """End of a loop iteration: one that took no simulated time still takes a little, so
        a loop without ``sleep`` moves on (and its replay can be cut off)."""
        if self.t == began:
            self.t += _ITERATION
        yield (self.t, TICK, None)

    def ex_pipe(self, node: Pipe) -> Iterator[Event]:
        stdin_saved, capture_saved = self.stdin, self.capture
        data: list[str] | None = None
        try:
            for i, stage in enumerate(node.stages):
                last = i == len(node.stages) - 1
                self.stdin = data
                if last:
                    self.capture = capture_saved
                    yield from self.ex(stage)
                else:
                    out: list[str] = []
                    self.capture = out
                    yield from self._bounded(stage)
                    data = out
        finally:
            self.stdin, self.capture = stdin_saved, capture_saved
        if node.negate:
            self.status = 0 if self.status else 1

    def _bounded(self, node: Node) -> Iterator[Event]:
        """Run a pipeline stage whose output feeds the next one (it must end)."""
        for n, ev in enumerate(self.ex(node)):
            if n > _BUDGET:
                raise _Forever()
            yield ev

    def _flush(self) -> Iterator[Event]:
        if self.pending:
            pending, self.pending = self.pending, []
            yield from pending

    def ex_simple(self, node: Simple) -> Iterator[Event]:
        argv = self.expand_words(node.words)
        values = [(name, self.expand_word(w, split=False)) for name, w in node.assigns]
        yield from self._flush()
        if not argv:
            for name, value in values:
                self.vars[name] = value
                if name in self.exported:
                    self.env[name] = value
            self.status = self.status if any(w.raw.startswith(("$(", "`")) for _, w in
                                             node.assigns) else 0
            return
        saved_env = None
        if values:
            saved_env = dict(self.env)
            for name, value in values:
                self.env[name] = value
        target: str | None = None
        append = False
        discard = False
        for op, word in node.redirs:
            if word is None:
                continue
            path = self.expand_word(word, split=False)
            if op in (">", ">>", "&>", "1>"):
                if path == "/dev/null":
                    discard = True
                elif path in ("/dev/stdout", "/dev/stderr", "/proc/1/fd/1", "/proc/1/fd/2"):
                    pass
                else:
                    target, append = path, op == ">>"
            elif op == "<" and self.exists(path):
                self.stdin = (self.files.get(path) or "").splitlines()
        capture_saved = self.capture
        out: list[str] = []
        if target is not None or discard:
            self.capture = out
        try:
            yield from self.command(argv)
        finally:
            self.capture = capture_saved
            if saved_env is not None:
                self.env = saved_env
        if target is not None:
            old = self.files.get(target) if append else None
            text = "\n".join(out)
            content = (old + "\n" + text if old else text) if append else text
            yield from self.set_file(target, content)

    # -- expansion
    def expand_words(self, words: Sequence[Word]) -> list[str]:
        out: list[str] = []
        for w in words:
            if len(w.parts) == 1 and w.parts[0][0] == _UQ:
                text = w.parts[0][1]
                if text in ("$@", "$*", '"$@"'):
                    out.extend(self.args)
                    continue
                value = self.expand_text(text)
                if "$" in text or "`" in text:
                    out.extend(value.split())
                else:
                    out.append(value)
            else:
                out.append(self.expand_word(w, split=False))
        return out

    def expand_word(self, w: Word, split: bool = False) -> str:
        del split
        return "".join(text if kind == _LIT else self.expand_text(text, dq=kind == _DQ)
                       for kind, text in w.parts)

    def expand_text(self, s: str, dq: bool = False) -> str:
        if "$" not in s and "`" not in s and "\\" not in s:
            return s
        out: list[str] = []
        i, n = 0, len(s)
        while i < n:
            c = s[i]
            if c == "\\" and dq and i + 1 < n and s[i + 1] in '$`"\\\n':
                out.append(s[i + 1])
                i += 2
            elif c == "`":
                j = s.find("`", i + 1)
                j = n if j < 0 else j
                out.append(self.substitute(s[i + 1:j]))
                i = j + 1
            elif c == "$" and s.startswith("$((", i):
                end = _read_balanced(s, i + 3, "(", ")")
                expr = s[i + 3:end - 1]
                if end < n and s[end] == ")":
                    end += 1
                else:
                    expr = expr[:-1] if expr.endswith(")") else expr
                out.append(str(self.arith(expr)))
                i = end
            elif c == "$" and s.startswith("$(", i):
                end = _read_balanced(s, i + 2, "(", ")")
                out.append(self.substitute(s[i + 2:end - 1]))
                i = end
            elif c == "$" and s.startswith("${", i):
                end = s.find("}", i)
                end = n if end < 0 else end
                out.append(self.param(s[i + 2:end]))
                i = end + 1
            elif c == "$" and i + 1 < n and (s[i + 1].isalnum() or s[i + 1] in "_?$#@*!-"):
                if s[i + 1].isdigit() or s[i + 1] in "?$#@*!-":
                    out.append(self.special(s[i + 1]))
                    i += 2
                else:
                    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", s[i + 1:])
                    assert m is not None
                    out.append(self.vars.get(m.group(0), ""))
                    i += 1 + m.end()
            else:
                out.append(c)
                i += 1
        return "".join(out)

    def special(self, c: str) -> str:
        if c == "?":
            return str(self.status)
        if c in "$!":
            return "1"
        if c == "#":
            return str(len(self.args))
        if c in "@*":
            return " ".join(self.args)
        if c == "-":
            return ""
        if c == "0":
            return self.argv0
        k = int(c)
        return self.args[k - 1] if k <= len(self.args) else ""

    def param(self, body: str) -> str:
        m = re.match(r"^(#?)([A-Za-z_][A-Za-z0-9_]*|[0-9?#@*])(?:(:?[-=+?])(.*))?$", body, re.S)
        if m is None:
            return ""
        length, name, op, word = m.groups()
        value = self.vars.get(name) if not (name.isdigit() or name in "?#@*") else \
            self.special(name)
        if length:
            return str(len(value or ""))
        if op is None:
            return value or ""
        empty = value is None or (op.startswith(":") and value == "")
        word = self.expand_text(word or "", dq=True)
        kind = op[-1]
        if kind == "-":
            return word if empty else value or ""
        if kind == "=":
            if empty:
                self.vars[name] = word
                return word
            return value or ""
        if kind == "+":
            return "" if empty else word
        return value or ""

    def substitute(self, script: str) -> str:
        """``$(cmd)``: run ``cmd`` in a subshell and take its output."""
        try:
            node = parse(script)
        except ShellSyntaxError:
            return ""
        saved = (self.capture, self.vars, self.exported, self.status)
        out: list[str] = []
        self.capture = out
        self.vars = dict(self.vars)
        n = 0
        try:
            for ev in self.ex(node):
                n += 1
                if ev[1] == FILE:
                    self.pending.append(ev)
                if n > _BUDGET:
                    raise _Forever()
        except _Exit as e:
            self.status = e.code
        finally:
            status = self.status
            self.capture, self.vars, self.exported, _ = saved
            self.status = status
        return "\n".join(out).rstrip("\n")

    def arith(self, expr: str) -> int:
        text = self.expand_text(expr, dq=True)
        text = text.replace("&&", " and ").replace("||", " or ")
        text = re.sub(r"!(?!=)", " not ", text)
        try:
            tree = ast.parse(text.strip() or "0", mode="eval")
            return int(_eval_arith(tree.body, self.vars))
        except (SyntaxError, ValueError, ZeroDivisionError, TypeError, KeyError):
            return 0

    # -- commands
    def command(self, argv: list[str]) -> Iterator[Event]:
        name = argv[0]
        base = name.rsplit("/", 1)[-1]
        fn = _BUILTINS.get(base)
        if fn is not None:
            yield from fn(self, argv)
            return
        if base in _QUIET:
            self.status = 0
            return
        if base in _SHELLS:
            script, rest = _shell_args(argv[1:])
            if script is None:
                if self.stdin is None:
                    self.status = 0
                    return
                script = "\n".join(self.stdin)
            try:
                node = parse(script)
            except ShellSyntaxError as exc:
                yield from self.write([f"{base}: syntax error: {exc}"])
                self.status = 2
                return
            sub = Shell(replace(self.ctx, env=tuple(self.env.items()), stdin=False, files=()),
                        rest[0] if rest else base, rest[1:])
            sub.t, sub.files, sub.capture, sub.stdin = self.t, self.files, self.capture, None
            for ev in sub.main(node):
                if ev[1] == EXIT:
                    self.status = int(ev[2])
                elif ev[1] == FOREVER:
                    raise _Forever()
                else:
                    yield ev
            self.t = sub.t
            return
        if base in ("exec", "nohup", "time", "timeout", "nice", "stdbuf"):
            rest = argv[1:]
            if base == "timeout" and rest:
                rest = rest[1:]
            while rest and rest[0].startswith("-") and base != "exec":
                rest = rest[1:]
            if rest:
                yield from self.command(rest)
            return
        if not _SERVER_COMMANDS:
            _server_lines()
        if base in _SERVER_COMMANDS:
            ctx = Context(tuple(self.env.items()), self.ctx.hostname, self.ctx.start + self.t)
            yield from self.write([_fill(line, ctx, "latest") for line in _SERVER_COMMANDS[base]])
        raise _Forever()  # a program the simulation does not know: a server


# -- builtins --------------------------------------------------------------------------------

Builtin = Callable[[Shell, list[str]], Iterator[Event]]
_BUILTINS: dict[str, Builtin] = {}


def _builtin(*names: str) -> Callable[[Builtin], Builtin]:
    def register(fn: Builtin) -> Builtin:
        for name in names:
            _BUILTINS[name] = fn
        return fn
    return register


def _ok(sh: Shell, status: int = 0) -> Iterator[Event]:
    sh.status = status
    return iter(())


@_builtin("true", ":")
def _true(sh: Shell, argv: list[str]) -> Iterator[Event]:
    return _ok(sh)


@_builtin("false")
def _false(sh: Shell, argv: list[str]) -> Iterator[Event]:
    return _ok(sh, 1)


@_builtin("exit", "return")
def _exit(sh: Shell, argv: list[str]) -> Iterator[Event]:
    code = sh.status
    if len(argv) > 1:
        try:
            code = int(argv[1]) & 0xFF
        except ValueError:
            code = 2
    raise _Exit(code)


@_builtin("break", "continue")
def _break(sh: Shell, argv: list[str]) -> Iterator[Event]:
    levels = int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 1
    raise _Break(levels, argv[0] == "continue")


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "a": "", "r": "", "e": "\x1b", "0": ""}


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), s)


@_builtin("echo")
def _echo(sh: Shell, argv: list[str]) -> Iterator[Event]:
    args = argv[1:]
    escapes = False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        escapes = escapes or "e" in args[0]
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text = _unescape(text)
    sh.status = 0
    yield from sh.write(text.split("\n"))


@_builtin("printf")
def _printf(sh: Shell, argv: list[str]) -> Iterator[Event]:
    if len(argv) < 2:
        sh.status = 1
        return
    fmt, args = _unescape(argv[1]), argv[2:]
    pieces: list[str] = []
    specs = len(re.findall(r"%[-+ 0#]*\d*(?:\.\d+)?[sdifxXc]", fmt))
    rounds = max(1, math.ceil(len(args) / specs)) if specs else 1
    it = iter(args)
    for _ in range(rounds):
        def conv(m: re.Match[str]) -> str:
            spec = m.group(0)
            value = next(it, "")
            try:
                if spec[-1] in "dixX":
                    return spec.replace(spec[-1], "d" if spec[-1] == "i" else spec[-1]) % int(
                        value or 0)
                if spec[-1] == "f":
                    return spec % float(value or 0)
                return spec % value
            except (ValueError, TypeError):
                return value
        pieces.append(re.sub(r"%[-+ 0#]*\d*(?:\.\d+)?[sdifxXc]|%%",
                             lambda m: "%" if m.group(0) == "%%" else conv(m), fmt))
    text = "".join(pieces)
    if text.endswith("\n"):
        text = text[:-1]
    sh.status = 0
    if text:
        yield from sh.write(text.split("\n"))


_DURATION = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$")


def parse_duration(text: str) -> float | None:
    """``sleep``'s argument in seconds; None when it is not a duration."""
    if text in ("infinity", "inf"):
        return math.inf
    m = _DURATION.match(text)
    if m is None:
        return None
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


@_builtin("sleep")
def _sleep(sh: Shell, argv: list[str]) -> Iterator[Event]:
    total = 0.0
    for arg in argv[1:]:
        d = parse_duration(arg)
        if d is None:
            yield from sh.write([f"sleep: invalid number '{arg}'"])
            sh.status = 1
            return
        total += d
    if math.isinf(total):
        raise _Forever()
    sh.t += total
    sh.status = 0
    yield (sh.t, TICK, None)


@_builtin("printenv", "env")
def _printenv(sh: Shell, argv: list[str]) -> Iterator[Event]:
    args = argv[1:]
    if argv[0] == "env":
        while args and (args[0].startswith("-") or "=" in args[0]):
            if "=" in args[0]:
                k, v = args[0].split("=", 1)
                sh.env[k] = v
            args = args[1:]
        if args:
            yield from sh.command(args)
            return
        args = []
    if args:
        values = [sh.env[a] for a in args if a in sh.env]
        sh.status = 0 if len(values) == len(args) else 1
        yield from sh.write(values)
        return
    sh.status = 0
    yield from sh.write([f"{k}={v}" for k, v in sh.env.items()])


@_builtin("export")
def _export(sh: Shell, argv: list[str]) -> Iterator[Event]:
    for arg in argv[1:]:
        if arg.startswith("-"):
            continue
        if "=" in arg:
            k, v = arg.split("=", 1)
            sh.vars[k] = v
        else:
            k = arg
        sh.exported.add(k)
        if k in sh.vars:
            sh.env[k] = sh.vars[k]
    return _ok(sh)


@_builtin("unset")
def _unset(sh: Shell, argv: list[str]) -> Iterator[Event]:
    for k in argv[1:]:
        sh.vars.pop(k, None)
        sh.env.pop(k, None)
    return _ok(sh)


@_builtin("date")
def _date(sh: Shell, argv: list[str]) -> Iterator[Event]:
    when = datetime.datetime.fromtimestamp(sh.ctx.start + sh.t, datetime.UTC)
    fmt = next((a[1:] for a in argv[1:] if a.startswith("+")), None)
    if fmt is None:
        text = when.strftime("%a %b %e %H:%M:%S UTC %Y")
    else:
        fmt = fmt.replace("%N", f"{when.microsecond * 1000:09d}").replace(
            "%s", str(int(when.timestamp())))
        text = when.strftime(fmt)
    sh.status = 0
    yield from sh.write([text])


@_builtin("hostname")
def _hostname(sh: Shell, argv: list[str]) -> Iterator[Event]:
    sh.status = 0
    yield from sh.write([sh.ctx.hostname if "-i" not in argv else sh.env.get("POD_IP", "")])


@_builtin("whoami")
def _whoami(sh: Shell, argv: list[str]) -> Iterator[Event]:
    sh.status = 0
    yield from sh.write(["root"])


@_builtin("pwd")
def _pwd(sh: Shell, argv: list[str]) -> Iterator[Event]:
    sh.status = 0
    yield from sh.write(["/"])


@_builtin("uname")
def _uname(sh: Shell, argv: list[str]) -> Iterator[Event]:
    sh.status = 0
    full = "-a" in argv
    yield from sh.write([f"Linux {sh.ctx.hostname} 6.1.0-kubenb #1 SMP x86_64 GNU/Linux"
                         if full else "Linux"])


@_builtin("cat")
def _cat(sh: Shell, argv: list[str]) -> Iterator[Event]:
    paths = [a for a in argv[1:] if not a.startswith("-") or a == "-"]
    if not paths:
        sh.status = 0
        yield from sh.write(sh.stdin or [])
        return
    sh.status = 0
    for path in paths:
        if path == "-":
            yield from sh.write(sh.stdin or [])
        elif path == "/etc/hostname":
            yield from sh.write([sh.ctx.hostname])
        elif not sh.exists(path):
            yield from sh.write([f"cat: can't open '{path}': No such file or directory"])
            sh.status = 1
        elif sh.files.get(path):
            yield from sh.write((sh.files[path] or "").split("\n"))


@_builtin("touch")
def _touch(sh: Shell, argv: list[str]) -> Iterator[Event]:
    for path in argv[1:]:
        if not path.startswith("-") and (not sh.exists(path) or path in sh.touched):
            yield from sh.set_file(path, sh.files.get(path) or "")
    sh.status = 0


@_builtin("rm")
def _rm(sh: Shell, argv: list[str]) -> Iterator[Event]:
    force = any(a.startswith("-") and "f" in a for a in argv[1:])
    sh.status = 0
    for path in argv[1:]:
        if path.startswith("-"):
            continue
        if not sh.exists(path) and not force:
            yield from sh.write([f"rm: can't remove '{path}': No such file or directory"])
            sh.status = 1
            continue
        yield from sh.set_file(path, None)


@_builtin("ls")
def _ls(sh: Shell, argv: list[str]) -> Iterator[Event]:
    paths = [a for a in argv[1:] if not a.startswith("-")]
    sh.status = 0
    for path in paths:
        if not sh.exists(path):
            yield from sh.write([f"ls: {path}: No such file or directory"])
            sh.status = 1
        elif path in sh.files:
            yield from sh.write([path])


@_builtin("seq")
def _seq(sh: Shell, argv: list[str]) -> Iterator[Event]:
    nums = [a for a in argv[1:] if not a.startswith("-") or a[1:].isdigit()]
    try:
        values = [int(a) for a in nums]
    except ValueError:
        sh.status = 1
        return
    first, step, last = 1, 1, 1
    if len(values) == 1:
        last = values[0]
    elif len(values) == 2:
        first, last = values
    elif len(values) >= 3:
        first, step, last = values[:3]
    if step == 0:
        sh.status = 1
        return
    count = max(0, (last - first) // step + 1)
    sh.status = 0
    yield from sh.write([str(first + k * step) for k in range(min(count, 100_000))])


def _n_arg(argv: list[str], default: int = 10) -> int:
    for i, a in enumerate(argv):
        if a == "-n" and i + 1 < len(argv):
            return int(argv[i + 1].lstrip("+") or default)
        if re.fullmatch(r"-n?\d+", a):
            return int(a.lstrip("-n"))
    return default


@_builtin("head")
def _head(sh: Shell, argv: list[str]) -> Iterator[Event]:
    sh.status = 0
    yield from sh.write((sh.stdin or [])[:_n_arg(argv)])


@_builtin("tail")
def _tail(sh: Shell, argv: list[str]) -> Iterator[Event]:
    if "-f" in argv or "-F" in argv or any(re.fullmatch(r"-\w*f\w*", a) for a in argv[1:]):
        raise _Forever()
    n = _n_arg(argv)
    sh.status = 0
    yield from sh.write((sh.stdin or [])[-n:] if n else [])


@_builtin("grep")
def _grep(sh: Shell, argv: list[str]) -> Iterator[Event]:
    """grep: ``-e PATTERN`` (repeatable) or the first operand, then files (else stdin);
    ``-i -v -c -q -F -E -w -x``, combinable (``-ic``)."""
    patterns: list[str] = []
    operands: list[str] = []
    flags = ""
    rest = iter(argv[1:])
    for a in rest:
        if a == "-e":
            patterns.append(next(rest, ""))
        elif a.startswith("-e") and len(a) > 2:
            patterns.append(a[2:])
        elif a == "--":
            operands.extend(rest)
        elif a.startswith("-") and len(a) > 1:
            flags += a[1:]
        else:
            operands.append(a)
    if not patterns:
        if not operands:
            sh.status = 2
            return
        patterns = [operands.pop(0)]
    rxs = []
    for pattern in patterns:
        text = re.escape(pattern) if "F" in flags else pattern
        if "w" in flags:
            text = rf"\b(?:{text})\b"
        if "x" in flags:
            text = rf"^(?:{text})$"
        try:
            rxs.append(re.compile(text, re.I if "i" in flags else 0))
        except re.error:
            rxs.append(re.compile(re.escape(pattern), re.I if "i" in flags else 0))
    lines = sh.stdin or []
    if operands:
        lines = [line for p in operands for line in (sh.files.get(p) or "").split("\n")]
    hits = [line for line in lines
            if any(rx.search(line) for rx in rxs) != ("v" in flags)]
    sh.status = 0 if hits else 1
    if "q" not in flags:
        yield from sh.write([str(len(hits))] if "c" in flags else hits)


def _fetch(sh: Shell, url: str) -> tuple[str, int, tuple[int, str] | str]:
    """GET ``url`` through the context's network: (host, port, then (status, body) or why it
    failed: ``resolve`` for a name nothing resolves, ``connect`` for nothing listening)."""
    if "://" not in url:
        url = "http://" + url
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    assert sh.ctx.http is not None
    reply = sh.ctx.http(host, port, path)
    if reply is None:
        return host, port, "resolve"
    if isinstance(reply, str):
        return host, port, "connect"
    return host, port, reply


def _body_lines(body: str) -> list[str]:
    lines = body.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


@_builtin("curl")
def _curl(sh: Shell, argv: list[str]) -> Iterator[Event]:
    """curl: ``-s -S -f -o FILE -I -w '%{http_code}'``; errors 6 (no such host), 7 (nothing
    listens), 22 (``-f`` and a status of 400 or more)."""
    if sh.ctx.http is None:
        sh.status = 0
        return
    flags, out, write_out, urls = "", None, None, []
    rest = iter(argv[1:])
    for a in rest:
        if a in ("-o", "--output"):
            out = next(rest, None)
        elif a in ("-w", "--write-out"):
            write_out = next(rest, None)
        elif a in ("-m", "--max-time", "--connect-timeout", "-H", "--header", "-X",
                   "--request", "-d", "--data", "-u", "--user", "-A", "--user-agent"):
            next(rest, None)
        elif a.startswith("--"):
            flags += {"--silent": "s", "--fail": "f", "--head": "I",
                      "--show-error": "S"}.get(a, "")
        elif a.startswith("-") and len(a) > 1:
            flags += a[1:]
        else:
            urls.append(a)
    if not urls:
        yield from sh.write(["curl: try 'curl --help' for more information"])
        sh.status = 2
        return
    for url in urls:
        host, port, got = _fetch(sh, url)
        if isinstance(got, str):
            if got == "resolve":
                message, sh.status = f"curl: (6) Could not resolve host: {host}", 6
            else:
                message, sh.status = (f"curl: (7) Failed to connect to {host} port {port} after "
                                      "0 ms: Couldn't connect to server"), 7
            if "s" not in flags or "S" in flags:
                yield from sh.write([message])
            return
        status, body = got
        if "f" in flags and status >= 400:
            if "s" not in flags or "S" in flags:
                yield from sh.write([f"curl: (22) The requested URL returned error: {status}"])
            sh.status = 22
            return
        if "I" in flags:
            yield from sh.write([f"HTTP/1.1 {status} {_REASONS.get(status, '')}".rstrip()])
        elif out is not None and out != "/dev/null":
            yield from sh.set_file(out, body)
        elif out is None:
            yield from sh.write(_body_lines(body))
        if write_out is not None:
            yield from sh.write([write_out.replace("%{http_code}", str(status))
                                 .replace("\\n", "")])
    sh.status = 0


_REASONS = {200: "OK", 404: "Not Found", 500: "Internal Server Error", 503:
            "Service Unavailable"}


@_builtin("wget")
def _wget(sh: Shell, argv: list[str]) -> Iterator[Event]:
    """busybox wget: ``-q``, ``-O FILE`` (``-`` for stdout, ``-qO-``), ``--spider``, ``-T``;
    without ``-O`` the page goes to ``index.html``."""
    if sh.ctx.http is None:
        sh.status = 0
        return
    quiet = spider = False
    out: str | None = None
    urls = []
    rest = iter(argv[1:])
    for a in rest:
        if a == "--spider":
            spider = True
        elif a in ("-T", "--timeout", "-U", "--user-agent", "--header"):
            next(rest, None)
        elif a == "--output-document":
            out = next(rest, "-")
        elif a.startswith("-O"):
            out = a[2:] or next(rest, "-")
        elif a.startswith("-") and not a.startswith("--"):
            quiet = quiet or "q" in a
            if "O" in a:
                after = a[a.index("O") + 1:]
                out = after or next(rest, "-")
        elif not a.startswith("-"):
            urls.append(a)
    sh.status = 0
    for url in urls:
        host, _port, got = _fetch(sh, url)
        if isinstance(got, str):
            yield from sh.write([f"wget: bad address '{host}'" if got == "resolve" else
                                 "wget: can't connect to remote host: Connection refused"])
            sh.status = 1
            return
        status, body = got
        if status >= 400:
            yield from sh.write([f"wget: server returned error: HTTP/1.1 {status} "
                                 f"{_REASONS.get(status, '')}".rstrip()])
            sh.status = 1
            return
        if spider:
            continue
        if out == "-":
            yield from sh.write(_body_lines(body))
        else:
            yield from sh.set_file(out or "index.html", body)
            if not quiet:
                yield from sh.write([f"saving to '{out or 'index.html'}'"])


@_builtin("wc")
def _wc(sh: Shell, argv: list[str]) -> Iterator[Event]:
    lines = sh.stdin or []
    sh.status = 0
    if "-l" in argv:
        yield from sh.write([str(len(lines))])
    elif "-w" in argv:
        yield from sh.write([str(sum(len(x.split()) for x in lines))])
    else:
        yield from sh.write([f"{len(lines)} {sum(len(x.split()) for x in lines)} "
                             f"{sum(len(x) + 1 for x in lines)}"])


@_builtin("sort")
def _sort(sh: Shell, argv: list[str]) -> Iterator[Event]:
    sh.status = 0
    yield from sh.write(sorted(sh.stdin or [], reverse="-r" in argv))


@_builtin("uniq")
def _uniq(sh: Shell, argv: list[str]) -> Iterator[Event]:
    out: list[str] = []
    for line in sh.stdin or []:
        if not out or out[-1] != line:
            out.append(line)
    sh.status = 0
    yield from sh.write(out)


@_builtin("tee")
def _tee(sh: Shell, argv: list[str]) -> Iterator[Event]:
    data = sh.stdin or []
    for path in argv[1:]:
        if not path.startswith("-") and path not in ("/dev/stdout", "/dev/stderr"):
            old = sh.files.get(path) if "-a" in argv else None
            text = "\n".join(data)
            yield from sh.set_file(path, (old + "\n" + text) if old else text)
    sh.status = 0
    yield from sh.write(data)


@_builtin("yes")
def _yes(sh: Shell, argv: list[str]) -> Iterator[Event]:
    word = " ".join(argv[1:]) or "y"
    if sh.capture is not None:  # feeding a pipe: its reader stops early (SIGPIPE)
        sh.status = 0
        yield from sh.write([word] * 1000)
        return
    while True:
        sh.t += _ITERATION
        yield from sh.write([word])
        yield (sh.t, TICK, None)


@_builtin("read")
def _read(sh: Shell, argv: list[str]) -> Iterator[Event]:
    if not sh.stdin:
        return _ok(sh, 1)
    line = sh.stdin.pop(0)
    names = [a for a in argv[1:] if not a.startswith("-")] or ["REPLY"]
    parts = line.split(None, len(names) - 1)
    for i, name in enumerate(names):
        sh.vars[name] = parts[i] if i < len(parts) else ""
    return _ok(sh)


@_builtin("wait")
def _wait(sh: Shell, argv: list[str]) -> Iterator[Event]:
    if sh.background:
        raise _Forever()
    return _ok(sh)


@_builtin("trap")
def _trap(sh: Shell, argv: list[str]) -> Iterator[Event]:
    return _ok(sh)


@_builtin("basename")
def _basename(sh: Shell, argv: list[str]) -> Iterator[Event]:
    sh.status = 0
    yield from sh.write([argv[1].rstrip("/").rsplit("/", 1)[-1]] if len(argv) > 1 else [])


@_builtin("dirname")
def _dirname(sh: Shell, argv: list[str]) -> Iterator[Event]:
    sh.status = 0
    path = argv[1].rstrip("/") if len(argv) > 1 else "."
    yield from sh.write([path.rsplit("/", 1)[0] or "/" if "/" in path else "."])


@_builtin("expr")
def _expr(sh: Shell, argv: list[str]) -> Iterator[Event]:
    value = sh.arith(" ".join(argv[1:]).replace("\\*", "*"))
    sh.status = 0 if value else 1
    yield from sh.write([str(value)])


@_builtin("test", "[", "[[")
def _test(sh: Shell, argv: list[str]) -> Iterator[Event]:
    args = argv[1:]
    if argv[0] in ("[", "[[") and args and args[-1] in ("]", "]]"):
        args = args[:-1]
    try:
        ok = _eval_test(sh, args)
    except (ValueError, IndexError):
        ok = False
    return _ok(sh, 0 if ok else 1)


def _eval_test(sh: Shell, args: list[str]) -> bool:
    for joiner in ("-o", "||", "-a", "&&"):
        if joiner in args:
            i = args.index(joiner)
            left, right = _eval_test(sh, args[:i]), _eval_test(sh, args[i + 1:])
            return (left or right) if joiner in ("-o", "||") else (left and right)
    if not args:
        return False
    if args[0] == "!":
        return not _eval_test(sh, args[1:])
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2:
        op, value = args
        if op == "-z":
            return value == ""
        if op == "-n":
            return value != ""
        if op in ("-e", "-f", "-d", "-s", "-r", "-w", "-x", "-L", "-h", "-p", "-S"):
            if op == "-s":
                return sh.exists(value) and bool(sh.files.get(value, "x"))
            return sh.exists(value)
        return False
    a, op, b = args[0], args[1], args[2]
    numeric = {"-eq": operator.eq, "-ne": operator.ne, "-lt": operator.lt, "-le": operator.le,
               "-gt": operator.gt, "-ge": operator.ge}
    if op in numeric:
        return bool(numeric[op](int(a), int(b)))
    if op in ("=", "=="):
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == ">":
        return a > b
    return False


_BINOPS: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv, ast.Div: lambda a, b: int(a / b), ast.Mod: operator.mod,
    ast.Pow: operator.pow, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
    ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor,
}
_CMPOPS: dict[type, Callable[[int, int], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}


def _eval_arith(node: ast.AST, env: dict[str, str]) -> int:
    """Shell arithmetic on integers (names are variables, unset ones 0)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.Name):
        try:
            return int(env.get(node.id, "0") or 0)
        except ValueError:
            return 0
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return int(_BINOPS[type(node.op)](_eval_arith(node.left, env),
                                          _eval_arith(node.right, env)))
    if isinstance(node, ast.UnaryOp):
        value = _eval_arith(node.operand, env)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.Not):
            return int(not value)
        if isinstance(node.op, ast.Invert):
            return ~value
        return value
    if isinstance(node, ast.Compare):
        left = _eval_arith(node.left, env)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval_arith(right_node, env)
            if type(op) not in _CMPOPS or not _CMPOPS[type(op)](left, right):
                return 0
            left = right
        return 1
    if isinstance(node, ast.BoolOp):
        values = [_eval_arith(v, env) for v in node.values]
        return int(all(values) if isinstance(node.op, ast.And) else any(values))
    if isinstance(node, ast.IfExp):
        return _eval_arith(node.body if _eval_arith(node.test, env) else node.orelse, env)
    raise ValueError("unsupported arithmetic")

