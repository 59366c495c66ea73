"""The arrow points one way: the engine imports nothing from the coffee bar."""

import ast
from pathlib import Path

import stepfunctions

ENGINE = Path(stepfunctions.__file__).resolve().parent


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_engine_module_imports_the_coffee_bar():
    offenders = {
        str(path.relative_to(ENGINE)): sorted(
            m for m in _imported_modules(path) if m.split(".")[0] == "orders"
        )
        for path in ENGINE.rglob("*.py")
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_services_send_messages_by_name_and_never_name_the_plug_ins():
    """Nothing in services imports the Celery tasks or a plug-in (function-local imports
    included), and only services/messages.py talks to Celery."""
    offenders = {}
    for path in (ENGINE / "services").rglob("*.py"):
        modules = _imported_modules(path)
        wrong = sorted(
            m
            for m in modules
            if m == "stepfunctions.tasks"
            or m.startswith("stepfunctions.integrations")
            or (m.split(".")[0] == "celery" and path.name != "messages.py")
        )
        if wrong:
            offenders[path.name] = wrong
    assert offenders == {}
