"""update/upgrade of jails as plans: exact argv and environment, the jail's configuration, the
install loop, basejail re-pointing (reference §1.15-1.16, seed 003 "Patching/Upgrading Jails")."""

import hashlib
from datetime import datetime, timezone

import pytest

from iocjail.lifecycle.updates import jail as JU
from iocjail.fetch.update import Command
from iocjail.lifecycle.plan import Action
from iocjail.lifecycle.commands import PlanStepFailed, carry_out

CONF = """# $FreeBSD$
KeyPrint 800651ef4b4c71c27e60786d7b487188970f4b4169cc055784e21eb71d410cc5
ServerName update.FreeBSD.org
Components src world kernel
IgnorePaths /etc/motd
UpdateIfUnmodified /etc/ /var/ /root/ /.cshrc /.profile
MergeChanges /etc/ /boot/device.hints
"""
ROOT = "/iocage/jails/www1/root"
WORK = "/iocage/jails/www1/iocjail-update/db/"
JCONF = "/iocage/jails/www1/iocjail-update/freebsd-update.conf"
ENV = {"UNAME_r": "13.2-RELEASE-p4", "PAGER": "/bin/cat", "PATH": "/sbin:/bin:/usr/sbin:/usr/bin", "HOME": "/",
       "PWD": "/", "TERM": "xterm"}
BASE = ("/usr/sbin/freebsd-update", "-b", ROOT, "-d", WORK, "-f", JCONF, "--currently-running", "13.2-RELEASE-p4",
        "--not-running-from-cron")


def test_the_jails_configuration_updates_world_only_and_keeps_the_rest():
    out = JU.jail_update_conf(CONF, has_src=False)
    lines = out.splitlines()
    assert lines[0].startswith("# written by iocjail")
    assert "Components world" in lines and not any("kernel" in ln for ln in lines[1:])
    assert "MergeChanges /etc/" in lines  # /boot/device.hints is irrelevant in a jail
    assert "IgnorePaths /etc/motd" in lines and "UpdateIfUnmodified /etc/ /var/ /root/ /.cshrc /.profile" in lines
    assert "KeyPrint 800651ef4b4c71c27e60786d7b487188970f4b4169cc055784e21eb71d410cc5" in lines
    assert "Components src world" in JU.jail_update_conf(CONF, has_src=True).splitlines()
    without = JU.jail_update_conf("ServerName a\nKeyPrint b\n", has_src=False)
    assert without.splitlines()[-1] == "Components world"


def test_a_configuration_without_server_or_key_is_refused():
    with pytest.raises(JU.BadUpdateConf, match="has no KeyPrint"):
        JU.jail_update_conf("ServerName update.FreeBSD.org\n# KeyPrint abc\n", has_src=False)
    with pytest.raises(JU.BadUpdateConf, match="has no ServerName and no KeyPrint"):
        JU.jail_update_conf("Components world\n", has_src=False)


def test_update_of_a_thin_or_thick_jail_is_fetch_then_install_on_its_root():
    target = JU.Target(ROOT, WORK, JCONF, "13.2-RELEASE-p4")
    assert JU.jail_update_plan(target, "xterm") == (
        Command((*BASE, "fetch"), ENV),
        Command((*BASE, "install"), ENV, (0, 2)))


def test_upgrade_is_upgrade_then_install_until_nothing_is_pending():
    target = JU.Target(ROOT, WORK, JCONF, "13.2-RELEASE-p4", "/iocage/releases/14.1-RELEASE/root/usr/sbin/freebsd-update")
    plan = JU.jail_upgrade_plan(target, "14.1-RELEASE", "xterm", "nano")
    base = ("/iocage/releases/14.1-RELEASE/root/usr/sbin/freebsd-update", *BASE[1:])
    marker = WORK + hashlib.sha256(f"{ROOT}\n".encode()).hexdigest() + "-install"
    env = {**ENV, "EDITOR": "nano"}
    assert plan == (
        Command((*base, "-r", "14.1-RELEASE", "upgrade"), env),
        Command((*base, "-r", "14.1-RELEASE", "install"), env, (0,), repeat_while=marker, max_runs=50))
    assert JU.jail_upgrade_plan(target, "14.1-RELEASE", "xterm", "")[0].env["EDITOR"] == "vi"


def test_basejail_upgrade_mounts_the_new_sources_and_merges_etc_inside():
    plan = JU.basejail_upgrade_plan("db.1", "/iocage/jails/db.1/root", "/iocage/releases/14.1-RELEASE/root/usr/src",
                                    {"TERM": "vt100"})
    env = {"PATH": "/sbin:/bin:/usr/sbin:/usr/bin", "HOME": "/", "PWD": "/", "TERM": "vt100", "EDITOR": "vi"}
    assert plan.steps == (
        Action("mkdir", ("/iocage/jails/db.1/root", "/iocage_upgrade")),
        Action("mount", ("nullfs", "/iocage/releases/14.1-RELEASE/root/usr/src", "/iocage/jails/db.1/root",
                         "/iocage_upgrade", "ro")),
        Command(("jexec", "-l", "ioc-db_1", "etcupdate", "-F", "-s", "/iocage_upgrade"), env),
        Command(("jexec", "-l", "ioc-db_1", "newaliases"), env))
    assert plan.cleanup == (Action("umount", ("/iocage/jails/db.1/root", "/iocage_upgrade")),)
    assert [JU.describe(s) for s in plan.steps[:2]] == [
        "mkdir -p /iocage/jails/db.1/root/iocage_upgrade  # inside the root, no symlink followed",
        "mount -t nullfs -o ro /iocage/releases/14.1-RELEASE/root/usr/src /iocage/jails/db.1/root/iocage_upgrade"
        "  # no symlink followed in the root"]


@pytest.mark.parametrize("current, new, reason", [
    ("13.2-RELEASE-p4", "14.1-RELEASE", None),
    ("13.2-RELEASE-p4", "13.3-RELEASE", None),
    ("14.0-RC1", "14.0-RELEASE", None),
    ("13.2-RELEASE-p4", "13.2-RELEASE", "already runs"),
    ("13.2-RELEASE-p4", "12.4-RELEASE", "older"),
    ("13.2-RELEASE", "14.1-RELEASE-p2", "without -pN"),
    ("13.2-RELEASE", "alpine-3.19", "not a FreeBSD release"),
    ("busybox-linux-1", "14.1-RELEASE", "not a FreeBSD version"),
])
def test_upgrade_refusals(current, new, reason):
    got = JU.upgrade_refusal(current, new)
    assert (got is None) if reason is None else (reason in got)


def test_snapshot_names():
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    assert JU.snapshot_name("update", "13.2-RELEASE-p4", when) == "ioc_update_13.2-RELEASE-p4_2024-05-06_07-08-09"
    assert JU.snapshot_name("upgrade", "13.2-RELEASE-p4", when) == "ioc_upgrade_13.2-RELEASE-p4_2024-05-06_07-08-09"


FSTAB = ("/iocage/releases/13.2-RELEASE/root/bin\t/iocage/jails/b1/root/bin\tnullfs\tro\t0\t0 # Added by iocage\n"
         "/iocage/releases/13.2-RELEASE/root/usr/lib\t/iocage/jails/b1/root/usr/lib\tnullfs\tro\t0\t0\n"
         "/data\t/iocage/jails/b1/root/data\tnullfs\trw\t0\t0\n"
         "# /iocage/releases/13.2-RELEASE/root/x /y nullfs ro 0 0\n")


def test_basejail_source_and_repointing():
    assert JU.basejail_source(FSTAB, "/iocage/") == ("releases", "13.2-RELEASE")
    assert JU.basejail_source("/iocage/templates/t1/root/bin /x nullfs ro 0 0\n", "/iocage") == ("templates", "t1")
    assert JU.basejail_source("/data /x nullfs ro 0 0\n", "/iocage") is None
    moved = JU.repoint_fstab(FSTAB, "/iocage", "13.2-RELEASE", "14.1-RELEASE").splitlines()
    assert moved[0] == "/iocage/releases/14.1-RELEASE/root/bin\t/iocage/jails/b1/root/bin\tnullfs\tro\t0\t0 # Added by iocage"
    assert moved[1].startswith("/iocage/releases/14.1-RELEASE/root/usr/lib\t")
    assert moved[2:] == FSTAB.splitlines()[2:]  # other lines and comments untouched


class Replay:
    """An executor answering from a script: exit status per run, and a path that disappears."""

    def __init__(self, codes, pending=0):
        self.codes, self.pending, self.ran = list(codes), pending, []

    def run(self, command):
        self.ran.append(command.argv[-1] if isinstance(command, Command) else command.op)
        if isinstance(command, Command) and command.argv[-1] == "install":
            self.pending -= 1
        return self.codes.pop(0) if self.codes else 0

    def exists(self, path):
        return self.pending > 0


def test_install_runs_again_while_freebsd_update_leaves_its_link():
    target = JU.Target(ROOT, WORK, JCONF, "13.2-RELEASE-p4")
    plan = JU.jail_upgrade_plan(target, "14.1-RELEASE", "xterm", "vi")
    replay = Replay([], pending=3)
    carry_out(plan, (), replay)
    assert replay.ran == ["upgrade", "install", "install", "install"]
    endless = Replay([], pending=1000)
    carry_out(plan, (), endless)
    assert endless.ran.count("install") == 50


def test_a_failing_step_stops_the_plan_and_the_cleanup_still_runs():
    steps = (Command(("freebsd-update", "fetch")), Command(("freebsd-update", "install"), ok_codes=(0, 2)))
    replay = Replay([0, 2])
    carry_out(steps, (Command(("umount", "dev")),), replay)
    assert replay.ran == ["fetch", "install", "dev"]
    failing = Replay([1])
    with pytest.raises(PlanStepFailed, match=r"^freebsd-update fetch failed \(exit 1\)$"):
        carry_out(steps, (Command(("umount", "dev")),), failing)
    assert failing.ran == ["fetch", "dev"]
