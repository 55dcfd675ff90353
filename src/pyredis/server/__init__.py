"""The asyncio server: listeners, per-client connections, dispatch, cron."""
