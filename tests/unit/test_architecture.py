"""The shape of the code (issue #17; ARCHITECTURE.md): no import cycle between packages, no
module over 400 lines without a reason at its top, and package faces that agree with
themselves.

The import-linter contracts in ``pyproject.toml`` (``lint-imports``, run by scripts/test) check
the layers; this test needs nothing but the standard library, so a cycle fails the ordinary
test run too. Every import counts: module level, inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "vodstack"
MAX_LINES = 400
WHY = "Why one module:"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "static" not in p.parts)


def _unit(module: str) -> str | None:
    """The package (or top-level module) of ``vodstack`` that ``module`` belongs to."""
    parts = module.split(".")
    if parts[0] != "vodstack" or len(parts) < 2:
        return None
    return f"vodstack.{parts[1]}"


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, wherever it is."""
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((target, node.lineno))
            # ``from vodstack.pkg import module`` imports that module too.
            found += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _package_graph() -> dict[str, dict[str, list[str]]]:
    """unit -> imported unit -> ["vodstack/x.py:12 imports vodstack.y", ...]"""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in _sources():
        importer = _module_name(path)
        source = _unit(importer)
        for imported, line in _imports(path):
            target = _unit(imported)
            if source is None or target is None or target == source:
                continue
            if (
                not (SRC / Path(*imported.split("."))).exists()
                and not (SRC / Path(*imported.split("."))).with_suffix(".py").exists()
            ):
                # ``from vodstack.pkg import Name``: Name is not a module; the package counts.
                imported = imported.rpartition(".")[0]  # noqa: PLW2901
            where = f"{path.relative_to(SRC)}:{line} imports {imported}"
            graph[source][target].append(where)
    return graph


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, {})):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_packages() -> None:
    graph = _package_graph()
    report = []
    for component in _cycles(graph):
        members = set(component)
        report.append(" <-> ".join(component))
        for source in component:
            for target, where in sorted(graph[source].items()):
                if target in members:
                    report += [f"    {w}" for w in where]
    assert not report, "import cycles between packages:\n" + "\n".join(report)


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a": {"b": ["x"]}, "b": {"c": ["y"]}, "c": {"a": ["z"]}, "d": {"a": ["w"]}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_long_modules_say_why() -> None:
    """Most modules stay well under 400 lines; a longer one says at its top why it is one
    module (a paragraph starting "Why one module:")."""
    unexplained = []
    for path in _sources():
        rel = path.relative_to(PACKAGE).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines <= MAX_LINES:
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if not any(p.startswith(WHY) for p in doc.split("\n\n")):
            unexplained.append(f"{rel} ({lines} lines)")
    assert not unexplained, f"over {MAX_LINES} lines without {WHY!r}: " + ", ".join(unexplained)


def _faces() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("__init__.py") if "static" not in p.parts)


@pytest.mark.parametrize("init", _faces(), ids=_module_name)
def test_package_face_is_consistent(init: Path) -> None:
    """``__all__`` names exactly what the face imports (under TYPE_CHECKING for a lazy face),
    and every name resolves at run time to the object its module defines."""
    name = _module_name(init)
    tree = ast.parse(init.read_text(encoding="utf-8"))
    exported: list[str] | None = None
    imported: dict[str, str] = {}  # the face's names: module level or under TYPE_CHECKING
    statements = list(tree.body)
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            statements += node.body
    for node in statements:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            exported = list(ast.literal_eval(node.value))
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith(name + ".")
        ):
            imported.update({a.asname or a.name: str(node.module) for a in node.names})
    if exported is None:
        assert not imported, f"{name} imports names but has no __all__"
        return
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    defined |= {
        t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
        if isinstance(t, ast.Name)
    }  # fmt: skip
    assert set(exported) <= set(imported) | defined, f"{name}: __all__ names an unknown name"
    assert set(imported) <= set(exported), f"{name}: the face imports names __all__ omits"
    if "lazy_face(" in init.read_text(encoding="utf-8"):
        # A lazily loaded name equal to a submodule's would be rebound to the module as soon
        # as anything imports that submodule.
        submodules = {p.stem for p in init.parent.glob("*.py")} | {
            p.name for p in init.parent.iterdir() if (p / "__init__.py").is_file()
        }
        assert not set(exported) & submodules, f"{name}: face names shadow submodules"
    package = importlib.import_module(name)
    for exported_name in exported:
        value = getattr(package, exported_name)
        if exported_name in imported:
            module = importlib.import_module(imported[exported_name])
            assert value is getattr(module, exported_name), f"{name}.{exported_name}"
