"""`update` and `upgrade` of jails as plans: freebsd-update and etcupdate commands as data. Pure.

What the book does by hand (seed 003, "Patching Jails" and "Upgrading Jails") and iocage
automates (reference §1.15-1.16):

* The jail's running version comes from its userland (freebsd-version), never from uname: the
  kernel is the host's. It is `--currently-running` and `UNAME_r`.
* A jail-specific configuration: the jail's own freebsd-update.conf (ServerName, KeyPrint,
  IgnorePaths, UpdateIfUnmodified kept) with `Components world` (plus `src` when the jail has
  /usr/src: a jail has no kernel) and no /boot/device.hints among the MergeChanges. iocjail
  writes it on the host, next to the jail's config.json, out of the jail's reach, as the book
  keeps /etc/jail-update.conf on the host; the work directory (-d) lives there too.
* The host's /usr/sbin/freebsd-update runs the update (an upgrade prefers the new release's own,
  when that release is fetched): never a script from inside the jail's root, which the jail's
  root user may have replaced.
* update = `fetch`, then `install` (exit 2, "no updates to install", is fine).
  upgrade = `-r NEW upgrade`, then `-r NEW install` again for as long as freebsd-update leaves
  its `<sha256(BASEDIR\\n)>-install` link in the work directory (at most 50 runs): the repeated
  runs the book describes. /etc: files the jail never changed are updated, changed ones merged
  (MergeChanges), conflicts handed to the user's $EDITOR on the terminal.
* A basejail's base is its release's: `update` patches the release it mounts; `upgrade`
  re-points its nullfs lines at the new release, then merges /etc inside the jail with
  etcupdate against the new release's sources, mounted read-only at /iocage_upgrade (iocage's
  way), and rebuilds the aliases database.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from iocjail.fetch.update import Command, update_env
from iocjail.lifecycle.plan import Action, op
from iocjail.model.values import kernel_name

HOST_FREEBSD_UPDATE = "/usr/sbin/freebsd-update"
MAX_INSTALL_RUNS = 50
UPGRADE_MOUNT = "/iocage_upgrade"  # where a basejail sees the new release's sources (iocage's name)
INSTALL_OK = (0, 2)  # 2: "No updates are available to install."

_COMPONENTS_RE = re.compile(r"^\s*Components\s.*$", re.M)
_MERGE_RE = re.compile(r"^(\s*MergeChanges\s+)(.*)$", re.M)
_VERSION_RE = re.compile(r"^(\d+)\.(\d+)-([A-Z]+\d*)(?:-p(\d+))?$")


class BadUpdateConf(ValueError):
    pass


def snapshot_name(kind: str, release: str, now: datetime) -> str:
    """`ioc_update_<rel>_<%Y-%m-%d_%H-%M-%S>` (iocage's name); `ioc_upgrade_…` alike."""
    return f"ioc_{kind}_{release}_{now.strftime('%Y-%m-%d_%H-%M-%S')}"


def jail_update_conf(text: str, *, has_src: bool) -> str:
    """The jail's freebsd-update.conf rewritten for a jail; refuses one without a server or key."""
    lines = [ln.split("#", 1)[0].split() for ln in text.splitlines()]
    keys = {words[0] for words in lines if words}
    missing = [k for k in ("ServerName", "KeyPrint") if k not in keys]
    if missing:
        raise BadUpdateConf(f"has no {' and no '.join(missing)}: freebsd-update cannot verify what it fetches")
    components = "Components src world" if has_src else "Components world"
    out = _COMPONENTS_RE.sub(components, text) if _COMPONENTS_RE.search(text) else text.rstrip("\n") + \
        f"\n{components}\n"

    def merge(match: re.Match[str]) -> str:
        kept = [p for p in match.group(2).split() if p.rstrip("/") != "/boot/device.hints"]
        return match.group(1) + " ".join(kept)

    out = _MERGE_RE.sub(merge, out)
    header = "# written by iocjail from the jail's /etc/freebsd-update.conf: jails have no kernel to update\n"
    return header + (out if out.endswith("\n") else out + "\n")


def install_marker(workdir: str, root: str) -> str:
    """The link freebsd-update keeps in its work directory while an install is pending."""
    digest = hashlib.sha256(f"{root}\n".encode()).hexdigest()
    return f"{workdir.rstrip('/')}/{digest}-install"


def version_key(version: str) -> tuple[int, int] | None:
    match = _VERSION_RE.match(version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def upgrade_refusal(current: str, new: str) -> str | None:
    """Why `upgrade -r NEW` from CURRENT makes no sense (a sentence), or None."""
    new_key, cur_key = version_key(new), version_key(current)
    if new_key is None or "-p" in new:
        return f"{new!r} is not a FreeBSD release to upgrade to (X.Y-RELEASE, without -pN)"
    if cur_key is None:
        return f"the jail's userland {current!r} is not a FreeBSD version freebsd-update knows"
    if new_key < cur_key:
        return f"{new} is older than the jail's {current}: freebsd-update does not downgrade"
    if new == current.split("-p")[0] or new == current:
        return f"the jail already runs {current}: use iocjail update for its patches"
    return None


@dataclass(frozen=True)
class Target:
    """Where freebsd-update works: -b ROOT, -d WORKDIR, -f CONF, the running version."""

    root: str
    workdir: str
    conf: str
    running: str
    binary: str = HOST_FREEBSD_UPDATE

    def argv(self, *args: str) -> tuple[str, ...]:
        root = self.root.rstrip("/")
        return (self.binary, "-b", root, "-d", self.workdir, "-f", self.conf, "--currently-running", self.running,
                "--not-running-from-cron", *args)


def jail_update_plan(target: Target, term: str) -> tuple[Command, ...]:
    """`update` of a thin or thick jail: fetch, then install."""
    env = update_env(target.running, term)
    return (Command(target.argv("fetch"), env), Command(target.argv("install"), env, INSTALL_OK))


def jail_upgrade_plan(target: Target, new: str, term: str, editor: str) -> tuple[Command, ...]:
    """`upgrade -r NEW` of a thin or thick jail: upgrade, then install until nothing is pending."""
    env = {**update_env(target.running, term), "EDITOR": editor or "vi"}
    marker = install_marker(target.workdir, target.root.rstrip("/"))
    return (Command(target.argv("-r", new, "upgrade"), env),
            Command(target.argv("-r", new, "install"), env, (0,), repeat_while=marker, max_runs=MAX_INSTALL_RUNS))


@dataclass(frozen=True)
class BasejailUpgrade:
    steps: tuple[Command | Action, ...]
    cleanup: tuple[Action, ...]


def basejail_upgrade_plan(name: str, root: str, new_src: str, caller_env: Mapping[str, str]) -> BasejailUpgrade:
    """In the running basejail (its nullfs base already the new release's): the new sources
    read-only at /iocage_upgrade, `etcupdate -F -s /iocage_upgrade` inside, `newaliases`."""
    kname = kernel_name(name)
    env = {"PATH": "/sbin:/bin:/usr/sbin:/usr/bin", "HOME": "/", "PWD": "/",
           "TERM": caller_env.get("TERM") or "xterm-256color", "EDITOR": caller_env.get("EDITOR") or "vi"}
    return BasejailUpgrade(
        steps=(op("mkdir", root, UPGRADE_MOUNT),
               op("mount", "nullfs", new_src, root, UPGRADE_MOUNT, "ro"),
               Command(("jexec", "-l", kname, "etcupdate", "-F", "-s", UPGRADE_MOUNT), env),
               Command(("jexec", "-l", kname, "newaliases"), env)),
        cleanup=(op("umount", root, UPGRADE_MOUNT),))


def describe(step: Command | Action) -> str:
    """One --plan line for a step."""
    if isinstance(step, Command):
        return step.describe()
    if step.op == "mount":
        fstype, source, root, rel, options = step.args
        return f"mount -t {fstype} -o {options} {source} {root.rstrip('/')}{rel}  # no symlink followed in the root"
    if step.op == "umount":
        return f"umount {step.args[0].rstrip('/')}{step.args[1]}"
    if step.op == "mkdir":
        return f"mkdir -p {step.args[0].rstrip('/')}{step.args[1]}  # inside the root, no symlink followed"
    return f"{step.op} {' '.join(step.args)}"


def basejail_source(fstab: str, iocroot: str) -> tuple[str, str] | None:
    """(`releases` or `templates`, NAME) a basejail's read-only nullfs lines mount its base from."""
    pattern = re.compile(rf"^{re.escape(iocroot.rstrip('/'))}/(releases|templates)/([^/\s]+)/root/")
    for line in fstab.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 4 and words[2] == "nullfs":
            match = pattern.match(words[0])
            if match:
                return match.group(1), match.group(2)
    return None


def repoint_fstab(fstab: str, iocroot: str, old: str, new: str) -> str:
    """fstab with the nullfs sources under releases/OLD/root moved to releases/NEW/root."""
    base = f"{iocroot.rstrip('/')}/releases"
    old_root, new_root = f"{base}/{old}/root/", f"{base}/{new}/root/"
    out = []
    for line in fstab.splitlines(keepends=True):
        words = line.split()
        if words and not words[0].startswith("#") and words[0].startswith(old_root):
            line = line.replace(words[0], new_root + words[0][len(old_root):], 1)
        out.append(line)
    return "".join(out)
