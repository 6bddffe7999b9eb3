"""git(1) for plugin indexes and artifacts: a shallow clone of someone else's repository.

The URL has been checked already (model/plugin_manifest.check_git_url); the clone is held to the
same rules once more by git itself, because the repository may point elsewhere (redirects,
submodules are never followed here):

* `--` before the URL and the directory: neither can be read as an option;
* GIT_ALLOW_PROTOCOL lists the transports allowed (ext and fd never are), and
  `protocol.ext.allow=never` says it again for gits that ignore the variable;
* no system or global git configuration (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL=/dev/null): a
  host's `url.*.insteadOf`, credential helpers or LFS filters do not apply to plugin repositories;
* GIT_TERMINAL_PROMPT=0: a repository asking for a password fails instead of waiting;
* no submodules, no hooks (a clone never copies hooks), `core.symlinks=true` so a symlink stays
  a symlink for the overlay check to judge.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from iocjail.platform import shell

TIMEOUT = 600.0


def clone_argv(url: str, dest: str, *, branch: str | None = None) -> list[str]:
    argv = ["git", "-c", "protocol.ext.allow=never", "-c", "protocol.fd.allow=never", "-c", "core.symlinks=true",
            "-c", "core.hooksPath=/dev/null", "clone", "--quiet", "--depth=1", "--no-recurse-submodules",
            "--single-branch"]
    if branch:
        argv += ["--branch", branch]
    return [*argv, "--", url, dest]


def clone_env(protocols: Sequence[str], base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    for key in [k for k in env if k.startswith("GIT_")]:
        del env[key]  # GIT_DIR, GIT_SSH_COMMAND, GIT_CONFIG_PARAMETERS… of the caller must not steer the clone
    env.update(GIT_ALLOW_PROTOCOL=":".join(protocols), GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_LFS_SKIP_SMUDGE="1")
    return env


def clone(url: str, dest: Path, *, protocols: Sequence[str], branch: str | None = None) -> None:
    """Clone `url` into the new directory `dest` (CommandFailed with git's message otherwise)."""
    shell.run(clone_argv(url, str(dest), branch=branch), env=clone_env(protocols), timeout=TIMEOUT)


def head(repo: Path) -> str:
    """The commit checked out in `repo`."""
    result = shell.run(["git", "-C", str(repo), "rev-parse", "HEAD"], env=clone_env(()), timeout=60)
    return result.stdout.strip()
