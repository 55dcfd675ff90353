"""A standalone master's replication and module commands, compared with redis-server."""


def test_standalone_replication_commands(diff):
    diff.lines("""
        ROLE
        WAIT 0 0
        WAIT 1 10
        WAIT a 0
        WAIT 0 -1
        FAILOVER
        FAILOVER BADOPT
        REPLICAOF no one
        SLAVEOF NO ONE
        MODULE LIST
        MODULE LOAD /nonexistent
        MODULE UNLOAD x
        MODULE HELP
    """)
