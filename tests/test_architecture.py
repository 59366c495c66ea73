"""docs/ARCHITECTURE.md, checked: modules under 400 lines, no import cycle (function-local imports
included), the engine's layers importing one way, and an engine that names nothing of the apps
that use it.

Imports are read from the source (ast), as import-linter reads them: `from a.b import c` is an
import of the module a.b.c when there is one, else of a.b; imports under `if TYPE_CHECKING:` are
left out (they never run).
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("stepfunctions", "orders", "serverlesspresso", "bench")
MAX_LINES = 400

# The engine's layers, lowest first (docs/ARCHITECTURE.md). A module may import its own layer and
# the layers below it, never one above.
LAYERS = (
    ("workflow", ("stepfunctions.workflow",)),
    (
        "leaves",
        (
            "stepfunctions.errors",
            "stepfunctions.arns",
            "stepfunctions.hooks",
            "stepfunctions.resources",
            "stepfunctions.observability",
        ),
    ),
    ("models", ("stepfunctions.models", "stepfunctions.selectors")),
    ("services", ("stepfunctions.services",)),
    ("integrations", ("stepfunctions.integrations",)),
    (
        "top",
        (
            "stepfunctions.api",
            "stepfunctions.admin",
            "stepfunctions.management",
            "stepfunctions.tasks",
            "stepfunctions.apps",
            "stepfunctions.diagram",
            "stepfunctions",
        ),
    ),
)


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _runtime_nodes(tree: ast.AST):
    """Every node of the tree except those under `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {target for target in found if target in MODULES and target != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in graph:
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
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def _layer(module: str) -> int | None:
    best = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), rank)
    return None if best is None else best[1]


def test_no_import_cycle():
    assert _cycles(GRAPH) == []


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_under_400_lines(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines < MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines"


def test_engine_layers_import_one_way():
    upward = []
    for module, targets in GRAPH.items():
        rank = _layer(module)
        if rank is None:
            continue
        for target in targets:
            if target.split(".")[0] != "stepfunctions":
                upward.append((module, target))  # the engine imports none of its users
            elif (target_rank := _layer(target)) is not None and target_rank > rank:
                upward.append((module, target))
    assert upward == []


def test_workflow_is_pure():
    """The interpreter imports no Django and nothing of the engine outside workflow/."""
    for name, path in MODULES.items():
        if not name.startswith("stepfunctions.workflow"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                names.append(getattr(node, "module", None) or "")
                assert not any(n.split(".")[0] in ("django", "celery") for n in names), name


def test_engine_names_nothing_of_the_coffee_bar_or_project():
    pattern = re.compile(r"orderId|orders_|serverlesspresso")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "stepfunctions").rglob("*"))
        if path.is_file() and "migrations" not in path.parts and path.suffix != ".pyc"
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
