"""The zfs(8)/zpool(8) adapter: batched parseable queries, typed results, typed errors.

Queries go through `zfs get -H -p` rather than `zfs list -p`: zfs-fuse (the Linux test
platform) has no `list -p` and no `get -t`, while `get -H -p [-r|-d N]` is the same on
zfs-fuse, OpenZFS and FreeBSD, and answers any set of properties for a whole tree in one call.
Types are filtered here, from the `type` property requested alongside.

zfs-fuse also reports "dataset is busy" for destroy and rename of a mounted dataset: both
unmount first (deepest first), retry briefly, and rename remounts what it had to unmount.

What zfs prints, read into `Dataset`s and typed errors, is platform/zfs_output.py's.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO

from iocjail.errors import CommandFailed, CommandTimeout, DatasetBusy, DatasetNotFound, ZfsError
from iocjail.platform import shell
from iocjail.platform.zfs_output import Dataset, Pool, classify, parse_get

Runner = Callable[..., shell.Result]
STREAM_PIPE = 1 << 20  # send/receive pipes: Linux's default pipe-max-size

TYPES = ("filesystem", "volume", "snapshot")
ACTIVE_PROP = "org.freebsd.ioc:active"


class Zfs:
    """All zfs/zpool operations iocjail performs. `run` is injectable (dry runs, plans)."""

    def __init__(self, run: Runner = shell.run, busy_retries: int = 6, busy_delay: float = 0.1,
                 timeout: float | None = 900.0) -> None:
        self._run = run
        self.busy_retries = busy_retries
        self.busy_delay = busy_delay
        # A wedged ZFS (zfs-fuse can deadlock) becomes an error instead of a command that never
        # returns; kernel ZFS operations are atomic, so a timed-out client leaves no half state.
        # Streams (receive) are never timed: their length depends on the data.
        self.timeout = timeout

    # -- plumbing -------------------------------------------------------------------------
    def _zfs(self, *args: str, stdin: IO[bytes] | None = None) -> str:
        try:
            if stdin is not None:
                return self._run(["zfs", *args], stdin=stdin).stdout
            return self._run(["zfs", *args], timeout=self.timeout).stdout
        except CommandTimeout as err:
            raise ZfsError(f"zfs {args[0]} did not answer in {self.timeout:.0f}s: is ZFS (zfs-fuse) hung?") from err
        except CommandFailed as err:
            raise classify(err) from err

    def _zpool(self, *args: str) -> str:
        try:
            return self._run(["zpool", *args], timeout=self.timeout).stdout
        except CommandTimeout as err:
            raise ZfsError(f"zpool {args[0]} did not answer in {self.timeout:.0f}s: is ZFS (zfs-fuse) hung?") from err
        except CommandFailed as err:
            raise classify(err) from err

    @staticmethod
    def _opts(props: Mapping[str, str] | None) -> list[str]:
        out: list[str] = []
        for key, value in (props or {}).items():
            out += ["-o", f"{key}={value}"]
        return out

    def _retry_busy(self, action: Callable[[], object], before_retry: Callable[[], None]) -> None:
        delay = self.busy_delay
        for attempt in range(self.busy_retries + 1):
            try:
                action()
                return
            except DatasetBusy:
                if attempt == self.busy_retries:
                    raise
                before_retry()
                time.sleep(delay)
                delay *= 2

    # -- queries ---------------------------------------------------------------------------
    def list_datasets(
        self,
        roots: str | Sequence[str] | None = None,
        props: Iterable[str] = (),
        *,
        recursive: bool = False,
        depth: int | None = None,
        types: Iterable[str] = ("filesystem", "volume"),
    ) -> list[Dataset]:
        """Datasets (and/or snapshots) under `roots` with `props`, in one zfs call.

        Without roots, every dataset of every imported pool. Order is zfs's (parents first).
        """
        wanted_types = set(types)
        unknown = wanted_types - set(TYPES)
        if unknown:
            raise ValueError(f"unknown dataset types {sorted(unknown)}")
        names = [roots] if isinstance(roots, str) else list(roots or [])
        props = [p for p in dict.fromkeys(["type", *props])]
        args = ["get", "-H", "-p", "-o", "name,property,value,source"]
        if depth is not None:
            args += ["-d", str(depth)]
        elif recursive:
            args.append("-r")
        out = self._zfs(*args, ",".join(props), *names)
        return [d for d in parse_get(out) if d.type in wanted_types]

    def dataset(self, name: str, props: Iterable[str] = ()) -> Dataset:
        """One dataset or snapshot; DatasetNotFound if it does not exist."""
        found = self.list_datasets(name, props, types=TYPES)
        if not found:
            raise DatasetNotFound(f"cannot open '{name}': dataset does not exist")
        return found[0]

    def exists(self, name: str) -> bool:
        try:
            self.dataset(name)
        except DatasetNotFound:
            return False
        return True

    def get(self, name: str, prop: str) -> str | None:
        """The value of one property, None when a user property is not set."""
        return self.dataset(name, [prop]).get(prop)

    def snapshots(self, name: str, props: Iterable[str] = (), *, recursive: bool = False) -> list[Dataset]:
        """Snapshots of `name` (and of its descendants when `recursive`)."""
        if recursive:
            return self.list_datasets(name, props, types=("snapshot",), recursive=True)
        return self.list_datasets(name, props, types=("snapshot",), depth=1)

    def pools(self) -> list[Pool]:
        out = self._zpool("list", "-H", "-o", "name,health")
        pools = []
        for line in out.splitlines():
            if line.strip():
                name, health = line.split("\t")[:2]
                pools.append(Pool(name, health))
        return pools

    # -- properties ------------------------------------------------------------------------
    def set(self, name: str, props: Mapping[str, str]) -> None:
        # One property per call: zfs-fuse and older FreeBSD accept only one.
        for key, value in props.items():
            self._zfs("set", f"{key}={value}", name)

    def inherit(self, name: str, prop: str, *, recursive: bool = False) -> None:
        self._zfs("inherit", *(["-r"] if recursive else []), prop, name)

    # -- changes ---------------------------------------------------------------------------
    def create(self, name: str, *, parents: bool = False, props: Mapping[str, str] | None = None) -> None:
        if parents and props:
            # zfs-fuse hangs for good on `create -p -o …` when a parent is missing: make the
            # parents first, then the dataset itself with its properties.
            self._ensure_parent(name)
            parents = False
        self._zfs("create", *(["-p"] if parents else []), *self._opts(props), name)

    def _ensure_parent(self, name: str) -> None:
        parent = name.rpartition("/")[0]
        if "/" in parent and not self.exists(parent):
            self._zfs("create", "-p", parent)

    def snapshot(self, name: str, *, recursive: bool = False, props: Mapping[str, str] | None = None) -> None:
        if "@" not in name:
            raise ValueError(f"not a snapshot name: {name}")
        self._zfs("snapshot", *(["-r"] if recursive else []), *self._opts(props), name)

    def clone(
        self, snapshot: str, target: str, *, parents: bool = False, props: Mapping[str, str] | None = None
    ) -> None:
        if parents and props:
            self._ensure_parent(target)  # see create(): never -p together with -o
            parents = False
        self._zfs("clone", *(["-p"] if parents else []), *self._opts(props), snapshot, target)

    def promote(self, name: str) -> None:
        self._zfs("promote", name)

    def rollback(self, snapshot: str, *, destroy_newer: bool = False) -> None:
        """Roll back to `snapshot`; `destroy_newer` (-r) destroys later snapshots, never clones."""
        self._zfs("rollback", *(["-r"] if destroy_newer else []), snapshot)

    def mount(self, name: str) -> None:
        self._zfs("mount", name)

    def unmount(self, name: str, *, force: bool = False) -> None:
        self._zfs("unmount", *(["-f"] if force else []), name)

    def _mounted_under(self, name: str) -> list[str]:
        """Mounted filesystems at or below `name`, deepest first."""
        found = self.list_datasets(name, ["mounted"], recursive=True, types=("filesystem",))
        mounted = [d.name for d in found if d.get("mounted") == "yes"]
        return sorted(mounted, key=lambda n: n.count("/"), reverse=True)

    def _unmount_all(self, names: Sequence[str]) -> None:
        for fs in names:
            try:
                self.unmount(fs, force=True)
            except ZfsError:
                pass  # already gone or unmounted; the retried operation reports what matters

    def rename(self, old: str, new: str, *, parents: bool = False, recursive: bool = False) -> None:
        """Rename a dataset (`parents`: create missing parents) or a snapshot (`recursive`: -r)."""
        args = ["rename", *(["-p"] if parents else []), *(["-r"] if recursive else []), old, new]
        if "@" in old:
            self._zfs(*args)
            return
        remount: list[str] = []

        def unmount() -> None:
            names = self._mounted_under(old)
            remount.extend(n for n in names if n not in remount)
            self._unmount_all(names)

        try:
            self._retry_busy(lambda: self._zfs(*args), unmount)
        except ZfsError:
            # Failed, or failed to report success: mount again what we unmounted, wherever it is.
            self._remount(remount, old, old, new)
            raise
        self._remount(remount, old, new)

    def _remount(self, names: Sequence[str], old: str, new: str, fallback: str | None = None) -> None:
        """Mount `names` (found under `old`) again under `new` (or `fallback`), parents first."""
        for fs in sorted(names, key=lambda n: n.count("/")):
            for prefix in (new, fallback) if fallback else (new,):
                try:
                    self.mount(prefix + fs[len(old):])
                    break
                except ZfsError:
                    pass  # not there, canmount=off/noauto, or already mounted

    def destroy(self, name: str, *, recursive: bool = False, dependents: bool = False, defer: bool = False) -> None:
        """Destroy a dataset or snapshot. `recursive` is -r (children and snapshots);
        `dependents` is -R (clones anywhere) and is only ever used when a caller asks by name.
        `defer` (-d, snapshots only): a snapshot that clones still use is marked and goes away
        with its last clone; one without clones goes at once.
        Filesystems are unmounted first: zfs-fuse may report "busy" otherwise.
        """
        flags = (["-r"] if recursive else []) + (["-R"] if dependents else [])
        if defer:
            if "@" not in name:
                raise ValueError(f"destroy -d takes a snapshot, not {name}")
            flags.append("-d")
        if "@" in name:
            self._zfs("destroy", *flags, name)
            return

        unmounted: list[str] = []

        def unmount() -> None:
            mounted = self._mounted_under(name)
            names = mounted if recursive or dependents else [n for n in mounted if n == name]
            unmounted.extend(n for n in names if n not in unmounted)
            self._unmount_all(names)

        unmount()
        try:
            self._retry_busy(lambda: self._zfs("destroy", *flags, name), unmount)
        except ZfsError:
            self._remount(unmounted, name, name)  # a refused destroy leaves the tree mounted as it was
            raise

    # -- streams ---------------------------------------------------------------------------
    @contextmanager
    def send(
        self, snapshot: str, *, replicate: bool = False, props: bool = False, incremental_from: str | None = None
    ) -> Iterator[IO[bytes]]:
        """Yield the readable stream of `zfs send`; its exit status is checked when the block ends."""
        args = ["zfs", "send"]
        args += ["-R"] if replicate else []
        args += ["-p"] if props else []
        args += ["-i", incremental_from] if incremental_from else []
        try:
            with shell.stream([*args, snapshot], pipe_size=STREAM_PIPE) as proc:
                yield proc.stdout
        except CommandFailed as err:
            raise classify(err) from err

    def receive(self, target: str, stream: IO[bytes], *, force: bool = False, no_mount: bool = False) -> None:
        """Receive a stream (any readable binary file or pipe) into `target`."""
        flags = (["-F"] if force else []) + (["-u"] if no_mount else [])
        self._zfs("receive", *flags, target, stdin=stream)

    @contextmanager
    def receiving(self, target: str, *, force: bool = False, no_mount: bool = False) -> Iterator[IO[bytes]]:
        """Yield the writable stdin of `zfs receive TARGET`, for a stream produced in Python
        (an archive member); its exit status is checked when the block ends. If zfs stops
        reading early (a bad stream), its own error is raised, not the broken pipe.

        When the block fails, the stream is ended (EOF) and zfs waited for, never killed:
        zfs-fuse's daemon keeps receiving from the pipe after its client dies, so a killed
        receive could still create TARGET after the caller has cleaned up.
        """
        flags = (["-F"] if force else []) + (["-u"] if no_mount else [])
        try:
            with shell.stream(["zfs", "receive", *flags, target], read=False, stdout=subprocess.DEVNULL,
                              pipe_size=STREAM_PIPE) as proc:
                try:
                    yield proc.stdin
                    proc.stdin.flush()
                except BrokenPipeError:
                    proc.wait()
                    raise ZfsError(f"zfs receive {target}: stopped reading the stream") from None
                except BaseException:
                    try:
                        proc.wait(timeout=self.timeout)
                    except (CommandFailed, BrokenPipeError):
                        pass  # an incomplete stream fails, as it should: the caller's error matters
                    raise
        except CommandFailed as err:
            raise classify(err) from err

    def own_properties(self, name: str) -> dict[str, dict[str, str]]:
        """Properties set on `name` and below rather than inherited: `local` ones and those a
        stream carried (`received`), dataset -> {property: value}, in one call."""
        out = self._zfs("get", "-H", "-p", "-r", "-s", "local,received", "-o", "name,property,value,source",
                        "all", name)
        return {d.name: dict(d.props) for d in parse_get(out)}

    # -- pools (tests and the demo make their own file-backed pools) ------------------------
    def pool_create(self, name: str, vdevs: Sequence[str], *, mountpoint: str | None = None) -> None:
        self._zpool("create", *(["-m", mountpoint] if mountpoint else []), name, *vdevs)

    def pool_destroy(self, name: str, *, force: bool = False) -> None:
        self._zpool("destroy", *(["-f"] if force else []), name)
