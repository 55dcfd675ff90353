def test_strings_basic(diff):
    diff.lines("""
        SET foo bar
        GET foo
        SET foo bar NX
        SET foo baz XX GET
        GETRANGE foo 0 -2
        INCR foo
        SET n 10
        INCRBY n -3
        INCRBYFLOAT n 0.5
        APPEND n xyz
        STRLEN n
        SETRANGE n 20 hello
        GET n
        MSET a 1 b 2 c 3
        MGET a b c d
        GET
        SET a b EX 0
        SET a b EX abc
        SET a b PX 100 EX 100
        LCS a b
        DEL a b c nosuch
        EXISTS a n foo
    """)
