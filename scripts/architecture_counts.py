"""Count how the house is built: ``python scripts/architecture_counts.py [src-root]``.

``src-root`` is the directory holding ``jeex_cache/`` (default: ``src`` beside this script's
folder). Standard library only; it reads the source with ``ast`` and imports nothing of it.

What it prints, and how each figure is counted:

- **modules**: the ``.py`` files under ``jeex_cache/``, packages' ``__init__.py`` included.
- **project_cache files**: the ``.py`` files directly in ``jeex_cache/project_cache/``.
- **forwarding-only functions** of each capability's ``api.py``: every ``def`` or
  ``async def`` in the file (methods and properties included) whose body, once a leading
  docstring is dropped, is one statement, ``return X`` or the expression ``X``, where ``X``
  (after one ``await``, if any) is either an attribute chain from ``self``
  (``self._tasks``) or a call of one (``self._tasks.cancel(task_id, project_id)``) whose
  arguments are only the function's own parameters passed on as they are (positionally,
  by keyword, ``*args``, ``**kwargs``) or literal constants. Anything that computes,
  converts or chooses (``ReadResult.of(...)``, ``self._cap(n)``, an ``if``) is not a
  forward.
- **import cycles**: the strongly connected components of more than one module (or a
  module importing itself) in the graph of ``jeex_cache`` modules, one edge per import
  executed when the module is imported: module-level ``import``/``from`` statements,
  including those under ``try`` and ``if``, but not under ``if TYPE_CHECKING:`` and not
  inside functions or classes' methods. ``from a.b import c`` is an edge to ``a.b.c`` when
  that is a module, else to ``a.b``. Each cycle is listed with one shortest loop through it.
- **cross-capability imports**: an import (anywhere in the module, functions included, but
  not under ``if TYPE_CHECKING:``) by a module of one capability (``project_cache``,
  ``sessions``, ``rate_limit``, ``progress``, ``tasks``, ``observability``) of a module of
  another. Listed beside them, as **upward imports**, a capability's imports of the
  composition above it: ``jeex_cache`` itself, ``manager``, ``bootstrap``, ``web``,
  ``fastapi``, ``cli``, ``testing``.
- **integration imports of capability internals**: an import by a module of ``web/`` or
  ``fastapi/`` (type-only ones included: they are what a user's application would write) of
  any module inside a capability package. They are to use the manager and the public names
  of ``jeex_cache`` instead.
"""

from __future__ import annotations

import ast
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path

CAPABILITIES = ("project_cache", "sessions", "rate_limit", "progress", "tasks", "observability")
HOUSE = ("manager", "bootstrap", "web", "fastapi", "cli", "testing")
INTEGRATIONS = ("web", "fastapi")

__all__ = [
    "CAPABILITIES",
    "cross_capability_imports",
    "find_cycles",
    "forwarding_functions",
    "import_graph",
    "integration_imports",
    "modules",
]


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package under ``root`` (the folder holding ``jeex_cache/``)."""
    found: dict[str, Path] = {}
    for path in sorted((root / "jeex_cache").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(body: list[ast.stmt], *, nested: bool) -> Iterator[ast.stmt]:
    """The statements run with ``body``, skipping ``if TYPE_CHECKING:`` blocks; with
    ``nested``, those in functions and classes too."""
    for node in body:
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from _statements(node.orelse, nested=nested)
            continue
        if not nested and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                stmts = [child for child in children if isinstance(child, ast.stmt)]
                handlers = [child for child in children if isinstance(child, ast.ExceptHandler)]
                yield from _statements(stmts, nested=nested)
                for handler in handlers:
                    yield from _statements(handler.body, nested=nested)


def _imported(node: ast.stmt, name: str, known: dict[str, Path]) -> Iterator[str]:
    """The ``jeex_cache`` modules an import statement of module ``name`` names."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = name.split(".")
            if known[name].name != "__init__.py":
                package.pop()
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        for alias in node.names:
            full = f"{base}.{alias.name}"
            yield full if full in known else base


def _imports(name: str, path: Path, known: dict[str, Path], *, nested: bool) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in _statements(tree.body, nested=nested):
        found.update(m for m in _imported(node, name, known) if m in known and m != name)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules it imports when imported (see the module docstring)."""
    known = modules(root)
    return {name: _imports(name, path, known, nested=False) for name, path in known.items()}


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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
                found.append(sorted(component))
    return found


def _loop(graph: dict[str, set[str]], members: list[str]) -> list[str]:
    """One shortest loop from the first member back to it, within ``members``."""
    start, inside = members[0], set(members)
    came: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node] & inside):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(came[path[-1]])
                return [*reversed(path), start]
            if child not in came:
                came[child] = node
                queue.append(child)
    return [start, start]


def find_cycles(root: Path) -> list[list[str]]:
    """Each import cycle as one shortest loop (its first module repeated at the end)."""
    graph = import_graph(root)
    components = _components(graph)
    cyclic = [c for c in components if len(c) > 1 or c[0] in graph[c[0]]]
    return [_loop(graph, members) for members in sorted(cyclic)]


def _owner(module: str, groups: tuple[str, ...]) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in groups else None


def cross_capability_imports(root: Path) -> tuple[list[str], list[str]]:
    """``(across, upward)``: each as ``"importer -> imported"`` (see the module docstring)."""
    known = modules(root)
    across: list[str] = []
    upward: list[str] = []
    for name, path in known.items():
        owner = _owner(name, CAPABILITIES)
        if owner is None:
            continue
        for imported in sorted(_imports(name, path, known, nested=True)):
            other = _owner(imported, CAPABILITIES)
            if other is not None and other != owner:
                across.append(f"{name} -> {imported}")
            elif imported == "jeex_cache" or _owner(imported, HOUSE) is not None:
                upward.append(f"{name} -> {imported}")
    return across, upward


def integration_imports(root: Path) -> list[str]:
    """Imports of capability modules by ``web/`` and ``fastapi/``, as ``"a -> b"``."""
    known = modules(root)
    found: list[str] = []
    for name, path in known.items():
        if _owner(name, INTEGRATIONS) is None:
            continue
        tree = ast.parse(path.read_text(), str(path))
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.stmt):
                imported.update(m for m in _imported(node, name, known) if m in known)
        found += [f"{name} -> {m}" for m in sorted(imported) if _owner(m, CAPABILITIES)]
    return found


def _is_forward(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Return | ast.Expr):
        return False
    value = body[0].value
    if isinstance(value, ast.Await):
        value = value.value
    arguments = function.args
    parameters = {
        a.arg
        for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        + [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    }

    def passed(node: ast.expr) -> bool:
        if isinstance(node, ast.Starred):
            node = node.value
        return isinstance(node, ast.Constant) or (
            isinstance(node, ast.Name) and node.id in parameters
        )

    def from_self(node: ast.expr) -> bool:
        while isinstance(node, ast.Attribute):
            node = node.value
        return isinstance(node, ast.Name) and node.id == "self"

    if isinstance(value, ast.Attribute):
        return from_self(value)
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        return (
            from_self(value.func)
            and all(passed(arg) for arg in value.args)
            and all(passed(keyword.value) for keyword in value.keywords)
        )
    return False


def forwarding_functions(path: Path) -> tuple[list[str], int]:
    """``(forwarding function names, number of functions)`` of one file."""
    tree = ast.parse(path.read_text(), str(path))
    functions = [
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    return [f.name for f in functions if _is_forward(f)], len(functions)


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "src"
    known = modules(root)
    package = root / "jeex_cache"
    print(f"modules under jeex_cache: {len(known)}")
    project_files = sorted(p.name for p in (package / "project_cache").glob("*.py"))
    print(f"files in project_cache/: {len(project_files)}")
    print("  " + " ".join(project_files))
    print("forwarding-only functions per api.py:")
    for api in sorted(package.glob("*/api.py")):
        forwards, total = forwarding_functions(api)
        print(f"  {api.parent.name}/api.py: {len(forwards)} of {total}")
        if forwards:
            print("    " + " ".join(forwards))
    cycles = find_cycles(root)
    print(f"import cycles: {len(cycles)}")
    for loop in cycles:
        print("  " + " -> ".join(loop))
    across, upward = cross_capability_imports(root)
    print(f"cross-capability imports: {len(across)}")
    for line in across:
        print("  " + line)
    print(f"capability imports of the house above it: {len(upward)}")
    for line in upward:
        print("  " + line)
    internals = integration_imports(root)
    print(f"web/ and fastapi/ imports of capability internals: {len(internals)}")
    for line in internals:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
