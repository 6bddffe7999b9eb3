"""The boot graph of `start --rc` / `stop --rc`: which jails, in what order, what runs together. Pure.

Who boots. Every jail with boot=on, plus, transitively, every jail it `depends` on, even with
boot=off (as iocage does). Templates never boot: boot=on on a template is ignored.

What is left out. A dependency on a jail that does not exist, a dependency on a template, a
dependency cycle, or a jail the caller marks `broken` (an unreadable config.json, a priority
that is not a number) is a *problem* naming the jails involved. Only the jails caught in it and
the jails that depend on those, transitively, are left out: every other jail still boots.
(iocage starts nothing at all when it meets a cycle.)

Levels. `priority` (lower first) orders the start, as in iocage, and `depends` overrides it: a
jail needed by a jail of a lower priority starts at that priority (iocage starts it as the first
act of its dependant's start). So a jail's *level* is the lowest priority among itself and every
jail that depends on it, transitively; a dependency's level is never above its dependant's.

The parallel rule. A jail starts when
  1. every jail it depends on is up (started by this run, or already running), and
  2. every jail of a lower level has *finished* starting (up, failed or skipped).
Jails of one level start together, at most --jobs at a time, in (level, dependencies first,
name) order. Why finished and not merely begun: iocage starts jails one after the other, so a
priority-1 jail has completed its start (exec_start returned) before a priority-2 jail begins,
and hosts that put `db` before `web` with priority alone, without `depends`, rely on it. Why
finished and not up: a failed jail must hold back only the jails that depend on it, which are
skipped. Ties (one level) carry no order in a parallel boot; iocage broke them by name, silently:
use `depends` where the order of two jails of one priority matters.

Stop is the mirror image: levels in descending order, and a jail stops once every jail being
stopped that depends on it has finished stopping. A failed stop does not keep the jails it
depends on running: at shutdown everything still goes down. Which jails stop is decided by
`stop_schedule` (boot=on jails, and the ones `start --rc` started only as dependencies unless a
jail left running still needs them).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BootJail:
    """What the boot graph needs to know about one jail (or template)."""

    name: str
    boot: bool = False
    priority: int = 99
    depends: tuple[str, ...] = ()
    template: bool = False
    broken: str = ""  # why this jail cannot be started at all ("" if it can)


@dataclass(frozen=True)
class Task:
    """One jail to start (or stop) in a run."""

    name: str
    level: int  # every task of a lower level finishes before this one begins
    after: tuple[str, ...] = ()  # tasks that must finish first
    needs: tuple[str, ...] = ()  # tasks that must succeed, or this one is skipped (within `after`)
    dependency: bool = False  # in the run only because another jail depends on it (boot=off)


@dataclass(frozen=True)
class LeftOut:
    name: str
    reason: str


@dataclass(frozen=True)
class Schedule:
    tasks: tuple[Task, ...]  # run order: level ascending, then what must finish first, then name
    left_out: tuple[LeftOut, ...] = ()  # sorted by name
    problems: tuple[str, ...] = ()  # one sentence per problem, naming the jails involved
    kept: tuple[str, ...] = ()  # stop: dependencies left running because still needed

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def levels(self) -> list[list[str]]:
        """The tasks grouped by level, in run order (the boot order as phases)."""
        out: list[list[str]] = []
        last: int | None = None
        for task in self.tasks:
            if task.level != last:
                out.append([])
                last = task.level
            out[-1].append(task.name)
        return out

    @property
    def width(self) -> int:
        """The most tasks that can ever run at once: one level runs at a time."""
        return max((len(level) for level in self.levels()), default=0)


def start_schedule(jails: Iterable[BootJail]) -> Schedule:
    """What `start --rc` starts, in which order, and what it leaves out (see the module doc)."""
    by_name = {j.name: j for j in jails}
    roots = sorted(n for n, j in by_name.items() if j.boot and not j.template)
    reached = _closure(roots, by_name)
    graph = {n: [d for d in by_name[n].depends if d in by_name and not by_name[d].template] for n in reached}

    problems: list[str] = []
    broken: dict[str, str] = {}
    for name in sorted(reached):
        jail = by_name[name]
        if jail.broken:
            problems.append(f"{name}: {jail.broken}")
            broken[name] = jail.broken
            continue
        for dep in jail.depends:
            if dep not in by_name:
                why = f"depends on {dep!r}, which does not exist"
            elif by_name[dep].template:
                why = f"depends on {dep!r}, a template (templates never boot)"
            else:
                continue
            problems.append(f"{name} {why}")
            broken.setdefault(name, why)
    for component in strongly_connected(graph):
        why = "dependency cycle: " + describe_cycle(component, graph)
        problems.append(why + _also(component, graph))
        for name in component:
            broken.setdefault(name, why)

    left = _with_dependants(broken, graph)
    good = _closure([r for r in roots if r not in left], by_name)
    sub = {n: graph[n] for n in good}
    levels = _levels(sub, {n: by_name[n].priority for n in good})
    order = _order(sub, levels)
    tasks = tuple(Task(n, levels[n], tuple(sub[n]), tuple(sub[n]), not by_name[n].boot) for n in order)
    return Schedule(tasks, tuple(LeftOut(n, left[n]) for n in sorted(left)), tuple(problems))


def stop_schedule(jails: Iterable[BootJail], running: Collection[str],
                  started_as_dependency: Collection[str]) -> Schedule:
    """What `stop --rc` stops: every boot=on jail (running or not: those report so), and every
    running jail `start --rc` started only as a dependency, unless a jail left running still
    needs it, directly or through other such dependencies (those are `kept`).

    Order: dependants first, priority descending, then name. Cycles among them (a `depends`
    changed after the start) cannot order anything; the jails of a cycle still stop, unordered.
    """
    by_name = {j.name: j for j in jails if not j.template}
    wanted = {n for n, j in by_name.items() if j.boot}
    recorded = {n for n in started_as_dependency if n in by_name and n in running and n not in wanted}
    staying = [n for n in running if n in by_name and n not in wanted and n not in recorded]
    kept: set[str] = set()
    queue = deque(sorted(staying))
    while queue:  # what stays running keeps what it depends on, transitively, among the recorded
        for dep in by_name[queue.popleft()].depends:
            if dep in recorded and dep not in kept:
                kept.add(dep)
                queue.append(dep)
    stopping = wanted | (recorded - kept)
    graph = {n: [d for d in by_name[n].depends if d in stopping] for n in stopping}
    problems = []
    for component in strongly_connected(graph):
        problems.append("dependency cycle: " + describe_cycle(component, graph) + _also(component, graph))
        inside = set(component)
        for name in component:
            graph[name] = [d for d in graph[name] if d not in inside]
    levels = _levels(graph, {n: by_name[n].priority for n in stopping})
    dependants: dict[str, list[str]] = {n: [] for n in stopping}
    for name in sorted(stopping):
        for dep in graph[name]:
            dependants[dep].append(name)
    down = {n: -level for n, level in levels.items()}
    tasks = tuple(Task(n, down[n], tuple(dependants[n]), (), n in recorded) for n in _order(dependants, down))
    return Schedule(tasks, (), tuple(problems), tuple(sorted(kept)))


def critical_path(schedule: Schedule, duration: Callable[[str], float] | Mapping[str, float]) -> float:
    """The shortest possible wall time of `schedule` with unlimited jobs, every task taking
    `duration(name)`: the longest chain of `after` edges and level barriers."""
    cost = duration.__getitem__ if isinstance(duration, Mapping) else duration
    finish: dict[str, float] = {}
    barrier = 0.0  # when every task of the lower levels has finished
    level_end = 0.0
    level: int | None = None
    for task in schedule.tasks:
        if task.level != level:
            barrier, level = max(barrier, level_end), task.level
        begin = max([barrier, *(finish[a] for a in task.after if a in finish)])
        finish[task.name] = begin + cost(task.name)
        level_end = max(level_end, finish[task.name])
    return max(barrier, level_end)


# -- graph helpers ---------------------------------------------------------------------------

def _closure(roots: Iterable[str], by_name: Mapping[str, BootJail]) -> set[str]:
    """The roots and everything they depend on that exists and is not a template."""
    seen: set[str] = set()
    queue = deque(roots)
    while queue:
        name = queue.popleft()
        if name in seen:
            continue
        seen.add(name)
        for dep in by_name[name].depends:
            if dep in by_name and not by_name[dep].template and dep not in seen:
                queue.append(dep)
    return seen


def _with_dependants(broken: Mapping[str, str], graph: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """The broken jails and every jail that depends on one, each with its reason."""
    dependants: dict[str, list[str]] = {}
    for name in sorted(graph):
        for dep in graph[name]:
            dependants.setdefault(dep, []).append(name)
    left = dict(broken)
    queue = deque(sorted(broken))
    while queue:
        name = queue.popleft()
        for user in dependants.get(name, []):
            if user not in left:
                left[user] = f"depends on {name!r}, which cannot boot"
                queue.append(user)
    return left


def _levels(graph: Mapping[str, Sequence[str]], priority: Mapping[str, int]) -> dict[str, int]:
    """Each jail's level: the lowest priority among itself and its dependants (graph is a DAG)."""
    level = dict(priority)
    for name in reversed(_order(graph, {n: 0 for n in graph})):  # dependants before their dependencies
        for dep in graph[name]:
            level[dep] = min(level[dep], level[name])
    return level


def _order(graph: Mapping[str, Sequence[str]], level: Mapping[str, int]) -> list[str]:
    """Dependencies first, then (level, name): Kahn's algorithm with a heap."""
    waiting = {n: len(set(graph[n])) for n in graph}
    dependants: dict[str, list[str]] = {n: [] for n in graph}
    for name in graph:
        for dep in set(graph[name]):
            dependants[dep].append(name)
    heap = [(level[n], n) for n, count in waiting.items() if count == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        _, name = heapq.heappop(heap)
        out.append(name)
        for user in dependants[name]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(heap, (level[user], user))
    if len(out) != len(graph):
        raise ValueError("dependency graph has a cycle")  # callers remove cycles first
    return out


def strongly_connected(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """The cycles of `graph`: its strongly connected components with more than one jail or a
    jail depending on itself, each sorted, sorted by first name. Tarjan's algorithm, iterative
    (a chain of a thousand jails must not hit Python's recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph[root]))]
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph[nxt])))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph[node]:
                        found.append(sorted(component))
    return sorted(found)


def describe_cycle(component: Sequence[str], graph: Mapping[str, Sequence[str]]) -> str:
    """One shortest cycle through the component's first jail, as `a -> b -> a`."""
    start, inside = component[0], set(component)
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(set(graph[node])):
            if nxt not in inside:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return " -> ".join([start, *reversed(path[:-1]), start])
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return " -> ".join([*component, component[0]])  # unreachable for a real component


def _also(component: Sequence[str], graph: Mapping[str, Sequence[str]]) -> str:
    """The members of a component that its described cycle does not pass through."""
    on_cycle = set(describe_cycle(component, graph).split(" -> "))
    rest = [n for n in component if n not in on_cycle]
    return f" (also caught: {', '.join(rest)})" if rest else ""
