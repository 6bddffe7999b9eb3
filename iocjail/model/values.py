"""Generic value parsers for properties: each takes the user's string and returns its canonical
stored form, or raises ``ValueError(why)``.

The registry (`properties.py`) turns a ``ValueError`` into ``InvalidValue(key, value, why)``, so a
parser needs no knowledge of the property it serves. Parsers are strict where iocage was loose
(§9.11 of the reference): ``priority=5x`` is refused here, not crashed on at start.

Jail names are checked by `validate_jail_name`, which raises ``InvalidName`` directly since it is
also used outside the registry (create, rename, clone).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from iocjail.errors import InvalidName

Parser = Callable[[str], str]

TRUE_WORDS = frozenset({"1", "on", "yes", "true"})
FALSE_WORDS = frozenset({"0", "off", "no", "false"})

_INT_RE = re.compile(r"^-?[0-9]+$")  # int() also takes " 5", "+5" and "1_0": too lenient
_JAIL_NAME_RE = re.compile(r"^[a-zA-Z0-9._-]+$")
_RESERVED_JAIL_NAMES = frozenset({"default", "help", "ALL"})
MAX_JAIL_NAME = 64
_IFACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,14}$")  # IFNAMSIZ is 16 with the NUL
_DATASET_RE = re.compile(r"^[A-Za-z0-9_.:-]+(/[A-Za-z0-9_.:-]+)*$")
_MAC_RE = re.compile(r"^(?:[0-9a-f]{12}|[0-9a-f]{2}(?::[0-9a-f]{2}){5})$")
_SIZE_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([MGT])$")
_TIMESTAMP_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")
_FORWARD_RE = re.compile(r"^(?:(tcp|udp|tcp/udp)\((.*)\)|([0-9][0-9:]*))$")


# -- jail names ------------------------------------------------------------------------------

def validate_jail_name(name: str) -> str:
    """A name usable for a jail, its dataset and `ioc-NAME`; raises ``InvalidName``."""
    if not name:
        raise InvalidName("jail", name, "it is empty")
    if len(name) > MAX_JAIL_NAME:
        raise InvalidName("jail", name, f"longer than {MAX_JAIL_NAME} characters")
    if not _JAIL_NAME_RE.match(name):
        raise InvalidName("jail", name, "only letters, digits, '.', '_' and '-' are allowed")
    if name in (".", ".."):
        raise InvalidName("jail", name, "it is a path component")
    if name.startswith("-"):
        raise InvalidName("jail", name, "it would read as a command-line option")
    if name in _RESERVED_JAIL_NAMES:
        raise InvalidName("jail", name, "it is a reserved word")
    return name


def kernel_name(name: str) -> str:
    """The jail(8) name: ``ioc-`` plus the name with ``.`` turned into ``_``, as iocage does,
    because a dot in a kernel jail name means a child jail."""
    return "ioc-" + name.replace(".", "_")


# -- scalars ---------------------------------------------------------------------------------

def boolean(value: str) -> str:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return "1"
    if word in FALSE_WORDS:
        return "0"
    raise ValueError("expected one of 0/1, on/off, yes/no, true/false")


def is_true(value: str | None) -> bool:
    """Truth of a stored value the way iocage reads it: anything not truthy is false."""
    return value is not None and value.strip().lower() in TRUE_WORDS


def enum(*choices: str, aliases: dict[str, str] | None = None) -> Parser:
    """Exact (case-insensitive) choice; ``aliases`` maps legacy spellings to a choice."""
    table = dict(aliases or {})
    table.update({c.lower(): c for c in choices})

    def parse(value: str) -> str:
        try:
            return table[value.strip().lower()]
        except KeyError:
            raise ValueError(f"expected one of {', '.join(choices)}") from None

    return parse


def parse_int(value: str) -> int:
    text = value.strip()
    if not _INT_RE.match(text):
        raise ValueError("not an integer")
    return int(text)


def int_range(low: int, high: int | None = None) -> Parser:
    """An integer in [low, high] (no upper bound when ``high`` is None), stored without zeros."""

    def parse(value: str) -> str:
        number = parse_int(value)
        if number < low or (high is not None and number > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ValueError(f"must be {bound}")
        return str(number)

    return parse


def text(value: str) -> str:
    """Free text, kept verbatim; NUL can never reach a C string (jail(8), sh) intact."""
    if "\0" in value:
        raise ValueError("contains a NUL byte")
    return value


def word(value: str) -> str:
    """A single token: no whitespace or control characters."""
    if not value or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must be one word without spaces or control characters")
    return value


def none_or(parser: Parser) -> Parser:
    def parse(value: str) -> str:
        return "none" if value.strip().lower() == "none" else parser(value)

    return parse


def one_of_or(words: Iterable[str], parser: Parser) -> Parser:
    """Fixed words (e.g. ``auto``, ``none``) or whatever ``parser`` accepts."""
    fixed = {w.lower(): w for w in words}

    def parse(value: str) -> str:
        return fixed.get(value.strip().lower()) or parser(value)

    return parse


def interface_name(value: str) -> str:
    if not _IFACE_RE.match(value):
        raise ValueError("not an interface name (a letter, then up to 14 letters, digits, _ . -)")
    return value


def hostname(value: str) -> str:
    if len(value) > 255:
        raise ValueError("longer than 255 characters")
    return word(value)


def absolute_path(value: str) -> str:
    if not value.startswith("/") or "\0" in value or "\n" in value:
        raise ValueError("must be an absolute path")
    return value


def timestamp(value: str) -> str:
    if value != "none" and not _TIMESTAMP_RE.match(value):
        raise ValueError("expected 'none' or YYYY-MM-DD HH:MM:SS")
    return value


def jail_name_value(value: str) -> str:
    """A jail name as a property value (source_template, depends): errors as ``ValueError``."""
    try:
        return validate_jail_name(value)
    except InvalidName as err:
        raise ValueError(f"{value!r} is not a valid jail name: {err.args[2]}") from None


# -- structured ------------------------------------------------------------------------------

def datasets(value: str) -> str:
    """`jail_zfs_dataset`: space-separated datasets relative to the pool."""
    names = value.split()
    if not names:
        raise ValueError("expected one or more dataset names")
    for name in names:
        if not _DATASET_RE.match(name) or any(p in (".", "..") for p in name.split("/")):
            raise ValueError(f"{name!r} is not a dataset name relative to the pool")
    return " ".join(names)


def depends(value: str) -> str:
    """`depends`: ``none`` or space-separated jail names, each once."""
    names = value.split()
    if not names or names == ["none"]:
        return "none"
    seen: set[str] = set()
    for name in names:
        jail_name_value(name)
        if name in seen:
            raise ValueError(f"{name!r} is listed twice")
        seen.add(name)
    return " ".join(names)


def interface_list(value: str) -> str:
    """`vnet_interfaces`: ``none`` or interface names. iocage split them on whitespace at start
    and on commas at stop (§9.12); both separators are read, whitespace is stored."""
    names = value.replace(",", " ").split()
    if not names or names == ["none"]:
        return "none"
    for name in names:
        interface_name(name)
    if len(set(names)) != len(names):
        raise ValueError("an interface is listed twice")
    return " ".join(names)


def cpuset(value: str, ncpu: int | None = None) -> str:
    """``off``, ``all``, or a list of CPUs and ranges ``a-b`` (a < b) without overlaps.
    ``ncpu`` (the host's CPU count) bounds the ids when the caller knows it."""
    spec = value.strip().lower()
    if spec in ("off", "all"):
        return spec
    used: set[int] = set()
    canonical: list[str] = []
    for item in (i.strip() for i in spec.split(",")):
        low_s, dash, high_s = item.partition("-")
        low = parse_int(low_s) if low_s else -1
        high = parse_int(high_s) if dash else low
        if low < 0 or high < 0 or (dash and low >= high):
            raise ValueError(f"{item!r}: expected a CPU number or a range a-b with a < b")
        if ncpu is not None and high >= ncpu:
            raise ValueError(f"{item!r}: this host has CPUs 0-{ncpu - 1}")
        cpus = set(range(low, high + 1))
        if cpus & used:
            raise ValueError(f"{item!r}: CPU listed twice")
        used |= cpus
        canonical.append(f"{low}-{high}" if dash else str(low))
    return ",".join(canonical)


def parse_nat_forwards(value: str) -> tuple[tuple[str, int, int], ...]:
    """``proto(port[:hostport])`` items → (proto, jail port, host port). A bare number means tcp."""
    if value.strip().lower() == "none":
        return ()
    rules: list[tuple[str, int, int]] = []
    for item in (i.strip() for i in value.split(",")):
        match = _FORWARD_RE.match(item.lower())
        if not match:
            raise ValueError(f"{item!r}: expected proto(port[:hostport]) with proto tcp, udp or tcp/udp")
        proto, inner = (match.group(1), match.group(2)) if match.group(1) else ("tcp", match.group(3))
        port_s, colon, host_s = inner.partition(":")
        port = _port(port_s, item)
        host = _port(host_s, item) if colon else port
        rules.append((proto, port, host))
    _check_forward_clashes(rules)
    return tuple(rules)


def _port(text_: str, item: str) -> int:
    try:
        number = parse_int(text_)
    except ValueError:
        raise ValueError(f"{item!r}: {text_!r} is not a port number") from None
    if not 1 <= number <= 65535:
        raise ValueError(f"{item!r}: port {number} is outside 1-65535")
    return number


def _check_forward_clashes(rules: list[tuple[str, int, int]]) -> None:
    # Two redirects of one host port and protocol would silently shadow each other.
    taken: set[tuple[str, int]] = set()
    for proto, _, host in rules:
        for single in proto.split("/"):
            if (single, host) in taken:
                raise ValueError(f"host port {single}/{host} is forwarded twice")
            taken.add((single, host))


def nat_forwards(value: str) -> str:
    rules = parse_nat_forwards(value)
    if not rules:
        return "none"
    return ",".join(f"{p}({port})" if port == host else f"{p}({port}:{host})" for p, port, host in rules)


def mac_prefix(value: str) -> str:
    """Six hex digits whose first octet is locally administered and unicast (x2, x6, xA, xE)."""
    prefix = value.strip().lower()
    if not re.match(r"^[0-9a-f]{6}$", prefix):
        raise ValueError("expected 6 hexadecimal digits")
    if prefix[1] not in "26ae":
        raise ValueError("the second digit must be 2, 6, A or E (locally administered unicast)")
    return prefix


def mac_pair(value: str) -> str:
    """`vnetN_mac`: ``none`` or two distinct unicast MACs (host side, jail side)."""
    if value.strip().lower() == "none":
        return "none"
    macs = value.replace(",", " ").lower().split()
    if len(macs) != 2:
        raise ValueError("expected two MAC addresses (host side and jail side) or none")
    for mac in macs:
        if not _MAC_RE.match(mac):
            raise ValueError(f"{mac!r} is not a MAC address")
        if int(mac[:2], 16) & 1:
            raise ValueError(f"{mac!r} is a multicast address")
    if macs[0].replace(":", "") == macs[1].replace(":", ""):
        raise ValueError("the two MAC addresses must differ")
    return " ".join(macs)


def zfs_size(value: str) -> str:
    """`quota`/`reservation`: ``none`` or a size in M, G or T (as iocage requires)."""
    spec = value.strip().upper()
    if spec == "NONE":
        return "none"
    if not _SIZE_RE.match(spec):
        raise ValueError("expected none or a size such as 500M, 20G or 1.5T")
    return spec


def derive_mac_prefix(host_mac: str | None, random_bytes: bytes) -> str:
    """iocage's default mac_prefix: the first 3 bytes of the default-route NIC's MAC (or of
    `random_bytes` when there is none), first octet forced locally administered and unicast."""
    if host_mac:
        octets = [int(part, 16) for part in host_mac.split(":")[:3]]
    else:
        octets = list(random_bytes[:3])
    if len(octets) != 3:
        raise ValueError("need three bytes for a MAC prefix")
    octets[0] = (octets[0] | 0x02) & 0xFE
    return "".join(f"{o:02x}" for o in octets)
