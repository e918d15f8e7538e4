"""Check the package's import graph against the house rules of ARCHITECTURE.md.

Rules checked (every import counts, also those inside functions; ``if TYPE_CHECKING:`` blocks
and the package's lazy front ``attrib/__init__.py`` do not):

1. imports point down the stage order (``RANKS``): no module imports one of a higher rank;
2. no circles between modules;
3. no module outside a folder imports that folder's ``_private`` modules.

Run ``python scripts/check_imports.py`` (exit 1 and one line per violation when a rule breaks);
``tests/test_architecture.py`` runs the same checks.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "attrib"

#: The stage order, lowest first: a module may import modules of its own or a lower rank.
#: The longest matching prefix decides a module's rank.
RANKS: dict[str, int] = {
    "attrib._version": 0,
    "attrib.errors": 0,
    "attrib._paths": 0,
    "attrib._atomic": 1,
    "attrib._modelfile": 1,
    "attrib.schema": 1,
    "attrib.store": 2,
    "attrib.io": 3,
    "attrib.enrich": 4,
    "attrib.context": 5,
    "attrib.features": 6,
    "attrib.cluster": 7,
    "attrib.simulate": 8,
    "attrib.score": 9,
    "attrib.report": 10,
    "attrib.plot": 10,
    "attrib.analysis": 11,
    "attrib.pipeline": 12,
    "attrib.accessor": 13,
    "attrib.api": 14,
    "attrib.commands": 14,
    "attrib.cli": 15,
    "attrib.__main__": 16,
}

#: The lazy public front: it names everything and imports nothing at run time.
FRONT = "attrib"


def module_name(path: Path) -> str:
    """Dotted module name of a file under the package."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def rank(mod: str) -> int:
    """Rank of a module by its longest matching prefix in ``RANKS``."""
    best, best_len = -1, -1
    for prefix, r in RANKS.items():
        if (mod == prefix or mod.startswith(prefix + ".")) and len(prefix) > best_len:
            best, best_len = r, len(prefix)
    if best < 0:
        raise KeyError(f"{mod}: no rank in RANKS (scripts/check_imports.py)")
    return best


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def imports_of(mod: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Modules of the package that ``mod`` imports (resolved to known module names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    found: set[str] = set()

    def resolve(name: str) -> str:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name

    for node in _walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [resolve(a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[: len(base) - node.level + 1]
                origin = ".".join(parent + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            for a in node.names:
                sub = f"{origin}.{a.name}"
                names.append(sub if sub in known else resolve(origin))
        found.update(n for n in names if n.startswith("attrib") and n != mod)
    return found


def graph() -> dict[str, set[str]]:
    """The import graph of the package (front excluded)."""
    known = modules()
    return {m: imports_of(m, p, known) for m, p in known.items() if m != FRONT}


def _private_of_other_folder(src: str, dst: str) -> bool:
    parts = dst.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            folder = ".".join(parts[:i])
            return not (src == folder or src.startswith(folder + "."))
    return False


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in g:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def violations() -> list[str]:
    """Every breach of the three rules, one line each."""
    g = graph()
    found: list[str] = []
    for src, dsts in sorted(g.items()):
        for dst in sorted(dsts):
            if dst == FRONT:
                found.append(f"{src} imports the lazy front 'attrib' (import the module itself)")
                continue
            if rank(dst) > rank(src):
                found.append(f"{src} (rank {rank(src)}) imports {dst} (rank {rank(dst)}): upward")
            if _private_of_other_folder(src, dst):
                found.append(f"{src} imports {dst}, private to another folder")
    for comp in cycles(g):
        found.append("circle: " + " -> ".join(comp))
    return found


def main() -> int:
    """Print the violations; exit 1 when there are any."""
    found = violations()
    for line in found:
        print(line)
    print(f"{len(found)} violation(s) in {len(modules())} modules")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
