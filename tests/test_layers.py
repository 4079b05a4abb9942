"""The ten "never import" rules of the layout guide (../shared/guides/layout.md, §4),
enforced by an ``ast`` walk of ``src/provelio_verify`` (docs/architecture.md).

Each top-level module or subpackage is a room. Issue 13's moves emptied the list of
allowed breaches (``ALLOWED_TODAY``); it stays empty: a breach fails, and so would a
listed breach that no longer exists (the list can only shrink).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "provelio_verify"

#: Module -> room, where it differs from the first part of its dotted name (none, now
#: that the layout's moves are made; kept for rooms that span modules).
ROOMS: dict[str, str] = {}
#: The verifier's steps (today's names and their rooms' names): they must not import
#: the orchestration that calls them (rule 8).
STEPS = {"verifier.timestamp", "verifier.anchor", "verifier.mode", "verifier.anchor_chain",
         "verifier.assemble"}
#: The ground floor: modules that import nothing of the package at run time (rule 2),
#: so any room may import them without an arrow running back up. The guide's rule 2
#: lists outcome, errors, _time, _text and _version; _limits and _json_bounds joined
#: them (docs/architecture.md, decision 2): time arithmetic clamped at the calendar's
#: ends and JSON read within bounds are needed by core (genTime +- accuracy) and by
#: chain sources (their answers) as much as by the report and the bundle.
GROUND = {"outcome", "errors", "_time", "_text", "_version", "_limits", "_json_bounds"}


def room(module: str) -> str:
    if module in ROOMS:
        return ROOMS[module]
    return module.split(".")[0]


def _run_time_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:`` (imports for
    annotations only: rule 2 speaks of run time)."""
    nodes: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return nodes


def _imports(run_time_only: bool = False) -> list[tuple[str, str]]:
    """(importer, imported) for every import in the package (those under
    ``if TYPE_CHECKING:`` only when not ``run_time_only``); package modules by dotted
    name relative to the package, others by their top-level name."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        is_init = parts[-1] == "__init__"
        if is_init:
            parts = parts[:-1]
        name = ".".join(parts) or "__init__"
        package = parts if is_init else parts[:-1]
        tree = ast.parse(path.read_text(), str(path))
        for node in (_run_time_nodes(tree) if run_time_only else ast.walk(tree)):
            if isinstance(node, ast.Import):
                found += [(name, "ext:" + a.name.split(".")[0]) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0:
                    top = (node.module or "").split(".")[0]
                    if top == "provelio_verify":
                        mod = (node.module or "").split(".", 1)[1:] or ["__init__"]
                        found.append((name, mod[0]))
                    else:
                        found.append((name, "ext:" + top))
                    continue
                base = package[:len(package) - (node.level - 1)]
                target = [*base, *((node.module or "").split(".") if node.module else [])]
                if node.module is None:  # from . import x
                    found += [(name, ".".join([*base, a.name])) for a in node.names]
                else:
                    found.append((name, ".".join(target)))
    return found


def _module_exists(dotted: str) -> bool:
    path = PACKAGE.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def breaches() -> set[tuple[str, str, int]]:
    out: set[tuple[str, str, int]] = set()
    run_time = set(_imports(run_time_only=True))
    for importer, imported in _imports():
        ext = imported.startswith("ext:")
        if not ext and not _module_exists(imported):
            # "from .x import name" where x is a package: keep the package
            imported = imported.rsplit(".", 1)[0]
        src, dst = room(importer), ("ext:" + imported[4:] if ext else room(imported))
        if dst in GROUND and importer.split(".")[0] not in GROUND:
            continue  # the ground floor is below every room
        if importer in STEPS and imported == "verifier.verifier":
            out.add((importer, imported, 8))  # the circle: steps import their caller
        if importer == "verifier.recorder" and imported in STEPS:
            out.add((importer, imported, 8))
        halves = ("core.timestamp", "core.anchor")
        for mine, other in (halves, halves[::-1]):
            if importer.startswith(mine) and imported.startswith(other):
                out.add((importer, imported, 1))  # the two halves never meet
        if importer == "core.digest" and imported.startswith("core."):
            out.add((importer, imported, 1))  # digest stands apart
        if src == dst:
            continue
        ext_name = imported[4:] if ext else None
        if ext_name == "requests" and src != "net":
            out.add((importer, imported, 4))
        if ext:
            continue
        rules = []
        if src == "core":
            rules.append((1, dst not in {"outcome"}))
        if importer.split(".")[0] in GROUND:
            # _limits is constants only: the one ground module another may import.
            rules.append((2, (importer, imported) in run_time and imported != "_limits"))
        if src in {"report", "policy"}:
            rules.append((3, dst not in GROUND))
        if src in {"bundle", "_json_reader"}:
            rules.append((3, dst not in GROUND | {"core", "_json_reader", "bundle"}))
        if src == "net":
            rules.append((4, dst not in {"errors"}))
        if src == "chain":
            rules.append((5, dst not in {"core", "net", "inputs", "errors", "outcome"}))
        if src == "inputs":
            rules.append((6, dst not in {"core", "errors"}))
        if src == "howto":
            rules.append((7, dst not in {"bundle", "core", "outcome"}))
        if src == "verifier":
            rules.append((8, dst in {"cli", "batch", "capsule", "evidence_report"}))
        if src == "evidence_report":
            rules.append((9, dst not in {"report", "outcome", "howto", "errors", "_text"}))
        if dst == "cli" and importer != "__main__":
            rules.append((10, True))
        out.update((importer, imported, rule) for rule, broken in rules if broken)
    return out


#: Breaches tolerated, (importer, imported, rule): none since issue 13's last move.
ALLOWED_TODAY: set[tuple[str, str, int]] = set()


def test_no_import_breaks_a_layering_rule_beyond_those_listed():
    new = breaches() - ALLOWED_TODAY
    assert not new, "imports that break the layout guide's rules:\n" + "\n".join(
        f"  rule {r}: {a} imports {b}" for a, b, r in sorted(new))


def test_the_allowed_list_only_shrinks():
    gone = ALLOWED_TODAY - breaches()
    assert not gone, "fixed breaches still listed in ALLOWED_TODAY (delete them):\n" + \
        "\n".join(f"  rule {r}: {a} imports {b}" for a, b, r in sorted(gone))


def test_the_walk_sees_imports():
    """A guard on the walker itself: it must see known edges, or it proves nothing."""
    edges = set(_imports())
    assert ("verifier.verifier", "verifier.anchor") in edges
    assert ("net.http", "ext:requests") in edges
    assert ("chain.headers_file", "core.anchor.headers") in edges


def test_every_error_a_caller_catches_lives_in_errors_under_one_root():
    """Layout guide D12: one errors module. Errors private to core (``ValueError``s a
    step turns into a result), to a private module, or with a private name, and a
    check's own outcome (``outcome.py``) are exempt."""
    import importlib
    import inspect

    import provelio_verify.errors as errors

    strays = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        if parts and (parts[0] in {"core", "outcome", "errors", "__main__"}
                      or any(p.startswith("_") for p in parts)):
            continue
        module = importlib.import_module(".".join(["provelio_verify", *parts]))
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) \
                    and obj.__module__ == module.__name__ and not name.startswith("_"):
                strays.append(f"{module.__name__}.{name}")
    assert not strays, f"errors defined outside errors.py: {strays}"
    roots = {c for c in vars(errors).values()
             if inspect.isclass(c) and issubclass(c, Exception) and c.__module__ == errors.__name__
             and not any(issubclass(c, b) for b in vars(errors).values()
                         if inspect.isclass(b) and b is not c and b.__module__ == errors.__name__
                         and issubclass(b, Exception))}
    assert {r.__name__ for r in roots} == {"ProvelioError"}
