"""The man page, iocjail(8), generated so that it cannot drift from the program.

`share/man/iocjail.8.in` holds the prose in mdoc. Three marker lines in it are replaced: the
global options and the COMMANDS section come from the click command tree (every visible command and option, with its
help text and examples, grouped as `iocjail --help` groups them) and the PROPERTIES section
from the property registry. `make man` runs ``python -m iocjail.manpage -o
share/man/man8/iocjail.8``; a unit test fails when the checked-in page is stale.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import click

from iocjail.model.properties import PROPS, Prop

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "share" / "man" / "iocjail.8.in"
OUTPUT = ROOT / "share" / "man" / "man8" / "iocjail.8"
OPTIONS_MARK = '.\\" @OPTIONS@'
COMMANDS_MARK = '.\\" @COMMANDS@'
PROPERTIES_MARK = '.\\" @PROPERTIES@'

# Words of a metavar that are typed as they are, not replaced by a value.
LITERALS = frozenset({"ALL", "default"})
# mdoc macro names that could appear as a word on a macro line and must then be escaped.
_MACRO = re.compile(r"^(?:[A-Z][a-z]{1,2}|%[A-Z])$")
# End of a sentence inside a help text: mdoc wants each sentence on its own line.
_CODE = re.compile(r"`([^`]+)`")
_FX = re.compile(r"(\()?\bFreeBSD\b(\S*)")
_CLOSE = ".,:;)]"
_SENTENCE = re.compile(r"(?<=[A-Za-z0-9)\]`'\"][.!?])\s+(?=[A-Z`\"'(-])|(?<=[.!?][)\"'])\s+(?=[A-Z])")


# -- escaping ---------------------------------------------------------------------------------

def text(line: str) -> str:
    """One line of running text: backslashes escaped, and never read as a request."""
    return _line(line.replace("\\", "\\e").strip())


def _line(line: str) -> str:
    return "\\&" + line if line.startswith((".", "'")) else line


def word(token: str) -> str:
    """One argument of a macro line."""
    token = token.replace("\\", "\\e").replace('"', "\\(dq")
    return "\\&" + token if _MACRO.match(token) or token in ("|", "...") else token


def sentences(paragraph: str) -> list[str]:
    """Help text as mdoc lines: each sentence starts a line, no line is longer than 79,
    `code` gets typographic quotes and FreeBSD its OS macro."""
    joined = " ".join(paragraph.split()).replace("\\", "\\e")
    joined = _CODE.sub(r"\\(oq\1\\(cq", joined)
    return [out for s in _SENTENCE.split(joined) if s
            for line in textwrap.wrap(s, 79, break_long_words=False, break_on_hyphens=False)
            for out in _os_macro(line)]


def _os_macro(line: str) -> list[str]:
    """Split a text line around each FreeBSD, which becomes `.Fx` (or `.Pf ( Fx`)."""
    out, pos = [], 0
    for match in _FX.finditer(line):
        before = line[pos:match.start()].strip()
        if before:
            out.append(_line(before))
        macro = ".Pf ( Fx" if match.group(1) else ".Fx"
        rest = match.group(2)
        if rest and set(rest) <= set(_CLOSE):
            macro += " " + " ".join(rest)
        elif rest:
            macro += " Ns " + word(rest)
        out.append(macro)
        pos = match.end()
    tail = line[pos:].strip()
    return out + [_line(tail)] if tail else out


# -- help texts -------------------------------------------------------------------------------

def help_blocks(doc: str) -> Iterator[tuple[str, str]]:
    """A click docstring as ("text", paragraph), ("literal", lines) and ("example", lines).

    Click's conventions: paragraphs are separated by blank lines, a ``\\b`` line keeps the next
    paragraph's line breaks, ``\\f`` ends the help. An ``Example:`` paragraph is the examples.
    """
    doc = inspect.cleandoc(doc.split("\f", 1)[0])
    for para in re.split(r"\n\s*\n", doc):
        lines = para.splitlines()
        if not lines:
            continue
        if lines[0].strip() == "\b":
            lines = lines[1:]
            if lines and lines[0].strip() in ("Example:", "Examples:"):
                yield "example", "\n".join(inspect.cleandoc("\n".join(lines[1:])).splitlines())
            else:
                yield "literal", inspect.cleandoc("\n".join(lines))
        else:
            yield "text", para


def render_help(doc: str | None, *, examples: bool) -> list[str]:
    """The help text without its examples, or (examples=True) only the examples."""
    out: list[str] = []
    for kind, body in help_blocks(doc or ""):
        if (kind == "example") != examples:
            continue
        if out:
            out.append(".Pp")
        if kind == "text":
            out += sentences(body)
        elif kind == "literal":
            out += [".Bd -literal -offset indent", *(text(l) if l.strip() else "" for l in body.splitlines()),
                    ".Ed"]
        else:
            out += ["Example:" if body.count("\n") == 0 else "Examples:", ".Bd -literal -offset indent",
                    *(text(l) for l in body.splitlines()), ".Ed"]
    return out


# -- commands ---------------------------------------------------------------------------------

def _short_first(opts: list[str]) -> list[str]:
    return sorted(opts, key=lambda o: (o.startswith("--"), opts.index(o)))


def flag(opt: str) -> str:
    """``-r`` -> ``Fl r``, ``--json`` -> ``Fl -json``."""
    return f"Fl {word(opt[1:])}"


def option_value(opt: click.Option) -> str:
    """The value part of an option on a macro line ('' for a flag)."""
    if opt.is_flag or opt.count:
        return ""
    if isinstance(opt.type, click.Choice):
        return " | ".join(f"Cm {word(str(c))}" for c in opt.type.choices)
    return f"Ar {word(opt.metavar or opt.type.name.upper())}"


def option_synopsis(opt: click.Option) -> str:
    names = _short_first(opt.opts)
    alternatives = [flag(names[0])]
    if opt.secondary_opts:
        alternatives.append(flag(_short_first(opt.secondary_opts)[0]))
    body = " | ".join(alternatives)
    value = option_value(opt)
    body = f"{body} {value}" if value else body
    return body if opt.required else f"Op {body}"


def argument_synopsis(arg: click.Argument, ctx: click.Context) -> list[str]:
    """A metavar such as ``[PROP] [JAIL|default]`` or ``NAME...|ALL`` as macro lines."""
    out = []
    for token in arg.make_metavar(ctx).split():
        bracketed = re.fullmatch(r"\[(.*)\](\.\.\.)?", token)
        optional = bracketed is not None
        inner = bracketed.group(1) if bracketed else token
        repeat = bool(bracketed and bracketed.group(2))
        parts = []
        for alt in inner.split("|"):
            many = alt.endswith("...")
            alt = alt.removesuffix("...")
            macro = "Cm" if alt in LITERALS else "Ar"
            parts.append(f"{macro} {word(alt)}" + (" ..." if many else ""))
        body = " | ".join(parts) + (" ..." if repeat else "")
        out.append(f".Op {body}" if optional else f".{body}")
    return out


def option_item(opt: click.Option) -> list[str]:
    names = [flag(o) for o in _short_first(opt.opts)]
    head = " , ".join(names)
    value = option_value(opt)
    if opt.secondary_opts:
        head += " | " + " , ".join(flag(o) for o in _short_first(opt.secondary_opts))
    out = [f".It {head} {value}".rstrip()]
    out += sentences(opt.help or "")
    extra = []
    if isinstance(opt.type, click.IntRange):
        lo, hi = opt.type.min, opt.type.max
        extra.append(f"{opt.metavar or 'N'} {'>= ' + str(lo) if hi is None else f'from {lo} to {hi}'}")
    if opt.multiple and "repeatable" not in (opt.help or ""):
        extra.append("repeatable")
    if opt.show_default and opt.default not in (None, False) and not callable(opt.default):
        shown = (_short_first(opt.opts)[-1] if opt.default else _short_first(opt.secondary_opts)[-1]) \
            if opt.is_flag and opt.secondary_opts else str(opt.default)
        extra.append(f"default: {shown}")
    if extra:
        out += sentences(f"({'; '.join(extra)})")
    return out


def visible_options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params
            if isinstance(p, click.Option) and not p.hidden and "--help" not in p.opts]


def command_entry(name: str, command: click.Command, parent: click.Context) -> list[str]:
    ctx = click.Context(command, info_name=name, parent=parent)
    out = [".It Xo", f".Nm {word(name)}"]
    for param in command.params:
        if isinstance(param, click.Option) and param in visible_options(command):
            out.append(f".{option_synopsis(param)}")
        elif isinstance(param, click.Argument):
            out += argument_synopsis(param, ctx)
    out.append(".Xc")
    out += render_help(command.help, examples=False)
    options = visible_options(command)
    if options:
        out += [".Bl -tag -width Ds", *(line for opt in options for line in option_item(opt)), ".El"]
    examples = render_help(command.help, examples=True)
    return out + [".Pp", *examples] if examples else out


def commands_section(group: click.Group, sections: tuple[str, ...]) -> list[str]:
    ctx = click.Context(group, info_name="iocjail")
    by_section: dict[str, list[str]] = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is not None and not command.hidden:
            by_section.setdefault(getattr(command, "section", "Other"), []).append(name)
    order = [s for s in sections if s in by_section] + sorted(set(by_section) - set(sections))
    out = [".Sh COMMANDS"]
    for section in order:
        out += [f".Ss {section}", ".Bl -tag -width Ds"]
        for name in by_section[section]:
            command = group.get_command(ctx, name)
            assert command is not None
            out += command_entry(name, command, ctx)
        out.append(".El")
    return out


def global_options(group: click.Group) -> list[str]:
    options = visible_options(group)
    return [".Bl -tag -width Ds", *(line for opt in options for line in option_item(opt)), ".El"]


# -- properties -------------------------------------------------------------------------------

def property_tag(prop: Prop) -> str:
    """``.It Cm boot Ns = Ns Li 0``: the name with its default, as zfsprops(7) shows them."""
    if prop.default is None or (prop.zfs and not prop.settable):  # no default, or zfs's placeholder
        return f".It Cm {word(prop.name)}"
    default = f"Li {word(prop.default)}" if prop.default else "Qq"
    return f".It Cm {word(prop.name)} Ns = Ns {default}"


def property_entry(prop: Prop) -> list[str]:
    notes = []
    if prop.default is None:
        notes.append("Set per jail when it is created." if prop.name not in ("mac_prefix", "hostid")
                     else "Derived from the host when defaults.json is written.")
    if prop.zfs:
        notes.append("A ZFS property of the jail's dataset.")
    elif not prop.settable:
        notes.append("Read-only: iocjail sets it.")
    if prop.jail_param:
        notes.append(f"Becomes the jail(8) parameter `{prop.jail_param}`.")
    if prop.live and prop.settable:
        notes.append("Applied to a running jail at once.")
    if prop.stopped_only:
        notes.append("Set only while the jail is stopped.")
    if prop.defaults_only:
        notes.append("Set only on default.")
    return [property_tag(prop), *sentences(" ".join([prop.help, *notes]))]


def properties_section(props: tuple[Prop, ...] = PROPS) -> list[str]:
    ordered = sorted(props, key=lambda p: p.name.lower())
    return [".Bl -tag -width Ds", *(line for p in ordered for line in property_entry(p)), ".El"]


# -- the page ---------------------------------------------------------------------------------

def render(template: str | None = None) -> str:
    from iocjail.cli.main import SECTIONS, cli  # the CLI imports every command module

    page = TEMPLATE.read_text() if template is None else template
    parts = {OPTIONS_MARK: global_options(cli), COMMANDS_MARK: commands_section(cli, SECTIONS),
             PROPERTIES_MARK: properties_section()}
    for mark, lines in parts.items():
        if page.count(mark + "\n") != 1:
            raise ValueError(f"the template must hold the line {mark!r} once")
        page = page.replace(mark + "\n", "\n".join(lines) + "\n")
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iocjail.manpage", description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, help=f"write here (e.g. {OUTPUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    page = render()
    if args.output is None:
        sys.stdout.write(page)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.output.with_name(args.output.name + ".tmp")
        tmp.write_text(page)
        tmp.replace(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
