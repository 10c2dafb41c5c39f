"""The architecture, read from the imports: the studio (runtime) never imports the tooling in lab/,
and no module imports itself round a circle, at module level or inside functions."""
import ast
from pathlib import Path

from conftest import ROOT

PACKAGES = ("studio", "lab")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each module of the project -> the project modules it imports (anywhere in its code)."""
    modules = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    modules["app"] = ROOT / "app.py"
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                # `from a.b import c` imports the module a.b.c when there is one, else names of a.b
                targets |= {f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules
                            else node.module for alias in node.names}
        graph[name] = {t for t in targets if t in modules}
    return graph


def test_runtime_never_imports_the_tooling():
    graph = import_graph()
    crossing = sorted((m, t) for m, targets in graph.items() if not m.startswith("lab")
                      for t in targets if t.startswith("lab"))
    assert not crossing, f"the runtime imports lab/: {crossing}"
    assert any(t.startswith("studio") for t in graph["lab.evaluate"])  # the graph reads real imports


def test_no_import_circle():
    graph = import_graph()
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            assert state.get(target) != "open", "import circle: " + " -> ".join(path + [target])
            if target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
