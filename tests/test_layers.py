"""Layers that only look down: every import in rnnviz/ points to its own layer or one below it (the
order of rnnviz/README.md's table), and no two modules import each other (even inside a function).
"""
import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rnnviz"


def layers_from_readme(text: str) -> dict[str, int]:
    """{folder: rank} from the table "The layers, bottom up" (one row may name several folders)."""
    table = text.split("## The layers, bottom up", 1)[1].split("\n## ", 1)[0]
    ranks = {}
    rows = [r for r in table.splitlines() if r.startswith("| `")]
    for rank, row in enumerate(rows):
        for folder in re.findall(r"`(\w+)/`", row.split("|")[1]):
            ranks[folder] = rank
    return ranks


def module_name(path: Path) -> tuple[str, ...]:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def imports(path: Path) -> list[tuple[int, tuple[str, ...]]]:
    """(line, module inside rnnviz) of every import in ``path``, wherever it stands in the file."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            elif node.module and node.module.split(".")[0] == "rnnviz":
                base, node_module = (), node.module.split(".", 1)[1] if "." in node.module else ""
                found += ([(node.lineno, tuple(node_module.split(".")))] if node_module else
                          [(node.lineno, (a.name,)) for a in node.names])
                continue
            else:
                continue
            if node.module:
                found.append((node.lineno, base + tuple(node.module.split("."))))
            else:
                found += [(node.lineno, base + (a.name,)) for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, tuple(a.name.split(".")[1:])) for a in node.names
                      if a.name.startswith("rnnviz.")]
    return found


def resolve(target: tuple[str, ...], modules: set) -> tuple[str, ...] | None:
    """The longest prefix of ``target`` that is a module of the package (a name imported from a
    package resolves to the package)."""
    for k in range(len(target), 0, -1):
        if target[:k] in modules:
            return target[:k]
    return None


def import_graph():
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p): p for p in paths}
    edges = {}
    for path in paths:
        me = module_name(path)
        edges[me] = [(line, t) for line, target in imports(path)
                     if (t := resolve(target, set(modules))) is not None and t != me]
    return modules, edges


def test_the_readme_names_the_layers_in_order():
    ranks = layers_from_readme((PACKAGE / "README.md").read_text(encoding="utf-8"))
    assert ranks["core"] < ranks["functions"] < ranks["links"] < ranks["training"] < ranks["widgets"]
    assert ranks["grading"] == max(ranks.values())
    assert ranks["serializers"] == ranks["iterators"], "one row, one rank"
    missing = [p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()
               and p.name not in ranks and p.name not in ("utils", "backends")]
    assert not missing, f"rnnviz/README.md's table does not place {missing}"


def upward_imports(ranks, edges):
    bad = []
    for me, targets in edges.items():
        if not me or me[0] not in ranks:
            continue
        for line, target in targets:
            if target and target[0] in ranks and ranks[target[0]] > ranks[me[0]]:
                bad.append(f"rnnviz/{'/'.join(me)}.py:{line} imports {'.'.join(target)} "
                           f"({target[0]}/ is above {me[0]}/)")
    return bad


def cycles(edges):
    """Pairs of modules that import each other, directly or through others (submodules of a
    package importing the package's own __init__ do not count: that is how a package loads)."""
    found = []
    graph = {m: {t for _, t in ts if t[: len(m)] != m and m[: len(t)] != t} for m, ts in edges.items()}
    for start in graph:
        seen, stack = set(), [start]
        while stack:
            m = stack.pop()
            for t in graph.get(m, ()):
                if t == start:
                    found.append(start)
                    stack = []
                    break
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
    return sorted(".".join(m) for m in found)


def test_every_import_points_down_the_layers():
    ranks = layers_from_readme((PACKAGE / "README.md").read_text(encoding="utf-8"))
    _, edges = import_graph()
    bad = upward_imports(ranks, edges)
    assert not bad, "imports that point up the layers:\n" + "\n".join(bad)


def test_no_two_modules_import_each_other():
    _, edges = import_graph()
    found = cycles(edges)
    assert not found, f"modules on an import cycle: {found}"


def test_the_checks_catch_an_upward_import_and_a_cycle():
    ranks = {"core": 0, "functions": 1, "links": 2}
    edges = {("functions", "x"): [(3, ("links",))], ("links",): [(1, ("functions", "x"))],
             ("core", "v"): [(5, ("core", "w"))], ("core", "w"): [(9, ("core", "v"))]}
    assert upward_imports(ranks, edges) == [
        "rnnviz/functions/x.py:3 imports links (links/ is above functions/)"]
    assert cycles(edges) == ["core.v", "core.w", "functions.x", "links"]
