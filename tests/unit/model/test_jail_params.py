from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iocjail.errors import InvalidValue, PropertyConflict
from iocjail.model import config as C
from iocjail.model import jail_params as J
from iocjail.model import properties as P
from iocjail.model.jail import JailSettings
from tests.unit.model.jailconf_reader import Breakout, read

DEFAULTS = P.default_config(mac_prefix="02ff60", hostid="abc")
JAILDIR, IOCROOT = "/iocage/jails/www", "/iocage"


def jail_params(name: str, cfg: dict[str, str], *args, **kwargs) -> list[J.Param]:
    return J.jail_params(name, JailSettings.from_effective(cfg), *args, **kwargs)


def cfg_of(name: str = "www", **kw: str) -> dict[str, str]:
    return C.effective(DEFAULTS, {**P.jail_identity(name), **kw})


def tail(name: str = "www", ruleset: str = "4", statfs: str = "2", domain: str = "") -> list[J.Param]:
    return [
        ("name", f"ioc-{name}"), ("sysvmsg", "new"), ("sysvsem", "new"), ("sysvshm", "new"),
        ("exec.created", "/usr/bin/true"), ("host.domainname", domain), ("host.hostname", name),
        ("path", f"/iocage/jails/{name}/root"), ("securelevel", "2"), ("host.hostuuid", name),
        ("devfs_ruleset", ruleset), ("enforce_statfs", statfs), ("children.max", "0"), ("exec.clean", "1"),
        ("exec.timeout", "60"), ("stop.timeout", "30"), ("mount.fstab", f"/iocage/jails/{name}/fstab"),
        ("exec.consolelog", f"/iocage/log/ioc-{name}-console.log"),
    ]


DEFAULT_FLAGS = [("mount.fdescfs", "1"), ("allow.set_hostname", "1"), ("mount.devfs", "1")]
SHARED_NET = [("ip4.saddrsel", "1"), ("ip4", "new"), ("ip6.saddrsel", "1"), ("ip6", "new")]


def test_defaults_non_vnet():
    params = jail_params("www", cfg_of(ip4_addr="em0|10.0.0.5/24,10.0.0.6"), JAILDIR, IOCROOT, devfs_ruleset=1001)
    assert params == [("ip4.addr", "em0|10.0.0.5/24"), ("ip4.addr", "10.0.0.6"), *SHARED_NET, *DEFAULT_FLAGS,
                      *tail(ruleset="1001"), ("persist", None)]


def test_vnet_jail_has_no_ip_params():
    params = jail_params("www", cfg_of(vnet="1", ip4_addr="vnet0|10.0.0.5/24", vnet_interfaces="em1 em2"),
                           JAILDIR + "/", IOCROOT + "/")
    assert params == [("vnet", None), ("vnet.interface", "em1"), ("vnet.interface", "em2"), *DEFAULT_FLAGS,
                      *tail(), ("persist", None)]


def test_flags_only_when_on_and_in_iocage_order():
    cfg = cfg_of(allow_mount_zfs="1", allow_raw_sockets="on", allow_mlock="1", mount_fdescfs="0",
                 allow_set_hostname="0", allow_nfsd="1", allow_mount_tmpfs="1", ip_hostname="1")
    params = jail_params("www", cfg, JAILDIR, IOCROOT)
    flags = [p for p in params if p[0].startswith(("allow.", "mount.")) and p[0] != "mount.fstab"]
    assert flags == [("allow.mlock", "1"), ("allow.mount.tmpfs", "1"), ("allow.nfsd", "1"), ("mount.devfs", "1"),
                     ("allow.raw_sockets", "1"), ("allow.mount.zfs", "1")]
    assert params[-2:] == [("ip_hostname", None), ("persist", None)]


@pytest.mark.parametrize("version,absent", [
    ("9.3-RELEASE", "all"),
    ("10.3-RELEASE-p5", {"sysvmsg", "sysvsem", "sysvshm", "allow.mlock", "allow.mount.fusefs", "allow.vmm",
                         "exec.created", "allow.nfsd"}),
    ("11.4-RELEASE", {"allow.mlock", "allow.mount.fusefs", "allow.vmm", "exec.created", "allow.nfsd"}),
    ("13.2-RELEASE", {"allow.nfsd"}),
    ("13.3-RELEASE", set()),
    ((14, 1), set()),
])
def test_host_version_gates(version, absent):
    every = dict(allow_mlock="1", allow_mount_fusefs="1", allow_vmm="1", allow_nfsd="1", allow_mount_tmpfs="1")
    keys = {k for k, _ in jail_params("www", cfg_of(**every), JAILDIR, IOCROOT, host_version=version)}
    gated = {"mount.fdescfs", "allow.mount.tmpfs", "sysvmsg", "sysvsem", "sysvshm", "allow.mlock",
             "allow.mount.fusefs", "allow.vmm", "exec.created", "allow.nfsd"}
    assert gated - keys == (gated if absent == "all" else absent)


def test_jail_zfs_forces_mount_permissions_and_statfs():
    params = dict(jail_params("www", cfg_of(jail_zfs="1"), JAILDIR, IOCROOT))
    assert params["allow.mount"] == "1" and params["allow.mount.zfs"] == "1" and params["enforce_statfs"] == "1"
    params = dict(jail_params("www", cfg_of(jail_zfs="1", enforce_statfs="0"), JAILDIR, IOCROOT))
    assert params["enforce_statfs"] == "0"


def test_assign_localhost_adds_lo0_alias():
    params = jail_params("www", cfg_of(assign_localhost="1", localhost_ip="127.0.0.9"), JAILDIR, IOCROOT)
    assert params[0] == ("ip4.addr", "lo0|127.0.0.9")
    with pytest.raises(PropertyConflict, match="no localhost_ip"):
        jail_params("www", cfg_of(assign_localhost="1"), JAILDIR, IOCROOT)


@pytest.mark.parametrize("kw", [{"ip4_addr": "DHCP"}, {"ip6_addr": "em0|accept_rtadv"}])
def test_dynamic_addresses_need_vnet(kw):
    with pytest.raises(PropertyConflict, match="need vnet"):
        jail_params("www", cfg_of(**kw), JAILDIR, IOCROOT)


def test_bad_stored_value_is_named():
    with pytest.raises(InvalidValue, match="invalid value for securelevel: '9'"):
        jail_params("www", cfg_of(securelevel="9"), JAILDIR, IOCROOT)


def test_dotted_name_uses_kernel_name():
    params = dict(jail_params("web.a", cfg_of("web.a"), "/iocage/jails/web.a", IOCROOT))
    assert params["name"] == "ioc-web_a" and params["host.hostuuid"] == "web_a"
    assert params["exec.consolelog"] == "/iocage/log/ioc-web_a-console.log"
    assert params["path"] == "/iocage/jails/web.a/root"


def test_exec_created_can_be_left_to_the_engine():
    keys = [k for k, _ in jail_params("www", cfg_of(), JAILDIR, IOCROOT, exec_created=False)]
    assert "exec.created" not in keys


def test_passthrough_params_last_sorted_and_none_skipped():
    cfg = cfg_of(**{"jail_param_osrelease": "12.4-RELEASE", "jail_param_allow.read_msgbuf": "1",
                    "jail_param_linux.osname": "none"})
    params = jail_params("www", cfg, JAILDIR, IOCROOT)
    assert params[-3:] == [("persist", None), ("allow.read_msgbuf", "1"), ("osrelease", "12.4-RELEASE")]


def test_reserved_passthrough_in_a_hand_edited_config_fails():
    with pytest.raises(Exception, match="managed by iocjail"):
        jail_params("www", cfg_of(**{"jail_param_exec.start": "/bin/sh"}), JAILDIR, IOCROOT)


def test_every_registry_jail_param_is_built():
    cfg = cfg_of(**{p.name: "1" for p in P.PROPS if p.jail_param and p.parse is P.V.boolean and p.name != "vnet"},
                 ip4_addr="10.0.0.1", ip6_addr="fd00::1")
    built = {k for k, _ in jail_params("www", cfg, JAILDIR, IOCROOT)}
    vnet = {k for k, _ in jail_params("www", cfg_of(vnet="1", vnet_interfaces="em1"), JAILDIR, IOCROOT)}
    declared = {p.jail_param for p in P.PROPS if p.jail_param}
    assert declared - built - vnet == set()


# -- rendering -------------------------------------------------------------------------------

def test_render_format():
    text = J.render_jail_conf("www", [("ip4.addr", "em0|10.0.0.5/24"), ("ip4.addr", "10.0.0.6"), ("vnet", None),
                                      ("host.hostname", "www"), ("persist", None)])
    assert text == ('"ioc-www" {\n\tip4.addr += "em0|10.0.0.5/24";\n\tip4.addr += "10.0.0.6";\n\tvnet;\n'
                    '\thost.hostname = "www";\n\tpersist;\n}\n')


@pytest.mark.parametrize("value,rendered", [
    ('a"b', r'"a\"b"'), ("a\\b", r'"a\\b"'), ("$name", r'"\$name"'), ("${x}", r'"\${x}"'), ("a;b", '"a;b"'),
    ("{}", '"{}"'), ("l1\nl2", r'"l1\nl2"'), ("\x01", r'"\001"'), ("\x7f9", r'"\1779"'), ("tab\t", r'"tab\t"'),
])
def test_quote_escapes(value, rendered):
    assert J.quote(value) == rendered


def test_render_refuses_nul_bad_keys_and_duplicates():
    with pytest.raises(InvalidValue, match="NUL"):
        J.render_jail_conf("www", [("exec.created", "a\0b")])
    for key in ("a b", "x;y", "A", "ip4.addr=1", ""):
        with pytest.raises(InvalidValue, match="not a jail"):
            J.render_jail_conf("www", [(key, "1")])
    with pytest.raises(InvalidValue, match="given twice"):
        J.render_jail_conf("www", [("path", "/a"), ("path", "/b")])


def test_rendered_defaults_read_back():
    params = jail_params("www", cfg_of(exec_created='echo "$HOME"; }'), JAILDIR, IOCROOT)
    assert read(J.render_jail_conf("www", params)) == ("ioc-www", params)


def test_reader_catches_a_naive_renderer():
    naive = '"ioc-x" {\n\texec.created = "a"; persist; b";\n}\n'
    with pytest.raises(Breakout):
        read(naive)
    assert read('"ioc-x" {\n\tx = "a\\$b";\n}\n') == ("ioc-x", [("x", "a$b")])


PARAM_NAMES = st.from_regex(r"\A[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,8}){0,2}\Z")
VALUES = st.text(alphabet=st.characters(blacklist_characters="\0"), max_size=60)
HOSTILE = st.text(alphabet='"\\$;{}\n\r\t#/*=+, abc\x01\x7f\u00e9', max_size=40)


@settings(max_examples=400)
@given(value=st.one_of(VALUES, HOSTILE))
def test_fuzz_a_value_never_breaks_out(value):
    params: list[J.Param] = [("exec.created", value), ("persist", None), ("host.hostname", "after")]
    assert read(J.render_jail_conf("www", params)) == ("ioc-www", params)


@settings(max_examples=200)
@given(st.lists(st.tuples(PARAM_NAMES, st.one_of(st.none(), VALUES, HOSTILE)), max_size=8,
                unique_by=lambda kv: kv[0]))
def test_fuzz_parameter_lists_read_back_exactly(params):
    assert read(J.render_jail_conf("www", params)) == ("ioc-www", params)


@given(st.from_regex(r"\A[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}\Z"), VALUES)
def test_fuzz_names_and_values(name, value):
    params: list[J.Param] = [("exec.created", value)]
    got_name, got = read(J.render_jail_conf(name, params))
    assert got_name == "ioc-" + name.replace(".", "_") and got == params


@given(st.text(min_size=1).map(lambda s: s + "\0"))
def test_fuzz_nul_is_always_refused(value):
    with pytest.raises(InvalidValue):
        J.render_jail_conf("www", [("exec.created", value)])
