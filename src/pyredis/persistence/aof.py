"""The append-only file, in Redis 7's multi-part layout.

``<dir>/<appenddirname>/`` holds a base file (``<appendfilename>.<n>.base.rdb`` with the RDB
preamble, or ``.base.aof`` with commands), incremental files (``<appendfilename>.<n>.incr.aof``)
and the manifest ``<appendfilename>.manifest`` listing them::

    file appendonly.aof.1.base.rdb seq 1 type b
    file appendonly.aof.1.incr.aof seq 1 type i

Writes are fed by :meth:`AOF.feed` (a ``server.propagators`` entry) with a SELECT whenever the
database changes. ``appendfsync always`` writes and fsyncs before the command's reply can leave
the process; ``everysec`` writes once per event-loop iteration and fsyncs in a background thread
at most once a second; ``no`` leaves flushing to the OS.

A rewrite (BGREWRITEAOF) first opens a new incremental file for the commands that follow, then a
child process writes a new base from its snapshot; when it succeeds the manifest is switched to
the new base + the new incr file and the older files are deleted.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from pyredis.persistence.aof_manifest import BASE, HIST, INCR, AOFError, AOFInfo, Manifest
from pyredis.protocol.encoder import encode_command
from pyredis.server.propagate import PROPAGATE_AOF

log = logging.getLogger("pyredis")

__all__ = ["AOF", "AOFError", "AOFInfo", "BASE", "HIST", "INCR", "Manifest", "encode_command", "iter_commands"]

AOF_OFF, AOF_ON, AOF_WAIT_REWRITE = 0, 1, 2
AOF_WRITE_LOG_ERROR_RATE = 30  # seconds between two logged AOF write errors

# ==================================================================================================
# Parsing the command stream
# ==================================================================================================
class Truncated(Exception):
    """The command stream ended in the middle of a command."""


class BadFormat(Exception):
    pass


_LEADING_INT = re.compile(rb"[ \t\n\v\f\r]*([+-]?[0-9]+)")
LINE_MAX = 1024  # AOF_ANNOTATION_LINE_MAX_LEN: the fgets() buffer of the loader


def _c_int(b: bytes) -> int:
    """C ``atoi`` / ``strtol``: the leading integer (after spaces), 0 when there is none."""
    m = _LEADING_INT.match(b)
    return int(m.group(1)) if m else 0


def iter_commands(data: bytes, pos: int = 0):
    """Yield ``(argv, valid, end)`` for each command of an AOF body, read as loadSingleAppendOnlyFile
    reads it (``fgets`` lines of at most 1023 bytes, ``atoi``/``strtol`` counts, any two bytes after an
    argument); *valid* is the offset after the previous command (where a truncation cuts). Raises
    Truncated(valid) at a short read, BadFormat(valid) on a format error."""
    n = len(data)
    find = data.find
    valid = pos
    lim = LINE_MAX - 1

    def line_end(p: int) -> int:
        nl = find(b"\n", p, p + lim)
        return nl + 1 if nl >= 0 else min(n, p + lim)

    while pos < n:
        eol = line_end(pos)
        c = data[pos]
        if c == 35:  # '#': an annotation (a longer one goes on as the next "line")
            pos = eol
            continue
        if c != 42:  # '*'
            raise BadFormat(valid)
        if eol == pos + 1:  # "*" and the end of the file
            raise Truncated(valid)
        argc = _c_int(data[pos + 1 : eol])
        if argc < 1:
            raise BadFormat(valid)
        p = eol
        argv = []
        for _ in range(argc):
            if p >= n:
                raise Truncated(valid)
            eol = line_end(p)
            if data[p] != 36:  # '$'
                raise BadFormat(valid)
            ln = _c_int(data[p + 1 : eol])
            if ln < 0:  # a huge unsigned length for Redis: its allocation fails
                raise BadFormat(valid)
            p = eol
            end = p + ln
            if end + 2 > n:
                raise Truncated(valid)
            argv.append(data[p:end])
            p = end + 2  # the CRLF, not checked
        pos = p
        yield argv, valid, pos
        valid = pos


# ==================================================================================================
# The AOF state machine
# ==================================================================================================
class AOF:
    """AOF state of one server: manifest, current incr file, buffer, fsync policy."""

    def __init__(self, server: Any) -> None:
        self.server = server
        cfg = server.config
        self.state = AOF_ON if cfg["appendonly"] else AOF_OFF
        self.manifest: Manifest | None = None
        self.fd = -1
        self.buf: list[bytes] = []
        self.buf_len = 0
        self.selected_db = -1
        self.flush_scheduled = False
        self.last_fsync = time.time()
        self.fsync_pending = False
        self.fsync_thread: threading.Thread | None = None
        self.fsync_lock = threading.Lock()
        self.fsync_event = threading.Event()
        self.written_since_fsync = False
        self.current_size = 0
        self.base_size = 0
        self.rewrite_base_size = 0
        self.last_incr_size = 0
        self.last_write_ok = True
        self.last_write_error = ""
        self.last_write_error_log = 0
        self.fsync_error = ""  # set by the background fsync thread (aof_bio_fsync_status)
        self.fsync_error_seen = False
        self.delayed_fsync = 0
        self.last_ts = 0
        self.flush_sleep = 0
        self.loading_name = ""
        self.loading = False
        # rewrite bookkeeping
        self.rewrite_scheduled = False
        self.rewrites = 0
        self.rewrite_failures = 0
        self.last_rewrite_ok = True
        self.last_rewrite_time = -1
        self.rewrite_start = 0.0
        self.temp_incr: str | None = None

    # -- paths ----------------------------------------------------------------------------------------
    @property
    def dirpath(self) -> str:
        cfg = self.server.config
        return os.path.join(cfg["dir"], cfg["appenddirname"])

    @property
    def filename(self) -> str:
        return self.server.config["appendfilename"]

    def path(self, name: str) -> str:
        return os.path.join(self.dirpath, name)

    def manifest_path(self) -> str:
        return self.path(self.filename + ".manifest")

    # -- manifest I/O ---------------------------------------------------------------------------------
    def load_manifest(self) -> Manifest | None:
        """Read the manifest from disk (None when there is none), first upgrading an AOF left by
        Redis < 7 (``<dir>/<appendfilename>``) into the AOF directory when:

        * the AOF directory does not exist, or
        * it exists without a manifest, or
        * its manifest lists only a base with the old name that is not in the directory yet
          (an upgrade interrupted before the rename).
        """
        mp = self.manifest_path()
        m: Manifest | None = None
        if os.path.exists(mp):
            try:
                with open(mp, encoding="utf-8", errors="surrogateescape", newline="") as fh:
                    text = fh.read()
            except OSError as e:
                raise AOFError(f"Fail to open AOF manifest file: {e.strerror}") from None
            m = Manifest.parse(text)
        old = os.path.join(self.server.config["dir"], self.filename)
        if os.path.isfile(old):
            if (not os.path.isdir(self.dirpath) or m is None or (
                    m.base is not None and not m.incr and m.base.name == self.filename
                    and not os.path.exists(self.path(self.filename)))):
                m = self._upgrade(old, m)
        self.manifest = m
        return m

    def _upgrade(self, old: str, m: Manifest | None) -> Manifest:
        os.makedirs(self.dirpath, exist_ok=True)
        if m is None or m.base is None:
            m = Manifest()
            m.base = AOFInfo(self.filename, 1, BASE)
            m.curr_base_seq = 1
            self.persist_manifest(m)
        os.replace(old, self.path(self.filename))
        _fsync_dir(self.dirpath)
        log.info("Successfully migrated an old-style AOF into the AOF directory %s.",
                 self.server.config["appenddirname"])
        return m

    def persist_manifest(self, m: Manifest) -> None:
        """Write the manifest to a temporary file, fsync it and rename it over the manifest; an
        OSError is logged in ``writeAofManifestFile``'s words and raised (the manifest is unchanged)."""
        os.makedirs(self.dirpath, exist_ok=True)
        tmp_name = "temp-" + self.filename + ".manifest"
        tmp = self.path(tmp_name)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
        except OSError as e:
            log.warning("Can't open the AOF manifest file %s: %s", tmp_name, e.strerror)
            raise
        try:
            _, err = _write_all(fd, m.text().encode("utf-8", "surrogateescape"))
            if err:
                log.warning("Error trying to write the temporary AOF manifest file %s: %s", tmp_name, os.strerror(err))
                raise OSError(err, os.strerror(err))
            try:
                os.fsync(fd)
            except OSError as e:
                log.warning("Fail to fsync the temp AOF file %s: %s.", tmp_name, e.strerror)
                raise
        finally:
            os.close(fd)
        try:
            os.replace(tmp, self.manifest_path())
        except OSError as e:
            log.warning("Error trying to rename the temporary AOF manifest file %s into %s: %s", tmp_name,
                        self.filename + ".manifest", e.strerror)
            raise
        _fsync_dir(self.dirpath)

    def new_base_name(self, m: Manifest, rdb_preamble: bool) -> str:
        if m.base is not None:
            m.base.type = HIST
            m.history.insert(0, m.base)
        m.curr_base_seq += 1
        name = "%s.%d.base.%s" % (self.filename, m.curr_base_seq, "rdb" if rdb_preamble else "aof")
        m.base = AOFInfo(name, m.curr_base_seq, BASE)
        return name

    def new_incr_name(self, m: Manifest) -> str:
        m.curr_incr_seq += 1
        name = "%s.%d.incr.aof" % (self.filename, m.curr_incr_seq)
        m.incr.append(AOFInfo(name, m.curr_incr_seq, INCR))
        return name

    def delete_history(self, m: Manifest) -> None:
        if self.server.config["aof-disable-auto-gc"]:
            return
        changed = False
        for h in list(m.history):
            log.info("Removing the history file %s in the background", h.name)
            try:
                os.unlink(self.path(h.name))
            except FileNotFoundError:
                pass
            except OSError:
                continue
            m.history.remove(h)
            changed = True
        if changed:
            self.persist_manifest(m)

    def total_size(self, m: Manifest | None = None) -> int:
        m = m or self.manifest
        if m is None:
            return 0
        size = 0
        for info in ([m.base] if m.base else []) + m.incr:
            try:
                size += os.path.getsize(self.path(info.name))
            except OSError:
                pass
        return size

    # -- loading ----------------------------------------------------------------------------------------
    def exists(self) -> bool:
        m = self.manifest
        if m is None:
            return False
        for info in ([m.base] if m.base else []) + m.incr:
            if os.path.exists(self.path(info.name)):
                return True
        return False

    def load(self, execute: Callable[[list[bytes]], None], load_rdb: Callable[..., Any]) -> str:
        """Load base + incr files. Returns 'ok', 'empty' or 'missing'; raises AOFError when fatal."""
        gen = self.iter_load(execute, load_rdb)
        while True:
            try:
                next(gen)
            except StopIteration as stop:
                return stop.value

    def iter_load(self, execute: Callable[[list[bytes]], None], load_rdb: Callable[..., Any], every: int = 0):
        """Generator loading base + incr files, yielding every *every* bytes (0: never); returns
        'ok', 'empty' or 'missing'; raises AOFError when fatal.

        *execute* runs one command; ``load_rdb(data, pos, name)`` is a generator loading an RDB
        preamble and returning the offset after it.
        """
        m = self.manifest
        if m is None:
            return "missing"
        files = ([m.base] if m.base else []) + m.incr
        if not files:
            return "missing"
        for info in files:
            p = self.path(info.name)
            if not os.path.exists(p):
                raise AOFError(f"Fatal error: can't open the append log file {info.name} for reading: "
                               "No such file or directory")
        t_all = time.time()
        total = 0
        last = len(files) - 1
        for i, info in enumerate(files):
            t0 = time.time()
            is_base = info.type == BASE
            n = yield from self.iter_load_file(info.name, execute, load_rdb, i == last, is_base, every)
            total += n
            if n or is_base or os.path.getsize(self.path(info.name)):
                kind = "base" if is_base else "incr"
                log.info("DB loaded from %s file %s: %.3f seconds", kind, info.name, time.time() - t0)
        self.current_size = self.total_size()
        self.base_size = os.path.getsize(self.path(m.base.name)) if m.base else 0
        self.rewrite_base_size = self.base_size  # Redis knows no better after a restart (INFO aof_base_size)
        if total == 0 and all(os.path.getsize(self.path(i.name)) == 0 for i in files):
            return "empty"
        log.info("DB loaded from append only file: %.3f seconds", time.time() - t_all)
        return "ok"

    def iter_load_file(self, name: str, execute: Callable[[list[bytes]], None], load_rdb: Callable[..., Any],
                       is_last: bool, is_base: bool = False, every: int = 0):
        """Generator loading one AOF file; returns the number of commands executed."""
        p = self.path(name)
        self.loading_name = name
        try:
            with open(p, "rb") as fh:
                data = fh.read()
        except OSError as e:
            raise AOFError(f"Fatal error: can't open the append log file {name} for reading: {e.strerror}") from None
        if not data:
            return 0
        pos = 0
        if data[:5] == b"REDIS":
            log.info("Reading RDB base file on AOF loading..." if is_base else "Reading RDB preamble from AOF file...")
            pos = yield from load_rdb(data, 0, name)
            if pos < len(data):
                log.info("Reading the remaining AOF tail...")
        count = 0
        multi: list[list[bytes]] | None = None
        valid_before_multi = pos
        next_yield = pos + every if every else len(data) + 1
        try:
            for argv, start, end in iter_commands(data, pos):
                name0 = argv[0].lower()
                if name0 == b"multi":
                    multi = []
                    valid_before_multi = start
                elif name0 == b"exec" and multi is not None:
                    for a in multi:
                        execute(a)
                        count += 1
                    multi = None
                elif multi is not None:
                    multi.append(argv)
                else:
                    execute(argv)
                    count += 1
                if end >= next_yield:
                    yield end
                    next_yield = end + every
            if multi is not None:
                log.warning("Revert incomplete MULTI/EXEC transaction in AOF file %s", name)
                raise Truncated(valid_before_multi)
        except Truncated as t:
            cut = valid_before_multi if multi is not None else t.args[0]
            self._truncated(name, p, cut, is_last)
        except BadFormat:
            raise AOFError(f"Bad file format reading the append only file {name}: make a backup of your AOF "
                           "file, then use ./redis-check-aof --fix <filename.manifest>") from None
        return count

    def _truncated(self, name: str, path: str, cut: int, is_last: bool) -> None:
        cfg = self.server.config
        if not is_last or not cfg["aof-load-truncated"]:
            raise AOFError(f"Unexpected end of file reading the append only file {name}. You can: 1) Make a "
                           "backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) "
                           "Alternatively you can set the 'aof-load-truncated' configuration option to yes and "
                           "restart the server.")
        log.warning("!!! Warning: short read while loading the AOF file %s!!!", name)
        log.warning("!!! Truncating the AOF %s at offset %d !!!", name, cut)
        try:
            os.truncate(path, cut)
        except OSError as e:
            raise AOFError(f"Error truncating the AOF file {name}: {e.strerror}") from None
        log.warning("AOF %s loaded anyway because aof-load-truncated is enabled", name)

    # -- writing ----------------------------------------------------------------------------------------
    def open_incr_at_start(self) -> None:
        """After loading: make sure a base exists (empty start) and open the last incr file. Raises
        AOFError (already logged, ``logged`` set) when a file cannot be written: the server exits."""
        m = self.manifest
        if m is None:
            m = self.manifest = Manifest()
        try:
            os.makedirs(self.dirpath, exist_ok=True)
        except OSError as e:
            log.warning("Can't open or create append-only dir %s: %s", self.server.config["appenddirname"],
                        e.strerror)
            raise _logged() from None
        if m.base is None and not m.incr:
            name = self.new_base_name(m, self.server.config["aof-use-rdb-preamble"])
            m.history.clear()
            self.write_base_sync(self.path(name))
            log.info("Creating AOF base file %s on server start", name)
        opened = bool(m.incr)
        name = m.incr[-1].name if opened else self.new_incr_name(m)
        try:
            self.fd = os.open(self.path(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            log.warning("Can't open the append-only file %s: %s", name, e.strerror)
            raise _logged() from None
        try:
            self.persist_manifest(m)
        except OSError:
            raise _logged() from None
        self.last_incr_size = os.fstat(self.fd).st_size
        log.info("%s AOF incr file %s on server start", "Opening" if opened else "Creating", name)
        self.selected_db = -1  # a base created here is not counted in aof_current_size, as in Redis

    def write_base_sync(self, path: str) -> None:
        """Write a base file for the current dataset in the foreground, through a temporary file as
        ``rewriteAppendOnlyFile`` does; raises AOFError (logged) when it cannot be written."""
        # the RDB codec loads on first use (~0.6 MB of start-up RSS otherwise)
        from pyredis.persistence.rewrite import write_base_file

        tmp = os.path.join(self.server.config["dir"], "temp-rewriteaof-%d.aof" % os.getpid())
        try:
            write_base_file(self.server, tmp, self.server.config["aof-use-rdb-preamble"])
        except OSError as e:
            if e.filename is not None:
                log.warning("Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): %s", e.strerror)
            else:
                log.warning("Write error writing append only file on disk: %s", e.strerror)
            _unlink(tmp)
            raise _logged() from None
        try:
            os.replace(tmp, path)
        except OSError as e:
            log.warning("Error moving temp append only file on the final destination: %s", e.strerror)
            _unlink(tmp)
            raise _logged() from None
        self.base_size = os.path.getsize(path)

    def feed(self, dbid: int, argv: list[bytes]) -> None:
        """Append a propagated command (server.propagators entry)."""
        if self.loading or self.fd < 0:
            return
        buf = self.buf
        if self.server.config.values["aof-timestamp-enabled"]:
            now = int(time.time())
            if now != self.last_ts:
                self.last_ts = now
                buf.append(b"#TS:%d\r\n" % now)
        if dbid != self.selected_db:
            s = b"%d" % dbid
            buf.append(b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n" % (len(s), s))
            self.selected_db = dbid
        buf.append(encode_command(argv))
        if not self.flush_scheduled:
            loop = self.server.loop
            if loop is not None and not loop.is_closed():
                self.flush_scheduled = True
                loop.call_soon(self._flush_soon)
            else:
                self.flush()

    feed.propagate_target = PROPAGATE_AOF  # type: ignore[attr-defined]

    def _flush_soon(self) -> None:
        self.flush_scheduled = False
        self.flush()

    def before_reply(self) -> None:
        """``server.before_reply`` hook: what the replies acknowledge is written to the file first
        (Redis's ``flushAppendOnlyFile`` in ``beforeSleep``, before the replies go out), and with
        ``appendfsync always`` fsynced too."""
        if self.buf:
            self.flush()

    def attach(self) -> None:
        """Route replies through :meth:`before_reply` while the AOF file is open."""
        self.server.before_reply = self.before_reply

    def detach(self) -> None:
        if self.server.before_reply == self.before_reply:
            self.server.before_reply = None

    def flush(self, fsync: bool = False, force_fsync: bool = False) -> None:
        """Write the buffer; fsync per policy (``flushAppendOnlyFile``). A failed write keeps
        what was not written in the buffer, to be retried by the next call."""
        if self.buf and self.fd >= 0:
            if self.flush_sleep:
                time.sleep(self.flush_sleep / 1e6)  # DEBUG AOF-FLUSH-SLEEP
            data = b"".join(self.buf)
            self.buf = []
            written, err = _write_all(self.fd, data)
            if written != len(data):
                self._write_failed(data, written, err)
                return
            self.current_size += written
            self.last_incr_size += written
            self.written_since_fsync = True
            if not self.last_write_ok:
                log.warning("AOF write error looks solved, Redis can write again.")
                self.last_write_ok = True
                self._status_changed()
        if self.fd < 0 or not self.written_since_fsync:
            return
        policy = self.server.config.values["appendfsync"]
        if fsync or force_fsync or policy == "always":
            try:
                os.fsync(self.fd)
            except OSError as e:
                if policy == "always":
                    log.warning("Can't persist AOF for fsync error when the AOF fsync policy is 'always': %s. "
                                "Exiting...", e.strerror)
                    os._exit(1)
            self.written_since_fsync = False
            self.last_fsync = time.time()
        elif policy == "everysec":
            now = time.time()
            if now - self.last_fsync >= 1.0:
                self.background_fsync()

    def _write_failed(self, data: bytes, written: int, err: int) -> None:
        """A write that failed (*written* = 0, *err* its errno) or was short: log at most once
        every 30 s, remove a short write with ftruncate (then report ENOSPC), exit with
        ``appendfsync always``, else keep the rest buffered and refuse writes (MISCONF)."""
        now = int(time.time())
        can_log = now - self.last_write_error_log > AOF_WRITE_LOG_ERROR_RATE
        if can_log:
            self.last_write_error_log = now
        if not written:
            if can_log:
                log.warning("Error writing to the AOF file: %s", os.strerror(err))
        else:
            if can_log:
                log.warning("Short write while writing to the AOF file: (nwritten=%d, expected=%d)", written, len(data))
            try:
                os.ftruncate(self.fd, self.last_incr_size)
                written = 0  # the partial command is gone from the file
            except OSError as e:
                if can_log:
                    log.warning("Could not remove short write from the append-only file.  Redis may refuse to load "
                                "the AOF the next time it starts.  ftruncate: %s", e.strerror)
            err = errno.ENOSPC
        if self.server.config.values["appendfsync"] == "always":
            # the replies are already built and the dataset changed: acknowledged writes must be on disk
            log.warning("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...")
            os._exit(1)
        if written:
            self.current_size += written
            self.last_incr_size += written
            data = data[written:]
        self.buf.insert(0, data)
        self.last_write_error = os.strerror(err)
        if self.last_write_ok:
            self.last_write_ok = False
            self._status_changed()

    def _status_changed(self) -> None:
        """Install or remove the MISCONF write check (``Persistence.update_misconf``)."""
        p = getattr(self.server, "persistence", None)
        if p is not None:
            p.update_misconf()

    def write_error(self) -> str | None:
        """The errno text of the failed AOF write or background fsync that blocks writes, else None."""
        if not self.last_write_ok:
            return self.last_write_error
        return self.fsync_error or None

    def background_fsync(self) -> None:
        if self.fsync_pending or self.fd < 0:
            return
        self.fsync_pending = True
        self.written_since_fsync = False
        self.last_fsync = time.time()
        fd = self.fd

        def run() -> None:
            try:
                os.fsync(fd)
                self.fsync_error = ""
            except OSError as e:  # an fd closed meanwhile is no fsync failure (bio.c)
                if e.errno not in (errno.EBADF, errno.EINVAL):
                    if not self.fsync_error:
                        log.warning("Fail to fsync the AOF file: %s", e.strerror)
                    self.fsync_error = e.strerror or str(e)
            finally:
                self.fsync_pending = False

        t = threading.Thread(target=run, name="aof-fsync", daemon=True)
        self.fsync_thread = t
        t.start()

    def cron(self) -> None:
        """Once per cron tick: flush, retry failed writes, everysec fsync."""
        if self.fd < 0:
            return
        self.flush()
        if bool(self.fsync_error) != self.fsync_error_seen:  # the fsync thread's status, seen by the main thread
            self.fsync_error_seen = bool(self.fsync_error)
            self._status_changed()
        if self.written_since_fsync and self.server.config.values["appendfsync"] == "everysec":
            if time.time() - self.last_fsync >= 1.0:
                self.background_fsync()

    def close(self, fsync: bool = True) -> None:
        if self.fd < 0:
            return
        self.flush(force_fsync=fsync)
        t = self.fsync_thread
        if t is not None and t.is_alive():
            t.join(5)
        try:
            os.close(self.fd)
        except OSError:
            pass
        self.fd = -1

    def switch_to_new_incr(self) -> str:
        """At rewrite start: flush, then append to a new incr file (listed in the manifest now).
        Raises OSError (logged) when the file cannot be created or the manifest not written."""
        self.flush(force_fsync=True)
        m = self.manifest.copy() if self.manifest else Manifest()
        os.makedirs(self.dirpath, exist_ok=True)
        wait = self.state == AOF_WAIT_REWRITE
        name = "temp-" + self.filename + ".incr" if wait else self.new_incr_name(m)
        try:
            fd = os.open(self.path(name), os.O_WRONLY | os.O_TRUNC | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            log.warning("Can't open the append-only file %s: %s", name, e.strerror)
            raise
        if wait:
            self.temp_incr = name
        else:
            try:
                self.persist_manifest(m)
            except OSError:
                os.close(fd)
                raise
            self.manifest = m
        log.info("Creating AOF incr file %s on background rewrite", name)
        if self.fd >= 0:
            t = self.fsync_thread
            if t is not None and t.is_alive():
                t.join(5)
            os.close(self.fd)
        self.fd = fd
        self.selected_db = -1
        self.last_incr_size = 0
        return name


def _logged() -> AOFError:
    """An AOFError whose reason is already in the log (the start-up loader adds nothing)."""
    e = AOFError("")
    e.logged = True  # type: ignore[attr-defined]
    return e


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _read_head(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(5)
    except OSError:
        return b""


def _write_all(fd: int, data: bytes) -> tuple[int, int]:
    """``aofWrite``: write until done or an error; (bytes written, errno of the error or 0)."""
    view = memoryview(data)
    total = 0
    while view:
        try:
            n = os.write(fd, view)
        except OSError as e:
            return total, e.errno or errno.EIO
        total += n
        view = view[n:]
    return total, 0


def _fsync_dir(d: str) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
