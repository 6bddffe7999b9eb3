"""The house plan as a test: imports point down the layers DESIGN.md draws, and none go round.

    cli, render, manpage        parse, call one service, render
    services                    the verbs
    site                        the host, its config store, jail lookup, locks
    lifecycle                   plans, the engine, the journal, each platform's runtime and runner
    archive, fetch              export/import archives; release downloads
    platform                    the outside world: processes, zfs, mounts, paths in a jail root
    model                       pure domain
    errors                      the exception hierarchy

A module may import its own floor and those below; packages on one floor (archive, fetch) stay
apart. Every `import` counts, inside functions too: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from iocjail.model.boot import strongly_connected

PACKAGE = Path(__file__).resolve().parents[2] / "iocjail"

FLOORS = {
    "errors": 0, "__init__": 0,
    "model": 1,
    "platform": 2,
    "archive": 3, "fetch": 3,
    "lifecycle": 4,
    "site": 5,
    "services": 6,
    "cli": 7, "render": 7, "manpage": 7, "__main__": 7,
}

# Arrows that run against the plan today, each to be removed by issue 16's moves; the list only
# shrinks (a new arrow fails the test, and so does an entry that no longer exists).
KNOWN: set[tuple[str, str]] = set()
KNOWN_CYCLES: list[list[str]] = []


def _module(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target.startswith("iocjail"):
                while target not in known and "." in target:
                    target = target.rpartition(".")[0]
                if target in known and target != name:
                    yield target


def graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: set(_imports(name, path, known)) for name, path in modules.items()}


# The top floor is one group: the CLI, its renderer and the man page generated from it.
GROUPS = {"render": "cli", "manpage": "cli", "__main__": "cli"}


def floor_of(module: str) -> tuple[int, str]:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return FLOORS[top], GROUPS.get(top, top)


def against_the_plan(edges: dict[str, set[str]]) -> set[tuple[str, str]]:
    bad = set()
    for source, targets in edges.items():
        floor, top = floor_of(source)
        for target in targets:
            target_floor, target_top = floor_of(target)
            if target_floor > floor or (target_floor == floor and target_top != top):
                bad.add((source, target))
    return bad


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles: the boot graph's strongly connected components serve modules as well."""
    nodes = set(edges) | {t for targets in edges.values() for t in targets}
    return strongly_connected({n: sorted(edges.get(n, ())) for n in nodes})


def test_every_top_level_module_has_a_floor():
    tops = {m.split(".")[1] for m in _modules() if m != "iocjail"}
    assert tops <= set(FLOORS), sorted(tops - set(FLOORS))


def test_no_import_runs_up_or_across():
    bad = against_the_plan(graph())
    assert sorted(bad - KNOWN) == []
    assert sorted(KNOWN - bad) == []  # fixed: take it off the list


def test_no_import_cycles():
    assert cycles(graph()) == KNOWN_CYCLES


def test_the_checks_can_fail():
    """The checks see an upward arrow, a sideways one and a cycle when there is one."""
    edges = {"iocjail.model.a": {"iocjail.services.b"}, "iocjail.archive.x": {"iocjail.fetch.y"},
             "iocjail.services.b": {"iocjail.services.c"}, "iocjail.services.c": {"iocjail.services.b"}}
    assert against_the_plan(edges) == {("iocjail.model.a", "iocjail.services.b"),
                                       ("iocjail.archive.x", "iocjail.fetch.y")}
    assert cycles(edges) == [["iocjail.services.b", "iocjail.services.c"]]
