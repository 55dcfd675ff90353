"""pyredis: a Redis-compatible data-structure server in Python, plus Pythonic collections."""

__version__ = "7.0.15"
REDIS_VERSION = "7.0.15"

__all__ = ["__version__", "REDIS_VERSION", "embedded", "EmbeddedServer"]


def __getattr__(name: str):
    if name in ("embedded", "EmbeddedServer"):
        import importlib

        module = importlib.import_module("pyredis.embedded")  # callable module: pyredis.embedded()
        return module if name == "embedded" else module.EmbeddedServer
    raise AttributeError(name)
