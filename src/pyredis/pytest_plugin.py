"""pytest plugin (fixtures redis_server, redis_client, async_redis_client); being written."""
