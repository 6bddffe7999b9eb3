"""What a running Linux jail offers: exec and console, networking modes, host-side writes that
never follow the jail's symlinks, refusals that change nothing, and the plan."""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from iocjail.platform.hostfacts import default_route_interface
from iocjail.site.config import rundir
from tests.e2e.conftest import assert_same_host, host_state
from tests.support.cli import iocjail

IOCJAIL_BIN = str(Path(sys.executable).parent / "iocjail")
HOST_FILES = ("/etc/passwd", "/etc/shadow", "/etc/hosts", "/etc/resolv.conf", "/etc/localtime", "/etc/group")
BRIDGE = f"ijc{os.getpid() % 100000}"


def host_files() -> dict[str, str]:
    return {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in HOST_FILES if os.path.exists(p)}


@pytest.mark.parametrize("target", ["/../../../etc/passwd", "../../../../../../../../../../etc/passwd",
                                    "/etc/passwd", "/etc/shadow"])
def test_a_planted_resolv_conf_symlink_never_changes_a_host_file(jails, target):
    jails.make("www1", resolver="nameserver 192.0.2.53;search example.org")
    etc = jails.root("www1") / "etc"
    (etc / "resolv.conf").unlink(missing_ok=True)
    (etc / "resolv.conf").symlink_to(target)
    (etc / "localtime").unlink(missing_ok=True)
    (etc / "localtime").symlink_to(target)
    before = host_files()
    result = iocjail("start", "www1")
    assert result.exit_code == 0, result.output
    assert host_files() == before
    assert not (etc / "resolv.conf").is_symlink()
    assert (etc / "resolv.conf").read_text() == "nameserver 192.0.2.53\nsearch example.org\n"
    assert (etc / "localtime").read_bytes() == Path("/etc/localtime").read_bytes()
    assert iocjail("stop", "www1").exit_code == 0


def test_a_symlinked_etc_fails_the_start_and_changes_nothing(jails, zpool):
    jails.make("www1", resolver="nameserver 192.0.2.53")
    root = jails.root("www1")
    os.rename(root / "etc", root / "etc.real")
    (root / "etc").symlink_to("/etc")
    before, files = host_state(zpool.name, zpool.mountpoint), host_files()
    result = iocjail("start", "www1")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (f"iocjail: www1: resolver: refusing /etc/resolv.conf in the jail root "
                                              f"{root}: /etc is a symlink")
    assert host_files() == files
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint))


def test_exec_passes_exit_codes_users_and_a_clean_environment(jails):
    jails.make("www1")
    (jails.root("www1") / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nwww:x:80:80:web:/home/www:/bin/sh\n")
    assert iocjail("exec", "www1", "true").output == "iocjail: www1: not running\n"
    assert iocjail("start", "www1").exit_code == 0
    assert iocjail("exec", "www1", "sh", "-c", "exit 7").exit_code == 7
    assert iocjail("exec", "www1", "exit 5").exit_code == 5  # one argument: a shell command line
    ids = iocjail("exec", "-U", "www", "www1", "id -u; id -g; echo $HOME")
    assert ids.output == "80\n80\n/home/www\n"
    assert iocjail("exec", "-u", "nobody", "www1", "id", "-u").output == f"{pwd.getpwnam('nobody').pw_uid}\n"
    env = iocjail("exec", "www1", "env").output.splitlines()
    assert "PATH=/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin:/root/bin" in env
    assert not any(line.startswith(("IOCJAIL_", "PYTEST")) for line in env)
    assert iocjail("set", "exec_clean=0", "www1").exit_code == 0
    assert any(line.startswith("IOCJAIL_POOL=") for line in iocjail("exec", "www1", "env").output.splitlines())
    assert iocjail("exec", "-U", "nobody2", "www1", "true").exit_code == 2
    # the real binary, as a user runs it: output straight to the terminal (here a pipe)
    done = subprocess.run([IOCJAIL_BIN, "exec", "www1", "ls", "/"], capture_output=True, text=True)
    assert done.returncode == 0 and "etc" in done.stdout.split()


def test_console_logs_in_and_starts_the_jail_first(jails):
    jails.make("www1", host_hostname="console-test")
    done = subprocess.run([IOCJAIL_BIN, "console", "www1"], input="hostname\nexit 0\n", capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("* Starting www1\n") and "console-test\n" in done.stdout
    assert iocjail("get", "state", "www1").output == "up\n"  # leaving the console does not stop it
    assert iocjail("stop", "www1").exit_code == 0


def test_shared_ip_is_refused_before_anything_runs(jails, zpool):
    jails.make("www1", ip4_addr="eth0|192.0.2.10/24")
    before = host_state(zpool.name, zpool.mountpoint)
    result = iocjail("start", "www1")
    assert result.exit_code == 2
    assert "shared-IP mode, which Linux does not have" in result.output
    assert result.output.startswith("* Starting www1\niocjail: www1: ip4_addr/ip6_addr without vnet")
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint))


def test_templates_never_start(jails, zpool):
    jails.make("tpl1", type="template")
    before = host_state(zpool.name, zpool.mountpoint)
    result = iocjail("start", "tpl1")
    assert result.exit_code == 2 and "tpl1: is a template: templates never start" in result.output
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint))


def test_network_modes(jails):
    jails.make("shared", ip4="inherit")
    jails.make("private")
    assert iocjail("start", "shared", "private").exit_code == 0
    def names(jail: str) -> set[str]:
        out = iocjail("exec", jail, "ip -o link").output
        return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}

    uplink = default_route_interface() or "lo"
    assert {"lo", uplink} <= names("shared") <= set(os.listdir("/sys/class/net"))  # the host's own
    assert names("private") == {"lo"}
    assert "UP" in iocjail("exec", "private", "ip -o link show lo").output
    assert iocjail("stop", "ALL").exit_code == 0


def test_vnet_on_an_existing_bridge_reaches_the_host(jails, zpool):
    subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", "10.234.0.1/24", "dev", BRIDGE], check=True)
        subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True)
        jails.make("www1", vnet="1", interfaces=f"vnet0:{BRIDGE}", ip4_addr="vnet0|10.234.0.2/24",
                   defaultrouter="10.234.0.1", allow_raw_sockets="1")
        assert iocjail("start", "www1").exit_code == 0
        jid = int(iocjail("get", "jid", "www1").output)
        assert os.listdir(f"/sys/class/net/{BRIDGE}/brif") == [f"vnet0.{jid}"]
        ping = iocjail("exec", "www1", "ping", "-c", "1", "-W", "5", "10.234.0.1")
        assert ping.exit_code == 0, ping.output
        assert iocjail("stop", "www1").exit_code == 0
        assert os.path.exists(f"/sys/class/net/{BRIDGE}")  # not iocjail's: left alone
        assert os.listdir(f"/sys/class/net/{BRIDGE}/brif") == []
        assert not os.path.exists(f"/sys/class/net/vnet0.{jid}")
    finally:
        subprocess.run(["ip", "link", "del", BRIDGE])


def test_start_plan_prints_every_command_and_runs_nothing(jails, zpool):
    jails.make("www1", vnet="1", interfaces=f"vnet0:{BRIDGE}", ip4_addr="vnet0|10.235.0.2/24")
    before = host_state(zpool.name, zpool.mountpoint)
    result = iocjail("start", "--plan", "www1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("# start plan of www1 (ioc-www1, jid ")
    steps = [line[:-1] for line in lines if not line.startswith((" ", "#"))]
    assert steps == ["mount", "mount.devfs", "exec.prestart", "jail", "exec.created", "vnet.interface", "resolver",
                     "exec.start", "exec.poststart"]
    root = jails.root("www1")
    assert f"  mount -t tmpfs -o rw,mode=0755,size=1m,nosuid,noexec tmpfs {root}/dev" in lines
    assert any(line.startswith("  setsid --fork unshare --mount --uts --ipc --pid --net --fork --propagation slave")
               and line.endswith(f"linux_holder.py {root} www1") for line in lines)
    assert "  nsenter --target '{pid}' --net ip addr add 10.235.0.2/24 dev epair0b" in lines
    assert "  cleanup: /bin/sh -c /usr/bin/true" in lines
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint))
    assert not os.path.exists(f"/sys/class/net/{BRIDGE}")


def test_start_all_skips_templates_and_running_jails_and_restart_bounces(jails):
    jails.make("a1", priority="20")
    jails.make("b1", priority="10")
    jails.make("t1", type="template")
    assert iocjail("start", "a1").exit_code == 0
    result = iocjail("start", "ALL")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "* Starting b1"
    assert "a1" not in result.output and "t1" not in result.output
    jid = iocjail("get", "jid", "b1").output
    restart = iocjail("restart", "b1")
    assert restart.exit_code == 0 and restart.output.splitlines()[0] == "* Stopping b1"
    assert iocjail("get", "jid", "b1").output == jid  # the lowest free JID again
    assert iocjail("get", "last_started", "b1").output != "never\n"
    stop = iocjail("stop", "ALL")
    assert stop.exit_code == 0
    assert [l for l in stop.output.splitlines() if l.startswith("*")] == ["* Stopping a1", "* Stopping b1"]
    assert not list((rundir() / "jails").rglob("*.json"))


def test_fstab_entries_mount_into_a_running_jail_and_stop_unmounts_them(jails, zpool, tmp_path):
    from iocjail.model.fstab import Entry
    from iocjail.services import lifecycle
    from iocjail.site.host import Host

    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("shared\n")
    jails.make("www1")
    root = jails.root("www1")
    for d in ("mnt/ro", "mnt/rw", "mnt/t"):
        (root / d).mkdir(parents=True)
    host = Host.from_env()
    entry_ro = Entry(str(src), f"{root}/mnt/ro", "nullfs", "ro", "0", "0")
    entry_rw = Entry(str(src), "/mnt/rw", "nullfs", "rw", "0", "0")
    entry_tmp = Entry("tmpfs", f"{root}/mnt/t", "tmpfs", "rw,size=1m", "0", "0")
    assert lifecycle.mount_live(host, "www1", entry_ro) is False  # not running: nothing to do
    before = host_state(zpool.name, zpool.mountpoint)
    assert iocjail("start", "www1").exit_code == 0
    for entry in (entry_ro, entry_rw, entry_tmp):
        assert lifecycle.mount_live(host, "www1", entry) is True
    seen = iocjail("exec", "www1", "cat /mnt/ro/f; touch /mnt/ro/x; touch /mnt/rw/y; grep /mnt/ /proc/mounts")
    assert "shared\n" in seen.output and "Read-only file system" in seen.output
    assert (src / "y").exists() and not (src / "x").exists()
    assert "/mnt/t tmpfs" in seen.output
    assert lifecycle.unmount_live(host, "www1", entry_rw) is True
    left = iocjail("exec", "www1", "grep /mnt/ /proc/mounts").output
    assert "/mnt/rw" not in left and "/mnt/ro" in left
    assert iocjail("stop", "www1").exit_code == 0
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint))
    assert list((rundir() / "stage").iterdir()) == []


def test_stop_plan_shows_the_undo_of_what_was_applied_not_of_the_current_config(jails, zpool):
    jails.make("www1")
    src = zpool.mountpoint / "stop-plan-src"
    src.mkdir(exist_ok=True)
    (jails.root("www1") / "mnt" / "a").mkdir(parents=True, exist_ok=True)
    (jails.root("www1") / "mnt" / "b").mkdir(parents=True, exist_ok=True)
    assert iocjail("fstab", "-a", "www1", f"{src} /mnt/a nullfs ro 0 0").exit_code == 0
    stopped = iocjail("stop", "--plan", "www1")
    assert stopped.exit_code == 0, stopped.output
    assert stopped.output.startswith("# stop plan of www1: not running")
    assert iocjail("start", "www1").exit_code == 0
    try:
        # the file is edited by hand while the jail runs: the plan still undoes the mount of /mnt/a
        (jails.jail_path("www1") / "fstab").write_text(f"{src} {jails.root('www1')}/mnt/b nullfs ro 0 0\n")
        before = host_state(zpool.name, zpool.mountpoint)
        result = iocjail("stop", "--plan", "www1")
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert lines[0].startswith("# stop plan of www1 (jid ") and lines[0].endswith("up): undo what its start applied")
        steps = [line[:-1] for line in lines if not line.startswith((" ", "#"))]
        assert steps[:2] == ["exec.poststart", "exec.start"] and steps[-1] == "mount", lines
        mounts = [line for line in lines if line.startswith("  umount")]
        assert any(line.startswith(f"  umount {jails.root('www1')}/mnt/a ") for line in mounts), mounts
        assert not any("/mnt/b" in line for line in mounts), mounts
        assert_same_host(before, host_state(zpool.name, zpool.mountpoint))
    finally:
        assert iocjail("stop", "www1").exit_code == 0


def test_fstab_changes_apply_to_a_running_jail_at_once_or_not_at_all(jails, zpool, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("shared\n")
    jails.make("www1")
    root = jails.root("www1")
    for d in ("mnt/a", "mnt/t"):
        (root / d).mkdir(parents=True)
    before = host_state(zpool.name, zpool.mountpoint)
    assert iocjail("start", "www1").exit_code == 0
    added = iocjail("fstab", "-a", "www1", f"{src} /mnt/a nullfs ro 0 0")
    assert added.exit_code == 0, added.output
    assert added.stderr == "note: www1 is running: the change is mounted in it now\n"
    assert iocjail("exec", "www1", "cat", "/mnt/a/f").output == "shared\n"

    fstab = (jails.jail_path("www1") / "fstab").read_text()
    bad = iocjail("fstab", "-a", "www1", "tmpfs /mnt/t tmpfs rw,size=nonsense 0 0")
    assert bad.exit_code != 0 and bad.output.startswith("iocjail: ") and len(bad.output.splitlines()) == 1
    assert (jails.jail_path("www1") / "fstab").read_text() == fstab  # nothing changed
    assert "/mnt/t" not in iocjail("exec", "www1", "cat /proc/mounts").output

    removed = iocjail("fstab", "-r", "www1", "0")
    assert removed.exit_code == 0, removed.output
    assert "/mnt/a" not in iocjail("exec", "www1", "cat /proc/mounts").output
    assert iocjail("stop", "www1").exit_code == 0
    assert_same_host(before, host_state(zpool.name, zpool.mountpoint))
