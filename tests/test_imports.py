"""The import graph of nanoseek's training, evaluation and data modules, read from the source
(imports inside functions included, since a lazy import hides a circle rather than removing
it): dependencies point down, so evaluation never imports a trainer and no module imports
itself through others."""

from __future__ import annotations

import ast
from pathlib import Path

import nanoseek

ROOT = Path(nanoseek.__file__).parent
LAYERS = ("nanoseek.data", "nanoseek.eval", "nanoseek.train")


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = ("nanoseek", *path.relative_to(ROOT).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The nanoseek modules `path` imports (`from pkg import mod` names the module, not pkg)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            subs = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
            found |= subs or {node.module}
    return found & modules.keys()


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    ours = {m: p for m, p in modules.items() if m.startswith(LAYERS)}
    return {m: {d for d in _imports(p, modules) if d in ours and d != m} for m, p in ours.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the modules along it, or None."""
    state: dict[str, str] = {}

    def visit(m: str, path: list[str]) -> list[str] | None:
        state[m] = "open"
        for d in sorted(graph[m]):
            if state.get(d) == "open":
                return path[path.index(d):] + [d]
            if d not in state and (found := visit(d, path + [d])):
                return found
        state[m] = "done"
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m, [m])):
            return found
    return None


def test_no_import_circle():
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()))


def test_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]


def test_evaluation_imports_no_trainer():
    graph = _graph()
    assert {m: sorted(d for d in deps if d.startswith("nanoseek.train"))
            for m, deps in graph.items() if m.startswith("nanoseek.eval")} == {
        m: [] for m in graph if m.startswith("nanoseek.eval")}


def test_the_graph_sees_lazy_imports():
    """evaluate.py imports the engine only inside a function: the graph still has it."""
    modules = _modules()
    assert "nanoseek.inference" in _imports(modules["nanoseek.eval.evaluate"], modules)
