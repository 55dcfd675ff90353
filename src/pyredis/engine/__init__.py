"""The keyspace: databases, expiry and data-type objects. No I/O, no asyncio."""
