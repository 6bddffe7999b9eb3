"""The vnet.interface step of a FreeBSD start: one epair per `interfaces` pair (reference §2.5
step 13), built from model/vnet.py's plan with platform/freebsd.py's commands.

Per NIC, in iocage's order: the bridge (created if missing, marked ``description iocjail`` so the
undo only ever destroys a bridge iocjail made and no jail uses), ``ifconfig epair create`` renamed
``vnetN.JID`` at once (the ``epair`` op reports the pair's name as ``{vnetN_epair}``), the host
side's MTU, MAC and description, the jail side moved in and, inside, given the MTU, renamed
``epairNb`` and its MAC; the host side joins the bridge (or, with nat, gets the gateway /30) and
comes up; then the addresses inside, DHCP/SLAAC through the jail's rc.conf, and the default routes.
Undo: leave the bridge, destroy the epair (both sides go), unset the rc.conf lines, remove a
bridge iocjail made. Everything inside the jail dies with the epair and the jail.
"""

from __future__ import annotations

from collections.abc import Mapping

from iocjail.lifecycle.plan import Action, Step, op, run
from iocjail.lifecycle.steps import StepBuilder
from iocjail.model import vnet as V
from iocjail.model.jail import JailSettings
from iocjail.platform import freebsd as F
from iocjail.platform.freebsd_output import Interface, Route

RTADV = "inet6 auto_linklocal accept_rtadv autoconf"


def host_net(interfaces: Mapping[str, Interface], routes: Mapping[int, Route]) -> V.HostNet:
    bridges = {n: i.members for n, i in interfaces.items() if "bridge" in i.groups or n.startswith("bridge")}
    four, six = routes.get(4), routes.get(6)
    return V.HostNet(mtus={n: i.mtu for n, i in interfaces.items() if i.mtu}, bridge_members=bridges,
                     default_iface=four.iface if four else None, gateway4=four.gateway if four else None,
                     gateway6=six.gateway if six else None)


def vnet_step(name: str, settings: JailSettings, jid: int, host: V.HostNet) -> Step:
    plan = V.vnet_plan(name, settings, jid, host)
    b = StepBuilder("vnet.interface")

    def inside(*cmd: str) -> Action:
        return run(*F.jexec_argv(name, cmd, fib=settings.exec_fib))

    def rc_conf(assignment: str) -> None:
        b.pair(inside(*F.sysrc_argv(assignment)), inside(*F.sysrc_argv(assignment.split("=", 1)[0], delete=True)))

    for nic in plan.nics:
        if nic.bridge and (nic.create_bridge or nic.bridge_adds):
            b.pair(op("bridge", nic.bridge, *nic.bridge_adds),
                   op("unbridge", nic.bridge, *nic.bridge_adds) if nic.create_bridge else None)
        key = f"{nic.nic}_epair"
        side_b = "{" + key + "}b"
        b.pair(op("epair", nic.host_if, key), run(*F.iface_destroy_argv(nic.host_if)))
        b.add(run(*F.iface_mtu_argv(nic.host_if, nic.mtu)), run(*F.iface_link_argv(nic.host_if, nic.mac_a)),
              run(*F.iface_description_argv(nic.host_if, nic.description)), run(*F.vnet_move_argv(side_b, name)),
              inside(*F.iface_mtu_argv(side_b, nic.mtu)), inside(*F.iface_rename_argv(side_b, nic.jail_if)),
              inside(*F.iface_link_argv(nic.jail_if, nic.mac_b)))
        if nic.bridge:
            b.pair(run(*F.bridge_addm_argv(nic.bridge, nic.host_if)), run(*F.bridge_deletem_argv(nic.bridge, nic.host_if)))
        elif nic.nat_gateway:
            b.add(run("ifconfig", nic.host_if, "inet", f"{nic.nat_gateway}/30"))
        b.add(run(*F.iface_up_argv(nic.host_if)))
        if nic.dhcp:
            rc_conf(f"ifconfig_{nic.jail_if}=SYNCDHCP")
        if nic.accept_rtadv:
            rc_conf(f"ifconfig_{nic.jail_if}_ipv6={RTADV}")
        b.add(*(inside(*F.iface_address_argv(nic.jail_if, 4, a)) for a in nic.ip4))
        b.add(*(inside(*F.iface_address_argv(nic.jail_if, 6, a)) for a in nic.ip6))
        b.add(inside(*F.iface_up_argv(nic.jail_if)))
    b.add(*(inside(*F.iface_address_argv(iface, 4, a)) for iface, a in plan.other_ip4))
    b.add(*(inside(*F.iface_address_argv(iface, 6, a)) for iface, a in plan.other_ip6))
    if settings.rtsold or any(n.accept_rtadv for n in plan.nics):
        rc_conf("rtsold_enable=YES")
    if plan.gateway4:
        b.add(inside(*F.route_default_argv(4, plan.gateway4)))
    if plan.gateway6:
        b.add(inside(*F.route_default_argv(6, plan.gateway6)))
    return b.step()
