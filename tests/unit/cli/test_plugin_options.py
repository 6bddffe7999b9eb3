"""fetch -P and list -P/-PR: option combinations refused before any pool is looked at."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from iocjail.cli.main import cli


def invoke(*args: str):
    return CliRunner().invoke(cli, ["--pool", "no-such-pool-for-this-test", *args])


@pytest.mark.parametrize("args, why", [
    (("fetch", "-P", "x.json", "-r", "13.2-RELEASE"), "-P installs a plugin from its manifest's release: -r do not apply"),
    (("fetch", "-P", "x.json", "-s", "mirror", "-F", "base.txz"), "-s, -F do not apply"),
    (("fetch", "-r", "13.2-RELEASE", "ip4_addr=192.0.2.1"), "PROP=VALUE, -n and --branch apply to a plugin (-P) only"),
    (("fetch", "-r", "13.2-RELEASE", "-n", "web"), "apply to a plugin (-P) only"),
    (("list", "-R"), "-R lists the remote plugin index with -P"),
    (("list", "-P", "-r"), "-P cannot be combined with -r, -t, -q or -B"),
    (("list", "-P", "-t"), "-P cannot be combined"),
])
def test_conflicting_options_are_usage_errors(args, why):
    result = invoke(*args)
    assert result.exit_code == 2 and why in result.output


def test_a_bad_property_is_refused_before_the_pool_is_needed():
    result = invoke("fetch", "-P", "x.json", "novalue")
    assert result.exit_code == 2 and result.output == "iocjail: expected KEY=VALUE, got 'novalue'\n"
