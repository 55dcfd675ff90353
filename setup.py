"""Build script: the optional Cython accelerators (everything else is in pyproject.toml).

Each name in EXTENSIONS is a module ``pyredis/<path>.pyx`` compiled when Cython and a C compiler are
available. Without them (or with PYREDIS_NO_EXTENSIONS=1 at build time) the package installs as pure
Python, printing one notice; a failed compile degrades the same way.
"""

from __future__ import annotations

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

# Dotted module names; the source of "pyredis._speedups._hotpath" is src/pyredis/_speedups/_hotpath.pyx.
EXTENSIONS = [
    "pyredis._speedups._hotpath",
    "pyredis.persistence._rdbfast",  # RDB codecs (CRC64, LZF, listpacks, records); see persistence/accel.py
]


_noticed: list[str] = []


def _notice(why: str) -> None:
    if _noticed:  # one line: the first reason
        return
    _noticed.append(why)
    print(f"pyredis: compiled accelerator not built ({why}); its pure-Python code is used instead",
          file=sys.stderr)


class OptionalBuildExt(build_ext):
    """build_ext that turns a compile failure into the pure-Python install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as e:  # noqa: BLE001 - no compiler, missing headers...
            _notice(f"build failed: {e}")

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception as e:  # noqa: BLE001
            _notice(f"{ext.name} failed to compile: {str(e)[:200]}")


def ext_modules() -> list:
    if os.environ.get("PYREDIS_NO_EXTENSIONS", "") not in ("", "0"):
        _notice("PYREDIS_NO_EXTENSIONS is set")
        return []
    try:
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError:
        _notice("Cython is not installed")
        return []
    exts = [Extension(name, ["src/" + name.replace(".", "/") + ".pyx"], extra_compile_args=["-O2"])
            for name in EXTENSIONS]
    try:
        return cythonize(exts, compiler_directives={"language_level": "3"}, quiet=True)
    except Exception as e:  # noqa: BLE001
        _notice(f"Cython failed: {e}")
        return []


setup(ext_modules=ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
