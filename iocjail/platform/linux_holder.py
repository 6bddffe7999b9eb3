"""pid 1 of a Linux jail: pivots into the jail's root, mounts its /proc, then reaps and waits.

Started by `unshare --mount --uts --ipc --pid [--net] --fork --propagation slave` (see
platform/linux.py) as `python -I -S linux_holder.py ROOT HOSTNAME`, so it runs in the jail's new
namespaces but still sees the host's tree. It:

1. prints `pid HOSTPID STARTTIME` (its pid and start time as the host sees them: /proc is still
   the host's here), so the starter can find it even if a later step fails;
2. sets the hostname (its own UTS namespace);
3. `pivot_root(ROOT, ROOT/proc)` then detaches the old root: the jail's mount namespace keeps no
   reference to any host mount (another pool's datasets stay unmountable); /proc then gets the
   jail's own procfs, which shows only the jail's processes;
4. prints `ready`, closes its output, and becomes the jail's init: it reaps orphans and exits on
   SIGTERM/SIGINT (the kernel then kills every process of the jail), which is jail(8)'s `persist`.

Only the standard library, all imported before the pivot: nothing of the host is reachable after.
"""

from __future__ import annotations

import ctypes
import os
import platform
import signal
import sys

MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC = 2, 4, 8, 4096, 16384
MNT_DETACH = 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217, "i686": 217}


def fail(what: str) -> None:
    err = ctypes.get_errno()
    print(f"error {what}: {os.strerror(err) if err else 'failed'}", flush=True)
    sys.exit(1)


def start_time(pid: str) -> str:
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()[19]


def setup(libc: ctypes.CDLL, root: str, hostname: str) -> None:
    name = hostname.encode()
    if libc.sethostname(name, len(name)) != 0:
        fail("sethostname")
    os.chdir(root)
    if os.lstat(".").st_dev == os.lstat("..").st_dev:  # not a mount point: pivot_root needs one
        if libc.mount(root.encode(), root.encode(), None, MS_BIND | MS_REC, None) != 0:
            fail(f"bind mount {root}")
        os.chdir(root)
    proc = os.lstat("proc")
    if not (proc.st_mode & 0o170000 == 0o040000):  # a directory, not a symlink the jail planted
        print("error: ROOT/proc is not a directory", flush=True)
        sys.exit(1)
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None or libc.syscall(number, b".", b"proc") != 0:
        fail("pivot_root")
    os.chdir("/")
    if libc.umount2(b"/proc", MNT_DETACH) != 0:
        fail("detach the host's root")
    if libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None) != 0:
        fail("mount /proc")


def serve() -> None:
    """Reap children (orphans of the jail land here) until SIGTERM or SIGINT."""
    wanted = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
    while True:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if signal.sigwait(wanted) != signal.SIGCHLD:
            sys.exit(0)


def main(argv: list[str]) -> None:
    root, hostname = argv[1], argv[2]
    libc = ctypes.CDLL(None, use_errno=True)
    hostpid = os.readlink("/proc/self")
    print(f"pid {hostpid} {start_time(hostpid)}", flush=True)
    null = os.open("/dev/null", os.O_RDWR)  # the host's, opened before the pivot
    setup(libc, root, hostname)
    print("ready", flush=True)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    serve()


if __name__ == "__main__":
    main(sys.argv)
