"""maxmemory: the dataset memory estimate (INFO used_memory), key eviction by
``maxmemory-policy`` and the OOM refusal of ``denyoom`` commands.

With ``maxmemory`` 0 nothing runs per command. Otherwise the server gate routes commands through
``Server.check_state``, whose ``events.pre_checks`` call :meth:`Evictor.check`: like redis-server, every
command first evicts keys while the estimate exceeds the limit, then ``denyoom`` commands (and
anything queued inside MULTI, and EXEC of a transaction holding one) are refused with the OOM
error when memory could not be freed.

Approximated policies sample ``maxmemory-samples`` keys per database into a pool of the 16 best
candidates (largest idle time, lowest LFU counter, soonest expiry), as redis-server does.
LFU keeps a logarithmic access counter with decay (``lfu-log-factor``, ``lfu-decay-time``),
updated through the database's access clock (``db.lru``, swapped for :class:`LfuClock`).
"""

from __future__ import annotations

import time
from bisect import insort
from random import random
from typing import TYPE_CHECKING, Any

from pyredis.engine import notify
from pyredis.engine.memory import KeySampler, MemoryEstimator

if TYPE_CHECKING:
    from pyredis.server.app import Server

OOM_ERROR = "OOM command not allowed when used memory > 'maxmemory'."
EVICT_OK, EVICT_RUNNING, EVICT_FAIL = 0, 1, 2
POOL_SIZE = 16
LFU_INIT_VAL = 5
# Commands never refused for memory inside MULTI (EXEC only when its queue holds a denyoom one).
_MULTI_OK = {"exec", "discard", "quit", "reset"}


class LfuClock(dict):
    """A database access clock (key -> last access time) that also counts accesses, LFU-style."""

    __slots__ = ("freq",)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.freq: dict[bytes, tuple[int, int]] = {}  # key -> (counter, last decrement minute)

    def __setitem__(self, key: bytes, t: float) -> None:
        dict.__setitem__(self, key, t)
        freq = self.freq
        minute = int(t // 60)
        old = freq.get(key)
        if old is None:
            freq[key] = (LFU_INIT_VAL, minute)
            return
        counter = decayed(old, minute)
        if counter < 255:
            base = counter - LFU_INIT_VAL
            if base <= 0 or random() < 1.0 / (base * _log_factor + 1):
                counter += 1
        freq[key] = (counter, minute)


_decay_minutes = 1  # lfu-decay-time, kept current by the config listeners
_log_factor = 10  # lfu-log-factor


def decayed(entry: tuple[int, int], minute: int) -> int:
    """The counter of an LFU entry after its decay periods elapsed."""
    counter, last = entry
    if _decay_minutes and minute > last:
        counter -= (minute - last) // _decay_minutes
        if counter < 0:
            counter = 0
    return counter


class Evictor:
    """maxmemory state of one server (``server.eviction``); its counter is ``server.stats.evicted_keys``."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.estimator = MemoryEstimator(server.keyspace)
        ndb = len(server.keyspace.dbs)
        self.data_samplers = [KeySampler() for _ in range(ndb)]
        self.ttl_samplers = [KeySampler() for _ in range(ndb)]
        self.pool: list[tuple[float, int, bytes]] = []  # (score, dbid, key); best (highest) last
        self.next_db = 0
        self.lfu = False
        self.continuing = False
        cfg = server.config
        _set_decay(cfg["lfu-decay-time"])
        cfg.on_change("lfu-decay-time", _set_decay)
        _set_log_factor(cfg["lfu-log-factor"])
        cfg.on_change("lfu-log-factor", _set_log_factor)
        for name in ("maxmemory", "maxmemory-policy"):
            cfg.on_change(name, self.configure)
        self.configure()

    # -- configuration ---------------------------------------------------------------------------
    def configure(self, *_: Any) -> None:
        """Apply maxmemory / maxmemory-policy: gate, access tracking, LFU clocks."""
        srv = self.server
        cfg = srv.config.values
        maxmem = cfg["maxmemory"]
        policy = cfg["maxmemory-policy"]
        self.lfu = "lfu" in policy
        self.pool.clear()
        srv.hold_gate("maxmemory", bool(maxmem))
        ks = srv.keyspace
        if self.lfu or (maxmem and "lru" in policy):
            ks.track_lru = True
        if self.lfu:
            self.install_lfu()
        if maxmem and srv.loop is not None and not self.continuing:
            self.continuing = True
            srv.loop.call_soon(self._continue)  # like redis-server: evict soon after lowering it

    def install_lfu(self) -> None:
        for db in self.server.keyspace.dbs:
            if type(db.lru) is not LfuClock:
                db.lru = LfuClock(db.lru)

    # -- memory ----------------------------------------------------------------------------------
    def used_memory(self) -> int:
        """The memory estimate (INFO used_memory): the dataset plus the normal and Pub/Sub clients'
        buffers (accounted while maxmemory or maxmemory-clients is set, as server/clientmem.py does)."""
        return self.estimator.used(self.server.dirty) + self.server.client_eviction.total()



    # -- enforcement -----------------------------------------------------------------------------
    def check(self, c: Any, cmd: Any, argv: list[bytes]) -> bool:
        """``events.pre_checks`` entry: evict as needed; False (after replying OOM) if the command is refused."""
        if not self.server.config.values["maxmemory"] or getattr(c, "is_master", False):
            return True
        if self.perform(c.db) != EVICT_FAIL:
            return True
        reject = cmd.denyoom
        if not reject:
            name = cmd.parent.name if cmd.parent is not None else cmd.name
            if c.multi is not None:
                if name not in _MULTI_OK:
                    reject = True
                elif name == "exec":
                    reject = any(q[0].denyoom for q in c.multi)
        if reject:
            self.server.reject(c, cmd, OOM_ERROR)
            return False
        return True

    def oom(self) -> bool:
        """Scripts: whether writes are refused for memory (redis-server's pre-command OOM state)."""
        c = self.server.current_client
        return self.perform(c.db if c is not None else None) == EVICT_FAIL

    def perform(self, db: Any = None) -> int:
        """Evict keys until the estimate is within maxmemory (EVICT_OK / EVICT_RUNNING / EVICT_FAIL).

        *db*: the database of the client about to run a command (counted even if new since the
        last estimate refresh); None counts every database.
        """
        srv = self.server
        cfg = srv.config.values
        maxmem = cfg["maxmemory"]
        if not maxmem:
            return EVICT_OK
        ks = srv.keyspace
        if ks.is_replica and cfg["replica-ignore-maxmemory"]:
            return EVICT_OK
        clients = srv.client_eviction.used  # client buffers count, replicas' do not (as in Redis)
        used = self.estimator.used(srv.dirty, db) + clients
        if used <= maxmem:
            return EVICT_OK
        if srv.paused_until and time.time() < srv.paused_until:
            return EVICT_OK  # no evictions while clients are paused
        policy = cfg["maxmemory-policy"]
        if policy == "noeviction":
            return EVICT_FAIL
        tenacity = cfg["maxmemory-eviction-tenacity"]
        deadline = None if tenacity >= 100 else time.monotonic() + 0.005 * 1.15 ** (tenacity - 10)
        n = 0
        while used > maxmem:
            found = self.pick(policy)
            if found is None:
                return EVICT_FAIL
            self.evict(*found)
            n += 1
            used = self.estimator.used(srv.dirty, db) + clients
            if deadline is not None and not n % 16 and time.monotonic() > deadline and used > maxmem:
                if srv.loop is not None and not self.continuing:
                    self.continuing = True
                    srv.loop.call_soon(self._continue)
                return EVICT_RUNNING
        return EVICT_OK

    def _continue(self) -> None:
        self.continuing = False
        self.perform()

    # -- candidates ------------------------------------------------------------------------------
    def pick(self, policy: str) -> tuple[Any, bytes] | None:
        """The next key to evict: (db, key), or None when no candidate exists."""
        dbs = self.server.keyspace.dbs
        volatile = policy.startswith("volatile")
        samplers = self.ttl_samplers if volatile else self.data_samplers
        if policy.endswith("random"):
            ndb = len(dbs)
            for _ in range(ndb):
                i = self.next_db = (self.next_db + 1) % ndb
                db = dbs[i]
                d = db.expires if volatile else db.data
                if d:
                    for key in samplers[i].sample(d, 4):
                        return db, key
                    return db, next(iter(d))
            return None
        pool = self.pool
        samples = self.server.config.values["maxmemory-samples"]
        while True:
            total = 0
            for i, db in enumerate(dbs):
                d = db.expires if volatile else db.data
                if d:
                    total += len(d)
                    self.populate(db, samplers[i].sample(d, samples), policy)
            if not total:
                return None
            while pool:
                _, dbid, key = pool.pop()
                db = dbs[dbid]
                if key in (db.expires if volatile else db.data):
                    return db, key

    def populate(self, db: Any, keys: list[bytes], policy: str) -> None:
        """Score sampled keys and keep the best POOL_SIZE candidates."""
        pool = self.pool
        now = time.time()
        if policy.endswith("ttl"):
            exp = db.expires
            scores = [(-float(exp[k]), k) for k in keys if k in exp]
        elif self.lfu:
            lru = db.lru
            if type(lru) is not LfuClock:
                self.install_lfu()
                lru = db.lru
            freq = lru.freq
            minute = int(now // 60)
            scores = [(255.0 - decayed(freq.get(k, (LFU_INIT_VAL, minute)), minute), k) for k in keys]
        else:
            lru = db.lru
            epoch = self.server.keyspace.lru_epoch
            scores = [(now - lru.get(k, epoch), k) for k in keys]
        dbid = db.id
        for score, key in scores:
            entry = (score, dbid, key)
            if entry in pool:
                continue
            if len(pool) >= POOL_SIZE:
                if score <= pool[0][0]:
                    continue
                pool.pop(0)
            insort(pool, entry)

    def evict(self, db: Any, key: bytes) -> None:
        """Delete one key for memory: propagate DEL, count it, invalidate WATCH, notify ``evicted``."""
        srv = self.server
        if srv.propagators:
            cmd = [b"UNLINK" if srv.config.values["lazyfree-lazy-eviction"] else b"DEL", key]
            for fn in srv.propagators:
                fn(db.id, cmd)
        db.delete(key)
        lru = db.lru
        if lru:
            lru.pop(key, None)
            if type(lru) is LfuClock:
                lru.freq.pop(key, None)
        srv.stats.evicted_keys += 1
        db.signal_modified(key)
        ks = srv.keyspace
        if ks.notify_flags & notify.EVICTED:
            ks.notify(notify.EVICTED, b"evicted", key, db.id)

    # -- LFU accessors (OBJECT FREQ, RESTORE FREQ, RDB) ----------------------------------------------
    def lfu_freq(self, db: Any, key: bytes) -> int:
        lru = db.lru
        if type(lru) is not LfuClock:
            self.install_lfu()
            lru = db.lru
        minute = int(time.time() // 60)
        entry = lru.freq.get(key)
        return LFU_INIT_VAL if entry is None else decayed(entry, minute)

    def set_lfu_freq(self, db: Any, key: bytes, freq: int) -> None:
        if type(db.lru) is not LfuClock:
            self.install_lfu()
        lru = db.lru
        dict.__setitem__(lru, key, time.time())
        lru.freq[key] = (min(freq, 255), int(time.time() // 60))

    def cron(self, server: Server) -> None:
        """``events.cron``: LFU clocks for databases created meanwhile."""
        if self.lfu:
            for db in server.keyspace.dbs:
                if type(db.lru) is not LfuClock:
                    self.install_lfu()
                    break


def _set_decay(v: int) -> None:
    global _decay_minutes
    _decay_minutes = v


def _set_log_factor(v: int) -> None:
    global _log_factor
    _log_factor = v
