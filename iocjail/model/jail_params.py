"""The jail(8) parameters of a start, in iocage's order, and the runtime jail.conf they make.

`jail_params` follows iocage's start (reference §2.5 step 9): the network parameters first
(``ip4.addr``… for a shared stack, ``vnet``/``vnet.interface`` for vnet), then the boolean
``allow.*``/``mount.*`` parameters that are on (off ones are left to the kernel default), then the
always-present ones ending in ``persist``, then the user's ``jail_param_*`` passthroughs. The
host's FreeBSD version drops what older kernels do not know.

Decisions the caller must know:

* ``settings`` is the effective config *after* the start-time decisions the services make with host
  facts (NAT address, localhost_ip allocation, prefixing the default interface to bare
  addresses); this module only reads it. Every value goes through the registry again
  (`JailSettings.param`), so a hand-edited config.json fails here with the key's name, not
  inside jail(8).
* ``assign_localhost`` adds ``lo0|<localhost_ip>`` (`JailSettings.shared_ip4`), so jail(8) adds
  and removes that alias itself.
* ``exec.created`` is passed to jail(8) as iocage does; ``exec_created=False`` leaves it out for
  an engine that runs the hook itself.

`render_jail_conf` writes the file iocage writes to /var/run/jail.ioc-NAME.conf. Every value is
double-quoted with jail.conf(5)'s escapes (backslash, quote, ``$`` and control characters), so no
value can end its parameter, open a variable, or add another parameter; NUL is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from iocjail.errors import InvalidValue, PropertyConflict
from iocjail.model import properties as P
from iocjail.model.jail import JailSettings
from iocjail.model.values import is_true, kernel_name

Param = tuple[str, str | None]
Version = tuple[int, int]

MULTI_VALUED = frozenset({"ip4.addr", "ip6.addr", "vnet.interface"})  # rendered with +=
_PARAM_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")

# (jail(8) parameter, property, oldest host that knows it or None): included only when on.
# iocage gates "<= 9.3" and "<= 10.3"; (9, 4) and (10, 4) say the same as minimums.
_FLAGS: tuple[tuple[str, str, Version | None], ...] = (
    ("mount.fdescfs", "mount_fdescfs", (9, 4)),
    ("allow.mlock", "allow_mlock", (12, 0)),
    ("allow.mount.tmpfs", "allow_mount_tmpfs", (9, 4)),
    ("allow.mount.fdescfs", "allow_mount_fdescfs", (9, 4)),
    ("allow.mount.fusefs", "allow_mount_fusefs", (12, 0)),
    ("allow.vmm", "allow_vmm", (12, 0)),
    ("allow.nfsd", "allow_nfsd", (13, 3)),
    ("allow.set_hostname", "allow_set_hostname", None),
    ("mount.devfs", "mount_devfs", None),
    ("allow.raw_sockets", "allow_raw_sockets", None),
    ("allow.sysvipc", "allow_sysvipc", None),
    ("allow.quotas", "allow_quotas", None),
    ("allow.socket_af", "allow_socket_af", None),
    ("allow.chflags", "allow_chflags", None),
    ("allow.mount", "allow_mount", None),
    ("allow.mount.devfs", "allow_mount_devfs", None),
    ("allow.mount.nullfs", "allow_mount_nullfs", None),
    ("allow.mount.procfs", "allow_mount_procfs", None),
    ("allow.mount.linprocfs", "allow_mount_linprocfs", None),
    ("allow.mount.linsysfs", "allow_mount_linsysfs", None),
    ("allow.mount.zfs", "allow_mount_zfs", None),
)


def parse_host_version(version: str | Version | None) -> Version | None:
    """``"13.2-RELEASE-p4"`` → (13, 2); None means a current host (nothing is dropped)."""
    if version is None or isinstance(version, tuple):
        return version
    major, _, rest = version.partition("-")[0].partition(".")
    minor = "".join(ch for ch in rest if ch.isdigit()) or "0"
    if not major.isdigit():
        raise ValueError(f"cannot read a FreeBSD version from {version!r}")
    return int(major), int(minor)


def _known(host: Version | None, since: Version | None) -> bool:
    return host is None or since is None or host >= since


def jail_params(
    name: str,
    settings: JailSettings,
    jaildir: str,
    iocroot: str,
    host_version: str | Version | None = None,
    devfs_ruleset: int | str | None = None,
    *,
    exec_created: bool = True,
) -> list[Param]:
    """The parameters of ``jail -c`` for jail ``name`` (see the module docstring)."""
    host = parse_host_version(host_version)
    get = settings.param
    jail_zfs = is_true(get("jail_zfs"))
    forced = {"allow_mount", "allow_mount_zfs"} if jail_zfs else set()
    params: list[Param] = _network(settings)
    params += [(param, "1") for param, key, since in _FLAGS
               if _known(host, since) and (key in forced or is_true(get(key)))]
    uuid = kernel_name(name)[len("ioc-"):]
    enforce = get("enforce_statfs")
    root = jaildir.rstrip("/")
    params.append(("name", kernel_name(name)))
    if _known(host, (10, 4)):  # iocage: "10.3 and under do not support this"
        params += [(key, get(key)) for key in ("sysvmsg", "sysvsem", "sysvshm")]
    if exec_created and _known(host, (12, 0)):
        params.append(("exec.created", get("exec_created")))
    params += [
        ("host.domainname", get("host_domainname")),
        ("host.hostname", get("host_hostname")),
        ("path", f"{root}/root"),
        ("securelevel", get("securelevel")),
        ("host.hostuuid", uuid),
        ("devfs_ruleset", str(devfs_ruleset) if devfs_ruleset is not None else get("devfs_ruleset")),
        # A delegated dataset can only be mounted from inside with statfs 1 or lower.
        ("enforce_statfs", "1" if jail_zfs and enforce == "2" else enforce),
        ("children.max", get("children_max")),
        ("exec.clean", get("exec_clean")),
        ("exec.timeout", get("exec_timeout")),
        ("stop.timeout", get("stop_timeout")),
        ("mount.fstab", f"{root}/fstab"),
        ("exec.consolelog", f"{iocroot.rstrip('/')}/log/ioc-{uuid}-console.log"),
    ]
    if is_true(get("ip_hostname")):
        params.append(("ip_hostname", None))
    params.append(("persist", None))
    return params + passthrough_params(settings.raw)


def _network(settings: JailSettings) -> list[Param]:
    get = settings.param
    if is_true(get("vnet")):
        extra = get("vnet_interfaces")
        return [("vnet", None)] + [("vnet.interface", nic) for nic in extra.split() if extra != "none"]
    if any(addr.kind != "static" for addr in (*settings.ip4, *settings.ip6)):
        raise PropertyConflict("DHCP and accept_rtadv addresses need vnet=1")
    params: list[Param] = [("ip4.addr", str(a)) for a in settings.shared_ip4()]
    params += [("ip6.addr", str(a)) for a in settings.ip6]
    return params + [
        ("ip4.saddrsel", get("ip4_saddrsel")), ("ip4", get("ip4")),
        ("ip6.saddrsel", get("ip6_saddrsel")), ("ip6", get("ip6")),
    ]


def passthrough_params(cfg: Mapping[str, str]) -> list[Param]:
    """The user's ``jail_param_<name>`` keys that are not ``none``, sorted by name."""
    out: list[Param] = []
    for key in sorted(k for k in cfg if k.startswith(P.PASSTHROUGH_PREFIX)):
        param = P.passthrough_param(key)
        value = P.canonical(key, cfg[key])
        if param is not None and value != "none":
            out.append((param, value))
    return out


# -- jail.conf -------------------------------------------------------------------------------

_ESCAPES = {"\\": "\\\\", '"': '\\"', "$": "\\$", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def quote(value: str, key: str = "value") -> str:
    """``value`` as a jail.conf double-quoted string that reads back as exactly ``value``."""
    if "\0" in value:
        raise InvalidValue(key, value, "contains a NUL byte, which jail(8) cannot pass on")
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\{ord(ch):03o}")  # always 3 digits: a following digit stays literal
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def render_jail_conf(name: str, params: Sequence[Param]) -> str:
    """The runtime jail.conf: ``"ioc-NAME" {``, one ``key = "value";`` per parameter
    (``+=`` for multi-valued ones, ``key;`` for flags), ``}``."""
    lines = [f"{quote(kernel_name(name), 'name')} {{"]
    seen: set[str] = set()
    for key, value in params:
        if not _PARAM_RE.match(key):
            raise InvalidValue("jail parameter", key, "not a jail(8) parameter name")
        if key in seen and key not in MULTI_VALUED:
            raise InvalidValue("jail parameter", key, "given twice")
        seen.add(key)
        if value is None:
            lines.append(f"\t{key};")
        else:
            op = "+=" if key in MULTI_VALUED else "="
            lines.append(f"\t{key} {op} {quote(value, key)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
