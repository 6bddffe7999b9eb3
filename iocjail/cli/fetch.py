import sys
from typing import Any

import click

from iocjail.cli import complete
from iocjail.cli.common import Ctx, pass_ctx
from iocjail.cli.output import StepLines
from iocjail.errors import Aborted, UsageError
from iocjail.fetch.download import Fetched
from iocjail.fetch.mirror import MirrorRelease
from iocjail.model.plugin_files import describe_devfs
from iocjail.model.sizes import binary_size
from iocjail.services import fetch as service
from iocjail.services import plugin_source, plugins


class TerminalReporter:
    """A click progress bar per file on stderr; transient steps as plain lines."""

    def __init__(self) -> None:
        self._bar: Any = None

    def begin(self, name: str, total: int | None, done: int) -> None:
        if total:
            self._bar = click.progressbar(length=total, label=f"Downloading: {name}", file=sys.stderr,
                                          show_pos=False, width=30)
            self._bar.__enter__()
            if done:
                self._bar.update(done)

    def advance(self, nbytes: int) -> None:
        if self._bar is not None:
            self._bar.update(nbytes)

    def end(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

    def step(self, text: str) -> None:
        click.echo(text, err=True)


def _describe(item: Fetched, local: bool) -> str:
    if item.cached:
        return f"{item.path.name} (cached, verified)"
    verb = "copied" if local else "resumed" if item.resumed_from else "downloaded"
    return f"{item.path.name} ({verb}, {binary_size(item.size)})"


def _choose(offered: list[MirrorRelease]) -> str:
    for number, rel in enumerate(offered):
        click.echo(f"[{number}] {rel}")
    answer = click.prompt("Type the number of the desired RELEASE\nType EXIT to quit", type=str).strip()
    if answer.upper() == "EXIT":
        raise Aborted()
    if answer.isdigit() and int(answer) < len(offered):
        return offered[int(answer)].name
    if answer in {r.name for r in offered}:
        return answer
    raise UsageError(f"{answer!r} is not one of the numbers or releases listed")


@click.command()
@click.option("-r", "--release", metavar="RELEASE", help="The release to fetch, e.g. 13.2-RELEASE.")
@click.option("-s", "--server", metavar="SERVER",
              help="Mirror host or http(s) URL (default download.freebsd.org, over HTTPS).")
@click.option("-d", "--root-dir", metavar="DIR",
              help="Mirror path above the releases (default ftp/releases/MACHINE/MACHINE_ARCH); "
                   "with -f, the local directory that holds RELEASE/.")
@click.option("--url", metavar="URL", help="Full URL of the release directory (instead of -s/-d).")
@click.option("-F", "--files", "files", multiple=True, metavar="FILE",
              help="Distribution set to fetch, repeatable (default base.txz, and lib32.txz where listed).")
@click.option("-f", "--file", "local", is_flag=True, help="Local fetch: take the sets from DIR/RELEASE/ (-d).")
@click.option("--no-verify", is_flag=True, help="Local fetch only: skip the check against DIR/RELEASE/MANIFEST.")
@click.option("--update/--noupdate", "-U/-NU", default=True, show_default=True,
              help="Run freebsd-update on the release (FreeBSD hosts and releases only).")
@click.option("-P", "--plugin-name", "plugin", metavar="NAME|FILE.json",
              help="Install a plugin: a name from the plugin INDEX (-g), or a local manifest file.")
@click.option("-g", "--git_repository", "--git-repository", "repository", metavar="URL|DIR",
              default=plugin_source.OFFICIAL_INDEX, show_default=True,
              help="With -P: the plugin index, a git URL or a local directory holding INDEX.")
@click.option("-n", "--name", metavar="NAME", help="With -P: the plugin jail's name (default: the plugin's).")
@click.option("--branch", metavar="BRANCH", help="With -P: the git branch of the index and the artifact.")
@click.argument("props", nargs=-1, metavar="[PROP=VALUE]...", shell_complete=complete.assignments)
@pass_ctx
def fetch(ctx: Ctx, release: str | None, server: str | None, root_dir: str | None, url: str | None,
          files: tuple[str, ...], local: bool, no_verify: bool, update: bool, plugin: str | None,
          repository: str, name: str | None, branch: str | None, props: tuple[str, ...]) -> None:
    """Download a release, verify it against its MANIFEST and extract it; -P installs a plugin.

    Without -r, list the releases the mirror offers and ask for one (on a terminal). With -P,
    the manifest, its artifact and every property are checked before the plugin jail is made,
    and a failure at any later step destroys the jail again. On FreeBSD the manifest's kmods
    are loaded first and its devfs rules join the jail's ruleset; a Linux host refuses kmods.

    \b
    Example:
      iocjail fetch -r 13.2-RELEASE
      iocjail fetch -r 13.2-RELEASE -s http://mirror.example.org
      iocjail fetch -f -d /srv/releases -r 13.2-RELEASE
      iocjail fetch -P syncthing ip4_addr="em0|192.0.2.20/24"
      iocjail fetch -P /tmp/myplugin.json -n web ip4_addr="vnet0|192.0.2.21/24"
    """
    if plugin:
        given = [flag for flag, on in (("-r", release), ("-s", server), ("-d", root_dir), ("--url", url),
                                       ("-F", files), ("-f", local), ("--no-verify", no_verify)) if on]
        if given:
            raise click.UsageError(f"-P installs a plugin from its manifest's release: {', '.join(given)} do not apply")
        _fetch_plugin(ctx, plugin, repository, name, branch, props)
        return
    if props or name or branch:
        raise click.UsageError("PROP=VALUE, -n and --branch apply to a plugin (-P) only")
    if no_verify and not local:
        raise click.UsageError("--no-verify applies to a local fetch (-f) only: downloads are always verified")
    if local and (server or url):
        raise click.UsageError("-f reads local files: -s and --url do not apply")
    host = ctx.host
    _ = host.iocroot  # an active pool first: no prompt, no download without one
    if not release:
        release = _ask_release(local, server, root_dir, url)
    if local:
        if not root_dir:
            raise click.UsageError("-f needs -d DIR, the directory that holds RELEASE/")
        source = service.local_source(root_dir, release, verify=not no_verify)
    else:
        source = service.remote_source(release, server=server, root_dir=root_dir, url=url)
    click.echo(f"Fetching: {release} from {source.where}")
    reporter = TerminalReporter() if sys.stderr.isatty() else service.QuietReporter()
    result = service.fetch(host, release, source, files=files, noupdate=not update, reporter=reporter)
    for note in result.notes:
        click.echo(f"{release}: {note}")
    userland = f"; userland {result.userland}" if result.userland else ""
    parts = ", ".join(_describe(f, local) for f in result.files)
    click.echo(f"{release} fetched: {parts}{userland}")


def _ask_release(local: bool, server: str | None, root_dir: str | None, url: str | None) -> str:
    if local or url:
        raise click.UsageError("give -r RELEASE (the mirror's list is only offered with -s/-d)")
    index, offered = service.mirror_releases(server=server, root_dir=root_dir)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise service.NoRelease(f"{index} offers {', '.join(str(r) for r in offered)}")
    return _choose(offered)


def _fetch_plugin(ctx: Ctx, plugin: str, repository: str, name: str | None, branch: str | None,
                  props: tuple[str, ...]) -> None:
    host = ctx.host
    with plugins.prepare(host, plugin, repository=repository, name=name, props=props, branch=branch) as ready:
        manifest = ready.source.manifest
        click.echo(f"Plugin: {ready.source.plugin}")
        click.echo(f"  Official Plugin: {manifest.official}")
        click.echo(f"  Using RELEASE: {manifest.release}")
        click.echo(f"  Post-install Artifact: {manifest.artifact or '-'}")
        if ready.artifact is not None:
            click.echo(f"  Artifact commit: {ready.artifact.commit}")
        click.echo("  These pkgs will be installed:")
        for pkg in manifest.pkgs:
            click.echo(f"    - {pkg}")
        if manifest.kmods:
            click.echo(f"  These kernel modules will be loaded: {', '.join(manifest.kmods)}")
        if manifest.devfs_ruleset is not None and ready.freebsd:
            click.echo(f"  devfs rules for the jail: {describe_devfs(manifest.devfs_ruleset)}")
        done = plugins.install(host, ready, StepLines())
    for note in done.notes:
        click.echo(f"{done.name}: {note}")
    click.echo(f"{done.name} successfully installed!")
    if done.portal.admin:
        click.echo(f"Admin Portal:\n{done.portal.admin}")
    if done.portal.doc:
        click.echo(f"Documentation: {done.portal.doc}")


SECTION = "Releases"
COMMANDS = (fetch,)
