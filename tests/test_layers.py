"""
The import contract (docs/architecture.rst): layers point one way, and no module of the app imports itself back.

- Faces (pages, REST API, tasks, admin, commands, the Open edX bridge, URL
  configuration) may import the domain; no domain module imports a face or the
  wiring (``apps``, the plugin ``settings``), not even inside a function: a
  domain module that needs a task enqueues it by its registered name.
- No import cycles between the app's modules (a subpackage counts as one module).

Every module not named a face or wiring below is domain, so a new module is held
to the contract from its first line. ``make quality`` runs this file too.
"""

import sys
import textwrap

import grimp
import pytest

PACKAGE = "proctoring_results"
FACES = frozenset({"views", "rest_api", "tasks", "admin", "management", "openedx", "urls", "templatetags"})
#: Put the app together; they may import anything and nothing imports them but each other and faces.
WIRING = frozenset({"apps", "settings", "migrations"})


def _unit(module, package):
    """The app-level module a (sub)module belongs to: ``pkg.reports.writers.mysql`` -> ``reports``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _graph(package):
    """unit -> {unit it imports: (importing module, imported module, line)} of one package, lazy imports included."""
    graph = grimp.build_graph(package, include_external_packages=False, cache_dir=None)
    edges = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            source, target = _unit(module, package), _unit(imported, package)
            if source != target:
                details = graph.get_import_details(importer=module, imported=imported)
                line = details[0]["line_number"] if details else 0
                edges.setdefault(source, {}).setdefault(target, (module, imported, line))
    return edges


def _cycles(edges):
    """The strongly connected groups of more than one unit (Tarjan), each sorted."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(set(edges) | {t for targets in edges.values() for t in targets}):
        if node not in index:
            visit(node)
    return sorted(found)


def contract_violations(package=PACKAGE, faces=FACES, wiring=WIRING):
    """Every breach of the contract, one readable line each (empty when the layers hold)."""
    edges = _graph(package)
    problems = []
    for source, targets in sorted(edges.items()):
        if source in faces or source in wiring or source == "__init__":
            continue
        for target, (module, imported, line) in sorted(targets.items()):
            if target in faces or target in wiring:
                kind = "face" if target in faces else "wiring module"
                problems.append(f"domain module {module} imports the {kind} {imported} (line {line})")
    for group in _cycles(edges):
        problems.append(f"import cycle between {', '.join(group)}")
    return problems


def test_the_app_keeps_its_layers_and_has_no_import_cycle():
    assert contract_violations() == []


@pytest.fixture
def make_package(tmp_path, monkeypatch):
    """A throw-away package with these modules, importable for the length of the test."""

    def make(name, modules):
        root = tmp_path / name
        root.mkdir()
        (root / "__init__.py").write_text("")
        for module, source in modules.items():
            (root / f"{module}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.delitem(sys.modules, name, raising=False)
        return name

    return make


def test_the_check_fails_when_a_domain_module_imports_a_face(make_package):
    package = make_package(
        "layered_app",
        {
            "models": "",
            "api": """
            from . import models

            def enqueue():
                from . import tasks  # lazy, and still a face
        """,
            "tasks": "from . import api\n",
            "views": "from . import api\n",
        },
    )
    problems = contract_violations(package)
    assert "domain module layered_app.api imports the face layered_app.tasks (line 5)" in problems
    assert "import cycle between api, tasks" in problems


def test_the_check_passes_a_package_whose_layers_point_one_way(make_package):
    package = make_package(
        "one_way_app",
        {
            "models": "",
            "api": "from . import models\n",
            "tasks": "from . import api\n",
            "views": "from . import api, models\n",
        },
    )
    assert contract_violations(package) == []
