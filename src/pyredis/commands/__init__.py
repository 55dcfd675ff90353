"""Command families, one module each; importing a module registers its commands.

Commands are thin: parse arguments, call a server subsystem (``c.server.<name>``) or the engine,
return a reply. Server machinery lives in ``pyredis.server`` (composed in ``Server.__init__``).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

_loaded: list[ModuleType] = []


def load_all() -> list[ModuleType]:
    """Import every command module once (registration happens at import)."""
    if not _loaded:
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
            if info.name in ("registry", "errors", "args") or info.name.startswith("_"):
                continue
            _loaded.append(importlib.import_module(f"{__name__}.{info.name}"))
    return _loaded
