"""Which module of iocjail.cli defines each command, so that running one command imports only
its module: `iocjail list` need not load the fetcher, requests, the plugin installer or the
FreeBSD planner, and starts in a fraction of the time (bench/list.py counts that start-up).

tests/unit/cli/test_index.py checks this table against the modules; a command missing from it
still works (the group then scans every module), it is only slower to start.
"""

MODULES = {
    "activate": "activate",
    "clean": "clean",
    "clone": "clone",
    "console": "console",
    "create": "create",
    "destroy": "destroy",
    "df": "df",
    "exec": "exec",
    "export": "migration",
    "fetch": "fetch",
    "fstab": "fstab",
    "get": "props",
    "import": "migration",
    "jailconf": "props",
    "list": "listing",
    "pkg": "packages",
    "rename": "rename",
    "restart": "lifecycle",
    "rollback": "snapshots",
    "set": "props",
    "snaplist": "snapshots",
    "snapremove": "snapshots",
    "snapshot": "snapshots",
    "start": "lifecycle",
    "stop": "lifecycle",
    "update": "packages",
    "upgrade": "packages",
}
