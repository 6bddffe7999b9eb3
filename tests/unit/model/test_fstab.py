"""The fstab model: the file format iocage writes, the ENTRY arguments and the checks without disk."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocjail.errors import UsageError
from iocjail.model import fstab as F

ROOT = "/iocage/jails/www1/root"


def test_an_iocage_line_parses_with_its_comment():
    line = f"/usr/src\t{ROOT}/usr/src\tnullfs\tro\t0\t0 # Added by iocage on 2019-01-01 10:00:00"
    entry = F.parse_line(line)
    assert entry == F.Entry("/usr/src", f"{ROOT}/usr/src", "nullfs", "ro", "0", "0",
                            "Added by iocage on 2019-01-01 10:00:00")
    assert entry.text() == line


def test_blank_and_comment_lines_are_kept_and_not_counted():
    text = "# mounts\n\n/a\t/iocage/jails/www1/root/a\tnullfs\tro\t0\t0\n  # more\n"
    lines = F.parse(text)
    assert [line.entry is None for line in lines] == [True, True, False, True]
    assert F.render(lines) == text
    assert F.entry_positions(lines) == [2]
    assert len(F.entries(lines)) == 1


def test_malformed_lines_are_all_named_with_their_number():
    with pytest.raises(F.FstabError) as err:
        F.parse("/a /b nullfs ro 0 0\ngarbage\n/x /y nullfs ro 0\n")
    assert err.value.problems == ["Malformed fstab at line 1: 'garbage'",
                                  "Malformed fstab at line 2: '/x /y nullfs ro 0'"]
    assert err.value.exit_code == 2


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1))
def test_encode_decode_round_trip_and_encoded_fields_have_no_blanks(text):
    encoded = F.encode(text)
    assert F.decode(encoded) == text
    assert not any(c in encoded for c in " \t\n#")


def test_spaces_are_octal_escapes_as_fstab5():
    assert F.encode("/with space") == "/with\\040space"
    entry = F.parse_line("/with\\040space /iocage/jails/www1/root/d nullfs rw 0 0")
    assert entry is not None and entry.source == "/with space"


def test_from_args_six_words_one_quoted_argument_or_a_lone_path():
    six = F.from_args(["/src", "/dst", "nullfs", "rw", "0", "0"])
    assert six.fields == ("/src", "/dst", "nullfs", "rw", "0", "0")
    assert F.from_args(["/src /dst nullfs rw 0 0"]) == six
    assert F.from_args(["/with\\040space /dst nullfs rw 0 0"]).source == "/with space"
    assert F.from_args(["/usr/ports"]).fields == ("/usr/ports", "/usr/ports", "nullfs", "ro", "0", "0")


@pytest.mark.parametrize("args", [[], ["/a", "/b"], ["/a /b nullfs ro 0"], ["a", "b", "c", "d", "e", "f", "g"],
                                  ["/a", "", "nullfs", "ro", "0", "0"]])
def test_from_args_refuses_other_shapes(args):
    with pytest.raises(UsageError, match="six fields"):
        F.from_args(args)


def test_index_arguments():
    assert F.is_index(["3"]) and not F.is_index(["/3"]) and not F.is_index(["1", "2"])


@pytest.mark.parametrize("given_,expected", [
    ("/usr/src", f"{ROOT}/usr/src"),
    (f"{ROOT}/usr/src", f"{ROOT}/usr/src"),
    (f"{ROOT}//usr/src/", f"{ROOT}/usr/src"),
    ("//usr//src", f"{ROOT}/usr/src"),
    ("/iocage/jails/www1/rootx", f"{ROOT}/iocage/jails/www1/rootx"),  # not under the root: inside form
    ("relative", "relative"),
])
def test_both_destination_forms(given_, expected):
    assert F.host_destination(given_, ROOT) == expected


def test_inside_parts():
    assert F.inside_parts(f"{ROOT}/a/b", ROOT) == ["a", "b"]
    assert F.inside_parts(ROOT, ROOT) == []
    assert F.inside_parts("/elsewhere/a", ROOT) is None
    assert F.inside_parts("a", ROOT) is None


def entry(src="/src", dst=f"{ROOT}/d", fstype="nullfs", options="ro", dump="0", passno="0"):
    return F.Entry(src, dst, fstype, options, dump, passno)


@pytest.mark.parametrize("bad,message", [
    (entry(src="src"), "Source: src must use an absolute path!"),
    (entry(dst="d"), "Destination: d must use an absolute path!"),
    (entry(dst="/elsewhere/d"), f"Destination: /elsewhere/d must include jail's mountpoint! ({ROOT})"),
    (entry(dst=f"{ROOT}/../../etc"), "must not contain '.' or '..' components"),
    (entry(dst=f"{ROOT}/a/./b"), "must not contain '.' or '..' components"),
    (entry(dst=ROOT), "is the jail's root itself"),
    (entry(dump="x"), "Dump: x must be a digit!"),
    (entry(dump="10"), "Dump: 10 must be one digit long!"),
    (entry(passno="-1"), "Pass: -1 must be a digit!"),
    (entry(passno="22"), "Pass: 22 must be one digit long!"),
    (entry(fstype="null fs"), "Type: 'null fs' must be one word!"),
    (entry(options=""), "Options: '' must be one word!"),
])
def test_checks(bad, message):
    assert any(message in p for p in F.check(bad, ROOT)), F.check(bad, ROOT)


def test_a_good_entry_has_no_problem_and_tmpfs_needs_no_absolute_source():
    assert F.check(entry(), ROOT) == []
    assert F.check(entry(src="tmpfs", fstype="tmpfs", options="rw,mode=1777"), ROOT) == []


def test_duplicate_destinations_compare_as_paths():
    dupes = F.duplicates([entry(dst=f"{ROOT}/d"), entry(src="/other", dst=f"{ROOT}//d/"), entry(dst=f"{ROOT}/e")])
    assert dupes == [f"Destination: {ROOT}//d/ already exists!"]
    assert F.duplicates([entry(dst=f"{ROOT}/d"), entry(dst=f"{ROOT}/e")]) == []


def test_same_mount_ignores_comment_and_slashes():
    a = F.Entry("/s", f"{ROOT}/d", "nullfs", "ro", "0", "0", "Added by iocage on x")
    assert F.same_mount(a, F.Entry("/s", f"{ROOT}//d/", "nullfs", "ro", "0", "0"))
    assert not F.same_mount(a, F.Entry("/s", f"{ROOT}/d", "nullfs", "rw", "0", "0"))
    assert not F.same_mount(a, F.Entry("/t", f"{ROOT}/d", "nullfs", "ro", "0", "0"))
