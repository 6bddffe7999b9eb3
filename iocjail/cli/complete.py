"""Shell completion, click's mechanism: the `shell_complete` callbacks the commands' arguments
use (jail, template, release, pool, property and snapshot names), and bash/zsh scripts that
keep the cursor after a completed ``KEY=``.

`make install` writes the scripts with ``_IOCJAIL_COMPLETE=bash_source iocjail`` and
``_IOCJAIL_COMPLETE=zsh_source iocjail``. Each TAB runs iocjail, so the callbacks must be quick
and must never fail: without ZFS, a pool or a jail they offer nothing (a traceback would land in
the user's shell), and each zfs call gives up after TIMEOUT seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import click
from click.shell_completion import BashComplete, CompletionItem, ZshComplete, add_completion_class

TIMEOUT = 3.0  # seconds a zfs call may take while the user waits at the prompt


def _pool(ctx: click.Context) -> str | None:
    return ctx.find_root().params.get("pool") or os.environ.get("IOCJAIL_POOL") or None


def _items(words: Iterable[str], incomplete: str, help_: dict[str, str] | None = None) -> list[CompletionItem]:
    return [CompletionItem(w, help=(help_ or {}).get(w)) for w in dict.fromkeys(words) if w.startswith(incomplete)]


def _quiet(find: Callable[[click.Context], Iterable[str]]) -> Callable[[click.Context], list[str]]:
    """Whatever goes wrong (no zfs, no pool, a hung zfs-fuse, a corrupt tree): no names."""
    def safe(ctx: click.Context) -> list[str]:
        try:
            return list(find(ctx))
        except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
            return []
    return safe


@_quiet
def _jails(ctx: click.Context) -> list[str]:
    from iocjail.services import names
    return names.jails(_pool(ctx), timeout=TIMEOUT, templates=False)


@_quiet
def _templates(ctx: click.Context) -> list[str]:
    from iocjail.services import names
    return names.jails(_pool(ctx), timeout=TIMEOUT, templates=True)


@_quiet
def _both(ctx: click.Context) -> list[str]:
    from iocjail.services import names
    return names.jails(_pool(ctx), timeout=TIMEOUT, templates=None)


@_quiet
def _releases(ctx: click.Context) -> list[str]:
    from iocjail.services import names
    return names.releases(_pool(ctx), timeout=TIMEOUT)


@_quiet
def _pools(ctx: click.Context) -> list[str]:
    from iocjail.services import names
    return names.pools(timeout=TIMEOUT)


def _snapshots_of(ctx: click.Context, jail: str) -> list[str]:
    from iocjail.services import names
    return names.snapshots(_pool(ctx), jail, timeout=TIMEOUT)


# -- properties ---------------------------------------------------------------------------------

def _property_help(settable_only: bool) -> dict[str, str]:
    from iocjail.model.properties import PROPS
    return {p.name: p.help for p in PROPS if p.settable or not settable_only}


def _assignments(incomplete: str) -> list[CompletionItem]:
    """``KEY=`` for every property a user may set (the shell keeps the cursor after the =)."""
    helps = _property_help(settable_only=True)
    return _items((f"{k}=" for k in sorted(helps)), incomplete, {f"{k}=": v for k, v in helps.items()})


def _readable(incomplete: str) -> list[CompletionItem]:
    from iocjail.services.props import RUNTIME
    helps = {**_property_help(settable_only=False), "state": "up or down.", "jid": "The running jail's JID."}
    return _items(sorted(helps, key=str.lower) + [k for k in RUNTIME if k not in helps], incomplete, helps)


# -- the callbacks ------------------------------------------------------------------------------

def jails(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Jails (not templates): start, exec, console, clone, ..."""
    return _items(_jails(ctx), incomplete)


def jails_or_all(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _items([*_jails(ctx), "ALL"], incomplete)


def jails_templates_or_all(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _items([*_both(ctx), "ALL"], incomplete)


def jails_and_templates(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _items(_both(ctx), incomplete)


def templates(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _items(_templates(ctx), incomplete)


def releases(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Releases fetched on the active pool (`fetch -r` asks the mirror itself)."""
    return _items(_releases(ctx), incomplete)


def jails_or_releases(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """`update NAME|RELEASE|ALL`."""
    return _items([*_jails(ctx), *_releases(ctx), "ALL"], incomplete)


def pools(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _items(_pools(ctx), incomplete)


def destroy_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """`destroy -r`: releases; otherwise jails and templates."""
    return releases(ctx, param, incomplete) if ctx.params.get("releases") else \
        jails_and_templates(ctx, param, incomplete)


def snapshots(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """`-n NAME` of snapremove/rollback: the snapshots of the jail named before it."""
    # While `-n` waits for its value, click leaves the words after it unparsed in ctx.args.
    jail = ctx.params.get("jail") or next((a for a in ctx.args if not a.startswith("-")), None)
    if not jail:
        return []
    return _items(_quiet(lambda c: _snapshots_of(c, jail))(ctx), incomplete)


def assignments(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """`create`/`clone` PROP=VALUE."""
    return _assignments(incomplete)


def get_args(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """`get [PROP] [JAIL|default]`; with -a only the jail; with -r only the property."""
    typed = ctx.params.get(param.name or "") or ()
    if ctx.params.get("show_pool"):
        return []
    if ctx.params.get("all_"):
        return [] if typed else _items([*_both(ctx), "default"], incomplete)
    if not typed:
        return _readable(incomplete)
    if len(typed) == 1 and not ctx.params.get("recursive"):
        return _items([*_both(ctx), "default"], incomplete)
    return []


def set_args(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """`set KEY=VALUE... JAIL|default`: properties first, then the jail as well."""
    typed = ctx.params.get(param.name or "") or ()
    found = _assignments(incomplete)
    if any("=" in arg for arg in typed):
        found += _items([*_both(ctx), "default"], incomplete)
    return found


# -- shell scripts that leave no space after KEY= -----------------------------------------------

def _patched(template: str, anchor: str, replacement: str) -> str:
    # Unknown click template (another click version): keep click's own, completion still works.
    return template.replace(anchor, replacement) if anchor in template else template


class Bash(BashComplete):
    source_template = _patched(
        BashComplete.source_template,
        "            COMPREPLY+=($value)\n",
        "            COMPREPLY+=($value)\n"
        "            [[ $value == *= ]] && compopt -o nospace\n")


class Zsh(ZshComplete):
    source_template = _patched(
        _patched(ZshComplete.source_template,
                 '        if [[ "$type" == "plain" ]]; then\n            if [[ "$descr" == "_" ]]; then\n',
                 '        if [[ "$type" == "plain" ]]; then\n            if [[ "$key" == *= ]]; then\n'
                 '                suffixless+=("$key")\n'
                 '            elif [[ "$descr" == "_" ]]; then\n'),
        "    if [ -n \"$completions\" ]; then\n",
        "    if [ -n \"$suffixless\" ]; then\n"
        "        compadd -U -V unsorted -S '' -a suffixless\n"
        "    fi\n\n"
        "    if [ -n \"$completions\" ]; then\n").replace(
        "    local -a response\n", "    local -a response\n    local -a suffixless\n", 1)

    def format_completion(self, item: CompletionItem) -> str:
        # KEY= items go to compadd, which takes no description: send them without one.
        if item.value.endswith("="):
            return f"{item.type}\n{item.value}\n_"
        return super().format_completion(item)


def register() -> None:
    """Make click print iocjail's bash and zsh scripts (`_IOCJAIL_COMPLETE=bash_source`)."""
    add_completion_class(Bash)
    add_completion_class(Zsh)
