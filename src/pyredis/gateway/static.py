"""The console's static files (package data under ``gateway/static``) as HTTP responses."""

from __future__ import annotations

import email.utils
from importlib import resources

from websockets.datastructures import Headers
from websockets.http11 import Response

_TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
    ".ico": "image/x-icon", ".json": "application/json",
}
_CSP = ("default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'")
_cache: dict[str, bytes | None] = {}


def _load(name: str) -> bytes | None:
    if name not in _cache:
        try:
            _cache[name] = resources.files("pyredis.gateway").joinpath("static", name).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            _cache[name] = None
    return _cache[name]


def _response(status: int, phrase: str, body: bytes, ctype: str) -> Response:
    headers = Headers([
        ("Date", email.utils.formatdate(usegmt=True)), ("Connection", "close"),
        ("Content-Length", str(len(body))), ("Content-Type", ctype), ("Cache-Control", "no-cache"),
        ("X-Content-Type-Options", "nosniff"), ("Content-Security-Policy", _CSP),
    ])
    return Response(status, phrase, headers, body)


def response(path: str) -> Response:
    """The response for a GET of *path* (``/`` is the console)."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    name = "index.html" if path in ("", "/") else path.lstrip("/")
    if "/" in name or name.startswith(".") or "\\" in name:
        return _response(404, "Not Found", b"not found\n", "text/plain; charset=utf-8")
    body = _load(name)
    if body is None:
        return _response(404, "Not Found", b"not found\n", "text/plain; charset=utf-8")
    ext = name[name.rfind("."):] if "." in name else ""
    return _response(200, "OK", body, _TYPES.get(ext, "application/octet-stream"))
