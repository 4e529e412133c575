"""Architecture rules of the library: imports flow one way, functions stay short.

Both rules read the source with :mod:`ast` (nothing is imported), so they see imports inside
functions too: a lazy import still ties two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "recolab"

#: Longest function or method allowed, in lines (``def`` to its last line, docstring included).
MAX_FUNCTION_LINES = 80

#: Functions over the limit when this test was written; each is to be split when its owner
#: next works on it. Listed by name only, so the test fails on any new long function.
KNOWN_LONG_FUNCTIONS = {
    "bundle/export.py::export_bundle",
}

#: Import cycles present when this test was written (sets of module names), each to be
#: broken by its owner; any other cycle fails.
KNOWN_CYCLES: list[frozenset[str]] = []


def _modules() -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` under ``recolab/``."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The recolab module ``name`` denotes (``a.b.attr`` → ``a.b``), or None outside."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """recolab modules that ``module`` imports anywhere in its file (functions included).

    Importing ``a.b.c`` counts as importing ``a.b.c`` only; the implicit import of its parent
    packages is not an edge (every module would otherwise depend on ``recolab``).
    """
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            # `from a import b`: b is a submodule when a file says so, else a name in a
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            target = _resolve(name, modules)
            if target is not None and target != module:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    """recolab module → the recolab modules it imports."""
    modules = _modules()
    return {m: _imported(m, p, modules) for m, p in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Components of more than one module (Tarjan, iterative): the import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
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
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(frozenset(component))
    return out


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [frozenset({"a", "b", "c"})]


def test_no_import_cycle_in_recolab():
    graph = import_graph()
    assert "recolab.models.weighted.trainer" in graph  # the walk sees the package
    cycles = [c for c in strongly_connected(graph) if c not in KNOWN_CYCLES]
    described = [{m: sorted(graph[m] & cycle) for m in sorted(cycle)} for cycle in cycles]
    assert not cycles, f"import cycles (module -> imports inside the cycle): {described}"


def _long_functions() -> dict[str, int]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    out[f"{path.relative_to(PACKAGE).as_posix()}::{node.name}"] = lines
    return out


def test_no_new_function_over_80_lines():
    new = {k: v for k, v in _long_functions().items() if k not in KNOWN_LONG_FUNCTIONS}
    assert not new, f"functions over {MAX_FUNCTION_LINES} lines: {new}"


def test_the_known_long_functions_are_still_long():
    # a function split below the limit leaves the list, so it cannot grow back unnoticed
    stale = KNOWN_LONG_FUNCTIONS - set(_long_functions())
    assert not stale, f"no longer over {MAX_FUNCTION_LINES} lines, drop from the list: {stale}"


@pytest.mark.parametrize(
    "module",
    [
        "recolab.config",
        "recolab.training",
        "recolab.models.weighted.network",
        "recolab.models.weighted.trainer",
    ],
)
def test_model_core_does_not_import_the_layers_above_it(module):
    # config → network → training loop → recommender → pipeline → jobs: nothing below the
    # pipeline reaches up to it (directly or through other modules)
    graph = import_graph()
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += graph[m]
    above = ("recolab.pipeline", "recolab.jobs", "recolab.studio", "recolab.cli", "recolab.bundle")
    reached = sorted(m for m in seen if any(m == a or m.startswith(a + ".") for a in above))
    assert not reached, f"{module} reaches {reached}"


#: NumPy/SciPy dense LAPACK entry points. The OpenBLAS that NumPy and SciPy bundle here
#: ends the process with a segmentation fault on item × item matrices from ≈ 15 k items
#: with 2 threads (``x = np.ones((2000, 15388)); x.T @ x`` exits with SIGSEGV, as does
#: ``scipy.linalg.cho_factor``), so every dense items × items solve goes through torch
#: (:func:`recolab.models.linear.ease_weights`).
DENSE_LAPACK = ("np.linalg.", "numpy.linalg.", "scipy.linalg", "from scipy import linalg")
#: The only NumPy linear algebra allowed: vector norms.
ALLOWED_LINALG = ("np.linalg.norm", "numpy.linalg.norm")


def test_no_numpy_or_scipy_dense_lapack_in_recolab() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            for allowed in ALLOWED_LINALG:
                code = code.replace(allowed, "")
            if any(pattern in code for pattern in DENSE_LAPACK):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert not found, "dense LAPACK through NumPy/SciPy (use torch):\n" + "\n".join(found)


def test_the_dense_lapack_rule_sees_a_call() -> None:
    line = "p = np.linalg.inv(g)  # item × item"
    assert any(p in line.split("#", 1)[0] for p in DENSE_LAPACK)
    assert not any(p in "n = np.linalg.norm(v)".replace("np.linalg.norm", "") for p in DENSE_LAPACK)
