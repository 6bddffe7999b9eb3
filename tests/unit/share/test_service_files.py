"""rc.d/iocjail (FreeBSD rc(8)) and share/systemd/iocjail.service (Linux): what boot runs.

rc.subr exists only on FreeBSD: the script is checked with `sh -n`, for iocage's rcorder
keywords, and run under a tiny stand-in for rc.subr (load_rc_config and run_rc_command only),
with `iocjail_program` pointing at a recorder, to see the exact argv and environment it gives
iocjail. The unit is checked field by field and by `systemd-analyze verify`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.capabilities import ROOT, require

RC_SCRIPT = ROOT / "rc.d" / "iocjail"
UNIT = ROOT / "share" / "systemd" / "iocjail.service"

RC_SUBR = """\
load_rc_config() { . "$RC_CONF"; }
run_rc_command() {
    case "$1" in
    start) $start_cmd ;; stop) $stop_cmd ;; status) $status_cmd ;; *) echo "unknown $1" >&2; return 1 ;;
    esac
}
"""
RECORDER = """\
#!/bin/sh
{ printf '%s\\n' "$*"; printf 'LANG=%s\\n' "$LANG"; printf 'PATH=%s\\n' "$PATH"; } > "$RECORD"
"""


def test_rc_script_parses():
    for shell in ("sh", "dash", "bash"):
        if shutil.which(shell):
            result = subprocess.run([shell, "-n", str(RC_SCRIPT)], capture_output=True, text=True)
            assert result.returncode == 0, result.stderr


def test_rc_script_has_iocage_rcorder_keywords_and_rcvar():
    text = RC_SCRIPT.read_text()
    assert text.startswith("#!/bin/sh\n")
    for line in ("# PROVIDE: iocjail", "# REQUIRE: LOGIN cleanvar sshd zfs", "# BEFORE: securelevel",
                 "# KEYWORD: shutdown", 'rcvar="iocjail_enable"', ': "${iocjail_enable:=NO}"',
                 ': "${iocjail_lang:=C.UTF-8}"', ". /etc/rc.subr", 'run_rc_command "$1"'):
        assert line in text.splitlines(), line
    assert RC_SCRIPT.stat().st_mode & 0o111


def run_rc(tmp_path: Path, command: str, rc_conf: str) -> list[str]:
    (tmp_path / "rc.subr").write_text(RC_SUBR)
    (tmp_path / "rc.conf").write_text(rc_conf)
    script = tmp_path / "iocjail.rc"
    script.write_text(RC_SCRIPT.read_text().replace("/etc/rc.subr", str(tmp_path / "rc.subr")))
    recorder = tmp_path / "iocjail"
    recorder.write_text(RECORDER)
    recorder.chmod(0o755)
    env = {"RC_CONF": str(tmp_path / "rc.conf"), "RECORD": str(tmp_path / "record"), "PATH": "/usr/bin:/bin",
           "iocjail_program": str(recorder)}
    result = subprocess.run(["sh", str(script), command], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return (tmp_path / "record").read_text().splitlines()


def test_rc_start_runs_start_rc_with_lang_path_and_jobs(tmp_path):
    record = run_rc(tmp_path, "start", 'iocjail_enable="YES"\niocjail_jobs="8"\n')
    assert record == ["start --rc --jobs 8", "LANG=C.UTF-8",
                      "PATH=/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"]


def test_rc_stop_runs_stop_rc_with_the_chosen_lang(tmp_path):
    record = run_rc(tmp_path, "stop", 'iocjail_enable="YES"\niocjail_lang="en_US.UTF-8"\n')
    assert record[:2] == ["stop --rc", "LANG=en_US.UTF-8"]


def test_rc_status_lists(tmp_path):
    assert run_rc(tmp_path, "status", 'iocjail_enable="YES"\n')[0] == "list"


def unit_fields() -> dict[tuple[str, str], list[str]]:
    fields: dict[tuple[str, str], list[str]] = {}
    section = ""
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        fields.setdefault((section, key), []).append(value)
    return fields


def test_systemd_unit_has_the_fields_boot_needs():
    f = unit_fields()
    assert f[("Service", "Type")] == ["oneshot"]
    assert f[("Service", "RemainAfterExit")] == ["yes"]
    after = f[("Unit", "After")][0].split()
    assert {"zfs.target", "zfs-mount.service", "zfs-fuse.service"} <= set(after)
    assert f[("Service", "ExecStart")] == ["/usr/local/bin/iocjail start --rc $IOCJAIL_RC_OPTS"]
    assert f[("Service", "ExecStop")] == ["/usr/local/bin/iocjail stop --rc $IOCJAIL_RC_OPTS"]
    assert "LANG=C.UTF-8" in f[("Service", "Environment")]
    assert f[("Service", "KillMode")] == ["process"]  # iocjail, not systemd, takes jails down
    assert f[("Install", "WantedBy")] == ["multi-user.target"]


def test_systemd_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    require(analyze is not None, "needs systemd-analyze (package systemd)")
    binary = shutil.which("iocjail") or str(Path(sys.executable).parent / "iocjail")
    unit = tmp_path / "iocjail.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/iocjail", binary))
    result = subprocess.run([str(analyze), "verify", "--man=no", str(unit)], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/iocjail", binary).replace("=oneshot", "=oneshoot"))
    broken = subprocess.run([str(analyze), "verify", "--man=no", str(unit)], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert "oneshoot" in broken.stderr  # the check above would have seen a bad value


@pytest.mark.parametrize("path", [RC_SCRIPT, UNIT])
def test_both_call_the_same_program(path):
    assert "/usr/local/bin/iocjail" in path.read_text()
