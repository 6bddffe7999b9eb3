import click

from iocjail import render
from iocjail.cli.common import Ctx, output_format, output_options, pass_ctx
from iocjail.services import listing as service
from iocjail.services import plugin_source
from iocjail.site import releases as release_service

COLUMNS = ("JID", "NAME", "STATE", "RELEASE", "IP4")
LONG_COLUMNS = ("JID", "NAME", "BOOT", "STATE", "TYPE", "RELEASE", "IP4", "IP6", "TEMPLATE", "BASEJAIL")
QUICK_COLUMNS = ("NAME", "IP4")
RELEASE_COLUMNS = ("Bases fetched",)
PLUGIN_COLUMNS = ("JID", "NAME", "BOOT", "STATE", "TYPE", "RELEASE", "IP4", "IP6", "TEMPLATE", "PORTAL", "DOC_URL")
REMOTE_PLUGIN_COLUMNS = ("NAME", "DESCRIPTION", "PKG")


@click.command("list")
@click.option("-t", "--template", "templates", is_flag=True, help="List templates instead of jails.")
@click.option("-B", "--basejails", is_flag=True, help="Only base jails.")
@click.option("-l", "--long", "long_", is_flag=True,
              help="Long columns: BOOT TYPE IP6 TEMPLATE BASEJAIL, full names, releases and addresses.")
@click.option("-q", "--quick", is_flag=True, help="NAME and IP4 from the config files only (no zfs query).")
@click.option("-s", "--sort", default="name", show_default=True, metavar="COLUMN",
              help="Sort by a column: jid name state release ip4 (with -l also boot type ip6 template).")
@click.option("-r", "-b", "--release", "--base", "releases", is_flag=True,
              help="List the releases fetched (complete ones only).")
@click.option("-P", "--plugins", "plugin_list", is_flag=True,
              help="Plugin jails, with their admin PORTAL and DOC_URL (-R: the plugin index).")
@click.option("-R", "--remote", is_flag=True, help="With -P: the plugins of the remote index (-g).")
@click.option("-g", "--git_repository", "--git-repository", "repository", metavar="URL|DIR",
              default=plugin_source.OFFICIAL_INDEX, show_default=True,
              help="With -PR: the plugin index, a git URL or a local directory holding INDEX.")
@output_options
@pass_ctx
def list_(ctx: Ctx, templates: bool, basejails: bool, long_: bool, quick: bool, sort: str, releases: bool,
          plugin_list: bool, remote: bool, repository: str, script: bool, as_json: bool) -> None:
    """List jails: JID, NAME, STATE, RELEASE, IP4 (-r: the releases fetched, -P: plugins).

    \b
    Example:
      iocjail list
      iocjail list -l -s release
      iocjail list -H -q
      iocjail list -r
      iocjail list -P
      iocjail list -PR -g https://github.com/freenas/iocage-ix-plugins.git
    """
    fmt = output_format(script, as_json)
    if remote and not plugin_list:
        raise click.UsageError("-R lists the remote plugin index with -P (remote releases: iocjail fetch without -r)")
    if plugin_list:
        if releases or templates or quick or basejails:
            raise click.UsageError("-P cannot be combined with -r, -t, -q or -B")
        _list_plugins(ctx, fmt, remote, repository, sort)
        return
    if releases:
        if templates:
            raise click.UsageError("-r and -t cannot be combined")
        _list_releases(ctx, fmt)
        return
    if quick and long_:
        raise click.UsageError("-q and -l cannot be combined")
    if quick:
        rows = service.quick(ctx.host, templates=templates, basejails=basejails, sort=sort)
        _echo(render.table(QUICK_COLUMNS, [(r.name, r.ip4) for r in rows], fmt))
        return
    found = service.jails(ctx.host, templates=templates, basejails=basejails, long=long_, sort=sort)
    if fmt is render.Format.JSON:
        click.echo(render.to_json([service.to_json(r, long_) for r in found]))
        return
    shown = [service.display(r, long_) for r in found]
    if long_:
        table = [(r.jid, r.name, _onoff(r.boot), r.state, r.type, r.release, r.ip4, r.ip6, r.template,
                  _yesno(r.basejail)) for r in shown]
        _echo(render.table(LONG_COLUMNS, table, fmt))
    else:
        _echo(render.table(COLUMNS, [(r.jid, r.name, r.state, r.release, r.ip4) for r in shown], fmt))


def _onoff(value: bool | None) -> str:
    return service.NA if value is None else "on" if value else "off"


def _yesno(value: bool | None) -> str:
    return service.NA if value is None else "yes" if value else "no"


def _echo(text: str) -> None:
    if text:
        click.echo(text)


def _list_releases(ctx: Ctx, fmt: render.Format) -> None:
    names = release_service.fetched(ctx.host)
    if fmt is render.Format.JSON:
        click.echo(render.to_json([{"release": name} for name in names]))
        return
    _echo(render.table(RELEASE_COLUMNS, [(name,) for name in names], fmt))


def _list_plugins(ctx: Ctx, fmt: render.Format, remote: bool, repository: str, sort: str) -> None:
    from iocjail.services import plugins  # the installer's imports: only for -P list starts faster

    if remote:
        found = plugins.remote(ctx.host, repository)
        rows = [(e.name, e.description, e.key) for e in found.index.entries]
        if fmt is render.Format.JSON:
            click.echo(render.to_json([{"name": e.name, "description": e.description, "pkg": e.key,
                                        "primary_pkg": e.primary_pkg, "official": e.official}
                                       for e in found.index.entries]))
        else:
            _echo(render.table(REMOTE_PLUGIN_COLUMNS, rows, fmt))
        for skipped in found.index.skipped:
            click.echo(f"iocjail: INDEX entry skipped: {skipped}", err=True)
        return
    found_jails = plugins.plugin_jails(ctx.host, sort=sort)
    table = [(p.row.jid, p.row.name, _onoff(p.row.boot), p.row.state, p.row.type, p.row.release, p.row.ip4,
              p.row.ip6, p.row.template, p.portal, p.doc) for p in found_jails]
    _echo(render.table(PLUGIN_COLUMNS, table, fmt))


SECTION = "Information"
COMMANDS = (list_,)
