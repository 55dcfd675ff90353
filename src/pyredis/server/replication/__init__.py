"""Replication (replication.c): this server's replicas, its link to a master, the backlog."""

from pyredis.server.replication.core import Replication

__all__ = ["Replication"]
