"""The Rust core's modules form no cycle (issue 12, house rule): a module's
dependencies are the ``crate::name`` paths in its code (comments and the
``#[cfg(test)]`` module excluded), and the graph of them must be acyclic, so a
back-reference fails CI with the cycle named."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "rust" / "core" / "src"


def module_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.rs"):
        rel = path.relative_to(SRC)
        name = rel.parts[0].removesuffix(".rs")
        if name == "lib":
            continue
        text = path.read_text()
        text = text.split("#[cfg(test)]", 1)[0]
        code = "\n".join(line.split("//", 1)[0] for line in text.splitlines())
        deps = set(re.findall(r"\bcrate::(\w+)", code)) - {name}
        graph.setdefault(name, set()).update(deps)
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (as a path), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if d not in graph:
                continue
            if state.get(d) == 1:
                return stack[stack.index(d) :] + [d]
            if d not in state and (found := visit(d)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_the_checker_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_the_core_crate_has_no_module_cycle():
    graph = module_graph()
    assert {"replay", "stream", "validate", "config", "rejects", "book", "sweep"} <= set(graph)
    found = cycle(graph)
    assert found is None, "module cycle in rust/core: " + " -> ".join(found or [])
