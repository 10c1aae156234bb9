"""No import cycles among the output modules, counting imports inside functions too.

A cycle hidden behind a function-level import (export <-> pack, export <-> report, as issue 11
found) still ties two modules together; the graph below reads every `import` statement.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gapmap"
OUTPUT_MODULES = {
    "cliff",
    "csvtables",
    "workbook",
    "pack",
    "pack_commissioning",
    "pack_layout",
    "access_map",
    "palette",
    "present",
    "webmap",
    "report",
    "staticmap",
    "view",
    "wording",
}


def imports_of(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "gapmap":
                found |= {a.name for a in node.names}
            elif node.module.startswith("gapmap."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("gapmap.")}
    return found & OUTPUT_MODULES


def test_output_modules_import_without_cycles():
    graph = {m: imports_of(m) - {m} for m in OUTPUT_MODULES}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in path:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif len(path) < len(graph):
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert not cycles, f"import cycles: {sorted({' -> '.join(c) for c in cycles})}"
