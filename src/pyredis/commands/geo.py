"""Geo commands (geo.c): GEOADD, GEOPOS, GEODIST, GEOHASH, GEORADIUS*, GEOSEARCH[STORE].

Points live in sorted sets whose scores are 52-bit geohashes (:mod:`pyredis.engine.geohash`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyredis.commands.args import get_int
from pyredis.commands.errors import NOT_FLOAT, CommandError, syntax_error
from pyredis.commands.registry import command
from pyredis.commands.zsets import get_zset_read, store_zset, zadd_generic
from pyredis.engine import notify
from pyredis.engine.zset import ZSetValue, parse_score
from pyredis.protocol.types import NULL_ARRAY, Raw

if TYPE_CHECKING:
    from pyredis.engine import geohash as gh
# The handlers import pyredis.engine.geohash where they use it: loaded at the first GEO* command.

GENERIC = notify.GENERIC

_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}


def _unit(b: bytes) -> float:
    u = _UNITS.get(b.lower())
    if u is None:
        raise CommandError("ERR unsupported unit provided. please use M, KM, FT, MI")
    return u


def _double(b: bytes, msg: str = NOT_FLOAT) -> float:
    v = parse_score(b)
    if v is None:
        raise CommandError(msg)
    return v


def _lonlat(blon: bytes, blat: bytes) -> tuple[float, float]:
    from pyredis.engine import geohash as gh

    lon = _double(blon)
    lat = _double(blat)
    if not gh.valid_lonlat(lon, lat):
        raise CommandError("ERR invalid longitude,latitude pair %f,%f" % (lon, lat))
    return lon, lat


def _human(v: float) -> bytes:
    """``addReplyHumanLongDouble``: 17 decimals, trailing zeros removed."""
    s = b"%.17f" % v
    if b"." in s:
        s = s.rstrip(b"0").rstrip(b".")
    if s == b"-0":
        s = b"0"
    return s


def _coord(c, v: float):
    """A coordinate: RESP2 bulk string, RESP3 double, both with human formatting."""
    s = _human(v)
    if c.resp == 2:
        return s
    return Raw(b",%s\r\n" % s)


def _dist(v: float) -> bytes:
    return b"%.4f" % v


# -- GEOADD -------------------------------------------------------------------------------------
@command("geoadd", -5, "write denyoom", 1, 1, 1)
def cmd_geoadd(c, argv):
    from pyredis.engine import geohash as gh

    i = 2
    n = len(argv)
    xx = nx = False
    while i < n:
        o = argv[i].lower()
        if o == b"nx":
            nx = True
        elif o == b"xx":
            xx = True
        elif o != b"ch":
            break
        i += 1
    if (n - i) % 3 or (xx and nx):
        raise syntax_error()
    zargv = [b"zadd", *argv[1:i]]
    scores: list[float] = []
    encode = gh.encode
    for j in range(i, n, 3):
        lon, lat = _lonlat(argv[j], argv[j + 1])
        bits = encode(lon, lat)
        scores.append(float(bits))
        zargv.append(b"%d" % bits)
        zargv.append(argv[j + 2])
    c.repl = [zargv]
    return zadd_generic(c, zargv, False, scores)


# -- GEOPOS / GEODIST / GEOHASH -------------------------------------------------------------------
@command("geopos", -2, "readonly", 1, 1, 1)
def cmd_geopos(c, argv):
    from pyredis.engine import geohash as gh

    zs = get_zset_read(c, argv[1])
    out: list = []
    for m in argv[2:]:
        s = zs.d.get(m) if zs is not None else None
        if s is None:
            out.append(NULL_ARRAY)
        else:
            lon, lat = gh.decode_score(s)
            out.append([_coord(c, lon), _coord(c, lat)])
    return out


@command("geodist", -4, "readonly", 1, 1, 1)
def cmd_geodist(c, argv):
    from pyredis.engine import geohash as gh

    to_meter = 1.0
    if len(argv) == 5:
        to_meter = _unit(argv[4])
    elif len(argv) > 5:
        raise syntax_error()
    zs = get_zset_read(c, argv[1])
    if zs is None:
        return None
    s1 = zs.d.get(argv[2])
    s2 = zs.d.get(argv[3])
    if s1 is None or s2 is None:
        return None
    lon1, lat1 = gh.decode_score(s1)
    lon2, lat2 = gh.decode_score(s2)
    return _dist(gh.distance(lon1, lat1, lon2, lat2) / to_meter)


@command("geohash", -2, "readonly", 1, 1, 1)
def cmd_geohash(c, argv):
    from pyredis.engine import geohash as gh

    zs = get_zset_read(c, argv[1])
    out: list = []
    for m in argv[2:]:
        s = zs.d.get(m) if zs is not None else None
        out.append(None if s is None else gh.geohash_string(s))
    return out


# -- searches ---------------------------------------------------------------------------------------
RADIUS_COORDS, RADIUS_MEMBER, GEOSEARCH, GEOSEARCHSTORE, NOSTORE = 1, 2, 4, 8, 16


def _member_pos(zs: ZSetValue, member: bytes) -> tuple[float, float]:
    from pyredis.engine import geohash as gh

    s = zs.d.get(member)
    if s is None:
        raise CommandError("ERR could not decode requested zset member")
    return gh.decode_score(s)


def _distance_arg(shape: gh.Shape, argv: list[bytes], i: int) -> None:
    r = _double(argv[i], "ERR need numeric radius")
    if r < 0:
        raise CommandError("ERR radius cannot be negative")
    shape.radius = r
    shape.conversion = _unit(argv[i + 1])


def _box_arg(shape: gh.Shape, argv: list[bytes], i: int) -> None:
    w = _double(argv[i], "ERR need numeric width")
    h = _double(argv[i + 1], "ERR need numeric height")
    if h < 0 or w < 0:
        raise CommandError("ERR height or width cannot be negative")
    shape.width, shape.height = w, h
    shape.conversion = _unit(argv[i + 2])
    shape.box = True


def _geo_search(c, argv: list[bytes], src_idx: int, flags: int):
    from pyredis.engine import geohash as gh

    zs = get_zset_read(c, argv[src_idx])
    shape = gh.Shape()
    if flags & RADIUS_COORDS:
        base = 6
        shape.lon, shape.lat = _lonlat(argv[2], argv[3])
        _distance_arg(shape, argv, 4)
    elif flags & RADIUS_MEMBER:
        base = 5
        if zs is not None:
            shape.lon, shape.lat = _member_pos(zs, argv[2])
            _distance_arg(shape, argv, 3)
    else:
        base = 3 if flags & GEOSEARCHSTORE else 2
    withdist = withhash = withcoord = False
    frommember = fromloc = byradius = bybox = False
    sort = 0  # 0 none, 1 asc, -1 desc
    any_ = False
    count = 0
    storekey: bytes | None = argv[1] if flags & GEOSEARCHSTORE else None
    storedist = False
    n = len(argv)
    i = base
    while i < n:
        a = argv[i].lower()
        left = n - i - 1
        if a == b"withdist":
            withdist = True
        elif a == b"withhash":
            withhash = True
        elif a == b"withcoord":
            withcoord = True
        elif a == b"any":
            any_ = True
        elif a == b"asc":
            sort = 1
        elif a == b"desc":
            sort = -1
        elif a == b"count" and left >= 1:
            v = get_int(argv[i + 1])
            if v <= 0:
                raise CommandError("ERR COUNT must be > 0")
            count = v
            i += 1
        elif a in (b"store", b"storedist") and left >= 1 and not flags & (NOSTORE | GEOSEARCH):
            storekey = argv[i + 1]
            storedist = a == b"storedist"
            i += 1
        elif a == b"storedist" and flags & GEOSEARCHSTORE:
            storedist = True
        elif a == b"frommember" and flags & GEOSEARCH and left >= 1 and not fromloc:
            if zs is not None:
                shape.lon, shape.lat = _member_pos(zs, argv[i + 1])
            frommember = True
            i += 1
        elif a == b"fromlonlat" and flags & GEOSEARCH and left >= 2 and not frommember:
            shape.lon, shape.lat = _lonlat(argv[i + 1], argv[i + 2])
            fromloc = True
            i += 2
        elif a == b"byradius" and flags & GEOSEARCH and left >= 2 and not bybox:
            _distance_arg(shape, argv, i + 1)
            shape.box = False
            byradius = True
            i += 2
        elif a == b"bybox" and flags & GEOSEARCH and left >= 3 and not byradius:
            _box_arg(shape, argv, i + 1)
            bybox = True
            i += 3
        else:
            raise syntax_error()
        i += 1
    if storekey is not None and (withdist or withhash or withcoord):
        what = "GEOSEARCHSTORE" if flags & GEOSEARCHSTORE else "STORE option in GEORADIUS"
        raise CommandError(f"ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    name = argv[0].decode("utf-8", "surrogateescape")
    if flags & GEOSEARCH and not (frommember or fromloc):
        raise CommandError(f"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}")
    if flags & GEOSEARCH and not (byradius or bybox):
        raise CommandError(f"ERR exactly one of BYRADIUS and BYBOX can be specified for {name}")
    if any_ and not count:
        raise CommandError("ERR the ANY argument requires COUNT argument")
    if zs is None:
        if storekey is not None:
            if c.db.delete(storekey):
                c.changed(storekey, GENERIC, b"del")
            return 0
        return []
    if count and not sort and not any_:
        sort = 1
    limit = count if any_ else 0
    found: list[tuple[float, float, float, float, bytes]] = []  # dist, score, lon, lat, member
    sl = zs.sl
    contains = shape.contains
    for lo, hi in gh.search_boxes(shape):
        if limit and len(found) >= limit:
            break
        start = sl.bisect_left((lo, b""))
        stop = sl.bisect_left((hi, b""))
        for score, member in sl.islice(start, stop):
            lon, lat = gh.decode_score(score)
            d = contains(lon, lat)
            if d is not None:
                found.append((d, score, lon, lat, member))
                if limit and len(found) >= limit:
                    break
    if not found and storekey is None:
        return []
    if sort:
        found.sort(key=lambda p: p[0], reverse=sort < 0)
    if count:
        found = found[:count]
    conv = shape.conversion
    if storekey is not None:
        if storedist:
            pairs = [(p[4], p[0] / conv) for p in found]
        else:
            pairs = [(p[4], p[1]) for p in found]
        stored = store_zset(c, storekey, pairs, b"geosearchstore" if flags & GEOSEARCH else b"georadiusstore")
        c.server.dirty += max(stored - 1, 0)
        return stored
    if not (withdist or withhash or withcoord):
        return [p[4] for p in found]
    out = []
    for d, score, lon, lat, member in found:
        item: list = [member]
        if withdist:
            item.append(_dist(d / conv))
        if withhash:
            item.append(int(score))
        if withcoord:
            item.append([_coord(c, lon), _coord(c, lat)])
        out.append(item)
    return out


@command("georadius", -6, "write denyoom movablekeys", 1, 1, 1)
def cmd_georadius(c, argv):
    return _geo_search(c, argv, 1, RADIUS_COORDS)


@command("georadius_ro", -6, "readonly", 1, 1, 1)
def cmd_georadius_ro(c, argv):
    return _geo_search(c, argv, 1, RADIUS_COORDS | NOSTORE)


@command("georadiusbymember", -5, "write denyoom movablekeys", 1, 1, 1)
def cmd_georadiusbymember(c, argv):
    return _geo_search(c, argv, 1, RADIUS_MEMBER)


@command("georadiusbymember_ro", -5, "readonly", 1, 1, 1)
def cmd_georadiusbymember_ro(c, argv):
    return _geo_search(c, argv, 1, RADIUS_MEMBER | NOSTORE)


@command("geosearch", -7, "readonly", 1, 1, 1)
def cmd_geosearch(c, argv):
    return _geo_search(c, argv, 1, GEOSEARCH)


@command("geosearchstore", -8, "write denyoom", 1, 2, 1)
def cmd_geosearchstore(c, argv):
    return _geo_search(c, argv, 2, GEOSEARCH | GEOSEARCHSTORE)
