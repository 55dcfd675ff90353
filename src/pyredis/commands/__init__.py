"""Command families, one module each; importing a module registers its commands.

A module may define ``setup(server)``, called once per :class:`~pyredis.server.app.Server` to install
state or hooks the family needs (pub/sub registry, blocking machinery, persistence...).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Any

_loaded: list[ModuleType] = []


def load_all() -> list[ModuleType]:
    """Import every command module once (registration happens at import)."""
    if not _loaded:
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
            if info.name in ("registry", "errors", "args") or info.name.startswith("_"):
                continue
            _loaded.append(importlib.import_module(f"{__name__}.{info.name}"))
    return _loaded


def setup_server(server: Any) -> None:
    """Run each command module's ``setup(server)`` hook."""
    for mod in load_all():
        fn = getattr(mod, "setup", None)
        if fn is not None:
            fn(server)
