"""The apps above the incident core read and change its rows through its
selectors and services, never through its models' managers.

Every module of escalation, notifications and metrics (migrations aside) is
parsed; an access to ``.objects`` or ``._default_manager`` on an expression
that names a model of the ``incidents`` app — through the module's
``from incidents… import X`` / ``import incidents…`` statements, at any
depth — is reported with its file and line.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from django.db import models

ROOT = Path(__file__).resolve().parent.parent
HIGHER_APPS = ("escalation", "notifications", "metrics")
MANAGERS = frozenset({"objects", "_default_manager"})


def _modules() -> list[Path]:
    return sorted(
        path
        for app in HIGHER_APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    )


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name → dotted path of what it names inside ``incidents``."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "incidents":
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "incidents":
                    if alias.asname:
                        names[alias.asname] = alias.name
                    else:
                        names["incidents"] = "incidents"
    return names


def _dotted(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else [*head, node.attr]
    return None


def _resolve(path: str) -> object | None:
    """The object a dotted path names (a module, or an attribute of one)."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute, None)
            if found is None:
                return None
        return found
    return None


def _is_incidents_model(found: object) -> bool:
    return (
        isinstance(found, type)
        and issubclass(found, models.Model)
        and found._meta.app_label == "incidents"
    )


def _manager_accesses(tree: ast.Module) -> list[tuple[int, str]]:
    """Line and expression of each manager access on an incidents model."""
    aliases = _aliases(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr in MANAGERS):
            continue
        dotted = _dotted(node.value)
        if not dotted or dotted[0] not in aliases:
            continue
        target = ".".join([aliases[dotted[0]], *dotted[1:]])
        if _is_incidents_model(_resolve(target)):
            found.append((node.lineno, f"{'.'.join(dotted)}.{node.attr}"))
    return sorted(found)


def test_higher_apps_reach_incidents_rows_through_selectors_and_services() -> None:
    accesses = [
        f"{path.relative_to(ROOT)}:{line}: {expression}"
        for path in _modules()
        for line, expression in _manager_accesses(ast.parse(path.read_text()))
    ]
    assert not accesses, (
        "query the incident core through incidents.selectors / incidents.services, "
        "not its models' managers:\n" + "\n".join(accesses)
    )


def test_the_check_sees_each_way_of_naming_an_incidents_model() -> None:
    tree = ast.parse(
        "from incidents.models import Incident as I, Team\n"
        "import incidents.models\n"
        "from incidents import models as m\n"
        "def f():\n"
        "    from incidents.models.setup import Service\n"
        "    I.objects.all()\n"
        "    Team._default_manager.all()\n"
        "    incidents.models.SeverityLevel.objects.all()\n"
        "    m.TeamMembership.objects.all()\n"
        "    Service.objects.all()\n"
        "    Team.DoesNotExist\n"
        "    other.objects.all()\n"
    )
    assert _aliases(tree)["I"] == "incidents.models.Incident"
    assert [line for line, _ in _manager_accesses(tree)] == [6, 7, 8, 9, 10]
