"""`pkg`, `update`, `upgrade`: packages and FreeBSD updates of jails and releases."""

from __future__ import annotations

import sys

import click

from iocjail.cli import complete
from iocjail.cli.common import Ctx, pass_ctx
from iocjail.cli.output import (Lines, StepLines, announce, captured_stdin, finish_each, has_real_stdout, lines,
                                run_and_exit, show)
from iocjail.services import packages as service
from iocjail.services import plans, plugin_update, updates, upgrades


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
        for block in plans.plan_text(ctx.host, name, "pkg", args=args):
            lines(block)
        return
    capture = not has_real_stdout()
    if name == "ALL":
        stdin = captured_stdin() if capture else None  # read once, given to every jail
        finish_each(service.run_pkg_all(ctx.host, args, capture=capture, stdin=stdin, reporter=Lines(),
                                        begin=announce, done=lambda _, result: show(result)))
        return
    run_and_exit(service.run_pkg(ctx.host, name, args, capture=capture,
                                 stdin=captured_stdin() if capture else None, reporter=Lines()))


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
    if show_plan:
        for block in plans.plan_text(ctx.host, target, "update"):
            lines(block)
        return
    if target == "ALL":
        click.echo("* Updating every jail to the latest patch level...")
        finish_each(updates.update_all(ctx.host, begin=announce, done=lambda _, outcome: _report(outcome)))
        return
    done = updates.update(ctx.host, target, reporter=_UpdateLines())
    if done is None:
        click.echo(f"{target}: freebsd-update skipped (FreeBSD only)")
    else:
        _report(done)


class _UpdateLines(StepLines):
    def plugin_updated(self, done: plugin_update.Updated) -> None:
        _plugin(done)

    def updating(self, target: str) -> None:
        click.echo(f"* Updating {target} to the latest patch level...")

    def upgrading(self, name: str, new: str) -> None:
        click.echo(f"* Upgrading {name} to {new}...")


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
    if show_plan:
        for block in plans.plan_text(ctx.host, name, "upgrade", release=new):
            lines(block)
        return
    if name == "ALL":
        return _upgrade_all(ctx, new, pkgs)
    done = upgrades.upgrade(ctx.host, name, new, reinstall=pkgs, reporter=_UpdateLines())
    if done.plugin is not None:
        return _plugin(done.plugin)
    assert done.outcome is not None
    _upgraded(done.outcome)
    reinstall = done.reinstall
    if done.offer:
        if not sys.stdin.isatty():
            click.echo(f"{done.target}: reinstall its packages for {new} with: iocjail pkg {done.target} upgrade -f -y")
            return
        reinstall = click.confirm(f"Reinstall every package of {done.target} for {new} (pkg upgrade -f)?",
                                  default=False)
    if reinstall:
        run_and_exit(upgrades.reinstall_packages(ctx.host, done.target, capture=not has_real_stdout()))


def _upgraded(done: updates.Outcome) -> None:
    click.echo(f"{done.target}: snapshot {done.snapshot} taken first (kept: iocjail snapremove removes it)")
    click.echo(f"{done.target}: {done.old} -> {done.new}")
    if done.kind == "basejail":
        click.echo(f"{done.target}: its base is now release {done.release}")


def _upgrade_all(ctx: Ctx, new: str, pkgs: bool | None) -> None:
    """`upgrade ALL`: no question per jail; -P reinstalls each upgraded jail's packages."""
    click.echo(f"* Upgrading every jail to {new}...")
    done = upgrades.upgrade_all(ctx.host, new, reinstall=pkgs, capture=not has_real_stdout(), begin=announce,
                                done=lambda _, outcome: _upgraded(outcome),
                                reinstalled=lambda _, result: show(result))
    if done.offer:
        click.echo(f"reinstall their packages for {new} with: iocjail pkg NAME upgrade -f -y "
                   f"({', '.join(done.offer)})")
    for name, code in done.reinstalled:
        if code:
            click.echo(f"iocjail: {name}: pkg upgrade -f exited {code}", err=True)
    finish_each(done.results)
    if done.reinstall_failed():
        raise click.exceptions.Exit(done.reinstall_failed())


SECTION = "Packages"
COMMANDS = (pkg, update, upgrade)
