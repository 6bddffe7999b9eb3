"""cli/index.py names the module of every command, and running one command loads only it."""

from __future__ import annotations

import subprocess
import sys

from iocjail.cli.index import MODULES
from iocjail.cli.main import load_all


def test_the_index_names_every_command_and_its_module():
    found = {name: command.callback.__module__.rsplit(".", 1)[1] for name, command in load_all().items()}
    assert MODULES == found, "add the new command to iocjail/cli/index.py"


def test_running_one_command_imports_only_its_module():
    probe = ("import sys\nfrom iocjail.cli.main import cli\n"
             "try:\n    cli(['get', '--help'], prog_name='iocjail')\nexcept SystemExit:\n    pass\n"
             "print(' '.join(sorted(m for m in sys.modules if m.startswith('iocjail.cli.'))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    loaded = set(out.splitlines()[-1].split())
    assert "iocjail.cli.props" in loaded
    assert not loaded & {"iocjail.cli.fetch", "iocjail.cli.migration", "iocjail.cli.packages"}, loaded
