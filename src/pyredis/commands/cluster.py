"""CLUSTER, READONLY, READWRITE, ASKING on a server without cluster support (like redis-server's default)."""

from __future__ import annotations

from pyredis.commands.errors import CommandError
from pyredis.commands.registry import command, help_lines, metadata, subcommand

DISABLED = "ERR This instance has cluster support disabled"


def _disabled(c, argv):
    raise CommandError(DISABLED)


def _register() -> None:
    for name, entry in sorted(metadata()["info"].items()):
        if name.startswith("cluster|") and name != "cluster|help":
            sub = name.split("|", 1)[1]
            flags = " ".join(f["+"] for f in entry[2]["~"])
            subcommand("cluster", sub, entry[1], flags, *entry[3:6])(_disabled)


_register()


@subcommand("cluster", "help", 2, "loading stale")
def cmd_cluster_help(c, argv):
    return help_lines("cluster") if "cluster" in _help_available() else _disabled(c, argv)


def _help_available() -> set[str]:
    import json
    import os

    with open(os.path.join(os.path.dirname(__file__), "help.json")) as fh:
        return set(json.load(fh))


@command("readonly", 1, "loading stale fast")
def cmd_readonly(c, argv):
    raise CommandError(DISABLED)


@command("readwrite", 1, "loading stale fast")
def cmd_readwrite(c, argv):
    raise CommandError(DISABLED)


@command("asking", 1, "fast")
def cmd_asking(c, argv):
    raise CommandError(DISABLED)
