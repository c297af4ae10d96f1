"""The services import one another in one direction only: no module of
subscriptions.services imports one that imports it back, not even from
inside a function, and each imports on its own in a fresh interpreter."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

PACKAGE = "subscriptions.services"
SERVICES_DIR = Path(settings.BASE_DIR) / "subscriptions" / "services"

# Loads the apps without the admin's autodiscovery (which would import every
# service first), then imports each service named on the command line with
# no service loaded before it, and prints the ones that fail.
FRESH_IMPORTS = """
import importlib
import sys
import traceback

import django
import django.contrib.admin

django.contrib.admin.autodiscover = lambda: None
django.setup()
for module in sys.argv[1:]:
    for loaded in [name for name in sys.modules if name.startswith("subscriptions.services.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(module)
    except Exception as error:
        print(module, repr(error))
"""


def service_modules() -> list[str]:
    return sorted(f"{PACKAGE}.{path.stem}" for path in SERVICES_DIR.glob("*.py") if path.stem != "__init__")


def imported_services(module: str) -> set[str]:
    """The service modules ``module`` imports, wherever in the file."""
    source = (SERVICES_DIR / f"{module.rsplit('.', 1)[1]}.py").read_text()
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative to the services package
                base = f"{PACKAGE}.{base}" if base else PACKAGE
            # "from subscriptions.services import ledger" names a module too.
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(name for name in names if name in set(service_modules()))
    found.discard(module)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle in ``graph`` as the modules along it, or []."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str]:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return []
        path.append(module)
        for imported in sorted(graph[module]):
            cycle = visit(imported)
            if cycle:
                return cycle
        path.pop()
        done.add(module)
        return []

    for module in sorted(graph):
        cycle = visit(module)
        if cycle:
            return cycle
    return []


def test_no_service_imports_one_that_imports_it_back():
    graph = {module: imported_services(module) for module in service_modules()}

    assert graph[f"{PACKAGE}.checkout"], "the graph is built from the services' imports"
    assert find_cycle(graph) == []


def test_the_cycle_finder_names_a_cycle_through_a_function_level_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_each_service_imports_on_its_own_in_a_fresh_interpreter():
    run = subprocess.run(
        [sys.executable, "-c", FRESH_IMPORTS, *service_modules()],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == ""
