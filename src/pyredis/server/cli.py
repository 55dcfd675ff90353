"""``pyredis-server [config-file] [--directive value ...]``: start a server like redis-server."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from pyredis import REDIS_VERSION
from pyredis.server import crash
from pyredis.server.config import Config
from pyredis.server.configfile import ConfigFileError, apply_config_text, argv_to_config_text
from pyredis.server.logfmt import RedisFormatter
from pyredis.server.process import install_title

_LEVELS = {"debug": logging.DEBUG, "verbose": 15, "notice": logging.INFO, "warning": logging.WARNING}
def setup_logging(cfg: Config) -> None:
    logger = logging.getLogger("pyredis")
    logger.handlers.clear()
    logfile = cfg["logfile"]
    handler: logging.Handler = logging.FileHandler(logfile) if logfile else logging.StreamHandler(sys.stdout)
    handler.setFormatter(RedisFormatter())
    logger.addHandler(handler)
    logger.setLevel(_LEVELS.get(cfg["loglevel"], logging.INFO))
    logger.propagate = False


def build_config(args: list[str]) -> Config:
    """Build a Config from redis-server style arguments; raises ConfigFileError."""
    cfg = Config()
    conf_file, text = argv_to_config_text(args)
    if conf_file:
        if conf_file == "-":
            body = sys.stdin.read()
        else:
            try:
                with open(conf_file) as fh:
                    body = fh.read()
            except OSError as e:
                raise ConfigFileError(f"Fatal error, can't open config file '{conf_file}': {e.strerror}") from None
            cfg.config_file = os.path.abspath(conf_file)
        apply_config_text(cfg, body, conf_file)
    if text:
        apply_config_text(cfg, text, "command line")
    return cfg


def _new_loop() -> asyncio.AbstractEventLoop:
    if sys.platform != "win32":
        try:
            import uvloop

            return uvloop.new_event_loop()
        except ImportError:
            pass
    return asyncio.new_event_loop()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-v", "--version"):
        print(f"Redis server v={REDIS_VERSION} sha=00000000:0 malloc=libc bits=64 build=pyredis")
        return
    if args and args[0] in ("-h", "--help"):
        print("Usage: pyredis-server [/path/to/redis.conf] [options] [-]\n"
              "       pyredis-server -v or --version\n\n"
              "Examples:\n  pyredis-server (run the server with default config)\n"
              "  pyredis-server --port 7777\n  pyredis-server /etc/redis/6379.conf --loglevel verbose")
        return
    try:
        cfg = build_config(args)
    except ConfigFileError as e:
        print(str(e), file=sys.stderr)
        sys.exit(1)
    if cfg["dir"] and os.path.isdir(cfg["dir"]):  # like Redis: a relative logfile lives in dir
        os.chdir(cfg["dir"])
    setup_logging(cfg)
    from pyredis.server import listener
    from pyredis.server.app import Server

    log = logging.getLogger("pyredis")
    # Redis logs these start-up lines at warning level (#) so they show at any loglevel
    log.warning("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
    log.warning(f"Redis version={REDIS_VERSION}, bits=64, commit=00000000, modified=0, pid={os.getpid()}, "
             "just started (pyredis)")
    if not args:  # like Redis (argc == 1): any argument, even just options, counts as a configuration
        log.warning("Warning: no config file specified, using the default config. In order to specify a config "
                    "file use pyredis-server /path/to/redis.conf")
    else:
        log.warning("Configuration loaded")
    loop = _new_loop()
    asyncio.set_event_loop(loop)
    server = Server(cfg)

    async def run() -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, _on_signal, server, sig)
            except (NotImplementedError, RuntimeError):
                pass
        crash.install(server, loop)
        server.persistence.begin_startup_loading()
        try:
            await listener.start(server)
        except OSError as e:
            log.warning(f"Warning: Could not create server TCP listening socket *:{cfg['port']}: {e.strerror or e}")
            log.warning(f"Failed listening on port {cfg['port']} (TCP), aborting.")
            sys.exit(1)
        if not server.listeners and not server.tls_listeners:  # e.g. --port 0 with no unixsocket / tls-port
            log.warning("Configured to not listen anywhere, exiting.")
            sys.exit(1)
        mode = "cluster" if server.cluster is not None else "standalone"
        if cfg["always-show-logo"]:  # the banner names the PID (the Redis test suite waits for it)
            log.info(f"\n    pyredis {REDIS_VERSION} (Redis-compatible) 64 bit\n    Running in {mode} mode\n"
                     f"    Port: {server.port}\n    PID: {os.getpid()}\n")
        else:
            log.info(f"Running mode={mode}, port={server.port}.")
        log.warning("Server initialized")
        if not server.process.set_oom_score():
            log.warning("Failed to set current oom_score_adj. Check server logs.")
        if cfg["set-proc-title"] and install_title():
            server.process.title_installed = True
            server.process.set_title()
        for hook in server.events.ready:
            pending = hook(server)
            if asyncio.iscoroutine(pending):  # e.g. loading the dataset while answering -LOADING
                await pending
        log.info("Ready to accept connections")
        assert server.shutdown_event is not None
        await server.shutdown_event.wait()
        for hook in server.events.shutdown:
            hook(server)
        await listener.stop(server)
        log.warning("Redis is now ready to exit, bye bye...")

    try:
        loop.run_until_complete(run())
    except KeyboardInterrupt:
        pass
    finally:
        loop.close()


def _on_signal(server, sig: int) -> None:
    """SIGTERM/SIGINT: the hooks log and schedule the shutdown (persistence/shutdown.py)."""
    for prepare in server.events.shutdown_signal:
        if not prepare(server, sig):  # e.g. the final save failed: keep running
            return
    server.request_shutdown()


if __name__ == "__main__":
    main()
