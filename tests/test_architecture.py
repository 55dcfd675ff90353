"""Architecture rules of src/pyredis, checked on the source with ``ast`` (docs/ARCHITECTURE.md).

* no import circles among the package's modules (module-level and function-level imports count;
  ``if TYPE_CHECKING:`` blocks do not);
* no module over 800 lines;
* ``protocol/`` and ``engine/`` import neither asyncio nor ``pyredis.server`` (nor commands/persistence);
* nothing outside the asyncio layer imports it (server/connection.py, server/listener.py, server/cli.py);
* no ``server.extensions`` string-keyed registry: the server is made of typed subsystems.
"""

from __future__ import annotations

import ast
import os
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "pyredis")
MAX_LINES = 800
ASYNCIO_LAYER = {"pyredis.server.connection", "pyredis.server.listener", "pyredis.server.tls_listener",
                 "pyredis.server.cli"}
# Modules allowed to import the asyncio layer: the layer itself, its entry points and the gateway
# (a listener of its own on the same event loop).
ASYNCIO_USERS = ASYNCIO_LAYER | {"pyredis.__main__", "pyredis.embedded", "pyredis.pytest_plugin"}


def _modules() -> dict[str, str]:
    mods = {}
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                if rel.endswith(".__init__"):
                    rel = rel[: -len(".__init__")]
                mods[rel] = path
    return mods


MODULES = _modules()
TREES = {m: ast.parse(open(p, encoding="utf-8").read(), p) for m, p in MODULES.items()}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for n in node.body:
                skip.update(id(x) for x in ast.walk(n))
    return skip


def imports_of(mod: str, *, include_type_checking: bool = False) -> set[str]:
    """Every module (of this package, or external top-level names) *mod* imports."""
    tree = TREES[mod]
    skip = set() if include_type_checking else _type_checking_nodes(tree)
    is_pkg = MODULES[mod].endswith("__init__.py")
    out: set[str] = set()
    for n in ast.walk(tree):
        if id(n) in skip:
            continue
        if isinstance(n, ast.ImportFrom):
            if n.level:
                parts = mod.split(".")
                if not is_pkg:
                    parts = parts[:-1]
                parts = parts[: len(parts) - (n.level - 1)]
                base = ".".join(parts + ([n.module] if n.module else []))
            else:
                base = n.module or ""
            for a in n.names:
                sub = f"{base}.{a.name}"
                out.add(sub if sub in MODULES else base)
        elif isinstance(n, ast.Import):
            out.update(a.name for a in n.names)
    out.discard(mod)
    return out


def _cycles() -> list[list[str]]:
    graph = {m: {d for d in imports_of(m) if d in MODULES} for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
                found.append(sorted(comp))

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 10000))
    try:
        for v in graph:
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(old)
    return found


def test_no_import_circles():
    assert _cycles() == []


@pytest.mark.parametrize("mod", sorted(MODULES))
def test_module_size(mod):
    with open(MODULES[mod], encoding="utf-8") as fh:
        n = sum(1 for _ in fh)
    assert n <= MAX_LINES, f"{mod} has {n} lines (split it along its seams)"


@pytest.mark.parametrize("mod", sorted(m for m in MODULES if m.startswith(("pyredis.engine", "pyredis.protocol"))))
def test_lower_layers_stay_sans_io(mod):
    bad = {d for d in imports_of(mod, include_type_checking=True)
           if d == "asyncio" or d.startswith(("pyredis.server", "pyredis.commands", "pyredis.persistence",
                                              "pyredis.scripting", "pyredis.gateway", "pyredis.cluster"))}
    assert not bad, f"{mod} imports {sorted(bad)}"


def test_nothing_imports_the_asyncio_layer():
    offenders = {m: sorted(imports_of(m) & ASYNCIO_LAYER) for m in MODULES if m not in ASYNCIO_USERS}
    assert {m: v for m, v in offenders.items() if v} == {}


def _extensions_uses(mod: str) -> list[str]:
    out = []
    for n in ast.walk(TREES[mod]):
        if isinstance(n, ast.Attribute) and n.attr == "extensions":
            base = ast.unparse(n.value)
            # websockets' negotiated extensions (gateway sessions) are another thing altogether
            if base.split(".")[-1] in ("server", "srv") or (base == "self" and mod == "pyredis.server.app"):
                out.append(f"{ast.unparse(n)} (line {n.lineno})")
    return out


def test_no_extensions_registry():
    uses = {m: _extensions_uses(m) for m in MODULES}
    assert {m: u for m, u in uses.items() if u} == {}


def test_rules_catch_violations(tmp_path):
    """The checks above can fail: a synthetic circle, an oversized module, a registry use."""
    a = ast.parse("from pyredis.x import b\n")
    assert isinstance(a.body[0], ast.ImportFrom)
    saved = dict(MODULES), dict(TREES)
    try:
        for name, code in (("pyredis.zz_a", "def f():\n    from pyredis import zz_b\n"),
                           ("pyredis.zz_b", "from pyredis.zz_a import f\nx = server.extensions['acl']\n")):
            path = tmp_path / (name.split(".")[-1] + ".py")
            path.write_text(code)
            MODULES[name] = str(path)
            TREES[name] = ast.parse(code)
        assert ["pyredis.zz_a", "pyredis.zz_b"] in _cycles()
        assert _extensions_uses("pyredis.zz_b")
    finally:
        MODULES.clear()
        MODULES.update(saved[0])
        TREES.clear()
        TREES.update(saved[1])


def test_server_has_typed_subsystems():
    from pyredis.persistence.manager import Persistence
    from pyredis.scripting.engine import Scripting
    from pyredis.server.acl_checks import Acl
    from pyredis.server.app import Server
    from pyredis.server.blocking import BlockingState
    from pyredis.server.events import Events
    from pyredis.server.eviction import Evictor
    from pyredis.server.monitor import Monitors
    from pyredis.server.pubsub import PubSub
    from pyredis.server.stats import Stats
    from pyredis.server.tracking import TrackingTable

    srv = Server()
    assert not hasattr(srv, "extensions")
    expected = {"events": Events, "stats": Stats, "pubsub": PubSub, "acl": Acl, "blocking": BlockingState,
                "tracking": TrackingTable, "monitor": Monitors, "eviction": Evictor, "scripting": Scripting,
                "persistence": Persistence}
    assert {k: type(getattr(srv, k)) for k in expected} == expected
