"""Client-side caching commands (tracking.c): CLIENT TRACKING, CLIENT CACHING, CLIENT GETREDIR,
CLIENT TRACKINGINFO. The tracking table and invalidation messages are :mod:`pyredis.server.tracking`.
"""

from __future__ import annotations

from pyredis.commands.errors import CommandError, syntax_error
from pyredis.commands.registry import subcommand
from pyredis.protocol.numbers import parse_ll
from pyredis.protocol.types import OK, MapReply, SetReply
from pyredis.server.tracking import Tracking


def _check_prefixes(new: list[bytes], existing: list[bytes]) -> None:
    for i, p in enumerate(new):
        for q in existing:
            if p.startswith(q) or q.startswith(p):
                raise CommandError("ERR Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for a "
                                   "single client must not overlap." % (_s(p), _s(q)))
        for j, q in enumerate(new):
            if j != i and (p.startswith(q) or q.startswith(p)):
                raise CommandError("ERR Prefix '%s' overlaps with another provided prefix '%s'. Prefixes for a "
                                   "single client must not overlap." % (_s(p), _s(q)))


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


@subcommand("client", "tracking", -3, "noscript loading stale")
def cmd_client_tracking(c, argv):
    onoff = argv[2].lower()
    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes: list[bytes] = []
    i = 3
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        more = n - i - 1
        if opt == b"redirect" and more >= 1:
            if redirect:
                raise CommandError("ERR A client can only redirect to a single other client")
            v = parse_ll(argv[i + 1])
            if v is None:
                raise CommandError("ERR value is not an integer or out of range")
            redirect = v
            if c.server.clients.get(v) is None:
                raise CommandError("ERR The client ID you want redirect to does not exist")
            i += 2
        elif opt == b"bcast":
            bcast = True
            i += 1
        elif opt == b"optin":
            optin = True
            i += 1
        elif opt == b"optout":
            optout = True
            i += 1
        elif opt == b"noloop":
            noloop = True
            i += 1
        elif opt == b"prefix" and more >= 1:
            prefixes.append(argv[i + 1])
            i += 2
        else:
            raise syntax_error()
    tt = c.server.tracking
    if onoff == b"on":
        t = c.tracking
        if t is not None and t.bcast != bcast:
            raise CommandError("ERR You can't switch BCAST mode on/off before disabling tracking for this "
                               "client, and then re-enabling it with a different mode.")
        if optin and optout:
            raise CommandError("ERR You can't specify both OPTIN mode and OPTOUT mode")
        if t is not None and ((optin and t.optout) or (optout and t.optin)):
            raise CommandError("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this "
                               "client, and then re-enabling it with a different mode.")
        if bcast and (optin or optout):
            raise CommandError("ERR OPTIN and OPTOUT are not compatible with BCAST")
        if prefixes and not bcast:
            raise CommandError("ERR PREFIX option requires BCAST mode to be enabled")
        if bcast:
            _check_prefixes(prefixes, t.prefixes if t is not None else [])
        if t is None:
            t = Tracking()
            t.bcast = bcast
            t.optin = optin
            t.optout = optout
            t.noloop = noloop
            t.redirect = redirect
            if bcast:
                t.prefixes = list(dict.fromkeys(prefixes)) or [b""]
            tt.enable(c, t)
        else:
            t.noloop = noloop
            t.optin = t.optin or optin
            t.optout = t.optout or optout
            t.redirect = redirect
            t.broken = False
            if bcast:
                tt.add_prefixes(c, prefixes or [b""])
        return OK
    if onoff == b"off":
        tt.disable(c)
        return OK
    raise syntax_error()


@subcommand("client", "caching", 3, "noscript loading stale")
def cmd_client_caching(c, argv):
    t = c.tracking
    if t is None or not (t.optin or t.optout):
        raise CommandError("ERR CLIENT CACHING can be called only when the client is in tracking mode with "
                           "OPTIN or OPTOUT mode enabled")
    v = argv[2].lower()
    if v == b"yes":
        if not t.optin:
            raise CommandError("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
        t.caching = True
    elif v == b"no":
        if not t.optout:
            raise CommandError("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
        t.caching = False
    else:
        raise syntax_error()
    return OK


@subcommand("client", "getredir", 2, "noscript loading stale")
def cmd_client_getredir(c, argv):
    t = c.tracking
    if t is None:
        return -1
    return t.redirect


@subcommand("client", "trackinginfo", 2, "noscript loading stale")
def cmd_client_trackinginfo(c, argv):
    t = c.tracking
    flags: list[bytes] = []
    if t is None:
        flags.append(b"off")
        return MapReply([b"flags", SetReply(flags), b"redirect", -1, b"prefixes", []])
    flags.append(b"on")
    if t.bcast:
        flags.append(b"bcast")
    if t.optin:
        flags.append(b"optin")
        if t.caching is True:
            flags.append(b"caching-yes")
    if t.optout:
        flags.append(b"optout")
        if t.caching is False:
            flags.append(b"caching-no")
    if t.noloop:
        flags.append(b"noloop")
    if t.broken:
        flags.append(b"broken_redirect")
    return MapReply([b"flags", SetReply(flags), b"redirect", t.redirect, b"prefixes", sorted(t.prefixes)])
