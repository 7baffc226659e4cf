"""The package's layering, checked on the source (no import needed).

``lint-imports`` (import-linter, run by ``make test``) enforces the layer order in
``pyproject.toml``; this test enforces what it cannot: no module imports another
module's private names. A leading-underscore *name* (``_helper``) is private to
its module; a leading-underscore *module* (``flowgex.io._files``, ``flowgex._core``)
is private to its package, so only modules inside that package may import it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "flowgex"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module of ``from ... import``."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _exists_module(name: str) -> bool:
    """Whether ``name`` is a module of the package (a .py file, a package, or the compiled core)."""
    if name == "flowgex._core":
        return True
    rel = Path(*name.split("."))
    return (PACKAGE.parent / rel).with_suffix(".py").exists() or (PACKAGE.parent / rel / "__init__.py").exists()


def _private_owners(target: str) -> list[str]:
    """Who may import ``target``: for each private part of it, the package owning a private
    module (``pkg`` for ``pkg._mod``) or, with a trailing "\0name", the module owning a
    private name (``mod`` for ``mod._name``). Empty when nothing in it is private."""
    owners = []
    parts = target.split(".")
    for i, p in enumerate(parts):
        if p.startswith("_") and not (p.startswith("__") and p.endswith("__")):
            owner = ".".join(parts[:i])
            owners.append(owner if _exists_module(".".join(parts[: i + 1])) else owner + "\0name")
    return owners


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = _resolve(module, _is_package(path), node)
                if not base.startswith("flowgex"):
                    continue
                targets = [f"{base}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("flowgex")]
            for target in targets:
                for owner in _private_owners(target):
                    if owner.endswith("\0name"):
                        allowed = module == owner[: -len("\0name")]
                    else:
                        allowed = module == owner or module.startswith(owner + ".")
                    if not allowed:
                        found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {module} imports {target}")
                        break
    return found


#: Known and owned elsewhere: the command line's input layer is being reworked onto the
#: library's readers (issue 12, the CLI step), which removes this import. Listed, not skipped:
#: the test fails if it disappears without being taken off this list.
KNOWN: set[str] = set()


def test_no_module_imports_another_modules_private_names() -> None:
    found = violations()
    unexpected = [v for v in found if v.split(": ", 1)[1] not in KNOWN]
    assert not unexpected, "private names imported across modules:\n" + "\n".join(unexpected)
    gone = KNOWN - {v.split(": ", 1)[1] for v in found}
    assert not gone, f"no longer imported, take off KNOWN: {sorted(gone)}"


def root_imports() -> list[str]:
    """Imports of the package root (``from flowgex import x``, ``from .. import x``) that take
    anything but the compiled core: the root re-exports every layer, so only the top may."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        if module == "flowgex" or module.startswith(("flowgex.cli", "flowgex.__main__")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and _resolve(module, _is_package(path), node) == "flowgex":
                # A submodule (``from . import errors``) is an import of that module, seen by the graph.
                names = [a.name for a in node.names if not _exists_module(f"flowgex.{a.name}")]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name == "flowgex"]
            for name in names:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {module} imports {name} from the root")
    return found


def test_only_the_top_imports_the_package_root() -> None:
    """import-linter ignores imports of the root (``from . import _core`` reads as one);
    this makes that safe: below the command line, only submodules are taken from it."""
    found = root_imports()
    assert not found, "\n".join(found)


def test_the_check_sees_a_violation() -> None:
    """The checker itself: a private name from another module, and a package's private module
    from outside it, are caught; the package's own private modules are not."""
    assert _private_owners("flowgex.io.files.read_bytes") == []
    assert _private_owners("flowgex.io.deribit._positioned") == ["flowgex.io.deribit\0name"]
    assert _private_owners("flowgex._core") == ["flowgex"]
    assert _private_owners("flowgex._encode._instruments") == ["flowgex", "flowgex._encode\0name"]
    assert _private_owners("flowgex.engine.Engine") == []


def module_cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module in the import graph (grimp, the
    graph import-linter uses; TYPE_CHECKING imports and imports of the root left out)."""
    import grimp

    graph = grimp.build_graph("flowgex", exclude_type_checking_imports=True)
    adj = {m: {x for x in graph.find_modules_directly_imported_by(m) if x != "flowgex"} for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in adj.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for m in sorted(adj):
        if m not in index:
            visit(m)
    return groups


def test_no_import_cycle_between_modules() -> None:
    """The layers contract forbids cycles between layers; this forbids them inside one too
    (e.g. a package whose two modules import each other)."""
    assert module_cycles() == []


#: The dict-shaped views ``GexResult`` had before its typed form ``res.data`` (removed): still
#: checked, so that nobody reaches for them again.
OLD_RESULT_VIEWS = {"_t", "_inst", "_assets", "_steps"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


def result_private_names() -> set[str]:
    """``GexResult``'s private attributes, read from ``result.py``: its private methods and
    properties, and every ``self._x`` / ``out._x`` it assigns (plus the old views)."""
    tree = ast.parse((PACKAGE / "result.py").read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "GexResult")
    names = set(OLD_RESULT_VIEWS)
    for node in ast.walk(cls):
        if isinstance(node, ast.FunctionDef) and _private(node.name):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _private(node.attr):
            names.add(node.attr)
    return names


def private_accesses(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, name) of each ``x._name`` or ``getattr(x, "_name")`` of ``names`` on anything but
    ``self``/``cls`` (a class's own private attributes of the same name are its own business)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in names:
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.append((node.lineno, node.attr))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in names
        ):
            found.append((node.lineno, str(node.args[1].value)))
    return sorted(found)


def test_no_module_outside_result_touches_a_results_private_attributes() -> None:
    """Other layers read a result through its public API and ``res.data`` (the typed form);
    its private attributes are result.py's own, so it can change them freely (issue 12)."""
    names = result_private_names()
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "result.py":
            continue
        for line, name in private_accesses(path.read_text(encoding="utf-8"), names):
            found.append(f"{path.relative_to(PACKAGE.parent)}:{line}: .{name}")
    assert not found, "a result's private attributes used outside result.py:\n" + "\n".join(found)


def test_the_result_check_sees_a_violation() -> None:
    """The checker itself: it finds GexResult's private names, and flags their use on a result
    (attribute or getattr) but not a class's own attribute of the same name."""
    names = result_private_names()
    assert {"_data", "_step", "_rows", "_t", "_inst", "_assets", "_steps"} <= names
    assert "data" not in names and "__init__" not in names
    source = "res._data.total\nx = getattr(res, '_t')\nself._step()\nres.data\nother._inst['name']\n"
    assert private_accesses(source, names) == [(1, "_data"), (2, "_t"), (5, "_inst")]
