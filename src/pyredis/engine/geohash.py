"""Geohash arithmetic compatible with Redis's GEO commands.

Coordinates are encoded as 52-bit interleaved geohashes (26 bits of latitude on even bit positions,
26 bits of longitude on odd ones) over the Web Mercator latitude range, and stored as sorted set
scores. Searches cover the query shape with the geohash cell of the centre plus its 8 neighbours
at a step chosen from the radius, then filter members by exact distance, so results (and their
order of discovery) match redis-server's.
"""

from __future__ import annotations

from math import asin, cos, pi, sin, sqrt

GEO_STEP_MAX = 26
GEO_LAT_MIN = -85.05112878
GEO_LAT_MAX = 85.05112878
GEO_LONG_MIN = -180.0
GEO_LONG_MAX = 180.0
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37
D_R = pi / 180.0

_EVEN = 0x5555555555555555
_ODD = 0xAAAAAAAAAAAAAAAA
_M64 = (1 << 64) - 1
BASE32 = b"0123456789bcdefghjkmnpqrstuvwxyz"


def deg_rad(ang: float) -> float:
    return ang * D_R


def rad_deg(ang: float) -> float:
    return ang / D_R


def _spread(v: int) -> int:
    """Spread the low 32 bits of *v* over the even bit positions of a 64-bit word."""
    v &= 0xFFFFFFFF
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    v = (v | (v << 1)) & 0x5555555555555555
    return v


def _squash(v: int) -> int:
    """Inverse of :func:`_spread`: collect the even bits of *v* into a 32-bit value."""
    v &= 0x5555555555555555
    v = (v | (v >> 1)) & 0x3333333333333333
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FF
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFF
    v = (v | (v >> 16)) & 0x00000000FFFFFFFF
    return v


def interleave(lat_bits: int, lon_bits: int) -> int:
    return _spread(lat_bits) | (_spread(lon_bits) << 1)


def encode(lon: float, lat: float, step: int = GEO_STEP_MAX, lat_min: float = GEO_LAT_MIN,
           lat_max: float = GEO_LAT_MAX) -> int:
    """Geohash bits of a point at *step* bits per coordinate (the caller validated ranges)."""
    lat_off = (lat - lat_min) / (lat_max - lat_min)
    lon_off = (lon - GEO_LONG_MIN) / (GEO_LONG_MAX - GEO_LONG_MIN)
    lat_off *= 1 << step
    lon_off *= 1 << step
    return interleave(int(lat_off), int(lon_off))


def valid_lonlat(lon: float, lat: float) -> bool:
    return GEO_LONG_MIN <= lon <= GEO_LONG_MAX and GEO_LAT_MIN <= lat <= GEO_LAT_MAX


Area = tuple[float, float, float, float]  # lon_min, lon_max, lat_min, lat_max


def decode_area(bits: int, step: int) -> Area:
    """The cell covered by a geohash."""
    ilat = _squash(bits)
    ilon = _squash(bits >> 1)
    lat_scale = GEO_LAT_MAX - GEO_LAT_MIN
    lon_scale = GEO_LONG_MAX - GEO_LONG_MIN
    div = float(1 << step)
    return (
        GEO_LONG_MIN + (ilon / div) * lon_scale,
        GEO_LONG_MIN + ((ilon + 1) / div) * lon_scale,
        GEO_LAT_MIN + (ilat / div) * lat_scale,
        GEO_LAT_MIN + ((ilat + 1) / div) * lat_scale,
    )


def decode(bits: int, step: int = GEO_STEP_MAX) -> tuple[float, float]:
    """The centre ``(lon, lat)`` of a geohash cell, clamped to the valid ranges."""
    lo_min, lo_max, la_min, la_max = decode_area(bits, step)
    lon = (lo_min + lo_max) / 2
    if lon > GEO_LONG_MAX:
        lon = GEO_LONG_MAX
    if lon < GEO_LONG_MIN:
        lon = GEO_LONG_MIN
    lat = (la_min + la_max) / 2
    if lat > GEO_LAT_MAX:
        lat = GEO_LAT_MAX
    if lat < GEO_LAT_MIN:
        lat = GEO_LAT_MIN
    return lon, lat


def score_to_bits(score: float) -> int:
    """A sorted set score as geohash bits (the C ``(uint64_t)`` cast)."""
    if score != score or score < 0:
        return 0 if score != score else int(score) & _M64
    return int(score) & _M64 if score < 1.8446744073709552e19 else 0


def decode_score(score: float) -> tuple[float, float]:
    return decode(score_to_bits(score))


def geohash_string(score: float) -> bytes:
    """The standard 11-character geohash of a member (re-encoded over latitude +/-90)."""
    lon, lat = decode_score(score)
    bits = encode(lon, lat, GEO_STEP_MAX, -90.0, 90.0)
    out = bytearray(11)
    for i in range(11):
        idx = 0 if i == 10 else (bits >> (52 - (i + 1) * 5)) & 0x1F
        out[i] = BASE32[idx]
    return bytes(out)


# -- distances ------------------------------------------------------------------------------------
def lat_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS_IN_METERS * abs(deg_rad(lat2) - deg_rad(lat1))


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance in meters on Redis's earth sphere."""
    lon1r = deg_rad(lon1)
    lon2r = deg_rad(lon2)
    v = sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r = deg_rad(lat1)
    lat2r = deg_rad(lat2)
    u = sin((lat2r - lat1r) / 2)
    a = u * u + cos(lat1r) * cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS_IN_METERS * asin(sqrt(a))


# -- searches ---------------------------------------------------------------------------------------
class Shape:
    """A search area: a circle (``radius``) or a box (``width`` x ``height``) around (lon, lat).

    Sizes are in the request's unit; ``conversion`` turns them into meters.
    """

    __slots__ = ("lon", "lat", "radius", "width", "height", "conversion", "box")

    def __init__(self) -> None:
        self.lon = self.lat = 0.0
        self.radius = self.width = self.height = 0.0
        self.conversion = 1.0
        self.box = False

    def contains(self, lon: float, lat: float) -> float | None:
        """Distance in meters from the centre if (lon, lat) is inside, else None."""
        if self.box:
            conv = self.conversion
            if lat_distance(lat, self.lat) > self.height * conv / 2:
                return None
            if distance(lon, lat, self.lon, lat) > self.width * conv / 2:
                return None
        d = distance(self.lon, self.lat, lon, lat)
        if not self.box and d > self.radius * self.conversion:
            return None
        return d


def estimate_steps(range_meters: float, lat: float) -> int:
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    if step < 1:
        step = 1
    if step > 26:
        step = 26
    return step


def bounding_box(s: Shape) -> tuple[float, float, float, float]:
    """``(min_lon, min_lat, max_lon, max_lat)`` around the shape."""
    conv = s.conversion
    if s.box:
        height = conv * (s.height / 2)
        width = conv * (s.width / 2)
    else:
        height = width = conv * s.radius
    lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS)
    long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / cos(deg_rad(s.lat + lat_delta)))
    long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / cos(deg_rad(s.lat - lat_delta)))
    south = s.lat < 0
    min_lon = s.lon - long_delta_bottom if south else s.lon - long_delta_top
    max_lon = s.lon + long_delta_bottom if south else s.lon + long_delta_top
    return min_lon, s.lat - lat_delta, max_lon, s.lat + lat_delta


def _move(bits: int, step: int, dx: int, dy: int) -> int:
    shift = 64 - step * 2
    if dx:
        x = bits & _ODD
        y = bits & _EVEN
        zz = _EVEN >> shift
        if dx > 0:
            x = x + (zz + 1)
        else:
            x = (x | zz) - (zz + 1)
        x &= _ODD >> shift
        bits = x | y
    if dy:
        x = bits & _ODD
        y = bits & _EVEN
        zz = _ODD >> shift
        if dy > 0:
            y = y + (zz + 1)
        else:
            y = (y | zz) - (zz + 1)
        y &= _EVEN >> shift
        bits = x | y
    return bits


# Neighbour order used by Redis when scanning: centre, N, S, E, W, NE, NW, SE, SW.
_DIRS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))


def search_boxes(s: Shape) -> list[tuple[float, float]]:
    """Score intervals ``[min, max)`` to scan for the shape, in Redis's order (duplicates removed)."""
    min_lon, min_lat, max_lon, max_lat = bounding_box(s)
    conv = s.conversion
    if s.box:
        radius_m = sqrt((s.width / 2) * (s.width / 2) + (s.height / 2) * (s.height / 2)) * conv
    else:
        radius_m = s.radius * conv
    steps = estimate_steps(radius_m, s.lat)
    hb = encode(s.lon, s.lat, steps)
    nbrs = [_move(hb, steps, dx, dy) for dx, dy in _DIRS]
    north = decode_area(nbrs[0], steps)
    south = decode_area(nbrs[1], steps)
    east = decode_area(nbrs[2], steps)
    west = decode_area(nbrs[3], steps)
    if steps > 1 and (north[3] < max_lat or south[2] > min_lat or east[1] < max_lon or west[0] > min_lon):
        steps -= 1
        hb = encode(s.lon, s.lat, steps)
        nbrs = [_move(hb, steps, dx, dy) for dx, dy in _DIRS]
    area = decode_area(hb, steps)
    keep = [True] * 8
    if steps >= 2:
        if area[2] < min_lat:  # south, south-west, south-east
            keep[1] = keep[7] = keep[6] = False
        if area[3] > max_lat:  # north, north-east, north-west
            keep[0] = keep[4] = keep[5] = False
        if area[0] < min_lon:  # west, south-west, north-west
            keep[3] = keep[7] = keep[5] = False
        if area[1] > max_lon:  # east, south-east, north-east
            keep[2] = keep[6] = keep[4] = False
    cells = [hb] + [b for b, k in zip(nbrs, keep, strict=True) if k]
    shift = 52 - steps * 2
    out: list[tuple[float, float]] = []
    last = None
    for b in cells:
        if b == last:
            continue
        last = b
        out.append((float(b << shift), float((b + 1) << shift)))
    return out
