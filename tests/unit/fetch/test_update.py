"""The freebsd-update step as a plan: exact argv and environment (reference §4.1)."""

from iocjail.fetch.update import Command, UpdatePlan, freebsd_update_plan, skip_reason, userland_version

ROOT = "/iocage/releases/13.2-RELEASE/root"
ENV = {"UNAME_r": "13.2-RELEASE", "PAGER": "/bin/cat", "PATH": "/sbin:/bin:/usr/sbin:/usr/bin", "HOME": "/",
       "PWD": "/", "TERM": "xterm"}
BASE = (f"{ROOT}/usr/sbin/freebsd-update", "-b", ROOT, "-d", f"{ROOT}/var/db/freebsd-update/",
        "-f", f"{ROOT}/etc/freebsd-update.conf", "--currently-running", "13.2-RELEASE", "--not-running-from-cron")


def test_the_plan_is_devfs_fetch_install_then_unmount():
    plan = freebsd_update_plan(ROOT + "/", "13.2-RELEASE", "xterm")
    assert plan == UpdatePlan(
        steps=(Command(("mount", "-t", "devfs", "devfs", f"{ROOT}/dev")),
               Command((*BASE, "fetch"), ENV),
               Command((*BASE, "install"), ENV, (0, 2))),
        cleanup=(Command(("umount", f"{ROOT}/dev")),))


def test_term_defaults_to_dumb():
    assert freebsd_update_plan(ROOT, "13.2-RELEASE", "").steps[1].env["TERM"] == "dumb"


def test_skip_reasons():
    kw = dict(release="13.2-RELEASE", noupdate=False, has_update_conf=True)
    assert skip_reason(host_system="FreeBSD", **kw) is None
    assert skip_reason(host_system="Linux", **kw) == \
        "updates skipped: freebsd-update runs only on FreeBSD hosts (this is Linux)"
    assert skip_reason(host_system="FreeBSD", **{**kw, "noupdate": True}) == "updates skipped (--noupdate)"
    assert "not a FreeBSD release" in skip_reason(host_system="FreeBSD", **{**kw, "release": "alpine-3.19"})
    assert "no etc/freebsd-update.conf" in skip_reason(host_system="FreeBSD", **{**kw, "has_update_conf": False})


def test_userland_version_from_freebsd_version_script():
    script = '#!/bin/sh\nset -e\nUSERLAND_VERSION="13.2-RELEASE-p4"\n: ${ROOT:=}\n'
    assert userland_version(script) == "13.2-RELEASE-p4"
    assert userland_version("USERLAND_VERSION=14.1-RELEASE\n") == "14.1-RELEASE"
    assert userland_version("#!/bin/sh\necho hi\n") is None
