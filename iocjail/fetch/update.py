"""Applying FreeBSD security updates to a freshly extracted release, as a plan. Pure.

iocage runs freebsd-update against the release root with devfs mounted on ROOT/dev, in a clean
environment that makes the script believe it runs on the release (UNAME_r). iocjail builds the
same commands as data, so they are tested as exact argv on any OS, and runs them only on a
FreeBSD host. Unlike iocage it never downloads freebsd-update.sh from the development branch:
it runs the release's own `usr/sbin/freebsd-update`, which came out of the verified base.txz.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from iocjail.fetch.names import is_freebsd_release

CLEAN_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"
NOTHING_TO_INSTALL = 2  # freebsd-update install: "No updates are available to install."

_USERLAND_RE = re.compile(r"^\s*USERLAND_VERSION=[\"']?([A-Za-z0-9._+-]+)[\"']?\s*$", re.M)


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    env: Mapping[str, str] | None = None  # None: inherit the caller's environment
    ok_codes: tuple[int, ...] = (0,)
    # Run again while this host path exists (freebsd-update's pending-install link), at most
    # max_runs times in all: the "repeated runs" an upgrade needs.
    repeat_while: str | None = None
    max_runs: int = 1

    def describe(self) -> str:
        """The command as a shell line a user could paste, its environment first."""
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in (self.env or {}).items())
        line = f"env -i {env} {shlex.join(self.argv)}" if env else shlex.join(self.argv)
        if self.ok_codes != (0,):
            line += f"  # exit {' or '.join(map(str, self.ok_codes))} is success"
        if self.repeat_while:
            line += f"  # again while {self.repeat_while} exists, at most {self.max_runs} runs"
        return line


@dataclass(frozen=True)
class UpdatePlan:
    steps: tuple[Command, ...]
    cleanup: tuple[Command, ...] = field(default=())  # run whatever happened to the steps


def update_env(release: str, term: str) -> dict[str, str]:
    return {"UNAME_r": release, "PAGER": "/bin/cat", "PATH": CLEAN_PATH, "HOME": "/", "PWD": "/",
            "TERM": term or "dumb"}


def freebsd_update_plan(root: str, release: str, term: str = "dumb") -> UpdatePlan:
    """devfs on ROOT/dev, `freebsd-update … fetch`, `… install`, and unmount dev afterwards."""
    root = root.rstrip("/")
    binary = f"{root}/usr/sbin/freebsd-update"
    base = (binary, "-b", root, "-d", f"{root}/var/db/freebsd-update/", "-f", f"{root}/etc/freebsd-update.conf",
            "--currently-running", release, "--not-running-from-cron")
    env = update_env(release, term)
    return UpdatePlan(
        steps=(
            Command(("mount", "-t", "devfs", "devfs", f"{root}/dev")),
            Command((*base, "fetch"), env),
            Command((*base, "install"), env, (0, NOTHING_TO_INSTALL)),
        ),
        cleanup=(Command(("umount", f"{root}/dev")),),
    )


def skip_reason(*, host_system: str, release: str, noupdate: bool, has_update_conf: bool) -> str | None:
    """Why the update step is skipped (a sentence for the user), or None to run it."""
    if noupdate:
        return "updates skipped (--noupdate)"
    if host_system != "FreeBSD":
        return f"updates skipped: freebsd-update runs only on FreeBSD hosts (this is {host_system})"
    if not is_freebsd_release(release):
        return f"updates skipped: {release} is not a FreeBSD release name"
    if not has_update_conf:
        return f"updates skipped: {release} has no etc/freebsd-update.conf"
    return None


def userland_version(freebsd_version_script: str) -> str | None:
    """USERLAND_VERSION from a release's /bin/freebsd-version (a sh script that sets it)."""
    match = _USERLAND_RE.search(freebsd_version_script)
    return match.group(1) if match else None
