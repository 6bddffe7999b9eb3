import pytest

from iocjail.fetch.members import HARDLINK, SYMLINK, Member, UnsafeMember, check, problem

GOOD = [Member("./"), Member("./bin/", "dir"), Member("./bin/busybox"), Member("./bin/sh", SYMLINK, "busybox"),
        Member("./sys", SYMLINK, "/usr/src/sys"),  # absolute symlink targets resolve inside the jail
        Member("./usr/bin/ls", HARDLINK, "./bin/busybox"), Member("etc/rc")]


def test_a_normal_release_passes_and_is_counted():
    assert check("base.txz", GOOD) == len(GOOD)


@pytest.mark.parametrize("member,why", [
    (Member("../escape"), "'..' component"),
    (Member("./etc/../../escape"), "'..' component"),
    (Member("/etc/passwd"), "absolute path"),
    (Member("./x", HARDLINK, "/etc/shadow"), "hard link target: absolute path"),
    (Member("./x", HARDLINK, "../../etc/shadow"), "hard link target: '..' component"),
])
def test_unsafe_members_are_refused_by_name(member, why):
    with pytest.raises(UnsafeMember) as err:
        check("base.txz", [*GOOD, member])
    assert str(err.value) == f"base.txz: unsafe member {member.name!r} ({why}): refusing to extract"


def test_nothing_may_be_stored_below_a_symlink():
    with pytest.raises(UnsafeMember) as err:
        check("base.txz", [Member("./etc", SYMLINK, "/etc"), Member("./etc/passwd")])
    assert "stored below symlink 'etc'" in str(err.value)


def test_a_symlink_replaced_by_a_directory_is_no_longer_a_trap():
    assert check("t", [Member("a", SYMLINK, "/x"), Member("a/", "dir"), Member("a/f")]) == 3


def test_dotdot_inside_a_name_is_fine():
    assert problem("./usr/share/..hidden") is None and problem("a..b") is None
