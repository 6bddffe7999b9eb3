"""The zfs adapter's argv and parsing, through an injected runner (no zfs needed)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from iocjail.errors import CommandFailed, DatasetBusy, DatasetExists, DatasetNotFound, ZfsError
from iocjail.platform.shell import Result
from iocjail.platform.zfs import Zfs
from iocjail.platform.zfs_output import classify, parse_get


class Recorder:
    """Answers each call with the next scripted (stdout | exception) and records the argv."""

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], **kwargs: object) -> Result:
        self.calls.append(list(argv))
        answer = self.answers.pop(0) if self.answers else ""
        if isinstance(answer, Exception):
            raise answer
        return Result(tuple(argv), 0, answer, "")


def failed(stderr: str) -> CommandFailed:
    return CommandFailed(["zfs", "x"], 1, stderr)


GET_OUTPUT = (
    "p/iocage\ttype\tfilesystem\t-\n"
    "p/iocage\tmountpoint\t/p/iocage\tinherited from p\n"
    "p/iocage\torg.freebsd.ioc:active\t-\t-\n"
    "p/iocage@s\ttype\tsnapshot\t-\n"
    "p/iocage@s\tmountpoint\t-\t-\n"
    "p/iocage@s\torg.freebsd.ioc:active\t-\t-\n"
    "p/iocage/jails\ttype\tfilesystem\t-\n"
    "p/iocage/jails\tmountpoint\t/p/iocage/jails\tinherited from p\n"
    "p/iocage/jails\torg.freebsd.ioc:active\tyes\tlocal\n"
)


def test_list_is_one_zfs_get_call_and_filters_types():
    run = Recorder(GET_OUTPUT)
    found = Zfs(run).list_datasets("p/iocage", ["mountpoint", "org.freebsd.ioc:active"], recursive=True)
    assert run.calls == [["zfs", "get", "-H", "-p", "-o", "name,property,value,source", "-r",
                          "type,mountpoint,org.freebsd.ioc:active", "p/iocage"]]
    assert [d.name for d in found] == ["p/iocage", "p/iocage/jails"]
    assert found[0].get("org.freebsd.ioc:active") is None
    assert found[1].get("org.freebsd.ioc:active") == "yes" and found[1].is_local("org.freebsd.ioc:active")
    assert found[0].sources["mountpoint"] == "inherited from p"


def test_depth_wins_over_recursive_and_types_can_be_snapshots():
    run = Recorder(GET_OUTPUT)
    found = Zfs(run).list_datasets(["p/iocage"], depth=1, types=("snapshot",))
    assert run.calls[0][6:9] == ["-d", "1", "type"]
    assert [d.name for d in found] == ["p/iocage@s"]
    assert found[0].dataset == "p/iocage" and found[0].snapshot == "s"


def test_unknown_type_is_a_programming_error():
    with pytest.raises(ValueError):
        Zfs(Recorder()).list_datasets("p", types=("bookmark",))


def test_values_with_tabs_keep_the_source_column():
    parsed = parse_get("p\torg.x:note\ta\tb\tlocal\np\ttype\tfilesystem\t-\n")
    assert parsed[0].props["org.x:note"] == "a\tb"
    assert parsed[0].sources["org.x:note"] == "local"


@pytest.mark.parametrize("stderr,kind", [
    ("cannot open 'p/x': dataset does not exist\nusage: ...", DatasetNotFound),
    ("cannot open 'nopool': no such pool\n", DatasetNotFound),
    ("cannot create 'p/x': dataset already exists\n", DatasetExists),
    ("cannot unmount '/p/x': Device or resource busy\n", DatasetBusy),
    ("cannot destroy 'p/x': dataset is busy\n", DatasetBusy),
    ("cannot destroy 'p/x': filesystem has dependent clones\nuse '-R' to destroy", ZfsError),
])
def test_errors_are_classified_with_zfs_first_line(stderr, kind):
    err = classify(failed(stderr))
    assert type(err) is kind
    assert str(err) == stderr.splitlines()[0]


def test_set_is_one_call_per_property():
    run = Recorder()
    Zfs(run).set("p/j", {"a:b": "1", "quota": "10G"})
    assert run.calls == [["zfs", "set", "a:b=1", "p/j"], ["zfs", "set", "quota=10G", "p/j"]]


def test_create_clone_snapshot_options():
    run = Recorder()
    z = Zfs(run)
    z.create("p/a/b", props={"mountpoint": "none", "x:y": "z"})
    z.clone("p/r@j", "p/j/root", parents=True)
    z.snapshot("p/j@s", recursive=True)
    assert run.calls == [
        ["zfs", "create", "-o", "mountpoint=none", "-o", "x:y=z", "p/a/b"],
        ["zfs", "clone", "-p", "p/r@j", "p/j/root"],
        ["zfs", "snapshot", "-r", "p/j@s"],
    ]
    with pytest.raises(ValueError):
        z.snapshot("p/j")


def test_destroy_never_adds_capital_r_by_itself():
    run = Recorder("p/j\ttype\tfilesystem\t-\np/j\tmounted\tno\t-\n", "")
    Zfs(run).destroy("p/j", recursive=True)
    assert run.calls[-1] == ["zfs", "destroy", "-r", "p/j"]
    run = Recorder("p/j\ttype\tfilesystem\t-\np/j\tmounted\tno\t-\n", "")
    Zfs(run).destroy("p/j", recursive=True, dependents=True)
    assert run.calls[-1] == ["zfs", "destroy", "-r", "-R", "p/j"]


def test_destroy_unmounts_first_and_retries_on_busy():
    listing = "p/j\ttype\tfilesystem\t-\np/j\tmounted\tyes\t-\np/j/root\ttype\tfilesystem\t-\np/j/root\tmounted\tyes\t-\n"
    run = Recorder(listing, "", "", failed("cannot destroy 'p/j': dataset is busy"), listing, "", "", "")
    Zfs(run, busy_delay=0).destroy("p/j", recursive=True)
    destroys = [c for c in run.calls if c[1] == "destroy"]
    unmounts = [c for c in run.calls if c[1] == "unmount"]
    assert len(destroys) == 2
    assert unmounts[:2] == [["zfs", "unmount", "-f", "p/j/root"], ["zfs", "unmount", "-f", "p/j"]]  # deepest first


def test_destroy_gives_up_after_the_retries():
    busy = failed("cannot destroy 'p/j': dataset is busy")
    listing = "p/j\ttype\tfilesystem\t-\np/j\tmounted\tno\t-\n"
    run = Recorder(*([listing, busy] * 3))
    with pytest.raises(DatasetBusy):
        Zfs(run, busy_retries=2, busy_delay=0).destroy("p/j")


def test_rename_of_busy_dataset_unmounts_renames_and_remounts():
    listing = "p/a\ttype\tfilesystem\t-\np/a\tmounted\tyes\t-\np/a/k\ttype\tfilesystem\t-\np/a/k\tmounted\tyes\t-\n"
    run = Recorder(failed("cannot rename 'p/a': dataset is busy"), listing, "", "", "", "", "")
    Zfs(run, busy_delay=0).rename("p/a", "p/b")
    assert [c for c in run.calls if c[1] == "mount"] == [["zfs", "mount", "p/b"], ["zfs", "mount", "p/b/k"]]


def test_rollback_and_rename_flags():
    run = Recorder()
    z = Zfs(run)
    z.rollback("p/j@s", destroy_newer=True)
    z.rename("p/r@a", "p/r@b", recursive=True)
    assert run.calls == [["zfs", "rollback", "-r", "p/j@s"], ["zfs", "rename", "-r", "p/r@a", "p/r@b"]]


def test_pools_parsing():
    run = Recorder("tank\tONLINE\nbackup\tDEGRADED\n")
    pools = Zfs(run).pools()
    assert [(p.name, p.health) for p in pools] == [("tank", "ONLINE"), ("backup", "DEGRADED")]
    assert run.calls == [["zpool", "list", "-H", "-o", "name,health"]]


def test_create_never_combines_parents_with_options():
    """zfs-fuse hangs on `create -p -o ...` with a missing parent: parents are made first."""
    missing = failed("cannot open 'p/a/b': dataset does not exist")
    run = Recorder(missing, "", "")
    Zfs(run).create("p/a/b/c", parents=True, props={"x:complete": "no"})
    assert run.calls[1:] == [["zfs", "create", "-p", "p/a/b"], ["zfs", "create", "-o", "x:complete=no", "p/a/b/c"]]
    run = Recorder(missing, "", "")
    Zfs(run).clone("p/r@s", "p/a/b/c", parents=True, props={"x:y": "1"})
    assert run.calls[1:] == [["zfs", "create", "-p", "p/a/b"], ["zfs", "clone", "-o", "x:y=1", "p/r@s", "p/a/b/c"]]


def test_a_hung_zfs_becomes_an_error():
    from iocjail.errors import CommandTimeout

    run = Recorder(CommandTimeout(["zfs", "create"], -1, ""))
    with pytest.raises(ZfsError, match="did not answer in 5s"):
        Zfs(run, timeout=5).create("p/x")


def test_a_real_hung_command_is_killed_at_the_timeout():
    from iocjail.platform import shell

    def slow(argv, **kwargs):  # a stand-in zfs that never answers, run for real
        return shell.run(["sleep", "30"], timeout=kwargs.get("timeout"))

    with pytest.raises(ZfsError, match="is ZFS"):
        Zfs(slow, timeout=0.3).pools()
