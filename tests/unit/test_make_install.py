"""`make install`'s data part into a scratch PREFIX: the man page and the bash and zsh completions
where each looks by default, written by the program itself. (`make install-program` creates a
virtualenv and downloads the dependencies: not run here.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from iocjail import manpage
from tests.support.capabilities import ROOT, require

PROGRAM = Path(sys.executable).parent / "iocjail"


def make(*args: str) -> subprocess.CompletedProcess[str]:
    require(shutil.which("make") is not None, "needs make")
    return subprocess.run(["make", "-s", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=120)


def test_install_data_puts_the_man_page_and_completions_in_place(tmp_path):
    prefix = tmp_path / "usr" / "local"
    done = make("install-data", f"PREFIX={prefix}", f"PROGRAM={PROGRAM}")
    assert done.returncode == 0, done.stderr
    page = prefix / "share/man/man8/iocjail.8"
    bash = prefix / "share/bash-completion/completions/iocjail"
    zsh = prefix / "share/zsh/site-functions/_iocjail"
    assert page.read_text() == manpage.OUTPUT.read_text()
    assert zsh.read_text().startswith("#compdef iocjail\n") and "compdef _iocjail_completion iocjail" in zsh.read_text()
    assert not list(prefix.rglob("*.tmp"))

    # The installed bash file, as bash-completion would load it, completes a property name.
    probe = f"""
. {bash}
compopt() {{ :; }}
COMP_WORDS=(iocjail get -a); COMP_CWORD=3
_iocjail_completion iocjail
COMP_WORDS=(iocjail set allow_mount_z); COMP_CWORD=2
_iocjail_completion iocjail
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = {**os.environ, "PATH": f"{PROGRAM.parent}:{os.environ['PATH']}", "IOCJAIL_POOL": "no_such_pool_here"}
    out = subprocess.run(["bash", "--norc", "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.splitlines() == ["default", "allow_mount_zfs="], out.stderr

    done = make("uninstall", f"PREFIX={prefix}", f"INSTALL_VENV={tmp_path / 'venv'}")
    assert done.returncode == 0, done.stderr
    assert [p for p in prefix.rglob("*") if p.is_file()] == []
