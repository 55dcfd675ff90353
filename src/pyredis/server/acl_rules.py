"""ACL rules (Redis 7.0): permission constants, command categories, the command universe and
:class:`Selector` (one set of command/key/channel permissions: applying rules, describing them back,
checking a command). Key positions per command are :mod:`pyredis.server.acl_keys`.

* A :class:`Selector` holds the allowed commands as a bitmap over every command and subcommand
  (:class:`_Universe`), first-argument exceptions (``+select|0``), key patterns with read/write
  flags and channel patterns.
* Rules are described back (ACL LIST/GETUSER) from the bitmap: start from ``+@all``/``-@all``,
  greedily add the categories that fit best, then single commands, like redis-server does.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from pyredis.commands.registry import COMMANDS, Command, metadata
from pyredis.engine.glob import compile_glob
from pyredis.server.acl_keys import READ, RW, WRITE, key_requirements

# Check results.
ALLOWED, DENIED_CMD, DENIED_KEY, DENIED_CHANNEL, DENIED_AUTH = 0, 1, 2, 3, 4
REASONS = {DENIED_CMD: b"command", DENIED_KEY: b"key", DENIED_CHANNEL: b"channel", DENIED_AUTH: b"auth"}

CATEGORIES = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo",
    "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction",
    "scripting",
)

ERR_SYNTAX = "Syntax error"
ERR_UNKNOWN = "Unknown command or category name in ACL"
ERR_FIRSTARG_SUB = "Allowing first-arg of a subcommand is not supported"
ERR_ALLKEYS = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any "
               "effect. Try 'resetkeys' to start with an empty list of patterns")
ERR_ALLCHANNELS = ("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have "
                   "any effect. Try 'resetchannels' to start with an empty list of channels")
ERR_NOPASS = "The password you are trying to remove from the user does not exist"
ERR_HASH = ("The password hash must be exactly 64 characters and contain only lowercase hexadecimal "
            "characters")
ERR_USERNAME = "Usernames can't contain spaces or null characters"

_HEX = frozenset(b"0123456789abcdef")
_SPACES = frozenset(b" \t\n\r\x0b\x0c\x00")


class AclError(Exception):
    """A rule that cannot be applied; ``unknown`` marks unknown commands/categories (ENOENT)."""

    def __init__(self, message: str, unknown: bool = False, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.unknown = unknown
        self.detail = detail or message  # the rule's own error, without the SETUSER context


def password_hash(password: bytes) -> str:
    import hashlib  # on first use: _hashlib (OpenSSL's digests) is ~0.5 MB of start-up RSS

    return hashlib.sha256(password).hexdigest()


def has_spaces(name: bytes) -> bool:
    return any(ch in _SPACES for ch in name)


# -- the command universe ----------------------------------------------------------------------------
def command_categories(cmd: Command) -> frozenset[str]:
    """ACL categories of *cmd*: COMMAND INFO's, or implied by its flags like Redis does."""
    meta = metadata()["info"].get(cmd.fullname)
    if meta:
        raw = meta[6]["~"] if isinstance(meta[6], dict) else meta[6]
        return _shared(frozenset((x["+"] if isinstance(x, dict) else x).lstrip("@") for x in raw))
    cats = set()
    if cmd.write:
        cats.add("write")
    if cmd.readonly:
        cats.add("read")
    if cmd.admin:
        cats.update(("admin", "dangerous"))
    if cmd.pubsub:
        cats.add("pubsub")
    if cmd.blocking:
        cats.add("blocking")
    cats.add("fast" if cmd.fast else "slow")
    extra = getattr(cmd.handler, "acl_categories", None)  # a module command's declared categories
    if extra:
        cats.update(x for x in extra if x in CATEGORIES)
    return _shared(frozenset(cats))


_CATEGORY_SETS: dict[frozenset[str], frozenset[str]] = {}


def _shared(cats: frozenset[str]) -> frozenset[str]:
    """One frozenset per distinct set of categories (~1200 commands have ~100 of them)."""
    return _CATEGORY_SETS.setdefault(cats, cats)


class _Universe:
    """Every command and subcommand with one bit each, plus per-category masks.

    Commands redis-server 7.0 has but pyredis does not implement are included as inert entries, so
    that rules naming them, ACL CAT and the rule descriptions behave as in Redis.
    """

    def __init__(self) -> None:
        meta = metadata()["info"]
        tops: dict[str, Command] = dict(COMMANDS)
        subs_of: dict[str, dict[str, Command]] = {
            name: {s.name: s for s in (cmd.subcommands or {}).values()} for name, cmd in tops.items()}
        for name in meta:
            if not name.replace("|", "").replace("-", "").replace("_", "").isalnum():
                continue
            parent, _, sub = name.partition("|")
            if not sub and parent not in tops:
                tops[parent] = Command(parent, None, meta[name][1], "", 0, 0, 0, None)
                subs_of[parent] = {}
        for name in meta:
            parent, _, sub = name.partition("|")
            if sub and parent in tops and sub not in subs_of[parent]:
                subs_of[parent][sub] = Command(sub, None, meta[name][1], "", 0, 0, 0, None, parent=tops[parent])
        self.names = tops
        self.top = sorted(tops.values(), key=lambda c: c.name)
        self.bit: dict[Command, int] = {}
        self.subs: dict[Command, list[Command]] = {}
        self.sub_names: dict[Command, dict[bytes, Command]] = {}
        self.expand: dict[Command, int] = {}  # the command with all its subcommands
        i = 0
        for cmd in self.top:
            self.bit[cmd] = 1 << i
            i += 1
            mask = self.bit[cmd]
            subs = sorted(subs_of[cmd.name].values(), key=lambda s: s.name)
            if subs:
                self.subs[cmd] = subs
                self.sub_names[cmd] = {s.name.encode(): s for s in subs}
                for s in subs:
                    self.bit[s] = self.expand[s] = 1 << i
                    mask |= 1 << i
                    i += 1
            self.expand[cmd] = mask
        self.all = (1 << i) - 1
        self.cats: dict[Command, frozenset[str]] = {c: command_categories(c) for c in self.bit}
        # ACL CAT lists the commands of redis-server 7.0 only
        self.listed = {c for c in self.bit if c.fullname in meta}
        self.cat_count: dict[str, int] = {}  # commands having the category (for the description fit)
        self.cat_apply: dict[str, int] = {}  # what +@cat sets (containers with all their subcommands)
        self.cat_top: dict[str, list[Command]] = {}
        for name in CATEGORIES:
            count = apply = 0
            tops_in = []
            for cmd in self.top:
                # pyredis's own commands (GATEWAY) join +@cat but not the description fit, so ACL
                # GETUSER/LIST pick the same categories as redis-server, which does not have them
                if name in self.cats[cmd]:
                    if cmd in self.listed:
                        count |= self.bit[cmd]
                    apply |= self.expand[cmd]
                    tops_in.append(cmd)
                for s in self.subs.get(cmd, ()):
                    if name in self.cats[s]:
                        if s in self.listed:
                            count |= self.bit[s]
                        apply |= self.bit[s]
            self.cat_count[name] = count
            self.cat_apply[name] = apply
            self.cat_top[name] = tops_in
        self.cat_size = {name: bin(m).count("1") for name, m in self.cat_count.items()}

    def lookup(self, name: bytes) -> Command | None:
        """``cmd`` or ``cmd|sub`` (case-insensitive), like Redis's ACL command lookup."""
        parts = name.lower().split(b"|")
        cmd = self.names.get(parts[0].decode("utf-8", "replace"))
        if cmd is None or len(parts) == 1:
            return cmd
        if len(parts) > 2 or cmd not in self.sub_names:
            return None
        return self.sub_names[cmd].get(parts[1])

    def has_subcommands(self, cmd: Command) -> bool:
        return cmd in self.sub_names

    def commands_in(self, category: str) -> list[bytes]:
        out = []
        listed = self.listed
        for cmd in self.top:
            if category in self.cats[cmd] and cmd in listed:
                out.append(cmd.name.encode())
            for s in self.subs.get(cmd, ()):
                if category in self.cats[s] and s in listed:
                    out.append(s.fullname.encode())
        return out


_UNIVERSE: _Universe | None = None
_LIVE_SELECTORS: weakref.WeakSet[Selector] = weakref.WeakSet()


def add_command(cmd: Command) -> None:
    """Give a command registered after start-up (a module's) its bit; selectors that had ``+@all``
    applied get it, as Redis's allcommands users do."""
    u = _UNIVERSE
    if u is None or cmd in u.bit:
        return  # the universe, when built, includes it
    bit = u.all + 1
    u.all |= bit
    u.bit[cmd] = u.expand[cmd] = bit
    u.names[cmd.name] = cmd
    u.top.append(cmd)
    cats = u.cats[cmd] = command_categories(cmd)
    for name in cats:
        if name in u.cat_count:
            u.cat_count[name] |= bit
            u.cat_apply[name] |= bit
            u.cat_top[name].append(cmd)
            u.cat_size[name] += 1
    for sel in list(_LIVE_SELECTORS):
        if sel.future:
            sel.allowed |= bit


def universe() -> _Universe:
    global _UNIVERSE
    if _UNIVERSE is None:
        _UNIVERSE = _Universe()
    return _UNIVERSE


# -- key and channel extraction ----------------------------------------------------------------------


_CHANNEL_CMDS = {
    "publish": (1, True, False), "spublish": (1, True, False), "subscribe": (1, False, False),
    "ssubscribe": (1, False, False), "psubscribe": (1, False, True),
}


# -- selectors ---------------------------------------------------------------------------------------
class Selector:
    """One set of permissions: commands (bitmap + first args), key patterns, channel patterns."""

    __slots__ = ("_allowed", "future", "firstargs", "allkeys", "keys", "allchannels", "channels", "_kmatch",
                 "_cmatch", "__weakref__")

    def __init__(self, allchannels: bool = False) -> None:
        _LIVE_SELECTORS.add(self)
        # The command bitmap; None: every command (``+@all`` applied while the universe was not built:
        # the default user's rules do not need it, so a server builds it on the first rule or check
        # that does, not at start-up).
        self._allowed: int | None = 0
        self.future = False  # +@all was applied: commands added later are allowed too
        self.firstargs: dict[Command, list[bytes]] = {}
        self.allkeys = False
        self.keys: list[list] = []  # [pattern, READ/WRITE flags]
        self.allchannels = allchannels
        self.channels: list[bytes] = []
        self._kmatch: list[tuple[int, Callable[[bytes], object]]] | None = None
        self._cmatch: list[tuple[bytes, Callable[[bytes], object]]] | None = None

    def copy(self) -> Selector:
        s = Selector()
        s._allowed, s.future = self._allowed, self.future
        s.firstargs = {k: list(v) for k, v in self.firstargs.items()}
        s.allkeys, s.keys = self.allkeys, [list(k) for k in self.keys]
        s.allchannels, s.channels = self.allchannels, list(self.channels)
        return s

    @property
    def allowed(self) -> int:
        """The bitmap of allowed commands over :func:`universe`."""
        a = self._allowed
        if a is None:
            a = self._allowed = universe().all
        return a

    @allowed.setter
    def allowed(self, value: int) -> None:
        self._allowed = value

    # -- rules -------------------------------------------------------------------------------------
    def apply(self, op: bytes) -> None:
        """Apply one rule (``~pattern``, ``+@category``, ``-cmd``, ``allkeys``...); raises AclError."""
        low = op.lower()
        if low == b"allkeys" or op == b"~*":
            self.allkeys = True
            self.keys = []
            self._kmatch = None
        elif low == b"resetkeys":
            self.allkeys = False
            self.keys = []
            self._kmatch = None
        elif low == b"allchannels" or op == b"&*":
            self.allchannels = True
            self.channels = []
            self._cmatch = None
        elif low == b"resetchannels":
            self.allchannels = False
            self.channels = []
            self._cmatch = None
        elif low in (b"allcommands", b"+@all"):
            self._allowed = None if _UNIVERSE is None else _UNIVERSE.all
            self.future = True
            self.firstargs.clear()
        elif low in (b"nocommands", b"-@all"):
            self.allowed = 0
            self.future = False
            self.firstargs.clear()
        elif op[:1] in (b"~", b"%"):
            self._add_key_pattern(op)
        elif op[:1] == b"&":
            if self.allchannels:
                raise AclError(ERR_ALLCHANNELS)
            pat = op[1:]
            if pat not in self.channels:
                self.channels.append(pat)
                self._cmatch = None
        elif op[:2] in (b"+@", b"-@"):
            u = universe()
            cat = low[2:].decode("utf-8", "replace")
            if cat not in u.cat_apply:
                raise AclError(ERR_UNKNOWN, True)
            mask = u.cat_apply[cat]
            if op[:1] == b"+":
                self.allowed |= mask
            else:
                self.allowed &= ~mask
            if self.firstargs:
                for cmd in u.cat_top[cat]:
                    self.firstargs.pop(cmd, None)
        elif op[:1] == b"+":
            self._allow(op[1:])
        elif op[:1] == b"-":
            found = universe().lookup(op[1:])
            if found is None:
                raise AclError(ERR_UNKNOWN, True)
            self.set_command(found, False)
        else:
            raise AclError(ERR_SYNTAX)

    def set_command(self, cmd: Command, allow: bool) -> None:
        """Allow or deny a command (a container with all its subcommands)."""
        mask = universe().expand[cmd]
        if allow:
            self.allowed |= mask
        else:
            self.allowed &= ~mask
        self.firstargs.pop(cmd, None)

    def _allow(self, name: bytes) -> None:
        u = universe()
        if b"|" not in name:
            cmd = u.lookup(name)
            if cmd is None:
                raise AclError(ERR_UNKNOWN, True)
            self.set_command(cmd, True)
            return
        head, _, arg = name.rpartition(b"|")
        cmd = u.lookup(head)
        if cmd is None:
            raise AclError(ERR_UNKNOWN, True)
        if cmd.parent is not None:
            raise AclError(ERR_FIRSTARG_SUB)
        if not arg:
            raise AclError(ERR_SYNTAX)
        if u.has_subcommands(cmd):
            sub = u.lookup(name)
            if sub is None:
                raise AclError(ERR_UNKNOWN, True)
            self.set_command(sub, True)
            return
        if self.allowed & u.bit[cmd]:
            return  # the whole command is allowed already
        args = self.firstargs.setdefault(cmd, [])
        if not any(a.lower() == arg.lower() for a in args):
            args.append(arg)

    def _add_key_pattern(self, op: bytes) -> None:
        if op[:1] == b"%":
            flags = 0
            i = 1
            while i < len(op) and op[i] != 126:  # '~'
                ch = op[i] | 0x20
                if ch == 114 and not flags & READ:  # 'r'
                    flags |= READ
                elif ch == 119 and not flags & WRITE:  # 'w'
                    flags |= WRITE
                else:
                    raise AclError(ERR_SYNTAX)
                i += 1
            if not flags:
                raise AclError(ERR_SYNTAX)
            pat = op[i + 1 :]
        else:
            flags, pat = RW, op[1:]
        if self.allkeys:
            raise AclError(ERR_ALLKEYS)
        for entry in self.keys:
            if entry[0] == pat:
                entry[1] |= flags
                break
        else:
            self.keys.append([pat, flags])
        self._kmatch = None

    # -- description ---------------------------------------------------------------------------------
    def describe_keys(self) -> str:
        if self.allkeys:
            return "~*"
        out = []
        for pat, flags in self.keys:
            prefix = "~" if flags == RW else ("%R~" if flags == READ else "%W~")
            out.append(prefix + pat.decode("utf-8", "surrogateescape"))
        return " ".join(out)

    def describe_channels(self) -> str:
        if self.allchannels:
            return "&*"
        return " ".join("&" + p.decode("utf-8", "surrogateescape") for p in self.channels)

    def describe_commands(self) -> str:
        """The command rules reconstructed from the bitmap (a best category fit, then commands)."""
        u = universe()
        additive = not self.future
        rules = ["-@all" if additive else "+@all"]
        fake = 0 if additive else u.all
        temp = self.allowed
        applied: set[str] = set()
        while True:
            best = None
            mindiff = 1 << 62
            maxsame = 0
            for cat in CATEGORIES:
                if cat in applied:
                    continue
                on = bin(temp & u.cat_count[cat]).count("1")
                off = u.cat_size[cat] - on
                diff, same = (off, on) if additive else (on, off)
                if same > diff and (diff < mindiff or (diff == mindiff and same > maxsame)):
                    best, mindiff, maxsame = cat, diff, same
            if best is None:
                break
            mask = u.cat_apply[best]
            if additive:
                fake |= mask
                temp &= ~mask
            else:
                fake &= ~mask
                temp |= mask
            rules.append(("+@" if additive else "-@") + best)
            applied.add(best)
        allowed = self.allowed
        for cmd in u.top:
            bit = u.bit[cmd]
            if (allowed & bit) != (fake & bit):
                rules.append(("+" if allowed & bit else "-") + cmd.name)
                mask = u.expand[cmd]
                fake = fake | mask if allowed & bit else fake & ~mask
            subs = u.subs.get(cmd)
            if subs:
                for s in subs:
                    b = u.bit[s]
                    if (allowed & b) != (fake & b):
                        rules.append(("+" if allowed & b else "-") + s.fullname)
                        fake ^= b
            else:
                for arg in self.firstargs.get(cmd, ()):
                    rules.append("+%s|%s" % (cmd.name, arg.decode("utf-8", "surrogateescape")))
        return " ".join(rules)

    def describe(self) -> str:
        """The selector in ACL LIST form: keys, channels, commands."""
        parts = []
        keys = self.describe_keys()
        if keys:
            parts.append(keys)
        if self.allchannels:
            parts.append("&*")
        else:
            parts.append("resetchannels")
            if self.channels:
                parts.append(self.describe_channels())
        parts.append(self.describe_commands())
        return " ".join(parts)

    def info(self) -> list:
        """``commands``/``keys``/``channels`` for ACL GETUSER (a flat map)."""
        return [b"commands", self.describe_commands().encode("utf-8", "surrogateescape"),
                b"keys", self.describe_keys().encode("utf-8", "surrogateescape"),
                b"channels", self.describe_channels().encode("utf-8", "surrogateescape")]

    # -- checks --------------------------------------------------------------------------------------
    @property
    def unrestricted(self) -> bool:
        if not (self.allkeys and self.allchannels):
            return False
        a = self._allowed
        return a is None or a == universe().all

    def key_ok(self, key: bytes, need: int) -> bool:
        if self.allkeys:
            return True
        km = self._kmatch
        if km is None:
            km = self._kmatch = [(flags, compile_glob(pat)) for pat, flags in self.keys]
        for flags, match in km:
            if flags & need == need and match(key):
                return True
        return False

    def channel_ok(self, channel: bytes, is_pattern: bool) -> bool:
        if self.allchannels:
            return True
        if is_pattern:
            return channel in self.channels
        cm = self._cmatch
        if cm is None:
            cm = self._cmatch = [(p, compile_glob(p)) for p in self.channels]
        for _, match in cm:
            if match(channel):
                return True
        return False

    def check(self, cmd: Command, argv: list[bytes]) -> tuple[int, int]:
        """``(ALLOWED|DENIED_*, argv index of the denied key/channel)`` for running *argv*."""
        u = universe()
        if not (self.allowed & u.bit.get(cmd, 0)) and not cmd.no_auth:
            fa = self.firstargs.get(cmd)
            if not fa or len(argv) < 2:
                return DENIED_CMD, 0
            arg = argv[1].lower()
            if not any(a.lower() == arg for a in fa):
                return DENIED_CMD, 0
        if not self.allkeys:
            for pos, need in key_requirements(cmd, argv):
                if not self.key_ok(argv[pos], need):
                    return DENIED_KEY, pos
        if not self.allchannels:
            spec = _CHANNEL_CMDS.get(cmd.fullname)
            if spec is not None:
                start, single, pattern = spec
                end = min(start + 1, len(argv)) if single else len(argv)
                for pos in range(start, end):
                    if not self.channel_ok(argv[pos], pattern):
                        return DENIED_CHANNEL, pos
        return ALLOWED, 0


# -- users -------------------------------------------------------------------------------------------
