"""The git clone of a plugin repository: exact argv and environment, and git's own refusals."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from iocjail.errors import CommandFailed
from iocjail.platform import git


def test_clone_argv_ends_options_before_the_url():
    assert git.clone_argv("https://example.org/p.git", "/tmp/x", branch="13.2-RELEASE") == [
        "git", "-c", "protocol.ext.allow=never", "-c", "protocol.fd.allow=never", "-c", "core.symlinks=true",
        "-c", "core.hooksPath=/dev/null", "clone", "--quiet", "--depth=1", "--no-recurse-submodules",
        "--single-branch", "--branch", "13.2-RELEASE", "--", "https://example.org/p.git", "/tmp/x"]


def test_clone_env_allows_only_the_given_protocols_and_drops_the_callers_git_variables():
    env = git.clone_env(("https", "git"), {"PATH": "/bin", "GIT_SSH_COMMAND": "evil", "GIT_DIR": "/x",
                                           "GIT_CONFIG_PARAMETERS": "'protocol.ext.allow'='always'"})
    assert env == {"PATH": "/bin", "GIT_ALLOW_PROTOCOL": "https:git", "GIT_TERMINAL_PROMPT": "0",
                   "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_LFS_SKIP_SMUDGE": "1"}


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_itself_refuses_a_protocol_not_allowed(tmp_path):
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    with pytest.raises(CommandFailed):
        git.clone(f"file://{repo}", tmp_path / "out", protocols=("https",))
    assert not (tmp_path / "out").exists()
    git.clone(f"file://{repo}", tmp_path / "ok", protocols=("file",))
    assert len(git.head(tmp_path / "ok")) == 40
