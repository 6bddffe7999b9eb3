"""export's clean-up of its @ioc-export snapshots, through an injected zfs runner."""

from __future__ import annotations

from iocjail.services.export import _drop_snapshots
from iocjail.platform.zfs import Zfs
from tests.unit.platform.test_zfs_argv import Recorder, failed

SNAPS = ("p/j/web@ioc-export-D\ttype\tsnapshot\t-\n"
         "p/j/web@other\ttype\tsnapshot\t-\n"
         "p/j/web/root@ioc-export-D\ttype\tsnapshot\t-\n")


class FakeHost:
    def __init__(self, run: Recorder) -> None:
        self.zfs = Zfs(run, busy_retries=0)


def test_one_recursive_destroy_when_it_works():
    run = Recorder("")
    assert _drop_snapshots(FakeHost(run), "p/j/web", "ioc-export-D") == ""  # type: ignore[arg-type]
    assert run.calls == [["zfs", "destroy", "-r", "p/j/web@ioc-export-D"]]


def test_one_at_a_time_deepest_first_when_it_fails_and_busy_ones_are_retried(mocker):
    mocker.patch("iocjail.services.export.time.sleep")
    busy = failed("cannot destroy 'p/j/web/root@ioc-export-D': dataset is busy")
    run = Recorder(busy, SNAPS, busy, "", "")
    assert _drop_snapshots(FakeHost(run), "p/j/web", "ioc-export-D") == ""  # type: ignore[arg-type]
    assert [c[1:] for c in run.calls if c[1] == "destroy"] == [
        ["destroy", "-r", "p/j/web@ioc-export-D"],
        ["destroy", "p/j/web/root@ioc-export-D"], ["destroy", "p/j/web/root@ioc-export-D"],
        ["destroy", "p/j/web@ioc-export-D"]]  # never the jail's own @other


def test_what_stays_is_named():
    run = Recorder(failed("cannot destroy: permission denied"), SNAPS, "",
                   failed("cannot destroy 'p/j/web@ioc-export-D': permission denied"))
    left = _drop_snapshots(FakeHost(run), "p/j/web", "ioc-export-D")  # type: ignore[arg-type]
    assert left.startswith("p/j/web@ioc-export-D (") and "root" not in left
