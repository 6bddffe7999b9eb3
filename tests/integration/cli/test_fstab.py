"""`fstab` on jails laid out on a real pool: every action, iocage's messages, and destinations that
stay inside the jail's root whatever symlinks the jail planted."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from iocjail.errors import IocjailError
from iocjail.model.fstab import FstabError
from iocjail.services import fstab as service
from iocjail.site.config import rundir
from iocjail.site.host import Host
from tests.support.cli import iocjail, ok, zfs
from tests.support.jails import make_jail, thin_config

STAMP = re.compile(r" # Added by iocjail on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


@pytest.fixture
def jail(zpool, tmp_path):
    """www1 with an empty fstab; `src` is a host directory to mount."""
    assert iocjail("activate", zpool.name).exit_code == 0
    path = make_jail(zpool.name, "www1")
    (tmp_path / "src").mkdir()
    return path, tmp_path / "src"


def fstab_lines(path: Path) -> list[str]:
    return (path / "fstab").read_text().splitlines()


def refused(*args: str, code: int = 2) -> str:
    result = iocjail("fstab", *args)
    assert result.exit_code == code, result.output
    assert result.output.startswith("iocjail: ") and len(result.output.splitlines()) == 1
    return result.output


def test_add_six_fields_writes_iocage_format(jail):
    path, src = jail
    (path / "root" / "mnt").mkdir()
    assert ok("fstab", "-a", "www1", str(src), "/mnt", "nullfs", "rw", "0", "0") == "Successfully added mount to www1's fstab\n"
    [line] = fstab_lines(path)
    assert STAMP.search(line)
    assert STAMP.sub("", line) == f"{src}\t{path}/root/mnt\tnullfs\trw\t0\t0"


def test_the_stamp_is_utc_from_the_given_clock(jail):
    path, src = jail
    host = Host.from_env()
    when = datetime(2024, 2, 29, 23, 59, 58, tzinfo=timezone.utc)
    service.add(host, "www1", [str(src), "/srv", "nullfs", "ro", "0", "0"], mkdir=True, now=when)
    assert fstab_lines(path)[0].endswith(" # Added by iocjail on 2024-02-29 23:59:58")


def test_lone_path_quoted_entry_and_host_path_form(jail):
    path, src = jail
    ok("fstab", "-a", "--mkdir", "www1", str(src))
    ok("fstab", "-a", "--mkdir", "www1", f"tmpfs {path}/root/tmp2 tmpfs rw,mode=1777 0 0")
    lines = [STAMP.sub("", line) for line in fstab_lines(path)]
    assert lines == [f"{src}\t{path}/root{src}\tnullfs\tro\t0\t0",
                     f"tmpfs\t{path}/root/tmp2\ttmpfs\trw,mode=1777\t0\t0"]
    assert (path / "root" / str(src).lstrip("/")).is_dir() and (path / "root" / "tmp2").is_dir()


def test_paths_with_spaces_are_escaped(jail, tmp_path):
    path, _ = jail
    spaced = tmp_path / "with space"
    spaced.mkdir()
    ok("fstab", "-a", "--mkdir", "www1", str(spaced), "/my data", "nullfs", "ro", "0", "0")
    assert fstab_lines(path)[0].startswith(f"{str(spaced).replace(' ', chr(92) + '040')}\t{path}/root/my\\040data\t")
    assert (path / "root" / "my data").is_dir()
    listed = json.loads(ok("fstab", "-l", "--json", "www1"))
    assert listed[0]["source"] == str(spaced) and listed[0]["destination"] == f"{path}/root/my data"


@pytest.mark.parametrize("args,message", [
    (["/nonexistent-src", "/mnt", "nullfs", "ro", "0", "0"], "Source: /nonexistent-src does not exist!"),
    (["relative", "/mnt", "nullfs", "ro", "0", "0"], "Source: relative must use an absolute path!"),
    (["SRC", "mnt", "nullfs", "ro", "0", "0"], "Destination: mnt must use an absolute path!"),
    (["SRC", "/mnt", "nullfs", "ro", "x", "0"], "Dump: x must be a digit!"),
    (["SRC", "/mnt", "nullfs", "ro", "0", "12"], "Pass: 12 must be one digit long!"),
    (["SRC", "/../../../etc", "nullfs", "ro", "0", "0"], "must not contain '.' or '..' components"),
    (["SRC", "/", "nullfs", "ro", "0", "0"], "is the jail's root itself"),
    (["SRC", "/missing/dir", "nullfs", "ro", "0", "0"], "/root/missing/dir does not exist! (give --mkdir"),
    (["SRC", "/mnt"], "six fields"),
])
def test_bad_entries_change_nothing(jail, args, message):
    path, src = jail
    (path / "root" / "mnt").mkdir()
    before = sorted(p.name for p in (path / "root").iterdir())
    out = refused("-a", "www1", *[str(src) if a == "SRC" else a for a in args])
    assert message in out
    assert (path / "fstab").read_text() == ""
    assert sorted(p.name for p in (path / "root").iterdir()) == before


def test_a_symlink_planted_in_the_jail_never_redirects_a_destination(jail, tmp_path):
    path, src = jail
    outside = tmp_path / "host-dir"
    outside.mkdir()
    root = path / "root"
    (root / "evil").symlink_to(outside)  # the jail's root user can do this
    (root / "usr").mkdir()
    (root / "usr" / "link").symlink_to("../evil")
    for dest in ("/evil", "/evil/sub", "/usr/link/sub"):
        for extra in ([], ["--mkdir"]):
            out = refused("-a", *extra, "www1", str(src), dest, "nullfs", "ro", "0", "0")
            assert "is a symlink inside the jail: refused" in out
    assert list(outside.iterdir()) == []
    assert (path / "fstab").read_text() == ""
    (root / "file").write_text("")
    assert "is not a directory inside the jail" in refused("-a", "www1", str(src), "/file/x", "nullfs", "ro", "0", "0")


def test_duplicate_destinations_are_refused(jail):
    path, src = jail
    ok("fstab", "-a", "--mkdir", "www1", str(src), "/data", "nullfs", "ro", "0", "0")
    before = (path / "fstab").read_text()
    out = refused("-a", "www1", "/", f"{path}/root//data/", "nullfs", "ro", "0", "0")
    assert out == f"iocjail: Destination: {path}/root/data already exists!\n"
    assert (path / "fstab").read_text() == before


def test_list_table_script_and_json(jail):
    path, src = jail
    ok("fstab", "-a", "--mkdir", "www1", str(src), "/a", "nullfs", "ro", "0", "0")
    ok("fstab", "-a", "--mkdir", "www1", "tmpfs", "/b", "tmpfs", "rw", "0", "0")
    table = ok("fstab", "-l", "www1").splitlines()
    assert [c.strip() for c in table[1].strip("|").split("|")] == ["INDEX", "FSTAB ENTRY"]
    assert ok("fstab", "-l", "-H", "www1").splitlines() == [f"0\t{src} {path}/root/a nullfs ro 0 0",
                                                   f"1\ttmpfs {path}/root/b tmpfs rw 0 0"]
    data = json.loads(ok("fstab", "-l", "--json", "www1"))
    assert data[1] == {"index": 1, "source": "tmpfs", "destination": f"{path}/root/b", "fstype": "tmpfs",
                       "options": "rw", "dump": 0, "pass": 0, "comment": data[1]["comment"]}
    assert data[1]["comment"].startswith("Added by iocjail on ")


def test_remove_by_index_and_by_entry_keeps_comment_lines(jail):
    path, src = jail
    (path / "fstab").write_text(f"# my mounts\n{src}\t{path}/root/a\tnullfs\tro\t0\t0\n")
    (path / "root" / "a").mkdir()
    ok("fstab", "-a", "--mkdir", "www1", "tmpfs", "/b", "tmpfs", "rw", "0", "0")
    ok("fstab", "-a", "--mkdir", "www1", "tmpfs", "/c", "tmpfs", "rw", "0", "0")
    assert ok("fstab", "-r", "www1", "1") == "Successfully removed mount from www1's fstab\n"
    assert ok("fstab", "-r", "www1", str(src), "/a", "nullfs", "ro", "0", "0") == "Successfully removed mount from www1's fstab\n"
    lines = fstab_lines(path)
    assert lines[0] == "# my mounts" and len(lines) == 2 and "/root/c\t" in lines[1]
    before = (path / "fstab").read_text()
    assert refused("-r", "www1", "5", code=3) == "iocjail: Index 5 not found.\n"
    assert refused("-r", "www1", "tmpfs", "/zz", "tmpfs", "rw", "0", "0", code=3) == "iocjail: No matching fstab entry.\n"
    assert (path / "fstab").read_text() == before


def test_replace(jail):
    path, src = jail
    ok("fstab", "-a", "--mkdir", "www1", str(src), "/a", "nullfs", "ro", "0", "0")
    ok("fstab", "-a", "--mkdir", "www1", "tmpfs", "/b", "tmpfs", "rw", "0", "0")
    assert ok("fstab", "-R", "0", "--mkdir", "www1", f"{src} /srv nullfs rw 0 0") == "Index 0 replaced.\n"
    lines = [STAMP.sub("", line) for line in fstab_lines(path)]
    assert lines[0] == f"{src}\t{path}/root/srv\tnullfs\trw\t0\t0" and "/root/b\t" in lines[1]
    # the replaced entry's own destination is no duplicate; another entry's is
    assert ok("fstab", "-R", "0", "www1", str(src), "/srv", "nullfs", "ro", "0", "0") == "Index 0 replaced.\n"
    assert "already exists" in refused("-R", "0", "www1", "tmpfs", "/b", "tmpfs", "rw", "0", "0")
    assert refused("-R", "7", "www1", "tmpfs", "/b", "tmpfs", "rw", "0", "0", code=3) == "iocjail: Index 7 not found.\n"


def test_exactly_one_action(jail):
    assert "give exactly one of -a, -r, -R INDEX, -l, -e" in refused("www1")
    assert "(got -a, -l)" in refused("-a", "-l", "www1", "/x")
    assert "-l takes no ENTRY" in refused("-l", "www1", "/x")
    assert refused("-l", "nope", code=3) == "iocjail: jail 'nope' not found\n"


def editor_appending(line: str) -> str:
    """An $EDITOR that appends a line to the file it is given (a real process, no terminal)."""
    return f"sh -c 'printf \"%s\\n\" \"{line}\" >> \"$1\"' editor"


def test_edit_saves_a_valid_file_with_host_destinations(jail, monkeypatch):
    path, src = jail
    (path / "root" / "opt").mkdir()
    monkeypatch.setenv("EDITOR", editor_appending(f"{src} /opt nullfs ro 0 0"))
    assert ok("fstab", "-e", "www1") == "Successfully edited www1's fstab\n"
    assert fstab_lines(path) == [f"{src}\t{path}/root/opt\tnullfs\tro\t0\t0"]


def test_edit_refuses_an_invalid_file_and_keeps_the_original_and_the_edit(jail, monkeypatch):
    path, src = jail
    ok("fstab", "-a", "--mkdir", "www1", str(src), "/a", "nullfs", "ro", "0", "0")
    before = (path / "fstab").read_text()
    monkeypatch.setenv("EDITOR", editor_appending("garbage line"))
    out = refused("-e", "www1")
    assert "iocjail: fstab of www1 not changed: Malformed fstab at line 1: 'garbage line'" in out
    kept = Path(re.search(r"your edit is kept in (\S+)\)", out).group(1))
    assert kept.read_text() == before + "garbage line\n"
    kept.unlink()
    assert (path / "fstab").read_text() == before
    monkeypatch.setenv("EDITOR", editor_appending(f"{src} /a nullfs rw 0 0"))
    out = refused("-e", "www1")
    assert f"Destination: {path}/root/a already exists!" in out
    Path(re.search(r"your edit is kept in (\S+)\)", out).group(1)).unlink()
    assert (path / "fstab").read_text() == before


def test_edit_abandoned_in_the_editor(jail, monkeypatch):
    path, _ = jail
    monkeypatch.setenv("EDITOR", "false")
    assert refused("-e", "www1") == "iocjail: fstab of www1 not changed: the editor exited with status 1\n"
    monkeypatch.setenv("EDITOR", "/no/such/editor")
    assert refused("-e", "www1", code=127) == "iocjail: /no/such/editor not found: is it installed?\n"


def test_edit_refused_when_the_file_changed_meanwhile(jail):
    path, src = jail
    host = Host.from_env()

    def concurrent_editor(tmp: Path) -> int:
        service.add(host, "www1", [str(src), "/x", "nullfs", "ro", "0", "0"], mkdir=True)
        tmp.write_text("")
        return 0

    with pytest.raises(IocjailError, match="changed while you were editing") as refusal:
        service.edit(host, "www1", editor=concurrent_editor)
    assert len(fstab_lines(path)) == 1
    kept = Path(re.search(r"your edit is kept in (\S+)\)", str(refusal.value)).group(1))
    assert kept.read_text() == ""  # the edit, for the user to merge by hand
    kept.unlink()


def test_created_directories_are_removed_when_the_write_fails(jail):
    path, src = jail
    (path / "fstab").unlink()
    (path / "fstab").mkdir()  # the atomic replace will fail
    with pytest.raises(OSError):
        service.add(Host.from_env(), "www1", [str(src), "/new/deep", "nullfs", "ro", "0", "0"], mkdir=True)
    assert not (path / "root" / "new").exists()


def test_templates_are_readonly_and_still_editable(zpool, tmp_path):
    assert iocjail("activate", zpool.name).exit_code == 0
    ds = f"{zpool.name}/iocage/templates/tpl"
    path = make_jail(zpool.name, "tpl", thin_config("tpl", template="1"), category="templates")
    zfs("set", "readonly=on", ds)
    ok("fstab", "-a", "--mkdir", "tpl", str(tmp_path), "/data", "nullfs", "ro", "0", "0")
    assert "/root/data\t" in fstab_lines(path)[0] and (path / "root" / "data").is_dir()
    with pytest.raises(OSError):
        (path / "root" / "probe").write_text("")  # readonly again afterwards


def test_model_errors_keep_every_problem(jail):
    _, src = jail
    with pytest.raises(FstabError) as err:
        service.add(Host.from_env(), "www1", ["rel", "x", "nullfs", "ro", "00", "p"])
    assert len(err.value.problems) == 4
    assert os.listdir(jail[0] / "root") == []


def test_a_malformed_file_is_named_and_edit_still_opens_it(jail, monkeypatch):
    path, src = jail
    (path / "fstab").write_text("half a line\n")
    out = refused("-l", "www1")
    assert out == "iocjail: Malformed fstab at line 0: 'half a line'; fix the file with: iocjail fstab -e www1\n"
    assert "Malformed" in refused("-a", "www1", str(src))
    monkeypatch.setenv("EDITOR", "sh -c ': > \"$1\"' editor")  # the user deletes the bad line
    assert ok("fstab", "-e", "www1") == "Successfully edited www1's fstab\n"
    assert (path / "fstab").read_text() == ""
