"""Pub/Sub commands (pubsub.c): (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, (S)PUBLISH, PUBSUB.

Subscription confirmations are written straight to the client's buffer (like Redis's push replies
they ignore CLIENT REPLY OFF/SKIP); RESP3 clients get them as push messages.
"""

from __future__ import annotations

from pyredis.commands.errors import CommandError
from pyredis.commands.registry import command, help_lines, subcommand
from pyredis.protocol.types import NOREPLY
from pyredis.server.propagate import PROPAGATE_REPL, Targeted
from pyredis.server.pubsub import subscription_reply


def _count(c) -> int:
    return len(c.channels) + len(c.patterns)


@command("subscribe", -2, "pubsub noscript loading stale")
def cmd_subscribe(c, argv):
    ps = c.server.pubsub
    out = c.out
    for ch in argv[1:]:
        ps.subscribe(c, ch)
        out.append(subscription_reply(b"subscribe", ch, _count(c), c.resp))
    return NOREPLY


@command("psubscribe", -2, "pubsub noscript loading stale")
def cmd_psubscribe(c, argv):
    ps = c.server.pubsub
    out = c.out
    for p in argv[1:]:
        ps.psubscribe(c, p)
        out.append(subscription_reply(b"psubscribe", p, _count(c), c.resp))
    return NOREPLY


@command("ssubscribe", -2, "pubsub noscript loading stale", 1, -1, 1)
def cmd_ssubscribe(c, argv):
    ps = c.server.pubsub
    out = c.out
    for ch in argv[1:]:
        ps.ssubscribe(c, ch)
        out.append(subscription_reply(b"ssubscribe", ch, len(c.shard_channels), c.resp))
    return NOREPLY


def _unsubscribe_all(c, kind: bytes, names, remove, count) -> None:
    out = c.out
    if not names:
        out.append(subscription_reply(kind, None, count(), c.resp))
        return
    for name in list(names):
        remove(c, name)
        out.append(subscription_reply(kind, name, count(), c.resp))


@command("unsubscribe", -1, "pubsub noscript loading stale")
def cmd_unsubscribe(c, argv):
    ps = c.server.pubsub
    if len(argv) == 1:
        _unsubscribe_all(c, b"unsubscribe", c.channels, ps.unsubscribe, lambda: _count(c))
        return NOREPLY
    for ch in argv[1:]:
        ps.unsubscribe(c, ch)
        c.out.append(subscription_reply(b"unsubscribe", ch, _count(c), c.resp))
    return NOREPLY


@command("punsubscribe", -1, "pubsub noscript loading stale")
def cmd_punsubscribe(c, argv):
    ps = c.server.pubsub
    if len(argv) == 1:
        _unsubscribe_all(c, b"punsubscribe", c.patterns, ps.punsubscribe, lambda: _count(c))
        return NOREPLY
    for p in argv[1:]:
        ps.punsubscribe(c, p)
        c.out.append(subscription_reply(b"punsubscribe", p, _count(c), c.resp))
    return NOREPLY


@command("sunsubscribe", -1, "pubsub noscript loading stale", 1, -1, 1)
def cmd_sunsubscribe(c, argv):
    ps = c.server.pubsub
    if len(argv) == 1:
        _unsubscribe_all(c, b"sunsubscribe", c.shard_channels, ps.sunsubscribe,
                         lambda: len(c.shard_channels))
        return NOREPLY
    for ch in argv[1:]:
        ps.sunsubscribe(c, ch)
        c.out.append(subscription_reply(b"sunsubscribe", ch, len(c.shard_channels), c.resp))
    return NOREPLY


@command("publish", 3, "pubsub loading stale fast")
def cmd_publish(c, argv):
    n = c.server.pubsub.publish(argv[1], argv[2])
    cl = c.server.cluster
    if cl is not None:
        cl.propagate_publish(argv[1], argv[2], False)
    else:  # forceCommandPropagation(PROPAGATE_REPL): replicas see it, the AOF does not
        c.repl = [Targeted(argv, PROPAGATE_REPL)]
    return n


@command("spublish", 3, "pubsub loading stale fast", 1, 1, 1)
def cmd_spublish(c, argv):
    n = c.server.pubsub.spublish(argv[1], argv[2])
    cl = c.server.cluster
    if cl is not None:
        cl.propagate_publish(argv[1], argv[2], True)
    return n


def _bad_args(name: bytes) -> CommandError:
    return CommandError("ERR unknown subcommand or wrong number of arguments for '%s'. Try PUBSUB HELP."
                        % name.decode("utf-8", "surrogateescape"))


@subcommand("pubsub", "channels", -2, "pubsub loading stale")
def cmd_pubsub_channels(c, argv):
    if len(argv) > 3:
        raise _bad_args(argv[1])
    return c.server.pubsub.active_channels(argv[2] if len(argv) == 3 else None)


@subcommand("pubsub", "shardchannels", -2, "pubsub loading stale")
def cmd_pubsub_shardchannels(c, argv):
    if len(argv) > 3:
        raise _bad_args(argv[1])
    return c.server.pubsub.active_channels(argv[2] if len(argv) == 3 else None, shard=True)


@subcommand("pubsub", "numsub", -2, "pubsub loading stale")
def cmd_pubsub_numsub(c, argv):
    ps = c.server.pubsub
    out: list = []
    for ch in argv[2:]:
        out.append(ch)
        out.append(ps.numsub(ch))
    return out


@subcommand("pubsub", "shardnumsub", -2, "pubsub loading stale")
def cmd_pubsub_shardnumsub(c, argv):
    ps = c.server.pubsub
    out: list = []
    for ch in argv[2:]:
        out.append(ch)
        out.append(ps.numsub(ch, shard=True))
    return out


@subcommand("pubsub", "numpat", 2, "pubsub loading stale")
def cmd_pubsub_numpat(c, argv):
    return c.server.pubsub.numpat()


@subcommand("pubsub", "help", 2, "loading stale")
def cmd_pubsub_help(c, argv):
    return help_lines("pubsub")
