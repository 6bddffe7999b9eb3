import pytest

from iocjail.errors import UsageError
from iocjail.fetch.mirror import MirrorRelease, checked_url, index_url, parse_index, release_url, root_dir, server_url


def test_default_layout_is_freebsd_https():
    root = root_dir("arm64", "aarch64")
    assert root == "ftp/releases/arm64/aarch64"
    assert release_url("download.freebsd.org", root, "14.1-RELEASE") == \
        "https://download.freebsd.org/ftp/releases/arm64/aarch64/14.1-RELEASE/"
    assert index_url("http://127.0.0.1:8080/", "/ftp/releases/amd64/amd64/") == \
        "http://127.0.0.1:8080/ftp/releases/amd64/amd64/"


@pytest.mark.parametrize("server,url", [
    ("mirror.example.org", "https://mirror.example.org"),
    ("http://mirror.example.org/", "http://mirror.example.org"),
    ("https://m.example.org:8443/pub", "https://m.example.org:8443/pub"),
])
def test_server_urls(server, url):
    assert server_url(server) == url


@pytest.mark.parametrize("bad", ["", "ftp://x.org", "http://"])
def test_bad_servers(bad):
    with pytest.raises(UsageError):
        server_url(bad)


def test_url_override_gets_a_trailing_slash_and_must_be_http():
    assert checked_url("http://h/linux/alpine") == "http://h/linux/alpine/"
    with pytest.raises(UsageError):
        checked_url("/srv/releases/13.2-RELEASE")


INDEX = """<html><body><pre>
<a href="../">../</a>
<a href="12.4-RELEASE/">12.4-RELEASE/</a>  EOL   01-Jan-2024 00:00   -
<a href="13.2-RELEASE/">13.2-RELEASE/</a>        01-Jan-2024 00:00   -
<a href='14.1-RELEASE'>14.1-RELEASE</a>
<a href="9.3-RELEASE/"><b>9.3-RELEASE (EOL)</b></a>
<a href="15.0-CURRENT/">15.0-CURRENT/</a>
<a href="README.TXT">README.TXT</a> mentions 14.1-RELEASE and EOL
<a href="/ftp/releases/amd64/amd64/13.10-RELEASE/?C=M">13.10-RELEASE</a>
</pre></body></html>"""


def test_index_lists_releases_in_version_order_with_eol_marks():
    assert parse_index(INDEX) == [
        MirrorRelease("9.3-RELEASE", True), MirrorRelease("12.4-RELEASE", True),
        MirrorRelease("13.2-RELEASE"), MirrorRelease("13.10-RELEASE"), MirrorRelease("14.1-RELEASE")]
    assert str(MirrorRelease("9.3-RELEASE", True)) == "9.3-RELEASE (EOL)"


def test_a_page_without_release_links_lists_nothing():
    assert parse_index("<html><a href='x/'>x/</a> 13.2-RELEASE</html>") == []
