"""`pkg`, `update`, `upgrade`: packages and FreeBSD updates of jails and releases."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from iocjail.cli import complete
from iocjail.cli.common import Ctx, pass_ctx
from iocjail.cli.exec import announce, captured_stdin, finish_each, has_real_stdout, show
from iocjail.cli.lifecycle import Lines
from iocjail.services import packages as service
from iocjail.services import lifecycle, plugin_update, updates, upgrades
from iocjail.lifecycle.select import on_freebsd


@click.command("pkg", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--plan", "show_plan", is_flag=True, help="Print the commands it would run; run nothing.")
@click.argument("name", metavar="NAME|ALL", shell_complete=complete.jails_or_all)
@click.argument("args", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_ctx
def pkg(ctx: Ctx, name: str, args: tuple[str, ...], show_plan: bool) -> None:
    """Run pkg(8) in a jail (started first if needed); its exit status is passed through.

    FreeBSD: the host's `pkg -j ioc-NAME ARGS`, after installing pkg into the jail if it has none.
    Linux jails: the jail's `pkg_command` with ARGS, inside the jail; without one, pkg says it is
    not available.

    ALL runs it in every jail (templates never), one after the other in priority order, each
    jail's output after a `* NAME` line; Linux jails without pkg_command are skipped. The exit
    status is the first non-zero one.

    \b
    Example:
      iocjail pkg www1 install -y nginx
      iocjail pkg --plan www1 upgrade -y
      iocjail pkg ALL upgrade -y
      iocjail set pkg_command=/usr/local/sbin/apk-as-pkg lin1 && iocjail pkg lin1 install -y curl
    """
    if show_plan:
        for jail in lifecycle.every_jail(ctx.host) if name == "ALL" else [name]:
            click.echo("\n".join(service.plan_lines(ctx.host, jail, args)))
        return
    capture = not has_real_stdout()
    if name == "ALL":
        stdin = captured_stdin() if capture else None  # read once, given to every jail
        finish_each(lifecycle.in_every_jail(
            ctx.host, lambda ref: service.run_pkg(ctx.host, ref.name, args, capture=capture, stdin=stdin,
                                                  reporter=Lines()),
            skip=lambda ref: service.why_no_pkg(ctx.host, ref.name), begin=announce,
            done=lambda _, result: show(result)))
        return
    result = service.run_pkg(ctx.host, name, args, capture=capture, stdin=captured_stdin() if capture else None,
                             reporter=Lines())
    show(result)
    if result.code:
        raise click.exceptions.Exit(result.code)


@click.command()
@click.option("--plan", "show_plan", is_flag=True, help="Print the snapshot and commands it would run; run nothing.")
@click.argument("target", metavar="NAME|RELEASE|ALL", shell_complete=complete.jails_or_releases)
@pass_ctx
def update(ctx: Ctx, target: str, show_plan: bool) -> None:
    """Apply FreeBSD security patches to a jail or a release, after a snapshot.

    A snapshot ioc_update_<release>_<date> comes first; if freebsd-update fails the jail (or
    release) is rolled back to it. Thin and thick jails are patched in place; a basejail's base
    is its release, which is patched instead, and every basejail of it gets the new `release`.
    Runs on FreeBSD; elsewhere --plan shows what it would do. A plugin jail first gets its
    plugin updated (manifest, packages, artifact, post_upgrade.sh; rolled back on failure).

    ALL updates every jail in priority order, each behind its own snapshot, one failure not
    stopping the others; a release is updated once for all its basejails. Plugins are not
    updated by ALL (update each by name).

    \b
    Example:
      iocjail update www1
      iocjail update 14.1-RELEASE
      iocjail update --plan www1
      iocjail update ALL
    """
    if target == "ALL":
        return _update_all(ctx, show_plan)
    if show_plan:
        click.echo("\n".join(updates.plan_lines(ctx.host, target)))
        return
    if plugin_update.is_plugin(ctx.host, target):  # iocage: the plugin first, then freebsd-update
        _plugin(plugin_update.update(ctx.host, target, reporter=_PluginLines()))
        if not on_freebsd():
            click.echo(f"{target}: freebsd-update skipped (FreeBSD only)")
            return
    click.echo(f"* Updating {target} to the latest patch level...")
    done = updates.update(ctx.host, target)
    _report(done)


def _plans_of_all(ctx: Ctx, plan_lines: Callable[[str], list[str]]) -> None:
    """`update/upgrade --plan ALL`: each jail's plan, or why it has none."""
    for name in lifecycle.every_jail(ctx.host):
        try:
            click.echo("\n".join(plan_lines(name)))
        except updates.CannotUpdate as err:
            click.echo(f"# {err}: skipped")


def _update_all(ctx: Ctx, show_plan: bool) -> None:
    if show_plan:
        return _plans_of_all(ctx, lambda name: updates.plan_lines(ctx.host, name))
    click.echo("* Updating every jail to the latest patch level...")
    finish_each(updates.update_all(ctx.host, begin=announce, done=lambda _, outcome: _report(outcome)))


class _PluginLines:
    def step(self, name: str, text: str) -> None:
        click.echo(f"  {text}")


def _plugin(done: plugin_update.Updated) -> None:
    commit = f" (artifact {done.commit[:12]})" if done.commit else ""
    click.echo(f"{done.name}: plugin {done.plugin} updated{commit}; snapshot {done.snapshot} removed")


def _report(done: updates.Outcome) -> None:
    what = done.target if done.kind == "jail" else f"release {done.release}"
    if done.kind == "basejail":
        click.echo(f"{done.target} is a basejail: its base, release {done.release}, was updated")
    click.echo(f"{what}: snapshot {done.snapshot} taken first (kept: iocjail snapremove removes it)")
    click.echo(f"{what}: already at {done.new}" if done.old == done.new else f"{what}: {done.old} -> {done.new}")
    for name in done.release_set:
        if name != what:
            click.echo(f"{name}: release is now {done.new}")


@click.command()
@click.option("-r", "--release", "new", required=True, metavar="RELEASE", shell_complete=complete.releases,
              help="The release to upgrade to.")
@click.option("--plan", "show_plan", is_flag=True, help="Print the snapshot and commands it would run; run nothing.")
@click.option("-P/-N", "--pkgs/--no-pkgs", "pkgs", default=None,
              help="Reinstall every package afterwards (pkg upgrade -f) without asking, or never.")
@click.argument("name", metavar="NAME|ALL", shell_complete=complete.jails_or_all)
@pass_ctx
def upgrade(ctx: Ctx, name: str, new: str, show_plan: bool, pkgs: bool | None) -> None:
    """Upgrade a jail to a new FreeBSD release, after a snapshot; rolled back if it fails.

    Thin and thick jails: freebsd-update upgrade, then install as often as it asks; /etc files
    you never changed are updated, the others merged (conflicts open in $EDITOR). Basejails are
    re-pointed at the new (fetched) release and /etc merged with etcupdate. Then reinstalling
    every package for the new release is offered. Runs on FreeBSD; elsewhere --plan shows it.
    A plugin jail is upgraded to its manifest's release, then its plugin updated.

    ALL upgrades every jail that can go to RELEASE, in priority order, each behind its own
    snapshot, one failure not stopping the others; plugin jails are skipped (upgrade each by
    name). Nothing is asked: -P reinstalls each upgraded jail's packages.

    \b
    Example:
      iocjail upgrade www1 -r 14.1-RELEASE
      iocjail upgrade --plan www1 -r 14.1-RELEASE
      iocjail upgrade -P db1 -r 14.1-RELEASE
      iocjail upgrade ALL -r 14.1-RELEASE
    """
    if name == "ALL":
        return _upgrade_all(ctx, new, show_plan, pkgs)
    if show_plan:
        click.echo("\n".join(upgrades.plan_lines(ctx.host, name, new)))
        return
    if plugin_update.is_plugin(ctx.host, name):  # iocage: upgrade to the manifest's release, then update
        _plugin(plugin_update.upgrade(ctx.host, name, release=new, reporter=_PluginLines()))
        return
    click.echo(f"* Upgrading {name} to {new}...")
    done = upgrades.upgrade(ctx.host, name, new)
    _upgraded(done)
    if pkgs is None:
        if not sys.stdin.isatty():
            click.echo(f"{done.target}: reinstall its packages for {new} with: iocjail pkg {done.target} upgrade -f -y")
            return
        pkgs = click.confirm(f"Reinstall every package of {done.target} for {new} (pkg upgrade -f)?", default=False)
    if pkgs:
        result = upgrades.reinstall_packages(ctx.host, done.target, capture=not has_real_stdout())
        show(result)
        if result.code:
            raise click.exceptions.Exit(result.code)


def _upgraded(done: updates.Outcome) -> None:
    click.echo(f"{done.target}: snapshot {done.snapshot} taken first (kept: iocjail snapremove removes it)")
    click.echo(f"{done.target}: {done.old} -> {done.new}")
    if done.kind == "basejail":
        click.echo(f"{done.target}: its base is now release {done.release}")


def _upgrade_all(ctx: Ctx, new: str, show_plan: bool, pkgs: bool | None) -> None:
    """`upgrade ALL`: no question per jail; -P reinstalls each upgraded jail's packages."""
    if show_plan:
        return _plans_of_all(ctx, lambda name: upgrades.plan_lines(ctx.host, name, new))
    reinstalled: list[tuple[str, int]] = []

    def done(name: str, outcome: updates.Outcome) -> None:
        _upgraded(outcome)
        if pkgs:
            result = upgrades.reinstall_packages(ctx.host, name, capture=not has_real_stdout())
            show(result)
            reinstalled.append((name, result.code))

    click.echo(f"* Upgrading every jail to {new}...")
    results = upgrades.upgrade_all(ctx.host, new, begin=announce, done=done)
    upgraded = [r.name for r in results if r.result is not None]
    if upgraded and pkgs is None:
        click.echo(f"reinstall their packages for {new} with: iocjail pkg NAME upgrade -f -y "
                   f"({', '.join(upgraded)})")
    for name, code in reinstalled:
        if code:
            click.echo(f"iocjail: {name}: pkg upgrade -f exited {code}", err=True)
    finish_each(results)
    failed = [code for _, code in reinstalled if code]
    if failed:
        raise click.exceptions.Exit(failed[0])


SECTION = "Packages"
COMMANDS = (pkg, update, upgrade)
