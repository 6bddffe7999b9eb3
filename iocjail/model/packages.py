"""Package management values, pure: the `pkg_command` property of Linux jails.

FreeBSD jails are managed with pkg(8) from the host (`pkg -j ioc-NAME …`). A Linux jail has no
pkg(8): its `pkg_command` names the command, inside the jail, that takes pkg(8)'s arguments
(`install -y NAME`, `upgrade -f -y`, …), typically a small wrapper around apk/apt-get. With it,
`iocjail pkg`, `create -p` and plugin installs work the same on both platforms; without it
they say the jail has no package manager instead of pretending.

The value is a command line of plain words (no shell syntax), split like sh(1) would split it:
it is run as an argv inside the jail, never through a shell.
"""

from __future__ import annotations

import shlex

PKG_COMMAND = "pkg_command"
_SHELL_CHARS = set(";|&<>()$`\\*?[]~{}!#\n\r\t")


def parse_pkg_command(value: str) -> str:
    """`none`, or words of a command line: the first an absolute path or a bare command name."""
    if value.strip().lower() == "none":
        return "none"
    try:
        words = shlex.split(value)
    except ValueError as err:
        raise ValueError(f"cannot be split into words: {err}") from None
    if not words:
        raise ValueError("is empty (use none to unset it)")
    bad = sorted({ch for word in words for ch in word if ch in _SHELL_CHARS or ord(ch) < 32})
    if bad:
        raise ValueError(f"must be plain words, run without a shell: {''.join(bad)!r} not allowed")
    if any(not w for w in words):
        raise ValueError("has an empty word")
    first = words[0]
    if not (first.startswith("/") or "/" not in first):
        raise ValueError("the command must be an absolute path or a bare name found on the jail's PATH")
    if ".." in first.split("/"):
        raise ValueError("the command path must not contain ..")
    return shlex.join(words)


def pkg_command_argv(value: str | None) -> list[str] | None:
    """The argv prefix a jail's `pkg_command` stands for; None when it has none."""
    if value is None or value.strip().lower() in ("", "none"):
        return None
    return shlex.split(value)
