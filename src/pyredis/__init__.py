"""pyredis: a Redis-compatible data-structure server in Python, plus Pythonic collections."""

__version__ = "7.0.15"
REDIS_VERSION = "7.0.15"

__all__ = ["__version__", "REDIS_VERSION", "embedded", "EmbeddedServer"]


def __getattr__(name: str):
    if name in ("embedded", "EmbeddedServer"):
        from pyredis import embedded as _embedded

        return getattr(_embedded, name)
    raise AttributeError(name)
