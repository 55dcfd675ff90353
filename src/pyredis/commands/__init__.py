"""Command families, one module each; importing a module registers its commands.

Commands are thin: parse arguments, call a server subsystem (``c.server.<name>``) or the engine,
return a reply. Server machinery lives in ``pyredis.server`` (composed in ``Server.__init__``).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

_loaded: list[ModuleType] = []


def load_all() -> list[ModuleType]:
    """Import every command module once (registration happens at import)."""
    if not _loaded:
        for name in _module_names():
            if name in ("registry", "errors", "args") or name.startswith("_"):
                continue
            _loaded.append(importlib.import_module(f"{__name__}.{name}"))
    return _loaded


def _module_names() -> list[str]:
    """The package's modules and subpackages, sorted (what ``pkgutil.iter_modules`` lists for a
    directory, without importing pkgutil: ~60 KB of start-up RSS)."""
    names = set()
    for folder in __path__:
        for entry in os.listdir(folder):
            path = os.path.join(folder, entry)
            if entry.endswith(".py") and entry != "__init__.py":
                names.add(entry[:-3])
            elif "." not in entry and os.path.isfile(os.path.join(path, "__init__.py")):
                names.add(entry)
    return sorted(names)
