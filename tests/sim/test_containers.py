"""What a container does, without a cluster: the shell interpreter on simulated time, the image
registry, and exec probes against a container's files."""

from __future__ import annotations

import pytest

from kubenb.sim import containers as progs
from kubenb.sim.images import KNOWN, ImageRegistry, parse_reference

START = 1767225600.0  # 2026-01-01T00:00:00Z
CTX = progs.Context(env=(("GREETING", "hello"), ("HOSTNAME", "web-0")), hostname="web-0",
                    start=START)


def run(argv: list[str], until: float = 60.0,
        image: str | None = None) -> tuple[progs.Outcome, list[tuple[float, str]]]:
    ref = parse_reference(image) if image else None
    found = KNOWN[ref.repository] if ref is not None else None
    program = progs.program_for(tuple(argv), found, ref.tag if ref is not None else "latest")
    return progs.outcome(program, CTX), progs.log_lines(program, CTX, until)


def lines(argv: list[str], until: float = 60.0) -> list[str]:
    return [text for _t, text in run(argv, until)[1]]


def test_sleep_takes_simulated_time_and_exits_zero() -> None:
    outcome, logs = run(["sleep", "10"])
    assert (outcome.exit_after, outcome.code, logs) == (10.0, 0, [])
    assert run(["sleep", "2m"])[0].exit_after == 120.0
    assert run(["sleep", "infinity"])[0].exit_after is None


def test_sh_c_echo_and_exit_code() -> None:
    outcome, logs = run(["sh", "-c", "echo hello; exit 3"])
    assert (outcome.exit_after, outcome.code) == (0.0, 3)
    assert logs == [(0.0, "hello")]


def test_exec_form_does_not_expand_shell_variables() -> None:
    assert lines(["echo", "$GREETING", "world"]) == ["$GREETING world"]
    assert lines(["sh", "-c", "echo $GREETING world"]) == ["hello world"]


def test_and_or_and_true_false() -> None:
    assert lines(["sh", "-c", "true && echo yes || echo no; false && echo a || echo b"]) == [
        "yes", "b"]
    assert run(["false"])[0].code == 1
    assert run(["true"])[0].code == 0
    assert run(["bash", "-ec", "exit 7"])[0].code == 7


def test_counter_loop_of_the_logging_docs() -> None:
    script = 'i=0; while true; do echo "$i: $(date)"; i=$((i+1)); sleep 1; done'
    outcome, logs = run(["/bin/sh", "-c", script], until=3)
    assert outcome.exit_after is None  # never ends by itself
    assert logs == [(0.0, "0: Thu Jan  1 00:00:00 UTC 2026"),
                    (1.0, "1: Thu Jan  1 00:00:01 UTC 2026"),
                    (2.0, "2: Thu Jan  1 00:00:02 UTC 2026"),
                    (3.0, "3: Thu Jan  1 00:00:03 UTC 2026")]


def test_endless_loop_logs_periodically_and_replays_only_to_now() -> None:
    outcome, logs = run(["sh", "-c", "while true; do echo hi; sleep 5; done"], until=12)
    assert outcome.exit_after is None
    assert [t for t, _ in logs] == [0.0, 5.0, 10.0]
    # a busy loop with no sleep still ends its replay
    assert len(lines(["sh", "-c", "while true; do echo x; done"], until=0.0105)) == 11


def test_for_loop_seq_printf_and_pipes() -> None:
    assert lines(["bash", "-c", "for i in $(seq 1 3); do printf '%s-%d\\n' item $i; done"]) == [
        "item-1", "item-2", "item-3"]
    assert lines(["sh", "-c", "echo a; echo b | grep b | wc -l"]) == ["a", "1"]
    assert lines(["sh", "-c", "yes | head -n 2"]) == ["y", "y"]


def test_printenv_and_defaults() -> None:
    assert lines(["printenv", "GREETING"]) == ["hello"]
    assert lines(["sh", "-c", "echo ${MISSING:-fallback} $HOSTNAME"]) == ["fallback web-0"]
    assert "GREETING=hello" in lines(["env"])


def test_files_if_and_redirections() -> None:
    script = ("if [ -f /tmp/x ]; then echo yes; else echo no; fi; echo hi > /tmp/x; "
              "cat /tmp/x; [ -f /tmp/x ] && echo now; echo quiet > /dev/null")
    outcome, logs = run(["sh", "-c", script])
    assert [text for _t, text in logs] == ["no", "hi", "now"]
    assert outcome.files == ((0.0, "/tmp/x", "hi"),)


def test_liveness_example_file_timeline() -> None:
    outcome, _ = run(["/bin/sh", "-c",
                      "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600"])
    assert outcome.exit_after == 630.0
    assert outcome.files == ((0.0, "/tmp/healthy", ""), (30.0, "/tmp/healthy", None))
    assert progs.run_probe(["cat", "/tmp/healthy"], CTX,
                           progs.files_at(outcome.files, 10))[0] == 0
    code, output = progs.run_probe(["cat", "/tmp/healthy"], CTX,
                                   progs.files_at(outcome.files, 35))
    assert code == 1
    assert output == "cat: can't open '/tmp/healthy': No such file or directory"


def test_unknown_commands_run_like_servers() -> None:
    assert run(["python", "app.py"])[0].exit_after is None
    assert lines(["sh", "-c", "echo migrating; ./server --port 80; echo never"]) == ["migrating"]
    assert run(["sh", "-c", "tail -f /dev/null"])[0].exit_after is None


def test_images_without_command() -> None:
    outcome, logs = run([], image="nginx:1.27")
    assert outcome.exit_after is None
    assert logs[-1][1] == "2026/01/01 00:00:00 [notice] 1#1: start worker processes"
    assert "nginx/1.27" in logs[-2][1]
    assert run([], image="busybox")[0] == progs.Outcome(0.0, 0)
    assert run([], image="alpine:3.20")[0].exit_after == 0.0
    outcome, logs = run([], image="hello-world")
    assert outcome.code == 0 and any("Hello from Docker!" in text for _t, text in logs)


def test_perl_pi_of_the_job_docs() -> None:
    outcome, logs = run(["perl", "-Mbignum=bpi", "-wle", "print bpi(20)"])
    assert outcome.code == 0 and outcome.exit_after is not None
    assert logs == [(0.0, "3.1415926535897932385")]
    assert len(lines(["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"])[0]) == 2001


def test_syntax_error_exits_2() -> None:
    outcome, logs = run(["sh", "-c", "echo 'unterminated"])
    assert outcome.code == 2
    assert "syntax error" in logs[0][1]


@pytest.mark.parametrize(("text", "full", "known"), [
    ("nginx", "docker.io/library/nginx:latest", True),
    ("nginx:1.27", "docker.io/library/nginx:1.27", True),
    ("k8s.gcr.io/busybox", "registry.k8s.io/busybox:latest", True),
    ("bitnami/redis:7.2", "docker.io/bitnami/redis:7.2", True),
    ("localhost:5000/myapp:v1", "localhost:5000/myapp:v1", True),
    ("kubenb.local/team/app", "kubenb.local/team/app:latest", True),
    ("nginxx:1.0", "docker.io/library/nginxx:1.0", False),
    ("quay.io/nobody/nothing", "quay.io/nobody/nothing:latest", False),
])
def test_registry_lookup(text: str, full: str, known: bool) -> None:
    ref = parse_reference(text)
    assert ref is not None and ref.full == full
    assert (ImageRegistry().lookup(ref) is not None) is known


def test_registry_add_and_invalid_names() -> None:
    registry = ImageRegistry()
    ref = parse_reference("myorg/web:2")
    assert ref is not None and registry.lookup(ref) is None
    registry.add("myorg/web", size=10_000_000)
    assert registry.lookup(ref) is not None
    assert parse_reference("Nginx") is None  # repository names are lowercase
    assert parse_reference("nginx@@x") is None
