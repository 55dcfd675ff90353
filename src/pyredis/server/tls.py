"""TLS: SSL contexts built from the ``tls-*`` directives the way redis-server builds them.

:class:`TLS` is the server's TLS subsystem (``server.tls``). It owns the server-side context used by
the ``tls-port`` listener and the client-side context used for outgoing replication and cluster links
(``tls-replication`` / ``tls-cluster``). A reconfiguration builds complete new contexts first and
swaps them in only when everything loaded, so a bad ``CONFIG SET tls-cert-file`` leaves the running
contexts untouched (as Redis's ``tlsConfigure`` does); connections already open keep their session.

Python's ``ssl`` module has no API for a few OpenSSL settings Redis uses (TLS 1.3 ciphersuites and the
server session cache); :mod:`pyredis.server.tls_native` applies them through the same libssl (imported
when a context is built: it loads ctypes, ~0.4 MB of RSS a server without TLS does not need).
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyredis.server.config import Config

log = logging.getLogger("pyredis")

#: Directives whose change rebuilds the contexts (Redis's applyTlsCfg).
TLS_CONTEXT_DIRECTIVES = (
    "tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-client-cert-file", "tls-client-key-file",
    "tls-client-key-file-pass", "tls-dh-params-file", "tls-ca-cert-file", "tls-ca-cert-dir", "tls-protocols",
    "tls-ciphers", "tls-ciphersuites", "tls-prefer-server-ciphers", "tls-session-caching",
    "tls-session-cache-size", "tls-session-cache-timeout", "tls-cluster", "tls-replication",
)
UPDATE_FAILED = "Unable to update TLS configuration. Check server logs."

_PROTOCOLS = {"tlsv1": ssl.TLSVersion.TLSv1, "tlsv1.1": ssl.TLSVersion.TLSv1_1,
              "tlsv1.2": ssl.TLSVersion.TLSv1_2, "tlsv1.3": ssl.TLSVersion.TLSv1_3}
_ORDER = list(_PROTOCOLS.values())
_DEFAULT_PROTOCOLS = {ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3}
_AUTH_MODES = {"no": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "yes": ssl.CERT_REQUIRED}


class TLSConfigError(Exception):
    """The TLS settings cannot be applied; the reason was logged in Redis's words."""


def _fail(message: str) -> TLSConfigError:
    log.warning("%s", message)
    return TLSConfigError(message)


def _openssl_error(e: BaseException) -> str:
    """An OpenSSL-style error string (``error:...:PEM routines::no start line``) for a log line."""
    if isinstance(e, ssl.SSLError) and getattr(e, "library", None) and getattr(e, "reason", None):
        return f"error:{e.library} routines::{e.reason.lower().replace('_', ' ')}"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e)


def parse_protocols(value: str) -> set[ssl.TLSVersion]:
    """``tls-protocols`` ("TLSv1.2 TLSv1.3", case-insensitive); empty means TLSv1.2 and TLSv1.3."""
    if not value.strip():
        return set(_DEFAULT_PROTOCOLS)
    out = set()
    for word in value.split(" "):
        if not word:
            continue
        v = _PROTOCOLS.get(word.lower())
        if v is None:
            raise _fail("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' "
                        "and 'TLSv1.3'.")
        out.add(v)
    return out


def _set_protocols(ctx: ssl.SSLContext, protocols: set[ssl.TLSVersion]) -> None:
    enabled = [v for v in _ORDER if v in protocols]
    with warnings.catch_warnings():  # old protocol versions are deprecated in Python, not in Redis
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = enabled[0]
        ctx.maximum_version = enabled[-1]
        # A set with holes ("TLSv1 TLSv1.2") disables the versions in between, as Redis's OP_NO_* do.
        holes = {ssl.TLSVersion.TLSv1_1: ssl.OP_NO_TLSv1_1, ssl.TLSVersion.TLSv1_2: ssl.OP_NO_TLSv1_2}
        for v, op in holes.items():
            if enabled[0] < v < enabled[-1] and v not in protocols:
                ctx.options |= op
        if ssl.TLSVersion.TLSv1 in protocols or ssl.TLSVersion.TLSv1_1 in protocols:
            with contextlib.suppress(ssl.SSLError):  # OpenSSL 3's level 1 refuses TLS < 1.2 outright
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")


def _load_identity(ctx: ssl.SSLContext, cert: str, key: str, password: str) -> None:
    """The certificate chain then the private key, each failure logged as Redis logs it."""
    try:
        with open(cert, "rb") as f:
            pem = f.read()
        if b"-----BEGIN CERTIFICATE-----" not in pem:
            raise ssl.SSLError(9, "no start line")
        block = pem.split(b"-----BEGIN CERTIFICATE-----", 1)[1].split(b"-----END CERTIFICATE-----", 1)[0]
        ssl.PEM_cert_to_DER_cert("-----BEGIN CERTIFICATE-----" + block.decode("ascii", "replace")
                                 + "-----END CERTIFICATE-----")
    except (OSError, ValueError) as e:
        if isinstance(e, ssl.SSLError) and not getattr(e, "library", None):
            raise _fail(f"Failed to load certificate: {cert}: error:PEM routines::no start line") from None
        raise _fail(f"Failed to load certificate: {cert}: {_openssl_error(e)}") from None
    try:
        ctx.load_cert_chain(cert, key, password=password or None)
    except (OSError, ValueError) as e:
        raise _fail(f"Failed to load private key: {key}: {_openssl_error(e)}") from None


def _base_context(cfg: Config, protocols: set[ssl.TLSVersion], client: bool) -> ssl.SSLContext:
    """What is common to the server and the client context (Redis's createSSLContext)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT if client else ssl.PROTOCOL_TLS_SERVER)
    if client:
        ctx.check_hostname = False  # Redis verifies the peer's chain, not its name
    ctx.options |= ssl.OP_NO_COMPRESSION
    _set_protocols(ctx, protocols)
    ctx.verify_mode = ssl.CERT_REQUIRED
    if client and cfg["tls-client-cert-file"] and cfg["tls-client-key-file"]:
        _load_identity(ctx, cfg["tls-client-cert-file"], cfg["tls-client-key-file"],
                       cfg["tls-client-key-file-pass"])
    else:
        _load_identity(ctx, cfg["tls-cert-file"], cfg["tls-key-file"], cfg["tls-key-file-pass"])
    cafile, cadir = cfg["tls-ca-cert-file"] or None, cfg["tls-ca-cert-dir"] or None
    if cafile or cadir:
        try:
            ctx.load_verify_locations(cafile=cafile, capath=cadir)
        except (OSError, ValueError) as e:
            raise _fail(f"Failed to configure CA certificate(s) file/directory: {_openssl_error(e)}") from None
    if cfg["tls-ciphers"]:
        try:
            ctx.set_ciphers(cfg["tls-ciphers"])
        except ssl.SSLError:
            raise _fail(f"Failed to configure ciphers: {cfg['tls-ciphers']}") from None
    elif not protocols & {ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1}:
        ctx.set_ciphers("DEFAULT")  # OpenSSL's own list, as Redis has (Python's is narrower: no RSA kx)
    from pyredis.server import tls_native

    if cfg["tls-ciphersuites"] and not tls_native.set_ciphersuites(ctx, cfg["tls-ciphersuites"]):
        raise _fail(f"Failed to configure ciphersuites: {cfg['tls-ciphersuites']}")
    return ctx


def build_contexts(cfg: Config) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """``(server_context, client_context)`` for the current ``tls-*`` values (Redis's tlsConfigure)."""
    if not cfg["tls-cert-file"]:
        raise _fail("No tls-cert-file configured!")
    if not cfg["tls-key-file"]:
        raise _fail("No tls-key-file configured!")
    if ((cfg["tls-auth-clients"] != "no" or cfg["tls-cluster"] or cfg["tls-replication"])
            and not cfg["tls-ca-cert-file"] and not cfg["tls-ca-cert-dir"]):
        raise _fail("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, "
                    "tls-replication or tls-auth-clients are enabled!")
    protocols = parse_protocols(cfg["tls-protocols"])
    ctx = _base_context(cfg, protocols, client=False)
    from pyredis.server import tls_native

    tls_native.configure_session_cache(ctx, cfg["tls-session-caching"], cfg["tls-session-cache-size"],
                                       cfg["tls-session-cache-timeout"])
    ctx.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_SINGLE_DH_USE
    if cfg["tls-prefer-server-ciphers"]:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:  # Python's server contexts prefer the server's order by default; OpenSSL's (and Redis's) do not
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    dh = cfg["tls-dh-params-file"]
    if dh:
        try:
            with open(dh, "rb"):
                pass
        except OSError as e:
            raise _fail(f"Failed to load {dh}: {e.strerror}") from None
        try:
            ctx.load_dh_params(dh)
        except (OSError, ValueError):
            raise _fail(f"{dh}: failed to read DH params.") from None
    ctx.verify_mode = _AUTH_MODES.get(cfg["tls-auth-clients"], ssl.CERT_REQUIRED)
    return ctx, _base_context(cfg, protocols, client=True)


class TLS:
    """The server's TLS contexts, rebuilt atomically when a ``tls-*`` directive changes."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.server_context: ssl.SSLContext | None = None
        self.client_context: ssl.SSLContext | None = None
        self.reconfigured: list[Callable[[], None]] = []  # run after new contexts were swapped in

    @property
    def wanted(self) -> bool:
        """TLS is in use: a TLS port, or TLS replication / cluster links."""
        cfg = self.config
        return bool(cfg["tls-port"] or cfg["tls-replication"] or cfg["tls-cluster"])

    def configure(self) -> None:
        """Build and swap in new contexts; raises :class:`TLSConfigError` and keeps the old ones."""
        self.server_context, self.client_context = build_contexts(self.config)
        for fn in self.reconfigured:
            fn()

    def apply(self) -> None:
        """After a CONFIG SET of a context directive: reconfigure when TLS is in use."""
        if self.wanted:
            self._configure_for_config_set()

    def ensure(self) -> None:
        """Before listening on a new ``tls-port``: configure once if nothing is configured yet."""
        if self.server_context is None:
            self._configure_for_config_set()

    def _configure_for_config_set(self) -> None:
        from pyredis.server.config import ConfigError

        try:
            self.configure()
        except TLSConfigError:
            raise ConfigError(UPDATE_FAILED) from None

    def set_auth_clients(self, mode: str) -> None:
        """``tls-auth-clients`` is read per new connection in Redis: it applies to the next handshake."""
        if self.server_context is not None:
            self.server_context.verify_mode = _AUTH_MODES.get(mode, ssl.CERT_REQUIRED)

    def outgoing_context(self, purpose: str) -> ssl.SSLContext | None:
        """The client context for an outgoing link when ``tls-<purpose>`` (replication, cluster) is on."""
        if not self.config[f"tls-{purpose}"]:
            return None
        if self.client_context is None:
            self.configure()
        return self.client_context

    def register(self) -> None:
        """Hook the directives into the configuration: contexts are rebuilt once per CONFIG SET."""
        for name in TLS_CONTEXT_DIRECTIVES:
            self.config.on_apply(name, self.apply)
        self.config.on_change("tls-auth-clients", self.set_auth_clients)

