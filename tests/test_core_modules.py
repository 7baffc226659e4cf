"""The Rust core's modules form no cycle (issue 12, house rule): a module's
dependencies are the ``crate::`` paths in its code (comments and the test module
excluded), and the graph of them must be acyclic, so a back-reference fails CI
with the cycle named. Modules in folders (``greeks/gamma.rs``) are nodes of their
own (``greeks::gamma``): a kernel file and its dispatcher must not lean on each
other either; a folder's ``mod.rs`` (re-exports only) is the node ``greeks``."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "rust" / "core" / "src"


def _node(rel: Path) -> str:
    parts = [p.removesuffix(".rs") for p in rel.parts]
    if parts[-1] == "mod":
        parts = parts[:-1]
    return "::".join(parts)


def _code(text: str) -> str:
    """The text without the test module (inline ``mod tests {`` or ``mod tests;``) and comments."""
    text = re.split(r"#\[cfg\(test\)\]\s*(?:#\[path = [^\]]*\]\s*)?mod tests\b", text, maxsplit=1)[0]
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def module_graph(src: Path = SRC) -> dict[str, set[str]]:
    files = {
        _node(path.relative_to(src)): path
        for path in src.rglob("*.rs")
        if path.name != "lib.rs" and not path.name.endswith("_tests.rs")
    }
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        deps = set()
        for first, second in re.findall(r"\bcrate::(\w+)(?:::(\w+))?", _code(path.read_text())):
            sub = f"{first}::{second}"
            deps.add(sub if sub in files else first)
        parent = name.rsplit("::", 1)[0] if "::" in name else None
        for sib in re.findall(r"\bsuper::(\w+)", _code(path.read_text())):
            if parent and f"{parent}::{sib}" in files:
                deps.add(f"{parent}::{sib}")
        graph[name] = deps - {name}
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


def test_folder_modules_are_nodes_and_test_modules_are_not(tmp_path):
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "mod.rs").write_text("pub mod a;\npub mod b;\n")
    (tmp_path / "k" / "a.rs").write_text("use crate::k::b::X;\n#[cfg(test)]\nmod tests { use crate::top::Y; }\n")
    (tmp_path / "k" / "b.rs").write_text("// crate::k::a is only named in a comment\npub fn f() { super::a::g() }\n")
    (tmp_path / "k" / "a_tests.rs").write_text("use crate::top::Z;\n")
    (tmp_path / "top.rs").write_text("use crate::k::a;\n")
    graph = module_graph(tmp_path)
    assert graph == {"k": set(), "k::a": {"k::b"}, "k::b": {"k::a"}, "top": {"k::a"}}
    assert cycle(graph) == ["k::a", "k::b", "k::a"]


def test_the_checker_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_the_core_crate_has_no_module_cycle():
    graph = module_graph()
    assert {"replay", "stream", "validate", "config", "rejects", "book", "sweep"} <= set(graph)
    assert {"greeks", "greeks::gamma", "greeks::gamma_avx2", "greeks::first_order", "greeks::normal"} <= set(graph)
    found = cycle(graph)
    assert found is None, "module cycle in rust/core: " + " -> ".join(found or [])
