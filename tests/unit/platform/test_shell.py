from __future__ import annotations

import logging
import subprocess

import pytest

from iocjail.errors import CommandFailed, CommandTimeout, ToolMissing
from iocjail.platform import shell


def test_run_captures_output():
    result = shell.run(["sh", "-c", "echo out; echo err >&2"])
    assert result.ok and result.stdout == "out\n" and result.stderr == "err\n"
    assert result.argv == ("sh", "-c", "echo out; echo err >&2")


def test_nonzero_exit_raises_with_stderr_first_line():
    with pytest.raises(CommandFailed) as info:
        shell.run(["sh", "-c", "echo 'first problem' >&2; echo more >&2; exit 3"])
    assert info.value.returncode == 3
    assert str(info.value) == "sh: first problem"


def test_check_false_returns_the_failure():
    result = shell.run(["false"], check=False)
    assert result.returncode == 1 and not result.ok


def test_missing_tool_is_typed():
    with pytest.raises(ToolMissing, match="no-such-tool-xyz not found"):
        shell.run(["no-such-tool-xyz"])


def test_timeout_kills_and_raises():
    with pytest.raises(CommandTimeout):
        shell.run(["sleep", "5"], timeout=0.2)


@pytest.mark.parametrize("bad", ["ls -l", b"ls"])
def test_a_string_is_never_run_through_a_shell(bad):
    with pytest.raises(TypeError):
        shell.run(bad)  # type: ignore[arg-type]


def test_input_is_passed_on_stdin():
    assert shell.run(["cat"], input="hello").stdout == "hello"


def test_debug_log_is_copy_pastable(caplog):
    with caplog.at_level(logging.DEBUG, logger="iocjail.platform.shell"):
        shell.run(["echo", "a b", "c'd"])
    assert "run: echo 'a b' 'c'\"'\"'d'" in caplog.text


def test_stream_reads_and_checks_status():
    with shell.stream(["sh", "-c", "head -c 300000 /dev/zero"]) as proc:
        data = proc.stdout.read()
    assert len(data) == 300000


def test_stream_failure_raises_after_the_block():
    with pytest.raises(CommandFailed, match="boom"):
        with shell.stream(["sh", "-c", "echo boom >&2; exit 2"]) as proc:
            proc.stdout.read()


def test_stream_chatty_stderr_cannot_block():
    script = "head -c 200000 /dev/zero >&2; echo done"
    with shell.stream(["sh", "-c", script]) as proc:
        assert proc.stdout.read() == b"done\n"


def test_stream_producer_is_killed_when_the_consumer_fails():
    with pytest.raises(RuntimeError):
        with shell.stream(["sleep", "30"]) as proc:
            raise RuntimeError("consumer broke")
    assert proc.proc.poll() is not None


def test_stream_write_mode_feeds_stdin(tmp_path):
    out = tmp_path / "out"
    with out.open("wb") as sink, shell.stream(["cat"], read=False, stdout=sink) as proc:
        proc.stdin.write(b"payload")
    assert out.read_bytes() == b"payload"


@pytest.mark.skipif(not hasattr(__import__("fcntl"), "F_GETPIPE_SZ"), reason="pipe sizes are Linux's")
@pytest.mark.parametrize("read", [True, False])
def test_stream_grows_its_pipe_where_asked_and_works_where_refused(read, tmp_path, monkeypatch):
    import fcntl

    def size(proc: shell.Stream) -> int:
        return fcntl.fcntl((proc.stdout if read else proc.stdin).fileno(), fcntl.F_GETPIPE_SZ)

    out = tmp_path / "out"
    with out.open("wb") as sink:
        with shell.stream(["cat"], read=read, stdin=subprocess.DEVNULL, stdout=sink if not read else None,
                          pipe_size=1 << 20) as proc:
            assert size(proc) == 1 << 20
        with shell.stream(["true"], read=read) as proc:
            assert size(proc) == 65536

    def refuse(fd: int, op: int, arg: int = 0) -> int:
        raise PermissionError(1, "Operation not permitted")  # an unprivileged user over pipe-max-size

    monkeypatch.setattr(fcntl, "fcntl", refuse)
    with shell.stream(["sh", "-c", "echo works"], pipe_size=1 << 20) as proc:
        assert proc.stdout.read() == b"works\n"
