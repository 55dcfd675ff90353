"""Redis Cluster: the 7.0 cluster bus codec, the node table, nodes.conf and key routing (no I/O here)."""
