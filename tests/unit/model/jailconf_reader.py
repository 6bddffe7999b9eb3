"""A small reader of the jail.conf(5) subset iocjail writes, following jail(8)'s lexer: used to
check that what the renderer writes reads back as exactly the parameters it was given."""

from __future__ import annotations

import re

_ATOM = re.compile(r"[A-Za-z0-9_!%&()\-.:<>?@\[\]^`|~]+")
_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


class Breakout(Exception):
    """The text does not read as the expected structure."""


def _string(text: str, i: int) -> tuple[str, int]:
    out = []
    i += 1
    while True:
        if i >= len(text):
            raise Breakout("unterminated string")
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "$":
            raise Breakout("variable expansion inside a string")
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        i += 1
        if i >= len(text):
            raise Breakout("dangling backslash")
        esc = text[i]
        digits = re.match(r"[0-7]{1,3}", text[i:])
        hexa = re.match(r"x([0-9A-Fa-f]{1,2})", text[i:])
        if digits:
            out.append(chr(int(digits.group(), 8)))
            i += len(digits.group())
        elif hexa:
            out.append(chr(int(hexa.group(1), 16)))
            i += len(hexa.group())
        elif esc == "\n":
            i += 1  # line continuation
        else:
            out.append(_SIMPLE.get(esc, esc))
            i += 1


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
        elif ch == "#" or text.startswith("//", i) or text.startswith("/*", i):
            raise Breakout(f"comment at {i}")
        elif text.startswith("+=", i):
            tokens.append(("op", "+="))
            i += 2
        elif ch in ",;={}":
            tokens.append(("op", ch))
            i += 1
        elif ch == '"':
            value, i = _string(text, i)
            tokens.append(("str", value))
        elif _ATOM.match(text, i):
            atom = _ATOM.match(text, i).group()  # type: ignore[union-attr]
            tokens.append(("str", atom))
            i += len(atom)
        else:
            raise Breakout(f"unexpected {ch!r} at {i}")
    return tokens


def read(text: str) -> tuple[str, list[tuple[str, str | None]]]:
    """(jail name, [(key, value or None for a flag)]) of a single-jail file."""
    tokens = tokenize(text)
    pos = 0

    def take(kind: str, value: str | None = None) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise Breakout("unexpected end")
        tok_kind, tok_value = tokens[pos]
        if tok_kind != kind or (value is not None and tok_value != value):
            raise Breakout(f"expected {kind} {value!r}, got {tokens[pos]!r}")
        pos += 1
        return tok_value

    name = take("str")
    take("op", "{")
    params: list[tuple[str, str | None]] = []
    while tokens[pos] != ("op", "}"):
        key = take("str")
        if tokens[pos] == ("op", ";"):
            take("op", ";")
            params.append((key, None))
            continue
        if tokens[pos] not in (("op", "="), ("op", "+=")):
            raise Breakout(f"expected = after {key}")
        pos += 1
        params.append((key, take("str")))
        take("op", ";")
    take("op", "}")
    if pos != len(tokens):
        raise Breakout("text after the closing brace")
    return name, params
