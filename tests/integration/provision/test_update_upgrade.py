"""`update` and `upgrade` on a real pool: the plans of thin, thick and basejail jails and of a
release (exact argv and environment), and for real around them: the snapshot taken first, the
rollback when the freebsd-update step fails (made to fail by an injected executor: the tool does
not exist on Linux), `release` following the new userland, basejails re-pointed."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from iocjail.fetch.update import Command
from iocjail.lifecycle.plan import Action
from iocjail.services import updates, upgrades
from iocjail.site.host import Host
from iocjail.services.updates import CannotUpdate, RollbackFailed, UpdateFailed
from tests.support.cli import iocjail, names

REL = "13.2-RELEASE"
NEW = "14.1-RELEASE"
WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
STAMP = "2024-05-06_07-08-09"
CONF = """# $FreeBSD$
KeyPrint 800651ef4b4c71c27e60786d7b487188970f4b4169cc055784e21eb71d410cc5
ServerName update.FreeBSD.org
Components src world kernel
UpdateIfUnmodified /etc/ /var/ /root/ /.cshrc /.profile
MergeChanges /etc/ /boot/device.hints
"""
VERSION = '#!/bin/sh\nUSERLAND_VERSION="{}"\necho "$USERLAND_VERSION"\n'
UPDATE_ENV = {"UNAME_r": "13.2-RELEASE-p4", "PAGER": "/bin/cat", "PATH": "/sbin:/bin:/usr/sbin:/usr/bin",
              "HOME": "/", "PWD": "/", "TERM": "xterm"}


class Scripted:
    """The executor tests inject: records every step; `on[last word]` may act on the host the
    way the real tool would (write files), and its result is the exit status (default 0)."""

    def __init__(self, **on):
        self.on, self.ran = on, []

    def run(self, step):
        if isinstance(step, Action):
            self.ran.append((step.op, *step.args))
            return 0
        self.ran.append(step)
        act = self.on.get(step.argv[-1])
        return act(step) if act else 0

    def exists(self, path):
        return False


class Runtime:
    def __init__(self, running=False):
        self.up, self.calls = running, []

    def running(self, name):
        return self.up

    def start(self, name):
        self.calls.append(("start", name))
        self.up = True

    def stop(self, name):
        self.calls.append(("stop", name))
        self.up = False


@pytest.fixture
def pool(fetched, iocroot, monkeypatch):
    """13.2-RELEASE with a freebsd-update.conf; a thin, a thick and a basejail made from it."""
    monkeypatch.setenv("TERM", "xterm")
    (iocroot / "releases" / REL / "root" / "etc" / "freebsd-update.conf").write_text(CONF)
    for args in (("-n", "thin"), ("-n", "thick", "-T"), ("-n", "base", "-b")):
        result = iocjail("create", "-r", REL, *args)
        assert result.exit_code == 0, result.output
    return Host.from_env()


def cfg(iocroot, name):
    return json.loads((iocroot / "jails" / name / "config.json").read_text())


def test_update_plans_of_thin_thick_basejail_and_release(pool, iocroot):
    for name in ("thin", "thick"):
        subj = updates.subject(pool, name)
        root = iocroot / "jails" / name / "root"
        work = iocroot / "jails" / name / "iocjail-update"
        base = ("/usr/sbin/freebsd-update", "-b", str(root), "-d", f"{work}/db/", "-f", f"{work}/freebsd-update.conf",
                "--currently-running", "13.2-RELEASE-p4", "--not-running-from-cron")
        assert (subj.kind, subj.root, subj.userland) == ("jail", root, "13.2-RELEASE-p4")
        assert updates.update_plan(pool, subj, "xterm") == (
            (Command((*base, "fetch"), UPDATE_ENV), Command((*base, "install"), UPDATE_ENV, (0, 2))), ())
    # a basejail's base is its release: the release is what is patched, with the release's plan
    rel_root = str(iocroot / "releases" / REL / "root")
    rel_base = (f"{rel_root}/usr/sbin/freebsd-update", "-b", rel_root, "-d", f"{rel_root}/var/db/freebsd-update/",
                "-f", f"{rel_root}/etc/freebsd-update.conf", "--currently-running", "13.2-RELEASE-p4",
                "--not-running-from-cron")
    for target in ("base", REL):
        subj = updates.subject(pool, target)
        assert (subj.kind, subj.release, subj.dataset) == ("basejail" if target == "base" else "release", REL,
                                                           f"{pool.pool}/iocage/releases/{REL}")
        steps, cleanup = updates.update_plan(pool, subj, "xterm")
        assert steps == (Command(("mount", "-t", "devfs", "devfs", f"{rel_root}/dev")),
                         Command((*rel_base, "fetch"), UPDATE_ENV),
                         Command((*rel_base, "install"), UPDATE_ENV, (0, 2)))
        assert cleanup == (Command(("umount", f"{rel_root}/dev")),)
    lines = iocjail("update", "--plan", "thin").output.splitlines()
    assert lines[0] == "# update plan of thin on FreeBSD, running 13.2-RELEASE-p4"
    assert lines[1].startswith(f"# first: zfs snapshot -r {pool.pool}/iocage/jails/thin@ioc_update_13.2-RELEASE-p4_")
    assert "#   Components world" in lines and "#   MergeChanges /etc/" in lines
    assert lines[-3].endswith("--currently-running 13.2-RELEASE-p4 --not-running-from-cron fetch")


def test_upgrade_plans_of_thin_thick_and_basejail(pool, iocroot, mirror):
    for name in ("thin", "thick"):
        up = upgrades.build(pool, name, NEW)
        root = str(iocroot / "jails" / name / "root")
        work = iocroot / "jails" / name / "iocjail-update"
        marker = f"{work}/db/" + hashlib.sha256(f"{root}\n".encode()).hexdigest() + "-install"
        base = ("/usr/sbin/freebsd-update", "-b", root, "-d", f"{work}/db/", "-f", f"{work}/freebsd-update.conf",
                "--currently-running", "13.2-RELEASE-p4", "--not-running-from-cron", "-r", NEW)
        env = {**UPDATE_ENV, "EDITOR": "vi"}
        assert up.steps == (Command((*base, "upgrade"), env),
                            Command((*base, "install"), env, (0,), repeat_while=marker, max_runs=50))
        assert "Components world" in up.conf.splitlines()
    # a basejail moves onto a fetched release, whose sources etcupdate merges /etc from
    with pytest.raises(CannotUpdate, match="onto a fetched release"):
        upgrades.build(pool, "base", NEW)
    assert iocjail("fetch", "-r", NEW, "-s", mirror.url).exit_code == 0
    with pytest.raises(CannotUpdate, match="has no sources"):
        upgrades.build(pool, "base", NEW)
    new_root = iocroot / "releases" / NEW / "root"
    (new_root / "usr" / "src").mkdir(parents=True)
    (new_root / "usr" / "src" / "Makefile").write_text("# sources\n")
    up = upgrades.build(pool, "base", NEW)
    env = {"PATH": "/sbin:/bin:/usr/sbin:/usr/bin", "HOME": "/", "PWD": "/", "TERM": "xterm", "EDITOR": "vi"}
    jroot = str(iocroot / "jails" / "base" / "root")
    assert up.steps == (Action("mkdir", (jroot, "/iocage_upgrade")),
                        Action("mount", ("nullfs", f"{new_root}/usr/src", jroot, "/iocage_upgrade", "ro")),
                        Command(("jexec", "-l", "ioc-base", "etcupdate", "-F", "-s", "/iocage_upgrade"), env),
                        Command(("jexec", "-l", "ioc-base", "newaliases"), env))
    # once the new release is fetched, thin/thick upgrades use its own freebsd-update
    assert upgrades.build(pool, "thin", NEW).steps[0].argv[0] == "/usr/sbin/freebsd-update"  # it has none
    (new_root / "usr" / "sbin" / "freebsd-update").write_text("#!/bin/sh\n")
    assert upgrades.build(pool, "thin", NEW).steps[0].argv[0] == f"{new_root}/usr/sbin/freebsd-update"
    with pytest.raises(CannotUpdate, match="already runs"):
        upgrades.build(pool, "thin", REL)
    with pytest.raises(CannotUpdate, match="not upgraded in place"):
        upgrades.build(pool, REL, NEW)


def test_on_linux_update_and_upgrade_refuse_before_any_snapshot(pool):
    before = names(pool.pool)
    result = iocjail("update", "thin")
    assert result.exit_code == 69
    assert result.output.splitlines()[-1].startswith(
        "iocjail: update of thin needs FreeBSD: freebsd-update does not exist on linux")
    assert iocjail("upgrade", "thin", "-r", NEW).exit_code == 69
    assert names(pool.pool) == before


def test_update_all_updates_every_jail_a_release_once_and_goes_on_past_a_failure(pool, iocroot):
    assert iocjail("create", "-r", REL, "-n", "base2", "-B").exit_code == 0
    assert iocjail("create", "-r", REL, "-n", "tpl", "template=yes").exit_code == 0
    assert iocjail("set", "priority=1", "thick").exit_code == 0
    rel_root = str(iocroot / "releases" / REL / "root")

    def install(step):
        root = step.argv[step.argv.index("-b") + 1]
        if root == str(iocroot / "jails" / "thin" / "root"):
            return 1  # thin's update fails: rolled back, the others go on
        (Path(root) / "bin" / "freebsd-version").write_text(VERSION.format("13.2-RELEASE-p9"))
        return 0

    executor = Scripted(install=install)
    seen: list[str] = []
    results = updates.update_all(pool, executor=executor, now=lambda: WHEN, begin=seen.append)
    by = {r.name: r for r in results}
    assert [r.name for r in results] == ["thick", "base", "base2", "thin"]  # priority, then name; no template
    assert seen == ["thick", "base", "thin"]  # told only of the jails it runs for
    assert (by["thick"].result.kind, by["thick"].result.new) == ("jail", "13.2-RELEASE-p9")
    assert (by["base"].result.kind, sorted(by["base"].result.release_set)) == ("basejail", ["base", "base2"])
    assert by["base2"].skipped == f"its base, release {REL}, was updated with base"
    assert isinstance(by["thin"].error, updates.UpdateFailed) and "rolled back" in str(by["thin"].error)
    assert [s.argv[2] for s in executor.ran if s.argv[-1] == "install"] == [
        str(iocroot / "jails" / "thick" / "root"), rel_root, str(iocroot / "jails" / "thin" / "root")]
    assert {n: cfg(iocroot, n)["release"] for n in ("thick", "base", "base2", "thin")} == {
        "thick": "13.2-RELEASE-p9", "base": "13.2-RELEASE-p9", "base2": "13.2-RELEASE-p9",
        "thin": "13.2-RELEASE-p4"}


def test_update_all_on_linux_refuses_before_any_snapshot_and_plans_each_jail(pool):
    before = names(pool.pool)
    result = iocjail("update", "ALL")
    assert result.exit_code == 69
    assert result.output.splitlines()[-1].startswith("iocjail: update of ALL needs FreeBSD")
    assert names(pool.pool) == before
    plan = iocjail("update", "--plan", "ALL")
    assert plan.exit_code == 0, plan.output
    heads = [line for line in plan.output.splitlines() if line.startswith("# update plan of")]
    assert heads == ["# update plan of release 13.2-RELEASE (the base of basejail base) on FreeBSD, running "
                     "13.2-RELEASE-p4", "# update plan of thick on FreeBSD, running 13.2-RELEASE-p4",
                     "# update plan of thin on FreeBSD, running 13.2-RELEASE-p4"]


def test_a_failing_update_rolls_the_jail_back_to_the_snapshot(pool, iocroot):
    root = iocroot / "jails" / "thin" / "root"
    before = {p.relative_to(root): p.read_bytes() for p in (root / "bin" / "freebsd-version", root / "etc" / "hosts")}

    def half_done(step):  # freebsd-update fetch got far enough to change files, then failed
        (root / "bin" / "freebsd-version").write_text(VERSION.format("13.2-RELEASE-p9"))
        (root / "etc" / "hosts").write_text("damaged\n")
        (root / "new-file").write_text("x")
        return 1

    executor = Scripted(fetch=half_done)
    with pytest.raises(UpdateFailed) as failed:
        updates.update(pool, "thin", executor=executor, now=lambda: WHEN)
    snap = f"{pool.pool}/iocage/jails/thin@ioc_update_13.2-RELEASE-p4_{STAMP}"
    assert str(failed.value) == f"thin: freebsd-update fetch failed (exit 1); rolled back to {snap}: nothing changed"
    assert [s.argv[-1] for s in executor.ran] == ["fetch"]  # install never ran
    assert {p: (root / p).read_bytes() for p in before} == before
    assert not (root / "new-file").exists()
    assert not (iocroot / "jails" / "thin" / "iocjail-update").exists()
    assert cfg(iocroot, "thin")["release"] == "13.2-RELEASE-p4"
    assert {snap, f"{pool.pool}/iocage/jails/thin/root@ioc_update_13.2-RELEASE-p4_{STAMP}"} <= names(pool.pool)


def test_a_successful_update_sets_release_from_the_new_userland(pool, iocroot):
    root = iocroot / "jails" / "thick" / "root"
    seen = {}

    def install(step):
        conf = step.argv[step.argv.index("-f") + 1]
        seen["conf"] = open(conf).read()  # the jail's configuration for jails, written on the host
        (root / "bin" / "freebsd-version").write_text(VERSION.format("13.2-RELEASE-p7"))
        return 0

    done = updates.update(pool, "thick", executor=Scripted(install=install), now=lambda: WHEN)
    assert (done.kind, done.old, done.new, done.release_set) == ("jail", "13.2-RELEASE-p4", "13.2-RELEASE-p7",
                                                                  ("thick",))
    assert done.snapshot in names(pool.pool)
    assert cfg(iocroot, "thick")["release"] == "13.2-RELEASE-p7"
    assert "Components world" in seen["conf"] and "ServerName update.FreeBSD.org" in seen["conf"]
    assert not (iocroot / "jails" / "thick" / "iocjail-update").exists()
    assert cfg(iocroot, "thin")["release"] == "13.2-RELEASE-p4"  # other jails untouched


def test_updating_a_basejail_updates_its_release_and_every_basejail_of_it(pool, iocroot):
    assert iocjail("create", "-r", REL, "-n", "base2", "-B").exit_code == 0
    rel_root = iocroot / "releases" / REL / "root"

    def install(step):
        (rel_root / "bin" / "freebsd-version").write_text(VERSION.format("13.2-RELEASE-p8"))
        return 0

    done = updates.update(pool, "base", executor=Scripted(install=install), now=lambda: WHEN)
    assert (done.kind, done.release, done.new) == ("basejail", REL, "13.2-RELEASE-p8")
    assert done.snapshot == f"{pool.pool}/iocage/releases/{REL}@ioc_update_13.2-RELEASE-p4_{STAMP}"
    assert sorted(done.release_set) == ["base", "base2"]
    assert cfg(iocroot, "base")["release"] == cfg(iocroot, "base2")["release"] == "13.2-RELEASE-p8"
    assert cfg(iocroot, "thin")["release"] == "13.2-RELEASE-p4"  # thin jails have their own root


def test_a_failing_release_update_rolls_the_release_back(pool, iocroot):
    rel_root = iocroot / "releases" / REL / "root"
    original = (rel_root / "bin" / "freebsd-version").read_text()

    def broken(step):
        (rel_root / "bin" / "freebsd-version").write_text(VERSION.format("13.2-RELEASE-p8"))
        return 1

    executor = Scripted(install=broken)
    with pytest.raises(UpdateFailed, match=r"^13.2-RELEASE: freebsd-update install failed \(exit 1\); rolled back"):
        updates.update(pool, REL, executor=executor, now=lambda: WHEN)
    assert executor.ran[-1] == Command(("umount", f"{rel_root}/dev"))  # the cleanup ran after the failure
    assert (rel_root / "bin" / "freebsd-version").read_text() == original
    assert cfg(iocroot, "base")["release"] == "13.2-RELEASE-p4"
    # the thin jail cloned from an earlier snapshot of the release is untouched and still works
    assert iocjail("get", "release", "thin").output == "13.2-RELEASE-p4\n"


def test_a_failed_rollback_is_reported_with_both_errors(pool, iocroot):
    snap_name = f"ioc_update_13.2-RELEASE-p4_{STAMP}"

    def sabotage(step):  # a newer snapshot makes the plain rollback refuse
        import subprocess
        subprocess.run(["zfs", "snapshot", f"{pool.pool}/iocage/jails/thin/root@later"], check=True)
        return 1

    with pytest.raises(RollbackFailed, match=f"the rollback to .*{snap_name} failed too"):
        updates.update(pool, "thin", executor=Scripted(fetch=sabotage), now=lambda: WHEN)


def test_upgrade_of_a_thin_jail_runs_the_loop_and_sets_release(pool, iocroot):
    root = iocroot / "jails" / "thin" / "root"

    def install(step):
        (root / "bin" / "freebsd-version").write_text(VERSION.format("14.1-RELEASE-p2"))
        return 0

    executor = Scripted(install=install)
    done = upgrades.upgrade(pool, "thin", NEW, executor=executor, now=lambda: WHEN).outcome
    assert [s.argv[-2:] for s in executor.ran] == [(NEW, "upgrade"), (NEW, "install")]
    assert (done.old, done.new) == ("13.2-RELEASE-p4", "14.1-RELEASE-p2")
    assert done.snapshot == f"{pool.pool}/iocage/jails/thin@ioc_upgrade_13.2-RELEASE-p4_{STAMP}"
    assert cfg(iocroot, "thin")["release"] == "14.1-RELEASE-p2"


def test_upgrade_all_upgrades_what_can_go_and_names_the_rest(pool, iocroot):
    assert iocjail("create", "-r", REL, "-n", "tpl", "template=yes").exit_code == 0

    def upgrade(step):  # thick's freebsd-update upgrade fails: rolled back, the others go on
        return 1 if step.argv[2] == str(iocroot / "jails" / "thick" / "root") else 0

    def install(step):
        (Path(step.argv[2]) / "bin" / "freebsd-version").write_text(VERSION.format("14.1-RELEASE-p2"))
        return 0

    executor = Scripted(upgrade=upgrade, install=install)
    seen: list[str] = []
    results = upgrades.upgrade_all(pool, NEW, executor=executor, now=lambda: WHEN, begin=seen.append).results
    by = {r.name: r for r in results}
    assert [r.name for r in results] == ["base", "thick", "thin"] and seen == ["thick", "thin"]  # no template
    assert by["base"].skipped.startswith("base: a basejail is upgraded onto a fetched release")  # 14.1 not here
    assert isinstance(by["thick"].error, UpdateFailed) and "rolled back" in str(by["thick"].error)
    assert (by["thin"].result.old, by["thin"].result.new) == ("13.2-RELEASE-p4", "14.1-RELEASE-p2")
    assert {n: cfg(iocroot, n)["release"] for n in ("thin", "thick", "base")} == {
        "thin": "14.1-RELEASE-p2", "thick": "13.2-RELEASE-p4", "base": "13.2-RELEASE-p4"}
    # again: thin is there already, and says so; thick is tried again
    later = WHEN.replace(minute=9)  # the failed try's snapshot stays, under its own time
    again = {r.name: r for r in upgrades.upgrade_all(pool, NEW, executor=Scripted(), now=lambda: later).results}
    assert again["thin"].skipped == "thin: the jail already runs 14.1-RELEASE-p2: use iocjail update for its patches"
    assert again["thick"].result is not None


def test_upgrade_all_on_linux_refuses_before_any_snapshot(pool):
    before = names(pool.pool)
    result = iocjail("upgrade", "ALL", "-r", NEW)
    assert result.exit_code == 69
    assert result.output.splitlines()[-1].startswith("iocjail: upgrade of ALL needs FreeBSD")
    assert names(pool.pool) == before
    plan = iocjail("upgrade", "--plan", "ALL", "-r", NEW)
    assert plan.exit_code == 0, plan.output
    lines = plan.output.splitlines()
    assert [x for x in lines if x.startswith("# upgrade plan of")] == [
        "# upgrade plan of thick (jail) from 13.2-RELEASE-p4 to 14.1-RELEASE on FreeBSD",
        "# upgrade plan of thin (jail) from 13.2-RELEASE-p4 to 14.1-RELEASE on FreeBSD"]
    assert lines[0].startswith("# base: a basejail is upgraded onto a fetched release") and lines[0].endswith(
        ": skipped")


def test_a_failing_upgrade_rolls_back(pool, iocroot):
    root = iocroot / "jails" / "thick" / "root"

    def broken(step):
        (root / "etc" / "rc.conf").write_text("half merged\n")
        return 1

    with pytest.raises(UpdateFailed, match="freebsd-update upgrade failed"):
        upgrades.upgrade(pool, "thick", NEW, executor=Scripted(upgrade=broken), now=lambda: WHEN)
    assert (root / "etc" / "rc.conf").read_text() != "half merged\n"
    assert cfg(iocroot, "thick")["release"] == "13.2-RELEASE-p4"


@pytest.fixture
def new_release(pool, iocroot, mirror):
    assert iocjail("fetch", "-r", NEW, "-s", mirror.url).exit_code == 0
    src = iocroot / "releases" / NEW / "root" / "usr" / "src"
    src.mkdir(parents=True)
    (src / "Makefile").write_text("# sources\n")
    return iocroot / "releases" / NEW / "root"


def test_upgrade_of_a_basejail_repoints_it_restarts_it_and_merges_etc(pool, iocroot, new_release):
    fstab = (iocroot / "jails" / "base" / "fstab").read_text()
    runtime, executor = Runtime(running=True), Scripted()
    done = upgrades.upgrade(pool, "base", NEW, executor=executor, runtime=runtime, now=lambda: WHEN).outcome
    assert (done.kind, done.old, done.new, done.release) == ("basejail", "13.2-RELEASE-p4", "14.1-RELEASE-p2", NEW)
    moved = (iocroot / "jails" / "base" / "fstab").read_text()
    assert moved == fstab.replace(f"/releases/{REL}/root/", f"/releases/{NEW}/root/") and moved != fstab
    assert cfg(iocroot, "base")["release"] == "14.1-RELEASE-p2"
    assert runtime.calls == [("stop", "base"), ("start", "base")]  # running: restarted on its new base
    assert [s[0] if isinstance(s, tuple) else s.argv[3] for s in executor.ran] == [
        "mkdir", "mount", "etcupdate", "newaliases", "umount"]


def test_a_failing_basejail_upgrade_puts_fstab_and_release_back_and_stops_it(pool, iocroot, new_release):
    fstab = (iocroot / "jails" / "base" / "fstab").read_text()
    runtime = Runtime(running=False)
    executor = Scripted(**{"/iocage_upgrade": lambda step: 2})  # etcupdate fails
    with pytest.raises(UpdateFailed, match=r"^base: etcupdate \(in ioc-base\) failed \(exit 2\); rolled back"):
        upgrades.upgrade(pool, "base", NEW, executor=executor, runtime=runtime, now=lambda: WHEN)
    assert (iocroot / "jails" / "base" / "fstab").read_text() == fstab
    assert cfg(iocroot, "base")["release"] == "13.2-RELEASE-p4"
    assert runtime.calls == [("start", "base"), ("stop", "base")]  # started for it, stopped before the rollback
    assert executor.ran[-1] == ("umount", str(iocroot / "jails" / "base" / "root"), "/iocage_upgrade")


def test_templates_and_jails_without_freebsd_userland_are_refused(pool, iocroot):
    assert iocjail("create", "-e", "-n", "empty").exit_code == 0
    result = iocjail("update", "--plan", "empty")
    assert result.exit_code == 2 and "has no FreeBSD userland" in result.output
    assert iocjail("set", "template=yes", "thick").exit_code == 0
    result = iocjail("update", "thick")
    assert result.exit_code == 2 and "is a template" in result.output


def test_a_failing_upgrade_of_a_running_basejail_runs_it_again_on_its_old_base(pool, iocroot, new_release):
    fstab = (iocroot / "jails" / "base" / "fstab").read_text()
    runtime = Runtime(running=True)
    executor = Scripted(**{"/iocage_upgrade": lambda step: 2})  # etcupdate fails
    with pytest.raises(UpdateFailed, match=r"^base: etcupdate \(in ioc-base\) failed \(exit 2\); rolled back"):
        upgrades.upgrade(pool, "base", NEW, executor=executor, runtime=runtime, now=lambda: WHEN)
    assert (iocroot / "jails" / "base" / "fstab").read_text() == fstab
    assert cfg(iocroot, "base")["release"] == "13.2-RELEASE-p4"
    # stopped for the new base, started on it, stopped before the rollback, started again on the old one
    assert runtime.calls == [("stop", "base"), ("start", "base"), ("stop", "base"), ("start", "base")]
    assert runtime.up


def test_a_planted_symlink_in_the_work_directory_is_never_followed(pool, iocroot, tmp_path):
    victim = tmp_path / "host-etc"
    victim.mkdir()
    (victim / "freebsd-update.conf").write_text("the host's own\n")
    (iocroot / "jails" / "thin" / "iocjail-update").symlink_to(victim)  # as an imported archive could carry
    executor = Scripted()
    updates.update(pool, "thin", executor=executor, now=lambda: WHEN)
    assert (victim / "freebsd-update.conf").read_text() == "the host's own\n"
    assert sorted(p.name for p in victim.iterdir()) == ["freebsd-update.conf"]
    assert not (iocroot / "jails" / "thin" / "iocjail-update").exists()  # removed after a successful update
