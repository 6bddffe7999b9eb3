"""CLI conventions every command follows: errors, --help, --version, --debug."""

from __future__ import annotations

import inspect
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from iocjail import __version__
from iocjail.cli.main import Group, cli, load_all
from iocjail.cli.common import Ctx
from iocjail.errors import JailNotFound


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"iocjail {__version__}"


@pytest.mark.parametrize("name", sorted(load_all()))
def test_every_command_has_help_with_a_summary_and_an_example(name):
    result = invoke(name, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert load_all()[name].get_short_help_str().strip()


@pytest.mark.parametrize("name", sorted(load_all()))
def test_the_summary_is_one_short_line_shown_whole_in_the_listing(name):
    from iocjail.cli.main import SUMMARY_MAX

    summary = inspect.cleandoc(load_all()[name].help or "").split("\n\n")[0]
    assert "\n" not in summary and summary.endswith("."), f"{name}: the first paragraph is one sentence on one line"
    assert len(summary) <= SUMMARY_MAX, f"{name}: a summary of at most {SUMMARY_MAX} characters"
    listing = " ".join(invoke("--help").output.split())
    assert f" {name} {summary}" in listing  # never cut short with "..."


@pytest.mark.parametrize("name", sorted(load_all()))
def test_examples_are_iocjail_command_lines(name):
    doc = inspect.cleandoc(load_all()[name].help or "")
    block = doc.split("Example:", 1)[1].strip().split("\n\n")[0]
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    assert lines and all(line.startswith("iocjail ") for line in lines), lines


def test_bad_input_is_one_line_without_traceback():
    result = invoke("activate", "bad/name")
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "iocjail: invalid pool name 'bad/name': a pool name starts with a letter and holds only letters, digits, _ . : -"]
    assert "Traceback" not in result.output


def test_debug_adds_the_traceback():
    result = invoke("--debug", "activate", "bad/name")
    assert result.exit_code == 2
    assert "Traceback" in result.output and result.output.rstrip().endswith("digits, _ . : -")


def _group_with(exc: BaseException) -> click.Group:
    @click.group(cls=Group)
    @click.option("--debug", is_flag=True)
    @click.pass_context
    def g(ctx: click.Context, debug: bool) -> None:
        ctx.obj = Ctx(debug=debug)

    @g.command()
    def boom() -> None:
        raise exc

    return g


def test_iocjail_errors_carry_their_exit_code():
    result = CliRunner().invoke(_group_with(JailNotFound("www1")), ["boom"])
    assert result.exit_code == 3 and result.output == "iocjail: jail 'www1' not found\n"


def test_a_bug_is_reported_as_internal_error_not_a_traceback():
    result = CliRunner().invoke(_group_with(ValueError("oops")), ["boom"])
    assert result.exit_code == 70
    assert result.output == "iocjail: internal error: ValueError: oops (run with --debug for details)\n"


def test_os_errors_name_the_file():
    result = CliRunner().invoke(_group_with(PermissionError(13, "Permission denied", "/x/config.json")), ["boom"])
    assert result.exit_code == 1 and result.output == "iocjail: Permission denied: /x/config.json\n"


def test_usage_errors_stay_click_usage_errors():
    result = invoke("activate")
    assert result.exit_code == 2 and "Missing argument 'POOL'" in result.output


def test_json_and_script_mode_conflict():
    result = invoke("--pool", "whatever", "list", "-H", "--json")
    assert result.exit_code == 2 and "cannot be combined" in result.output


def test_installed_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "iocjail", "activate", "x/y"], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.startswith("iocjail: invalid pool name") and out.stdout == ""


def test_help_groups_every_command_under_a_known_section():
    from iocjail.cli.main import SECTIONS

    result = invoke("--help")
    assert result.exit_code == 0
    for name, command in load_all().items():
        assert getattr(command, "section", None) in SECTIONS, name
        assert f"  {name} " in result.output
    positions = [result.output.find(f"\n{s}:") for s in SECTIONS if f"\n{s}:" in result.output]
    assert positions == sorted(positions) and positions
