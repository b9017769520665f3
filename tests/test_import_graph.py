"""skelcon's import graph: no cycles among modules, no import from a lower layer up.

The graph is read from the source with :mod:`ast` (nothing is imported): every
``import`` / ``from ... import`` of a ``skelcon`` module, at module level (run on import)
and inside functions (run on call). Imports under ``if TYPE_CHECKING:`` never run and are
left out. The layers, lowest first (docs/architecture.md):

    utils, errors, config (+ version, recipes, paper_numbers)
    -> data -> augment, encoders, contrast, extract -> engine -> eval -> export, viz, report, sweep
    -> demo, examples -> cli (+ the package root)

A module may import its own layer and those below it. Known violations are listed in
:data:`ALLOWED` with what must move; any new one fails the test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import skelcon

SRC = Path(skelcon.__file__).parent
ROOT = "skelcon"

LAYERS: dict[str, int] = {
    # 0: the foundations, importing nothing of skelcon above them
    "skelcon.utils": 0,
    "skelcon.errors": 0,
    "skelcon.config": 0,
    "skelcon.version": 0,
    "skelcon.recipes": 0,
    "skelcon.paper_numbers": 0,
    "skelcon.data": 1,
    "skelcon.augment": 2,
    "skelcon.encoders": 2,
    "skelcon.contrast": 2,
    "skelcon.extract": 2,  # videos -> clip files (uses data's layouts and readers)
    "skelcon.engine": 3,
    "skelcon.eval": 4,
    "skelcon.export": 5,
    "skelcon.viz": 5,
    "skelcon.report": 5,
    "skelcon.sweep": 5,  # runs skelcon commands in subprocesses; the report reads its dirs
    "skelcon.demo": 6,
    "skelcon.examples": 6,
    "skelcon.cli": 7,
    "skelcon": 8,  # the package root (__init__'s lazy API, __main__)
}

# (importer, imported) pairs that break the layering today, each with what must move.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    # read_clip(path, like=<a run>) reads the run's checkpoint for the data it was trained
    # on: the data entry of a checkpoint should be readable from data/ (or the run case
    # resolved above engine, e.g. in skelcon.read_clip), not by data importing engine.
    ("skelcon.data.rawclip", "skelcon.engine.checkpoint"): "resolve a run's data meta above data",
}
# Module-level cycles that exist today, each with what must move (as sets of modules).
ALLOWED_CYCLES: dict[frozenset[str], str] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The skelcon modules an import statement in ``module`` loads."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".") if _is_package(module) else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        # `from pkg import sub` loads the module pkg.sub when there is one
        subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
        names = ([target] if len(subs) < len(node.names) else []) + subs
    return [n for n in names if n == ROOT or n.startswith(ROOT + ".")]


def _imports(module: str) -> list[tuple[str, bool]]:
    """``(imported module, at module level)`` for every import in ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    out: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for sub in child.orelse:
                    visit(sub, top)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                out.extend((t, top) for t in _targets(module, child))
            inner = top and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            visit(child, inner)

    visit(tree, True)
    return [(t, top) for t, top in out if t in MODULES]


GRAPH = {m: _imports(m) for m in MODULES}


def layer(module: str) -> int:
    """The layer of ``module``: that of the longest prefix named in :data:`LAYERS`."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return LAYERS[".".join(parts[:n])]
    raise AssertionError(f"{module} is in no layer: add it to LAYERS (and docs/architecture.md)")


def _cycles(functions: bool = False) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (or a module importing
    itself) of the module-level import graph (Tarjan); ``functions``: of the graph with
    the imports inside functions too."""
    edges = {m: sorted({t for t, top in GRAPH[m] if top or functions}) for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[frozenset[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1 or v in edges[v]:
                found.append(frozenset(comp))

    for m in sorted(MODULES):
        if m not in index:
            strong(m)
    return found


def test_the_graph_is_read():
    assert "skelcon.cli.main" in MODULES and "skelcon.report.collect" in MODULES
    targets = {t for t, _ in GRAPH["skelcon.cli.main"]}
    assert {"skelcon.cli.common", "skelcon.cli.prepare", "skelcon.errors"} <= targets
    # function-level imports are read too, relative ones resolved
    assert ("skelcon.eval.run", False) in GRAPH["skelcon.cli.eval"]


def test_every_module_has_a_layer():
    for m in MODULES:
        layer(m)


def test_no_import_cycles_at_module_level():
    cycles = [c for c in _cycles() if c not in ALLOWED_CYCLES]
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in cycles)


# Cycles through imports inside functions (harmless at run time, but a sign of a missing
# layer): only the package root's, whose lazy API (load_encoder, read_clip, load_classifier)
# reaches the checkpoint code that records skelcon's version, read from the root.
ALLOWED_FUNCTION_CYCLES = {
    frozenset(
        {
            "skelcon",
            "skelcon.data.rawclip",
            "skelcon.data.rawinputs",
            "skelcon.engine.checkpoint",
            "skelcon.eval.classifier",
            "skelcon.eval.encoder",
            "skelcon.eval.inputs",
            "skelcon.version",
        }
    ): "the root's lazy API",
}


def test_no_import_cycles_through_functions_either():
    cycles = [c for c in _cycles(functions=True) if c not in ALLOWED_FUNCTION_CYCLES]
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in cycles)


def test_no_module_imports_a_higher_layer():
    bad = []
    for m, imports in sorted(GRAPH.items()):
        for t, top in sorted(set(imports)):
            if t == ROOT:  # `from skelcon import __version__`: loaded before any module
                continue
            if layer(t) > layer(m) and (m, t) not in ALLOWED_UPWARD:
                where = "module level" if top else "in a function"
                bad.append(f"{m} (layer {layer(m)}) imports {t} (layer {layer(t)}) {where}")
    assert not bad, "imports from a lower layer up:\n" + "\n".join(bad)


def test_the_package_root_imports_nothing_on_import():
    """``import skelcon`` stays light: its API (load_encoder, read_clip) is imported lazily."""
    assert [t for t, top in GRAPH[ROOT] if top] == []


def test_allowed_violations_still_exist():
    """An entry of ALLOWED_* that no longer occurs is deleted (the list only shrinks)."""
    edges = {(m, t) for m, imports in GRAPH.items() for t, _ in imports}
    gone = [pair for pair in ALLOWED_UPWARD if pair not in edges]
    gone += [sorted(c) for c in ALLOWED_CYCLES if c not in _cycles()]
    assert not gone, f"fixed, remove from ALLOWED: {gone}"


def test_argparse_only_in_the_cli():
    """The command line is the one place that knows about flags."""
    users = sorted(
        m
        for m, p in MODULES.items()
        if "argparse"
        in {
            a.name
            for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
            if isinstance(node, ast.Import)
            for a in node.names
        }
    )
    allowed = {
        "skelcon.examples",  # its own `python -m skelcon.examples` command line
        "skelcon.engine.skeleton_contrast",  # unpickles argparse.Namespace: parses no flags
    }
    assert [m for m in users if not m.startswith("skelcon.cli") and m not in allowed] == []
