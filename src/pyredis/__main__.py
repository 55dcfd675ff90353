"""``python -m pyredis``: start the server like ``redis-server``."""

from pyredis.server.cli import main

if __name__ == "__main__":
    main()
