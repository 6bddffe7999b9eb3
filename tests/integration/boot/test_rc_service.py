"""start_rc/stop_rc on jails laid out on a real pool: which jails they pick, the record of
dependencies, broken configs. The per-jail start/stop is the injected action (the lifecycle
engine's own tests cover it); here it writes the runtime entry the engine writes, so the
running state is read exactly as in production."""

from __future__ import annotations

import json
import threading

import pytest

from iocjail.site import config
from iocjail.services import boot
from iocjail.site.host import Host
from iocjail.site.state import journal_dir, running
from tests.support.cli import iocjail
from tests.support.jails import make_jail, thin_config


class FakeRuntime:
    """Starts and stops by writing/removing RUNDIR/jails/POOL/NAME.json, as the engine does."""

    def __init__(self, host: Host, fail=()) -> None:
        self.host, self.fail = host, set(fail)
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def _path(self, name: str):
        return journal_dir(self.host) / f"{name}.json"

    def start(self, name: str) -> str | None:
        with self.lock:
            self.calls.append(("start", name))
        if self._path(name).exists():
            return "already running"
        if name in self.fail:
            raise RuntimeError("exec.start failed")
        self._path(name).parent.mkdir(parents=True, exist_ok=True)
        self._path(name).write_text(json.dumps({"jid": len(self.calls), "state": "up"}))
        return None

    def stop(self, name: str) -> str | None:
        with self.lock:
            self.calls.append(("stop", name))
        self._path(name).unlink()
        return None

    def started(self) -> list[str]:
        return [n for verb, n in self.calls if verb == "start"]


@pytest.fixture
def host(zpool, tmp_path, monkeypatch):
    monkeypatch.setenv("IOCJAIL_RUNDIR", str(tmp_path / "run"))  # this test's runtime state only
    assert iocjail("activate", zpool.name).exit_code == 0
    return Host.from_env()


def jail(host: Host, name: str, category: str = "jails", **props: str) -> None:
    make_jail(host.pool, name, thin_config(name, **props), category)


def lines(outcomes) -> list[str]:
    return [o.line() for o in outcomes]


def test_start_rc_boots_by_priority_and_depends_and_records_dependencies(host):
    jail(host, "db", boot="1", priority="10")
    jail(host, "web", boot="1", priority="20", depends="db cache")
    jail(host, "cache", priority="90", depends="store")
    jail(host, "store")
    jail(host, "idle")
    jail(host, "tpl", "templates", boot="1", template="1")
    rt = FakeRuntime(host)
    outcomes = boot.start_rc(host, 4, start_one=rt.start)
    assert lines(outcomes) == ["db: started", "store: started", "cache: started", "web: started"]
    assert rt.started().index("store") < rt.started().index("cache") < rt.started().index("web")
    assert rt.started()[0] == "db"  # priority 10 finishes before anything of level 20 begins
    assert set(running(host)) == {"db", "store", "cache", "web"}
    assert boot.load_record(host) == {"cache", "store"}
    assert json.loads(boot.record_path(host).read_text()) == {"started_as_dependency": ["cache", "store"]}
    assert boot.record_path(host).parent == config.rundir() / "boot"
    boot.check(outcomes, "start")


def test_already_running_jails_are_not_started_again_nor_recorded(host):
    jail(host, "app", boot="1", depends="lib")
    jail(host, "lib")
    rt = FakeRuntime(host)
    rt.start("lib")  # started by hand before the boot
    outcomes = boot.start_rc(host, 2, start_one=rt.start)
    assert lines(outcomes) == ["lib: already running", "app: started"]
    assert rt.started() == ["lib", "lib", "app"]  # by hand, then by --rc, which found it running
    assert boot.load_record(host) == set()


def test_a_broken_config_or_a_failure_stops_only_its_dependants(host):
    jail(host, "good", boot="1")
    jail(host, "bad", boot="1")
    jail(host, "child", boot="1", depends="bad")
    jail(host, "uses_tpl", boot="1", depends="tpl")
    jail(host, "tpl", "templates", template="1")
    jail(host, "weird", boot="1", priority="5x")
    jail(host, "corrupt", boot="1")
    (host.path("jails", "corrupt", "config.json")).write_text("{not json")
    jail(host, "needs_corrupt", boot="1", depends="corrupt")
    rt = FakeRuntime(host, fail={"bad"})
    outcomes = {o.name: o for o in boot.start_rc(host, 4, start_one=rt.start)}
    assert outcomes["good"].line() == "good: started"
    assert outcomes["bad"].line() == "bad: failed: internal error: RuntimeError: exec.start failed"
    assert outcomes["child"].line() == "child: skipped: depends on 'bad', which failed"
    assert outcomes["uses_tpl"].line() == "uses_tpl: left out: depends on 'tpl', a template (templates never boot)"
    assert outcomes["weird"].line() == "weird: left out: invalid priority '5x': expected a number"
    assert outcomes["corrupt"].status == "left out" and "config.json" in outcomes["corrupt"].detail
    assert outcomes["needs_corrupt"].detail == "depends on 'corrupt', which cannot boot"
    assert sorted(rt.started()) == ["bad", "good"]
    with pytest.raises(boot.BootIncomplete, match="^6 of 7 jails did not start$"):
        boot.check(list(outcomes.values()), "start")


def test_stop_rc_stops_boot_jails_and_recorded_dependencies_nothing_else_needs(host):
    jail(host, "app", boot="1", priority="20", depends="lib")
    jail(host, "lib", depends="base")
    jail(host, "base")
    jail(host, "svc", boot="1", priority="30", depends="shared")
    jail(host, "shared")
    jail(host, "manual", depends="shared")
    jail(host, "asleep", boot="1")
    rt = FakeRuntime(host)
    assert all(o.status == "started" for o in boot.start_rc(host, 4, start_one=rt.start))
    assert boot.load_record(host) == {"lib", "base", "shared"}
    rt.stop("asleep")
    rt.start("manual")  # a jail started by hand that needs `shared`
    rt.calls.clear()
    outcomes = boot.stop_rc(host, 4, stop_one=rt.stop)
    assert lines(outcomes) == ["asleep: not running", "svc: stopped", "app: stopped", "lib: stopped", "base: stopped",
                               "shared: kept running: a running jail still depends on it"]
    assert [n for _, n in rt.calls] == ["svc", "app", "lib", "base"]  # priority 30 first, dependants first
    assert set(running(host)) == {"manual", "shared"}
    assert boot.load_record(host) == {"shared"}  # still started by --rc: a later stop --rc may stop it
    boot.check(outcomes, "stop")
    rt.stop("manual")
    assert lines(boot.stop_rc(host, 4, stop_one=rt.stop)) == [
        "asleep: not running", "svc: not running", "shared: stopped", "app: not running"]
    assert not boot.record_path(host).exists() and running(host) == {}


def test_a_damaged_record_counts_as_empty(host):
    boot.record_path(host).parent.mkdir(parents=True, exist_ok=True)
    boot.record_path(host).write_text("[1, 2")
    assert boot.load_record(host) == set()
