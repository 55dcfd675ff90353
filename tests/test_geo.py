"""Differential tests: GEO commands against redis-server (scores, searches, formatting, errors)."""

from __future__ import annotations

import random

import pytest
from events_support import check_events, check_propagation

BOTH = pytest.mark.parametrize("resp", ["2", "3"])

NYC = ('GEOADD nyc -73.9454966 40.747533 "lic market" -73.9733487 40.7648057 "central park n/q/r" '
       '-73.9903085 40.7362513 "union square" -74.0131604 40.7126674 "wtc one" -73.7858139 40.6428986 "jfk" '
       '-73.9375699 40.7498929 "q4" -73.9564142 40.7480973 4545')


def test_geoadd(diff):
    diff.lines(f"""
        GEOADD nyc -73.9454966 40.747533 "lic market"
        GEOADD nyc -73.9454966 40.747533 "lic market"
        GEOADD nyc CH 40.747533 -73.9454966 "lic market"
        GEOADD nyc NX -73.9454966 40.747533 "lic market"
        GEOADD nyc XX -83.9454966 40.747533 "lic market"
        GEOADD nyc CH NX -73.9454966 40.747533 "lic market"
        GEOADD nyc CH XX -73.9454966 40.747533 "lic market"
        GEOADD nyc xx nx -73.9454966 40.747533 "lic market"
        GEOADD nyc ch xx foo -73.9454966 40.747533 "lic market"
        GEOADD nyc -73.9454966 40.747533 "lic market" foo bar "luck market"
        GEOADD nyc 200 100 x
        GEOADD nyc 180.0000001 0 x
        GEOADD nyc 0 85.05112879 x
        GEOADD nyc 180 85.05112878 corner1 -180 -85.05112878 corner2
        GEOADD nyc 1 1
        GEOADD nyc 1 2 3 4
        GEOADD nyc GT 1 2 x
        {NYC}
        ZRANGE nyc 0 -1 WITHSCORES
        GEOADD users -47.271613776683807 -54.534504198047678 user_000000
        ZRANGE users 0 -1 WITHSCORES
        SET s x
        GEOADD s 1 1 a
        GEOADD s 1 x a
    """)


@BOTH
def test_geopos_geohash_geodist(diff, resp):
    diff.hello(resp)
    diff.lines("""
        GEOADD points 10 20 a 30 40 b -5.6 42.6 test 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        GEOADD points 180 85.05112878 corner1 -180 -85.05112878 corner2 0 0 zero
        GEOPOS points a b x test corner1 corner2 zero
        GEOPOS nokey a b
        GEOPOS points
        GEOHASH points test a b x corner1 corner2 zero
        GEOHASH nokey a
        GEOHASH points
        GEODIST points Palermo Catania
        GEODIST points Palermo Catania km
        GEODIST points Palermo Catania MI
        GEODIST points Palermo Catania ft
        GEODIST points Palermo Palermo
        GEODIST points Palermo Agrigento
        GEODIST points Ragusa Agrigento
        GEODIST nokey Palermo Catania
        GEODIST points Palermo Catania yards
        GEODIST nokey Palermo Catania yards
        GEODIST points Palermo Catania km extra
        GEODIST points corner1 corner2
        SET s x
        GEOPOS s a
        GEOHASH s a
        GEODIST s a b
        ZADD notgeo 1e300 big -5 neg 0 zero 4503599627370496 top
        GEOPOS notgeo big neg zero top
        GEOHASH notgeo big neg zero top
    """)


@BOTH
def test_georadius(diff, resp):
    diff.hello(resp)
    diff.lines(f"""
        {NYC}
        GEORADIUS nyc -73.9798091 40.7598464 3 km asc
        GEORADIUS nyc -73.9798091 40.7598464 3 km withdist asc
        GEORADIUS nyc -73.9798091 40.7598464 3 km withdist withhash withcoord desc
        GEORADIUS nyc -73.9798091 40.7598464 3 km withcoord withhash
        GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT 3
        GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT 3 ANY
        GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT 3 ANY ASC
        GEORADIUS nyc -73.9798091 40.7598464 10 km ANY ASC
        GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT
        GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT 0
        GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT -1
        GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT x
        GEORADIUS nyc -73.9798091 40.7598464 10 km COUNT 2 DESC
        GEORADIUS nyc -73.9798091 40.7598464 10 mi WITHDIST
        GEORADIUS nyc -73.9798091 40.7598464 10000 ft WITHDIST
        GEORADIUS nyc -73.9798091 40.7598464 10 parsecs
        GEORADIUS nyc -73.9798091 40.7598464 x km
        GEORADIUS nyc -73.9798091 40.7598464 -1 km
        GEORADIUS nyc -73.9798091 400 1 km
        GEORADIUS nyc x 40 1 km
        GEORADIUS nyc -73.9798091 40.7598464 10 km FOO
        GEORADIUS nyc -73.9798091 40.7598464 0 km
        GEORADIUS nyc -73.9454966 40.747533 0 km
        GEORADIUS nokey -73.9798091 40.7598464 10 km
        GEORADIUS nokey -73.9798091 40.7598464 10 km STORE dst
        GEORADIUS nokey x 40.7598464 10 km
        GEORADIUSBYMEMBER nyc "wtc one" 7 km
        GEORADIUSBYMEMBER nyc "wtc one" 7 km withdist
        GEORADIUSBYMEMBER nyc "wtc one" 7 km withdist withcoord withhash count 2
        GEORADIUSBYMEMBER nyc nosuch 7 km
        GEORADIUSBYMEMBER nyc "wtc one" x km
        GEORADIUSBYMEMBER nokey nosuch x km
        GEORADIUSBYMEMBER nokey nosuch 1 km STORE dst
        GEORADIUSBYMEMBER nokey nosuch 1 km WITHDIST STORE dst
        GEORADIUS_RO nyc -73.9798091 40.7598464 3 km asc
        GEORADIUS_RO nyc -73.9798091 40.7598464 3 km STORE dst
        GEORADIUSBYMEMBER_RO nyc "wtc one" 7 km desc
        GEORADIUSBYMEMBER_RO nyc "wtc one" 7 km STOREDIST dst
        GEORADIUS users 0 0 50000 km WITHCOORD
        SET s x
        GEORADIUS s 0 0 1 km
        GEORADIUSBYMEMBER s a 1 km
    """)


@BOTH
def test_geosearch(diff, resp):
    diff.hello(resp)
    diff.lines(f"""
        {NYC}
        GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 km asc
        GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 km withdist asc
        GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 byradius 6 km withdist withcoord withhash desc
        GEOSEARCH nyc frommember "wtc one" bybox 14 14 km
        GEOSEARCH nyc frommember "wtc one" bybox 14 14 km count 2 any
        GEOSEARCH nyc frommember "wtc one" byradius 7 km count 2 withdist
        GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 frommember xxx bybox 6 6 km asc
        GEOSEARCH nyc frommember xxx fromlonlat -73.9798091 40.7598464 bybox 6 6 km asc
        GEOSEARCH nyc bybox 3 3 km asc desc withhash withdist withcoord
        GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 byradius 3 km bybox 3 3 km asc
        GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 asc desc withhash withdist withcoord
        GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 km asc storedist
        GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 km store dst
        GEOSEARCH nyc frommember nosuch bybox 6 6 km
        GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 bybox -6 6 km
        GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 bybox x 6 km
        GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 bybox 6 y km
        GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 lightyears
        GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 byradius 6
        GEOSEARCH nyc fromlonlat 500 40 byradius 6 km
        GEOSEARCH nyc fromlonlat -73.9798091 40.7598464 byradius 6 km any
        GEOSEARCH nokey frommember nosuch bybox 6 6 km
        GEOSEARCH nokey fromlonlat 0 0 byradius 6 km
        GEOSEARCH nokey frommember x count 1
        GEOSEARCHSTORE dst nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 km asc
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 km asc storedist
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst nyc fromlonlat -73.9798091 40.7598464 byradius 3 km storedist count 1 desc
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 km withdist
        GEOSEARCHSTORE dst nyc fromlonlat 0 0 bybox 6 6 km
        EXISTS dst
        GEOSEARCHSTORE abc nyc fromlonlat 13.361389 38.115556 byradius 50 km store abc
        GEOSEARCHSTORE dst nokey fromlonlat 13.361389 38.115556 byradius 50 km
    """)


def test_store(diff):
    diff.lines("""
        GEOADD points 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        GEORADIUS points 13.361389 38.115556 50 km store
        GEORADIUS points 13.361389 38.115556 50 km store points2 withdist
        GEORADIUS points 13.361389 38.115556 50 km store points2 withhash
        GEORADIUS points 13.361389 38.115556 50 km store points2 withcoord
        GEORADIUS points 13.361389 38.115556 500 km store points2
        ZRANGE points2 0 -1 WITHSCORES
        GEORADIUSBYMEMBER points Palermo 500 km store points2
        ZRANGE points2 0 -1 WITHSCORES
        GEORADIUSBYMEMBER points Catania 500 km storedist points2
        ZRANGE points2 0 -1 WITHSCORES
        GEORADIUS points 13.361389 38.115556 500 km storedist points2 asc count 1
        ZRANGE points2 0 -1 WITHSCORES
        GEORADIUS points 13.361389 38.115556 500 km storedist points2 desc count 1
        ZRANGE points2 0 -1 WITHSCORES
        GEORADIUS points 13.361389 38.115556 500 km store a storedist b
        ZRANGE b 0 -1 WITHSCORES
        EXISTS a
        GEORADIUS points 0 0 1 km store points2
        EXISTS points2
        OBJECT ENCODING b
        COMMAND GETKEYS GEORADIUS points 0 0 1 km store a storedist b
        COMMAND GETKEYS GEORADIUSBYMEMBER points m 1 km storedist b
        COMMAND GETKEYS GEOSEARCHSTORE dst src frommember m byradius 1 km
    """)


def test_edge_searches(diff):
    diff.lines("""
        GEOADD k1 -0.15307903289794921875 85 n1 0.3515625 85.00019260486917005437 n2
        GEORADIUSBYMEMBER k1 n1 4891.94 m
        ZREM k1 n1 n2
        GEOADD k1 -4.95211958885192871094 85 n3 11.25 85.0511 n4
        GEORADIUSBYMEMBER k1 n3 156544 m
        ZREM k1 n3 n4
        GEOADD k1 -45 65.50900022111811438208 n5 90 85.0511 n6
        GEORADIUSBYMEMBER k1 n5 5009431 m
        DEL k1
        GEOADD k1 45 65 n1 -135 85.05 n2
        GEORADIUSBYMEMBER k1 n1 5009431 m
        GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        GEOADD Sicily 12.758489 38.788135 edge1 17.241510 38.788135 eage2
        GEORADIUS Sicily 15 37 200 km asc
        GEOSEARCH Sicily fromlonlat 15 37 bybox 400 400 km asc
        DEL Sicily
        GEOADD Sicily 12.75 36.995 test1 12.75 36.50 test2 13.00 36.50 test3
        GEOSEARCH Sicily fromlonlat 15 37 bybox 400 2 km
        GEOADD Sicily -1 37.00 test3
        GEOSEARCH Sicily fromlonlat 15 37 bybox 3000 2 km asc
        DEL Sicily
        GEOADD Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2 17.250000 35.202000 edge3 12.750000 35.202000 edge4 12.748489955781654 37 edge5 15 38.798135872540925 edge6 17.251510044218346 37 edge7 15 35.201864127459075 edge8 12.692799634687903 38.798135872540925 corner1 12.692799634687903 38.798135872540925 corner2 17.200560937451133 35.201864127459075 corner3 12.799439062548865 35.201864127459075 corner4
        GEOSEARCH Sicily fromlonlat 15 37 bybox 400 400 km asc
        GEOADD points 179.5 36 point1 -179.5 36 point2
        GEOSEARCH points fromlonlat 179 37 bybox 400 400 km asc
        GEOSEARCH points fromlonlat -179 37 bybox 400 400 km asc
        GEOADD sm -122.407107 37.794300 1 -122.227336 37.794300 2
        GEORADIUS sm -122.407107 37.794300 30 mi ASC WITHDIST
        GEOADD pole 0 85 a 180 85 b -180 -85 c 90 -85 d
        GEORADIUS pole 0 85 5000 km WITHDIST ASC
        GEOSEARCH pole fromlonlat 0 -85 bybox 40000 40000 km ASC WITHDIST
        GEORADIUS pole 0 0 20000 km ASC WITHDIST
    """)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fuzz_searches(diff, seed):
    """Random points and searches, compared to redis-server result by result (order included)."""
    rnd = random.Random(seed)
    args = []
    for j in range(2000):
        args += [repr(rnd.uniform(-180, 180)), repr(rnd.uniform(-85, 85)), f"p{j}"]
    diff.check("GEOADD", "pts", *args)
    for _ in range(25):
        lon, lat = repr(rnd.uniform(-180, 180)), repr(rnd.uniform(-85, 85))
        r = str(rnd.choice([1, 10, 150, 700, 3000, 8000]) * rnd.random() + 1)
        w, h = str(rnd.uniform(1, 4000)), str(rnd.uniform(1, 4000))
        unit = rnd.choice(["km", "mi", "m", "ft"])
        if unit in ("m", "ft"):
            r, w, h = str(float(r) * 1000), str(float(w) * 1000), str(float(h) * 1000)
        diff.check("GEOSEARCH", "pts", "FROMLONLAT", lon, lat, "BYRADIUS", r, unit, "WITHDIST", "WITHHASH")
        diff.check("GEOSEARCH", "pts", "FROMLONLAT", lon, lat, "BYBOX", w, h, unit, "WITHCOORD")
        diff.check("GEOSEARCH", "pts", "FROMMEMBER", f"p{rnd.randrange(2000)}", "BYRADIUS", r, unit, "ASC",
                   "COUNT", "5")
        diff.check("GEORADIUS", "pts", lon, lat, r, unit, "COUNT", "3", "ANY")


def test_notifications(redis_proc, pyredis_proc):
    check_events(redis_proc, pyredis_proc, """
        GEOADD g 1 1 a 2 2 b
        GEOADD g 1 1 a
        GEOADD g CH 1 1.5 a
        GEORADIUS g 1 1 500 km STORE d
        GEORADIUS g 1 1 500 km STOREDIST d
        GEOSEARCHSTORE d g FROMLONLAT 1 1 BYRADIUS 500 km
        GEOSEARCHSTORE d g FROMLONLAT 50 50 BYRADIUS 1 km
        GEORADIUS nokey 1 1 500 km STORE g
    """)


def test_propagation():
    check_propagation("""
        GEOADD g 13.361389 38.115556 Palermo
        GEOADD g CH NX 15.087269 37.502669 Catania
    """, {0: [["zadd", "g", "3479099956230698", "Palermo"]],
          1: [["zadd", "g", "CH", "NX", "3479447370796909", "Catania"]]})
