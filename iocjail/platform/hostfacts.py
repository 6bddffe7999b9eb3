"""Read-only facts about the host: the default-route interface and its MAC, the hostid."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from iocjail.errors import IocjailError
from iocjail.platform import shell


def parse_proc_net_route(text: str) -> str | None:
    """Linux /proc/net/route: the interface of the first 0.0.0.0/0 route."""
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000":
            return fields[0]
    return None


def parse_route_get(text: str) -> str | None:
    """FreeBSD `route -n get default`: the `interface:` line."""
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "interface" and value.strip():
            return value.strip()
    return None


def parse_ifconfig_ether(text: str) -> str | None:
    """FreeBSD `ifconfig IF ether`: the `ether xx:xx:…` line."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "ether":
            return fields[1].lower()
    return None


def default_route_interface() -> str | None:
    if sys.platform.startswith("freebsd"):
        try:
            return parse_route_get(shell.run(["route", "-n", "get", "default"]).stdout)
        except IocjailError:
            return None
    try:
        return parse_proc_net_route(Path("/proc/net/route").read_text())
    except OSError:
        return None


def interface_mac(iface: str) -> str | None:
    if sys.platform.startswith("freebsd"):
        try:
            return parse_ifconfig_ether(shell.run(["ifconfig", iface, "ether"]).stdout)
        except IocjailError:
            return None
    try:
        mac = Path("/sys/class/net", iface, "address").read_text().strip().lower()
    except OSError:
        return None
    return mac if mac and mac != "00:00:00:00:00:00" else None


def default_route_mac() -> str | None:
    iface = default_route_interface()
    return interface_mac(iface) if iface else None


def read_hostid(path: Path = Path("/etc/hostid")) -> str | None:
    """FreeBSD's /etc/hostid is a UUID in text; Linux's is 4 binary bytes (not iocage's hostid)."""
    try:
        text = path.read_bytes().decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if re.fullmatch(r"[0-9a-fA-F-]{8,64}", text) else None
