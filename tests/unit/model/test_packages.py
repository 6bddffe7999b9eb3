"""The pkg_command property: plain words, never shell syntax."""

import pytest

from iocjail.errors import InvalidValue
from iocjail.model import properties as P
from iocjail.model.packages import pkg_command_argv


@pytest.mark.parametrize("value, stored", [
    ("/bin/busybox", "/bin/busybox"), ("apk-as-pkg", "apk-as-pkg"), ("NONE", "none"),
    ("/usr/local/sbin/wrap  --quiet", "/usr/local/sbin/wrap --quiet"), ("'/opt/my pkg' -v", "'/opt/my pkg' -v")])
def test_accepted(value, stored):
    assert P.validate("pkg_command", value) == stored


@pytest.mark.parametrize("value, message", [
    ("apk add; rm -rf /", "plain words"), ("$(evil)", "plain words"), ("a|b", "plain words"),
    ("sbin/apk", "absolute path or a bare name"), ("/usr/../bin/x", "must not contain .."), ("", "empty"),
    ("'unclosed", "cannot be split")])
def test_refused(value, message):
    with pytest.raises(InvalidValue, match=message):
        P.validate("pkg_command", value)


def test_not_in_defaults_json_and_not_an_iocage_key():
    assert "pkg_command" not in P.default_config()  # defaults.json stays exactly iocage's
    assert P.lookup("pkg_command").help


def test_argv():
    assert pkg_command_argv("'/opt/my pkg' -v") == ["/opt/my pkg", "-v"]
    assert pkg_command_argv("none") is None and pkg_command_argv(None) is None
