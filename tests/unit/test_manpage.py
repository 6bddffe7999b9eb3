"""iocjail(8): generated from the command tree and the property registry, checked in, lint-clean."""

from __future__ import annotations

import shutil
import subprocess

import click
import pytest

from iocjail import manpage
from iocjail.cli.main import cli, load_all
from iocjail.model.properties import PROPS
from tests.support.capabilities import require

# Whether jail(8), zfs(8), ... are installed depends on the machine, not on the page.
MACHINE_DEPENDENT = ("referenced manual not found", "mandoc.db")


@pytest.fixture(scope="module")
def page() -> str:
    return manpage.render()


def test_the_checked_in_page_is_up_to_date(page):
    checked_in = manpage.OUTPUT.read_text() if manpage.OUTPUT.exists() else ""
    assert checked_in == page, (
        "share/man/man8/iocjail.8 is stale: a command, an option or a property changed. "
        "Run `make man` (python -m iocjail.manpage -o share/man/man8/iocjail.8) and commit the page "
        "with your change; edit prose in share/man/iocjail.8.in, never in the generated page.")


def test_mandoc_lint_is_clean():
    require(shutil.which("mandoc") is not None, "needs mandoc (apt-get install mandoc; make host installs it)")
    done = subprocess.run(["mandoc", "-Tlint", str(manpage.OUTPUT)], capture_output=True, text=True)
    messages = [line for line in (done.stdout + done.stderr).splitlines()
                if line and not any(m in line for m in MACHINE_DEPENDENT)]
    assert messages == []


def test_every_command_and_option_is_documented(page):
    for name, command in load_all().items():
        if command.hidden:
            continue
        assert f".Nm {name}\n" in page, name
        for opt in manpage.visible_options(command):
            for flag in opt.opts + opt.secondary_opts:
                assert f"Fl {flag[1:]}" in page, f"{name} {flag}"
    for flag in ("--pool", "--debug", "-D", "--version"):
        assert f"Fl {flag[1:]}" in page


def test_every_property_is_documented_with_its_default(page):
    for prop in PROPS:
        assert f".It Cm {prop.name}" in page, prop.name
    assert ".It Cm boot Ns = Ns Li 0\n" in page
    assert ".It Cm host_domainname Ns = Ns Qq\n" in page  # an empty default
    assert ".It Cm release\n" in page  # per jail: no default


def test_hidden_options_stay_out():
    @click.command()
    @click.option("-l", "--long", is_flag=True, hidden=True)
    @click.option("-s", "--sort", metavar="COLUMN", default="name", show_default=True, help="Sort.")
    def demo(long: bool, sort: str) -> None:
        """Show things."""

    lines = manpage.command_entry("demo", demo, click.Context(cli))
    assert lines[:4] == [".It Xo", ".Nm demo", ".Op Fl s Ar COLUMN", ".Xc"]
    assert "Fl l" not in "\n".join(lines) and "(default: name)" in lines


def test_text_is_escaped_and_one_sentence_per_line():
    assert manpage.sentences(r"Runs C:\temp. Then `zfs list`; FreeBSD only (FreeBSD hosts).") == [
        r"Runs C:\etemp.", r"Then \(oqzfs list\(cq;", ".Fx", "only", ".Pf ( Fx", "hosts)."]
    assert manpage.text(".hidden files") == r"\&.hidden files"
    long = manpage.sentences("word " * 40)
    assert len(long) > 1 and max(map(len, long)) <= 79


@pytest.mark.parametrize("metavar, lines", [
    ("NAME...|ALL", [".Ar NAME ... | Cm ALL"]),
    ("[PROP] [JAIL|default]", [".Op Ar PROP", ".Op Ar JAIL | Cm default"]),
    ("[PROP=VALUE]...", [".Op Ar PROP=VALUE ..."]),
    ("KEY=VALUE... JAIL|default", [".Ar KEY=VALUE ...", ".Ar JAIL | Cm default"]),
])
def test_argument_metavars_become_mdoc(metavar, lines):
    arg = click.Argument(["x"], nargs=-1, metavar=metavar)
    assert manpage.argument_synopsis(arg, click.Context(cli)) == lines


def test_a_template_without_a_marker_is_refused():
    with pytest.raises(ValueError, match="@PROPERTIES@"):
        manpage.render(manpage.TEMPLATE.read_text().replace(manpage.PROPERTIES_MARK + "\n", ""))
