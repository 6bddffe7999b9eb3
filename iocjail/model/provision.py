"""Provisioning decided as data: new jail names, the files a new jail gets, config.json for a
created, cloned, templated or renamed jail. Pure: no I/O, clock and randomness come in.

Decisions (iocage's behaviour unless said otherwise):

* Names follow `validate_jail_name`; a name equal to an existing jail or template, or equal to one
  once `.` is read as `_` (both give the kernel name `ioc-foo_bar`), is refused. `-c N` with a
  name gives NAME_1..NAME_N; without one, each jail gets a uuid4 (8 characters with `-s`).
* config.json of a new jail holds CONFIG_VERSION, the identity keys, `release` (the userland of
  the release: X.Y-RELEASE-pN), `cloned_release` (the release it came from; iocage drops it for
  thick copies, so do we), `source_template` (created from a template), `basejail=1` (-b, -B),
  and the properties given. Templates add `type=template`, `template=1`.
* /etc/hosts: the source's file with the jail's short name (its first label) appended to the
  127.0.0.1 line, then `IP<TAB>NAME[<TAB>SHORT]` for the first static ip4 address.
* A clone's values have the source's name replaced by the new one wherever it stands as a whole
  word (iocage replaces any substring, which turns `www10` into `web0` when cloning www1 as web);
  vnetN_mac and last_started go, so the clone gets its own MACs and has never started.
"""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from collections.abc import Iterable, Mapping

from iocjail.errors import InvalidName, InvalidValue, UsageError
from iocjail.model import addresses as A
from iocjail.model import properties as P
from iocjail.model.values import validate_jail_name

# The base system directories a basejail mounts read-only from its release (or template).
BASEJAIL_DIRS = ("bin", "boot", "lib", "libexec", "rescue", "sbin", "usr/bin", "usr/include", "usr/lib",
                 "usr/libexec", "usr/sbin", "usr/share", "usr/libdata", "usr/lib32")
EMPTY_RELEASE = "EMPTY"
MAX_COUNT = 10000
# Per-jail values a template does not pass on (IPs and boot, as iocage; MACs and the start time
# are the template's own) and the template's own marks.
TEMPLATE_DROPS = ("ip4_addr", "ip6_addr", "boot", "template", "type", "last_started",
                  "vnet0_mac", "vnet1_mac", "vnet2_mac", "vnet3_mac")
CLONE_DROPS = ("last_started", "vnet0_mac", "vnet1_mac", "vnet2_mac", "vnet3_mac")

# The rc.conf a jail gets when its release has none (iocage's default_rc.conf settings).
DEFAULT_RC_CONF = """\
cron_flags="$cron_flags -J 15"

# no local mail delivery in a fresh jail
sendmail_enable="NO"
sendmail_submit_enable="NO"
sendmail_outbound_enable="NO"
sendmail_msp_queue_enable="NO"

# syslogd: no network socket
syslogd_flags="-c -ss"

ipv6_activate_all_interfaces="YES"
"""

DEFAULT_HOSTS = "::1\t\t\tlocalhost localhost.my.domain\n127.0.0.1\t\tlocalhost localhost.my.domain\n"
_NAME_CHARS = "A-Za-z0-9_-"
_PKG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+@/-]*$")


class NameTaken(UsageError):
    template = "{}"


# -- names -----------------------------------------------------------------------------------

def collision_key(name: str) -> str:
    """Names with the same key share a kernel jail name (iocage turns `.` into `_`)."""
    return name.replace(".", "_")


def parse_count(text: str) -> int:
    """`-c`: a positive count; iocage accepts `1,000`."""
    raw = text.replace(",", "").strip()
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"invalid count {text!r}: give a whole number from 1")
    if int(raw) > MAX_COUNT:
        raise UsageError(f"invalid count {text!r}: at most {MAX_COUNT} jails per command")
    return int(raw)


def parse_uuid(text: str) -> str:
    """`-u`: a uuid4, in its canonical dashed lowercase form."""
    try:
        value = uuidlib.UUID(text)
    except ValueError:
        raise InvalidName("jail", text, "-u takes a UUID such as 2b1c3a7e-0f4d-4b7a-9c1e-5d2f8a6b4c3d") from None
    if value.version != 4:
        raise InvalidName("jail", text, "-u takes a version 4 UUID")
    return str(value)


def new_names(name: str | None, count: int, uuid: str | None, short: bool, fresh_uuid: Iterable[str]) -> list[str]:
    """The names one create/clone command makes. `fresh_uuid` yields uuid4 strings."""
    if uuid is not None and name is not None:
        raise UsageError("-n and -u cannot be combined")
    if uuid is not None and count != 1:
        raise UsageError("-u names one jail: it cannot be combined with -c")
    if name is not None:
        if short:
            raise UsageError("-s shortens a UUID name: it cannot be combined with -n")
        return [name] if count == 1 else [f"{name}_{i}" for i in range(1, count + 1)]
    source = iter(fresh_uuid)
    picked = [uuid] if uuid is not None else [next(source) for _ in range(count)]
    return [u[:8] if short else u for u in picked]


def check_new_names(names: list[str], existing: Iterable[str]) -> None:
    """Every new name valid, free, and not colliding with another one's kernel name."""
    for name in names:
        validate_jail_name(name)
    taken = {collision_key(n): n for n in existing}
    for name in names:
        other = taken.get(collision_key(name))
        if other == name:
            raise NameTaken(f"jail {name!r} already exists")
        if other is not None:
            raise NameTaken(f"jail {name!r} would collide with {other!r}: both are ioc-{collision_key(name)} "
                            "to the kernel (a '.' in a jail name becomes '_')")
        taken[collision_key(name)] = name


def default_hostname(name: str) -> str:
    return P.jail_identity(name)["host_hostname"]


# -- config.json -----------------------------------------------------------------------------

def new_config(name: str, *, release: str, cloned_release: str | None, source_template: str | None = None,
               basejail: bool = False) -> dict[str, str]:
    cfg = {"CONFIG_VERSION": P.CONFIG_VERSION, **P.jail_identity(name), "release": release}
    if cloned_release is not None:
        cfg["cloned_release"] = cloned_release
    if source_template is not None:
        cfg["source_template"] = source_template
    if basejail:
        cfg["basejail"] = "1"
    return dict(sorted(cfg.items()))


def from_template(template_cfg: Mapping[str, str], template: str, name: str, *, thick: bool,
                  basejail: bool) -> dict[str, str]:
    """A jail's config from its template's: everything but TEMPLATE_DROPS, its own identity."""
    cfg = {k: v for k, v in template_cfg.items() if k not in TEMPLATE_DROPS}
    cfg.update(P.jail_identity(name))
    cfg["CONFIG_VERSION"] = P.CONFIG_VERSION
    cfg["source_template"] = template
    if thick:
        cfg.pop("cloned_release", None)
    if basejail:
        cfg["basejail"] = "1"
    return dict(sorted(cfg.items()))


def replace_word(text: str, old: str, new: str) -> str:
    """`old` replaced by `new` where it stands as a whole name (not inside a longer one)."""
    pattern = rf"(?<![{_NAME_CHARS}]){re.escape(old)}(?![{_NAME_CHARS}])"
    return re.sub(pattern, lambda _: new, text)


def renamed_config(cfg: Mapping[str, str], old: str, new: str) -> dict[str, str]:
    """config.json after `rename OLD NEW`: identity, the default hostname, jail_zfs_dataset."""
    out = dict(cfg)
    out["host_hostuuid"] = new
    if out.get("host_hostname") == default_hostname(old):
        out["host_hostname"] = default_hostname(new)
    if "jail_zfs_dataset" in out:
        out["jail_zfs_dataset"] = _rename_path_word(out["jail_zfs_dataset"], f"jails/{old}", f"jails/{new}")
    return dict(sorted(out.items()))


def _rename_path_word(value: str, old: str, new: str) -> str:
    """Replace the path component sequence `old` (e.g. jails/www1) in each listed dataset."""
    pattern = rf"(?<![^/\s,]){re.escape(old)}(?=/|$|[\s,])"
    return re.sub(pattern, lambda _: new, value)


def clone_config(src_cfg: Mapping[str, str], src: str, new: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in src_cfg.items():
        if key not in CLONE_DROPS:
            out[key] = replace_word(value, src, new)
    out["host_hostuuid"] = new
    if src_cfg.get("host_hostname") == default_hostname(src):
        out["host_hostname"] = default_hostname(new)
    return dict(sorted(out.items()))


# -- files of the jail ----------------------------------------------------------------------

def short_name(name: str) -> str:
    return name.split(".", 1)[0]


def hosts_file(source: str | None, name: str, ip4_addr: str) -> str:
    """/etc/hosts of a new jail, from its source's (release or template) /etc/hosts."""
    short = short_name(name)
    lines = []
    for line in (source if source is not None else DEFAULT_HOSTS).splitlines():
        if line.startswith("127.0.0.1"):
            line = f"{line.rstrip()} {short}"
        lines.append(line)
    address = first_static_ip4(ip4_addr)
    if address:
        lines.append(f"{address}\t{name}" + (f"\t{short}" if short != name else ""))
    return "\n".join(lines) + "\n"


def first_static_ip4(ip4_addr: str) -> str | None:
    try:
        addrs = A.parse_ip4_addr(ip4_addr)
    except InvalidValue:
        return None
    return next((a.address for a in addrs if a.kind == "static" and a.address), None)


def rc_conf_hostname(text: str, hostname: str) -> str | None:
    """rc.conf with its `hostname=` line(s) set to `hostname`; None if it has none."""
    pattern = re.compile(r"^(\s*)hostname=.*$", re.M)
    if not pattern.search(text):
        return None
    return pattern.sub(lambda m: f'{m.group(1)}hostname="{hostname}"', text)


def basejail_dirs(release: str) -> tuple[str, ...]:
    """-STABLE (and HardenedBSD) builds have no usr/lib32."""
    return tuple(d for d in BASEJAIL_DIRS if not (d == "usr/lib32" and "-STABLE" in release))


def basejail_fstab(source_root: str, jail_root: str, dirs: Iterable[str], stamp: str) -> str:
    """The read-only nullfs lines of a basejail, formatted as iocage's `fstab -a` writes them."""
    return "".join(f"{source_root}/{d}\t{jail_root}/{d}\tnullfs\tro\t0\t0 # Added by iocage on {stamp}\n"
                   for d in dirs)


_FSTAB_LINE = re.compile(r"^(\s*)(\S+)(\s+)(\S+)(.*)$", re.S)


def fstab_moved(text: str, old_root: str, new_root: str) -> str:
    """fstab with source and destination paths at or below `old_root` moved to `new_root`."""

    def move(path: str) -> str:
        if path == old_root or path.startswith(old_root + "/"):
            return new_root + path[len(old_root):]
        return path

    out = []
    for line in text.splitlines(keepends=True):
        match = _FSTAB_LINE.match(line)
        if match is None or match.group(2).startswith("#"):
            out.append(line)
            continue
        lead, src, gap, dst, rest = match.groups()
        out.append(f"{lead}{move(src)}{gap}{move(dst)}{rest}")
    return "".join(out)


# -- package lists ---------------------------------------------------------------------------

def parse_pkglist(text: str, where: str) -> tuple[str, ...]:
    """`-p FILE`: JSON `{"pkgs": ["nginx", "www/php83", ...]}`, checked name by name."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"{where}: not valid JSON: {err.msg} at line {err.lineno}") from None
    pkgs = data.get("pkgs") if isinstance(data, dict) else None
    if not isinstance(pkgs, list):
        raise UsageError(f'{where}: expected {{"pkgs": ["name", ...]}}')
    bad = [p for p in pkgs if not isinstance(p, str) or not _PKG_RE.match(p) or len(p) > 200]
    if bad:
        raise UsageError(f"{where}: invalid package name(s): {', '.join(map(repr, bad[:5]))}")
    if not pkgs:
        raise UsageError(f"{where}: the list of packages is empty")
    return tuple(dict.fromkeys(pkgs))
