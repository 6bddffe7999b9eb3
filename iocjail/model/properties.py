"""The property registry: one `Prop` per iocage property (CONFIG_VERSION 34), and everything
derived from it — defaults.json, per-jail identity keys, and `set` validation.

Defaults. ``Prop.default`` is what defaults.json holds; ``None`` marks a value that is not a
static default: per-jail keys (`jail_identity`) and host-derived ones (`mac_prefix`, `hostid`),
which `default_config` takes as arguments so that nothing here looks at the host.

Settable. iocage's "X" keys (CONFIG_VERSION, host_hostuuid, release, type, basejail, …) and the
readonly ZFS properties cannot be set by the user. `host_hostname` and `jail_zfs_dataset` are
per-jail but settable, as in iocage.

Cross-property rules (`check_rules`, run by `validate_many`), decided here:

* ``nat`` and ``bpf`` cannot both be on: an error at set time, as in iocage.
* ``dhcp`` (or a ``DHCP`` entry in ip4_addr) needs ``bpf`` and ``vnet``; ``bpf`` and an
  ``accept_rtadv`` entry in ip6_addr need ``vnet``. iocage only notices at start. Here `set`
  fails at once and names the missing key; ``imply=True`` (for `create`, which in iocage turns
  these on itself) adds the missing ``vnet=1``/``bpf=1`` instead, unless the same command set
  them to 0 explicitly. Rules only fire when the command touches one of their keys, so a jail
  whose old config already breaks a rule can still have unrelated keys changed.
* ``nat_prefix``/``nat_interface``/``nat_backend`` can only be set on ``default``.

Extra jail(8) parameters (passthrough). A key ``jail_param_<name>`` passes ``<name> = value`` to
jail(8), after every parameter iocjail builds. ``<name>`` is written exactly as jail(8) spells it,
dots included (``jail_param_allow.read_msgbuf=1``, ``jail_param_osrelease=12.4-RELEASE``): the
``_``-for-``.`` trick of iocage names is ambiguous (``allow.raw_sockets``), dots are not. The name
must match ``[a-z][a-z0-9_]*(.[a-z][a-z0-9_]*)*`` and must not be one iocjail sets itself
(``name``, ``path``, ``persist``, ``exec.*``, ``mount*``, ``ip4*``/``ip6*``, ``vnet*``, any registry
parameter, or their ``no`` forms): use the iocage property for those. The value ``none`` means
"not passed"; anything else (no NUL) is passed verbatim.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from iocjail.errors import InvalidProperties, InvalidValue, ReadOnlyProperty, UnknownProperty, UsageError
from iocjail.model import addresses as A
from iocjail.model import packages as PK
from iocjail.model import rctl
from iocjail.model import values as V
from iocjail.model.property_rules import check_rules

CONFIG_VERSION = "34"
PASSTHROUGH_PREFIX = "jail_param_"
_JAIL_PARAM_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


@dataclass(frozen=True)
class Prop:
    name: str
    default: str | None  # None: per-jail or host-derived (see module docstring)
    parse: V.Parser  # user string -> canonical stored string, or ValueError/InvalidValue
    jail_param: str | None = None  # the jail(8) parameter it becomes at start
    live: bool = False  # applied to a running jail at once (jail -m or rctl)
    help: str = ""
    settable: bool = True
    zfs: bool = False  # a ZFS property of jails/NAME, not stored in config.json
    defaults_only: bool = False  # only `default` may set it
    stopped_only: bool = False  # refused while the jail runs (iocage: jail_zfs*, dhcp)


def _readonly(value: str) -> str:
    # defaults.json holds the placeholder "readonly"; the real value comes from ZFS.
    if value != "readonly":
        raise ValueError("is a read-only ZFS property")
    return value


_BOOL, _TEXT, _WORD = V.boolean, V.text, V.word
_IP_MODE = V.enum("new", "inherit", "disable", aliases={"none": "disable"})
# jail(8) also takes the numbers: 0 = disable, 1 = new, 2 = inherit; iocage stores the words.
_SYSV = V.enum("new", "inherit", "disable", aliases={"0": "disable", "1": "new", "2": "inherit"})
_UINT = V.int_range(0)
_MTU = V.one_of_or(["auto"], V.int_range(68, 65535))
_HOOK = "Run by iocjail on the host"


def _allow(name: str, help_: str, default: str = "0") -> Prop:
    # allow_mount_zfs -> allow.mount.zfs, but allow_raw_sockets -> allow.raw_sockets (§2.2).
    param = "allow." + name[len("allow_"):]
    if not any(param.endswith(s) for s in ("raw_sockets", "socket_af", "set_hostname")):
        param = param.replace("_", ".")
    return Prop(name, default, _BOOL, param, True, help_)


def _fixed(name: str, default: str | None, parse: V.Parser, help_: str) -> Prop:
    return Prop(name, default, parse, None, False, help_, settable=False)


PROPS: tuple[Prop, ...] = (
    _fixed("CONFIG_VERSION", CONFIG_VERSION, V.int_range(1), "Schema version of this config."),
    _fixed("CONFIG_TYPE", None, V.enum("THIN", "THICK"), "THICK: config.json holds every key (create -C)."),
    Prop("interfaces", "vnet0:bridge0", A.interfaces, None, False, "vnet NIC:bridge pairs (bridge none = no bridge)."),
    Prop("host_domainname", "", _TEXT, "host.domainname", True, "NIS domain name of the jail."),
    Prop("host_hostname", None, V.hostname, "host.hostname", True, "Hostname of the jail (default: name, _ as -)."),
    _fixed("host_hostuuid", None, V.jail_name_value, "Jail UUID (its name)."),
    Prop("exec_fib", "0", _UINT, None, False, "Routing table (setfib) for commands run in the jail."),
    Prop("ip4_addr", "none", A.ip4_addr, "ip4.addr", True, "IPv4: [iface|]addr[/mask],… or [iface|]DHCP."),
    Prop("ip4_saddrsel", "1", _BOOL, "ip4.saddrsel", False, "Let the jail choose its IPv4 source address."),
    Prop("ip4", "new", _IP_MODE, "ip4", False, "IPv4 stack: new, inherit or disable."),
    Prop("ip6_addr", "none", A.ip6_addr, "ip6.addr", True, "IPv6: [iface|]addr[/len],… or accept_rtadv."),
    Prop("ip6_saddrsel", "1", _BOOL, "ip6.saddrsel", False, "Let the jail choose its IPv6 source address."),
    Prop("ip6", "new", _IP_MODE, "ip6", False, "IPv6 stack: new, inherit or disable."),
    Prop("defaultrouter", "auto", A.defaultrouter, None, False, "vnet IPv4 gateway: auto, none or an address."),
    Prop("defaultrouter6", "auto", A.defaultrouter6, None, False, "vnet IPv6 gateway: auto, none or an address."),
    Prop("resolver", "/etc/resolv.conf", _TEXT, None, False, "resolv.conf source: a path, none, or lines split by ;."),
    Prop("mac_prefix", None, V.mac_prefix, None, False, "First 3 bytes of generated vnet MACs (host-derived)."),
    *(Prop(f"vnet{i}_mac", "none", V.mac_pair, None, False, f"MACs of vnet{i} (host side, jail side).")
      for i in range(4)),
    Prop("vnet_default_interface", "none",
         V.one_of_or(["none", "auto"], V.interface_name), None, False,
         "Host NIC added to auto-created bridges: none, auto or a NIC."),
    Prop("devfs_ruleset", "4", V.int_range(0, 65535), "devfs_ruleset", False, "devfs ruleset (4 = generate one)."),
    Prop("exec_start", "/bin/sh /etc/rc", _TEXT, None, False, "Command run in the jail to start it."),
    Prop("exec_stop", "/bin/sh /etc/rc.shutdown", _TEXT, None, False, "Command run in the jail to stop it."),
    Prop("exec_prestart", "/usr/bin/true", _TEXT, None, False, f"{_HOOK} before the jail is created."),
    Prop("exec_poststart", "/usr/bin/true", _TEXT, None, False, f"{_HOOK} after exec_start."),
    Prop("exec_prestop", "/usr/bin/true", _TEXT, None, False, f"{_HOOK} before exec_stop."),
    Prop("exec_poststop", "/usr/bin/true", _TEXT, None, False, f"{_HOOK} after the jail is removed."),
    Prop("exec_created", "/usr/bin/true", _TEXT, "exec.created", False, f"{_HOOK} once the jail exists."),
    Prop("exec_clean", "1", _BOOL, "exec.clean", False, "Run jail commands in a clean environment."),
    Prop("exec_timeout", "60", _UINT, "exec.timeout", False, "Seconds a hook may run."),
    Prop("stop_timeout", "30", _UINT, "stop.timeout", False, "Seconds to wait for processes at stop."),
    Prop("exec_jail_user", "root", _WORD, None, False, "Unused (iocage legacy)."),
    Prop("exec_system_jail_user", "0", _WORD, None, False, "Unused (iocage legacy)."),
    Prop("exec_system_user", "root", _WORD, None, False, "Unused (iocage legacy)."),
    Prop("mount_devfs", "1", _BOOL, "mount.devfs", False, "Mount devfs on /dev."),
    Prop("mount_fdescfs", "1", _BOOL, "mount.fdescfs", False, "Mount fdescfs on /dev/fd."),
    Prop("enforce_statfs", "2", V.int_range(0, 2), "enforce_statfs", True,
         "Mounts visible: 0 all, 1 below root, 2 root only."),
    Prop("children_max", "0", _UINT, "children.max", True, "Maximum number of child jails."),
    Prop("login_flags", "-f root", _TEXT, None, False, "login(1) flags for console."),
    Prop("securelevel", "2", V.int_range(-1, 3), "securelevel", True, "Jail securelevel, -1 to 3."),
    Prop("sysvmsg", "new", _SYSV, "sysvmsg", False, "SysV message queues: new, inherit or disable."),
    Prop("sysvsem", "new", _SYSV, "sysvsem", False, "SysV semaphores: new, inherit or disable."),
    Prop("sysvshm", "new", _SYSV, "sysvshm", False, "SysV shared memory: new, inherit or disable."),
    _allow("allow_set_hostname", "Let the jail change its hostname.", default="1"),
    _allow("allow_sysvipc", "Obsolete: SysV IPC (use sysv*)."),
    _allow("allow_raw_sockets", "Allow raw sockets (ping, traceroute)."),
    _allow("allow_chflags", "Let root change system file flags."),
    _allow("allow_mlock", "Allow locking memory (host >= 12.0)."),
    _allow("allow_mount", "Allow mounting permitted file systems."),
    *(_allow(f"allow_mount_{fs}", f"Allow mounting {fs}.")
      for fs in ("devfs", "fdescfs", "fusefs", "nullfs", "procfs", "linprocfs", "linsysfs", "tmpfs", "zfs")),
    _allow("allow_quotas", "Allow quota administration."),
    _allow("allow_socket_af", "Allow non-IP socket families."),
    _allow("allow_vmm", "Allow bhyve/vmm (host >= 12.0)."),
    _allow("allow_nfsd", "Allow an NFS server (host >= 13.3)."),
    Prop("allow_tun", "0", _BOOL, None, False, "Expose tun* devices (devfs rule)."),
    Prop("cpuset", "off", V.cpuset, None, False, "CPUs: off, all, or a list such as 0,1,4-7."),
    Prop("rlimits", "off", V.enum("off", "on"), None, False, "Unused (iocage legacy)."),
    *(Prop(key, "off", rctl.parser_for(key), None, True, f"RCTL {key}: off or ACTION=AMOUNT.")
      for key in rctl.RCTL_KEYS),
    _fixed("type", "jail", V.enum("jail", "template", "pluginv2", "plugin", "clonejail", "basejail"),
           "Kind of jail."),
    Prop("bpf", "0", _BOOL, None, False, "Expose bpf* devices (needs vnet; not with nat)."),
    Prop("dhcp", "0", _BOOL, None, False, "Configure vnet0 by DHCP (needs vnet and bpf).", stopped_only=True),
    Prop("boot", "0", _BOOL, None, False, "Start at boot (start --rc)."),
    Prop("priority", "99", V.int_range(1, 99), None, False, "Boot order, 1 first."),
    Prop("depends", "none", V.depends, None, False, "Jails started before this one (space separated)."),
    Prop("notes", "none", _TEXT, None, False, "Free text."),
    Prop("comment", "none", _TEXT, None, False, "Free text."),
    Prop("owner", "root", _WORD, None, False, "Unused (iocage legacy)."),
    _fixed("last_started", "none", V.timestamp, "Last start, UTC."),
    Prop("template", "0", _BOOL, None, False, "Turn the jail into a template (or back)."),
    Prop("hostid", None, _WORD, None, False, "Host ID the jail belongs to (host-derived)."),
    Prop("hostid_strict_check", "0", _BOOL, None, False, "Refuse to start on another host ID."),
    Prop("jail_zfs", "0", _BOOL, None, False, "Delegate jail_zfs_dataset to the jail.", stopped_only=True),
    Prop("jail_zfs_dataset", None, V.datasets, None, False, "Datasets to delegate, relative to the pool.",
         stopped_only=True),
    Prop("jail_zfs_mountpoint", "none", V.none_or(V.absolute_path), None, False,
         "Mount point of the delegated dataset.", stopped_only=True),
    Prop("mount_procfs", "0", _BOOL, None, False, "Mount procfs on /proc."),
    Prop("mount_linprocfs", "0", _BOOL, None, False, "Mount linprocfs on /compat/linux/proc."),
    Prop("vnet", "0", _BOOL, "vnet", False, "Give the jail its own network stack."),
    Prop("vnet_interfaces", "none", V.interface_list, "vnet.interface", False, "Host NICs moved into the jail."),
    _fixed("basejail", "0", _BOOL, "Base jail (nullfs-mounted base)."),
    Prop("host_time", "1", _BOOL, None, False, "Copy the host's /etc/localtime at start."),
    Prop("rtsold", "0", _BOOL, None, False, "Run rtsold in the jail."),
    Prop("ip_hostname", "0", _BOOL, "ip_hostname", False, "Take addresses from DNS for host.hostname."),
    Prop("assign_localhost", "0", _BOOL, None, False, "Give a non-vnet jail its own 127.x address."),
    Prop("localhost_ip", "none", A.localhost_ip, None, False, "The 127.x address of assign_localhost."),
    Prop("nat", "0", _BOOL, None, False, "NAT the jail behind the host (not with bpf)."),
    Prop("nat_prefix", "172.16", A.nat_prefix, None, False, "Private A.B prefix for NAT addresses.",
         defaults_only=True),
    Prop("nat_interface", "none", V.one_of_or(["none"], V.interface_name), None, False,
         "Host NIC for NAT (none: default route).", defaults_only=True),
    Prop("nat_backend", "ipfw", V.enum("ipfw", "pf"), None, False, "NAT firewall: ipfw or pf.", defaults_only=True),
    Prop("nat_forwards", "none", V.nat_forwards, None, False, "Port forwards: proto(port[:hostport]),…"),
    Prop("plugin_name", "none", _WORD, None, False, "Plugin this jail was made from."),
    Prop("plugin_repository", "none", _WORD, None, False, "Plugin index repository."),
    # iocjail's own (not in iocage): no default, so defaults.json stays exactly iocage's.
    Prop(PK.PKG_COMMAND, None, PK.parse_pkg_command, None, False,
         "Linux jails: the command in the jail that takes pkg(8)'s arguments (none: no package manager)."),
    Prop("min_dyn_devfs_ruleset", "1000", V.int_range(0, 65535), None, False, "Lowest generated devfs ruleset."),
    *(Prop(f"vnet{i}_mtu", "auto", _MTU, None, False, f"MTU of vnet{i} (auto: the bridge's).") for i in range(4)),
    Prop("vnet_default_mtu", "1500", V.int_range(68, 65535), None, False, "MTU when not auto."),
    _fixed("count", "1", _WORD, "Unused (iocage legacy)."),
    _fixed("sync_state", "none", _WORD, "Unused (iocage legacy)."),
    _fixed("sync_target", "none", _WORD, "Unused (iocage legacy)."),
    _fixed("sync_tgt_zpool", "none", _WORD, "Unused (iocage legacy)."),
    _fixed("compression", "on", _WORD, "Unused (iocage legacy)."),
    Prop("quota", "none", V.zfs_size, None, True, "ZFS quota of the jail (M, G or T).", zfs=True),
    Prop("reservation", "none", V.zfs_size, None, True, "ZFS reservation of the jail.", zfs=True),
    Prop("dedup", "off", V.enum("off", "on", "verify", "sha256", "sha256,verify", "sha512", "sha512,verify",
                                "skein", "skein,verify", "edonr,verify", "blake3", "blake3,verify"),
         None, True, "ZFS dedup of the jail.", zfs=True),
    *(Prop(name, "readonly", _readonly, None, False, f"ZFS {name} (read-only).", settable=False, zfs=True)
      for name in ("origin", "mountpoint", "compressratio", "available", "used")),
    _fixed("release", None, _WORD, "Release the jail runs (X.Y-RELEASE-pN)."),
    _fixed("cloned_release", None, _WORD, "Release the jail was created from."),
    _fixed("source_template", None, V.none_or(V.jail_name_value), "Template the jail was created from."),
)

REGISTRY: dict[str, Prop] = {p.name: p for p in PROPS}
HOST_DERIVED = ("mac_prefix", "hostid")
PER_JAIL = ("host_hostname", "host_hostuuid", "jail_zfs_dataset", "release", "cloned_release", "source_template")

# Parameters iocjail builds itself; a passthrough may not override them.
_RESERVED_PARAMS = frozenset(
    {p.jail_param for p in PROPS if p.jail_param}
    | {"name", "path", "persist", "jid", "command", "depend", "host.hostuuid", "devfs_ruleset",
       "mount", "allow.dying", "dying", "parent"}
)
_RESERVED_PREFIXES = ("exec.", "mount.", "ip4.", "ip6.", "vnet.")


def default_config(*, mac_prefix: str | None = None, hostid: str | None = None) -> dict[str, str]:
    """What a fresh defaults.json holds. Host-derived keys come in as arguments; a ``None``
    mac_prefix is left out (the caller derives it from the host), a ``None`` hostid is
    ``none`` (iocage writes null when /etc/hostid is missing)."""
    cfg = {p.name: p.default for p in PROPS if p.default is not None}
    if mac_prefix is not None:
        cfg["mac_prefix"] = canonical("mac_prefix", mac_prefix)
    cfg["hostid"] = "none" if hostid is None else canonical("hostid", hostid)
    return dict(sorted(cfg.items()))


def jail_identity(name: str) -> dict[str, str]:
    """The per-jail keys every new config.json starts with (besides release keys)."""
    V.validate_jail_name(name)
    return {
        "host_hostname": name.replace("_", "-"),
        "host_hostuuid": name,
        "jail_zfs_dataset": f"iocage/jails/{name}/data",
    }


# -- lookup and validation -------------------------------------------------------------------

def passthrough_param(key: str) -> str | None:
    """The jail(8) parameter of a ``jail_param_<name>`` key, None for other keys.
    Raises ``UnknownProperty`` for a malformed or reserved ``<name>``."""
    if not key.startswith(PASSTHROUGH_PREFIX):
        return None
    param = key[len(PASSTHROUGH_PREFIX):]
    if not _JAIL_PARAM_RE.match(param):
        raise UnknownProperty(key, f": {param!r} is not a jail(8) parameter name "
                                   "(lowercase words separated by dots, e.g. allow.read_msgbuf)")
    last = param.rsplit(".", 1)[-1]
    positive = param[: len(param) - len(last)] + last[2:] if last.startswith("no") else param
    for name in {param, positive}:
        if name in _RESERVED_PARAMS or name.startswith(_RESERVED_PREFIXES):
            raise UnknownProperty(key, f": jail(8) parameter {name!r} is managed by iocjail; "
                                       "set the matching iocage property instead")
    return param


def _passthrough_value(value: str) -> str:
    return "none" if value.strip().lower() == "none" else V.text(value)


def lookup(key: str) -> Prop:
    """The `Prop` for ``key``; raises ``UnknownProperty`` with close matches for a typo."""
    prop = REGISTRY.get(key)
    if prop is not None:
        return prop
    if passthrough_param(key) is not None:
        return Prop(key, None, _passthrough_value, key[len(PASSTHROUGH_PREFIX):], False, "Extra jail(8) parameter.")
    close = difflib.get_close_matches(key, REGISTRY, n=3, cutoff=0.7)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise UnknownProperty(key, hint)


def canonical(key: str, value: str) -> str:
    """The stored form of ``value`` for ``key`` (no settable check: used on loaded configs)."""
    prop = lookup(key)
    try:
        return prop.parse(value)
    except ValueError as err:
        raise InvalidValue(key, value, str(err)) from None


def validate(key: str, value: str) -> str:
    """What `set key=value` stores: canonical value, or a clear ``UsageError``."""
    if not lookup(key).settable:
        raise ReadOnlyProperty(key)
    return canonical(key, value)


def validate_many(
    pairs: Iterable[tuple[str, str]] | Mapping[str, str],
    current: Mapping[str, str] | None = None,
    *,
    for_default: bool = False,
    imply: bool = False,
) -> dict[str, str]:
    """Validate a whole `set` (or `create` property list): every error is reported at once and
    nothing is returned unless all are good. ``current`` is the effective config being changed;
    without it the cross-property rules only judge the pairs themselves. The result holds the
    canonical changes, plus the keys implied by ``imply`` (see the module docstring)."""
    items = list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)
    errors: list[UsageError] = []
    changes: dict[str, str] = {}
    for key, value in items:
        try:
            if key in changes:
                raise InvalidValue(key, value, "given more than once")
            changes[key] = validate(key, value)
            if lookup(key).defaults_only and not for_default:
                raise InvalidValue(key, value, "can only be set on default")
        except UsageError as err:
            errors.append(err)
    if not errors:
        changes, errors = check_rules(current, changes, imply=imply)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InvalidProperties(errors)
    return changes
