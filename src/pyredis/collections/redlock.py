"""``Redlock``: a distributed lock with the ``threading.Lock`` API (Redlock algorithm).

The lock is held when a majority of the masters store this holder's random token under
``redlock:<key>`` (SET NX PX); it auto-releases after ``auto_release_time`` seconds
unless extended, which ``auto_renew=True`` does in the background for as long as it is
held.  Release and extension compare tokens in Lua, so only the holder can do them.
"""

from __future__ import annotations

import functools
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pyredis.collections import masters as multi
from pyredis.collections.errors import ExtendUnlockedLock, ReleaseUnlockedLock, TooManyExtensions
from pyredis.collections.masters import Fanout, Sleep, masters_of, ok, quorum
from pyredis.collections.ops import Cmd, Eval, Plan
from pyredis.collections.scripts import LOCK_EXTEND, LOCK_RELEASE, LOCK_TTL

F = TypeVar("F", bound=Callable[..., Any])

KEY_PREFIX = "redlock:"
CLOCK_DRIFT_FACTOR = 0.01
RETRY_DELAY = 0.2  # max seconds between attempts (randomized)


class RedlockPlans:
    """State and plans shared by :class:`Redlock` and its async twin."""

    def __init__(
        self,
        *,
        key: str,
        masters: Iterable[Any] | None = None,
        redis: Any = None,
        auto_release_time: float = 10.0,
        num_extensions: int | None = None,
        auto_renew: bool = False,
        context_manager_blocking: bool = True,
        context_manager_timeout: float = -1,
    ):
        if auto_release_time <= 0:
            raise ValueError("auto_release_time must be positive (seconds)")
        self.name = key
        self.key = KEY_PREFIX + key
        self.masters = masters_of(masters, redis)
        self.auto_release_time = float(auto_release_time)
        self.num_extensions = num_extensions
        self.auto_renew = auto_renew
        self.context_manager_blocking = context_manager_blocking
        self.context_manager_timeout = context_manager_timeout
        self._token: str | None = None
        self._extensions = 0
        #: True when background renewal found the lock lost (expired or taken).
        self.lost = False

    def sibling_options(self, blocking: bool, timeout: float) -> dict[str, Any]:
        """Keyword arguments for a new lock on the same masters with this one's settings
        (what ``synchronize`` creates per call)."""
        return {
            "masters": self.masters,
            "auto_release_time": self.auto_release_time,
            "num_extensions": self.num_extensions,
            "auto_renew": self.auto_renew,
            "context_manager_blocking": blocking,
            "context_manager_timeout": timeout,
        }

    @property
    def _ms(self) -> int:
        return int(self.auto_release_time * 1000)

    @property
    def _quorum(self) -> int:
        return quorum(len(self.masters))

    def _all(self, request: Any) -> Fanout:
        return Fanout([request] * len(self.masters))

    def _p_acquire(self, blocking: bool, timeout: float) -> Plan[bool]:
        if not blocking and timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        deadline = None if timeout < 0 else time.monotonic() + timeout
        drift = self.auto_release_time * CLOCK_DRIFT_FACTOR + 0.002
        while True:
            token = uuid.uuid4().hex
            start = time.monotonic()
            replies = yield self._all(Cmd(("SET", self.key, token, "NX", "PX", self._ms)))
            validity = self.auto_release_time - (time.monotonic() - start) - drift
            if sum(map(ok, replies)) >= self._quorum and validity > 0:
                self._token, self._extensions, self.lost = token, 0, False
                return True
            yield self._all(Eval(LOCK_RELEASE, (self.key,), (token,)))
            if not blocking:
                return False
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            pause = random.uniform(0, RETRY_DELAY)
            yield Sleep(pause if left is None else min(pause, left))

    def _p_release(self) -> Plan[None]:
        token, self._token = self._token, None
        if token is None:
            raise ReleaseUnlockedLock(f"release unlocked lock {self.name!r}")
        replies = yield self._all(Eval(LOCK_RELEASE, (self.key,), (token,)))
        if sum(map(ok, replies)) < self._quorum:
            raise ReleaseUnlockedLock(f"lock {self.name!r} had already expired or been taken")

    def _p_extend(self) -> Plan[None]:
        if self._token is None:
            raise ExtendUnlockedLock(f"extend unlocked lock {self.name!r}")
        if self.num_extensions is not None and self._extensions >= self.num_extensions:
            raise TooManyExtensions(f"lock {self.name!r} was extended {self._extensions} times already")
        replies = yield self._all(Eval(LOCK_EXTEND, (self.key,), (self._token, self._ms)))
        if sum(map(ok, replies)) < self._quorum:
            raise ExtendUnlockedLock(f"lock {self.name!r} had already expired or been taken")
        self._extensions += 1

    def _p_locked(self) -> Plan[bool]:
        replies = yield self._all(Cmd(("EXISTS", self.key)))
        return sum(map(ok, replies)) >= self._quorum

    def _p_ttl(self) -> Plan[float]:
        if self._token is None:
            return 0.0
        replies = yield self._all(Eval(LOCK_TTL, (self.key,), (self._token,)))
        held = sorted((int(r) for r in replies if ok(r)), reverse=True)
        if len(held) < self._quorum:
            return 0.0
        return held[self._quorum - 1] / 1000

    def __repr__(self) -> str:
        return f"<{type(self).__name__} key={self.name!r} held={self._token is not None}>"


class Redlock(RedlockPlans):
    """A distributed lock.  ``Redlock(key='printer', masters=[r1, r2, r3])``.

    ``acquire(blocking=True, timeout=-1)``, ``release()``, ``locked()``, ``extend()``,
    ``ttl()`` and ``with lock:`` work like ``threading.Lock``.  Not reentrant.
    """

    def __init__(self, *, key: str, masters: Iterable[Any] | None = None, redis: Any = None, **options: Any):
        super().__init__(key=key, masters=masters, redis=redis, **options)
        self._renewer: threading.Thread | None = None
        self._stop_renewing = threading.Event()

    def _run(self, plan: Plan[Any]) -> Any:
        return multi.run(self.masters, plan, repr(self))

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire the lock; False when not blocking or ``timeout`` seconds pass first."""
        acquired = self._run(self._p_acquire(blocking, timeout))
        if acquired and self.auto_renew:
            self._start_renewing()
        return acquired

    def release(self) -> None:
        """Release the lock; ReleaseUnlockedLock (a RuntimeError) when not held."""
        self._stop()
        self._run(self._p_release())

    def extend(self) -> None:
        """Reset the lock's remaining time to ``auto_release_time`` (unlimited by default)."""
        self._run(self._p_extend())

    def locked(self) -> bool:
        """Whether anyone holds the lock."""
        return self._run(self._p_locked())

    def ttl(self) -> float:
        """Seconds left before this holder's lock auto-releases (0 if not held by us)."""
        return self._run(self._p_ttl())

    def _start_renewing(self) -> None:
        self._stop_renewing = stop = threading.Event()
        interval = self.auto_release_time / 3

        def renew() -> None:
            while not stop.wait(interval):
                try:
                    self.extend()
                except Exception:
                    self.lost = True
                    return

        self._renewer = threading.Thread(target=renew, daemon=True, name=f"redlock-renew-{self.name}")
        self._renewer.start()

    def _stop(self) -> None:
        self._stop_renewing.set()
        renewer, self._renewer = self._renewer, None
        if renewer is not None and renewer is not threading.current_thread():
            renewer.join()

    def __enter__(self) -> Redlock:
        if not self.acquire(self.context_manager_blocking, self.context_manager_timeout):
            raise TimeoutError(f"could not acquire {self!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def watch(self, *, configure: bool = True) -> Any:
        """Change events of the lock key on the first master."""
        from pyredis.collections.watch import Watcher

        return Watcher(self.masters[0], self.key, configure=configure)


def synchronize(
    *,
    key: str,
    masters: Iterable[Any] | None = None,
    redis: Any = None,
    blocking: bool = True,
    timeout: float = -1,
    **options: Any,
) -> Callable[[F], F]:
    """Decorator: run the function only while holding ``Redlock(key=key, ...)``."""

    template = Redlock(key=key, masters=masters, redis=redis, **options)

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            lock = Redlock(key=key, **template.sibling_options(blocking, timeout))
            with lock:
                return func(*args, **kwargs)

        wrapper.lock = template  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator
