"""The AOF side of the persistence subsystem: rewrites (BGREWRITEAOF, automatic), switching the AOF on/off."""

from __future__ import annotations

import logging
import os
import time

from pyredis.persistence import aof as aofmod
from pyredis.persistence.aof import AOF_OFF, AOF_ON, AOF_WAIT_REWRITE, AOFError
from pyredis.persistence.jobs import _SIGUSR1, CHILD_AOF, Job, JobFailed, _size

log = logging.getLogger("pyredis")


class AofControl:
    """Mixin of :class:`~pyredis.persistence.manager.Persistence`: AOF rewrite and on/off."""

    # -- AOF rewrite --------------------------------------------------------------------------------------
    def start_rewrite(self) -> bool:
        """BGREWRITEAOF: open a new incr file, then write a new base in the background."""
        srv = self.server
        a = self.aof
        if self.child is not None:
            return False
        try:
            os.makedirs(a.dirpath, exist_ok=True)
        except OSError as e:
            log.warning("Can't open or create append-only dir %s: %s", srv.config["appenddirname"], e.strerror)
            a.last_rewrite_ok = False
            return False
        if a.manifest is None:
            try:
                a.load_manifest()
            except AOFError:
                a.manifest = None
        a.selected_db = -1
        if a.state != AOF_OFF:
            try:
                a.switch_to_new_incr()  # logs why it failed
                self._feed_on()
            except OSError:
                a.last_rewrite_ok = False
                return False
        a.rewrites += 1
        # the RDB codec loads on first use (~0.6 MB of start-up RSS otherwise)
        from pyredis.persistence.rewrite import write_base_file

        preamble = srv.config["aof-use-rdb-preamble"]
        directory = srv.config["dir"]

        def work(dbs: list | None, functions: list[bytes], pid: int) -> None:
            name = "temp-rewriteaof-bg-%d.aof" % pid
            try:
                write_base_file(srv, os.path.join(directory, name), preamble, dbs=dbs, functions=functions,
                                progress=self._progress)
            except OSError as e:  # rewriteAppendOnlyFile's log lines (the file is removed by the parent)
                if e.filename is not None:
                    log.warning("Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): %s", e.strerror)
                else:
                    log.warning("Write error writing append only file on disk: %s", e.strerror)
                raise JobFailed from None
            log.info("Successfully created the temporary AOF base file %s", name)

        job = self._start_job(CHILD_AOF, work)
        if job is None:
            a.last_rewrite_ok = False
            log.warning("Can't rewrite append only file in background: fork failed")
            return False
        log.info("Background append only file rewriting started by pid %d", job.pid or os.getpid())
        a.rewrite_scheduled = False
        a.rewrite_start = time.time()
        return True

    def _aof_done(self, ok: bool, sig: int) -> None:
        srv = self.server
        a = self.aof
        job = self.child
        assert job is not None
        tmpname = "temp-rewriteaof-bg-%d.aof" % job.tmp_pid
        tmpfile = os.path.join(srv.config["dir"], tmpname)
        if ok:
            log.info("Background AOF rewrite terminated with success")
            done = self._install_rewrite(tmpfile, tmpname)
            if done is None:
                a.last_rewrite_ok = False
                a.rewrite_failures += 1
                self._remove(tmpfile)
                self._after_rewrite(job)
                return
            m, base = done
            a.manifest = m
            a.base_size = _size(a.path(base))
            if a.fd >= 0:
                a.current_size = a.base_size + a.last_incr_size
                a.rewrite_base_size = a.current_size
            a.delete_history(m)
            a.last_rewrite_ok = True
            a.rewrite_failures = 0
            log.info("Background AOF rewrite finished successfully")
            if a.state == AOF_WAIT_REWRITE:
                a.state = AOF_ON
        elif not sig:
            a.last_rewrite_ok = False
            a.rewrite_failures += 1
            log.warning("Background AOF rewrite terminated with error")
        else:
            if sig != _SIGUSR1:
                a.last_rewrite_ok = False
                a.rewrite_failures += 1
            log.warning("Background AOF rewrite terminated by signal %d", sig)
        self._remove(tmpfile)
        self._after_rewrite(job)

    def _install_rewrite(self, tmpfile: str, tmpname: str) -> tuple[aofmod.Manifest, str] | None:
        """Rename the new base (and, while enabling the AOF, the temporary incr file) into place and
        switch the manifest to them. On failure (logged) the new files are removed and None returned:
        the previous manifest and its files stay as they were."""
        a = self.aof
        m = a.manifest.copy() if a.manifest is not None else aofmod.Manifest()
        base = a.new_base_name(m, self.server.config["aof-use-rdb-preamble"])
        dirname = self.server.config["appenddirname"]
        try:
            os.replace(tmpfile, a.path(base))
        except OSError as e:
            log.warning("Error trying to rename the temporary AOF base file %s into %s: %s", tmpname,
                        os.path.join(dirname, base), e.strerror)
            return None
        log.info("Successfully renamed the temporary AOF base file %s into %s", tmpname, base)
        new_incr = None
        if a.state == AOF_WAIT_REWRITE and a.temp_incr:
            incr = a.new_incr_name(m)
            try:
                os.replace(a.path(a.temp_incr), a.path(incr))
            except OSError as e:
                log.warning("Error trying to rename the temporary AOF incr file %s into %s: %s",
                            os.path.join(dirname, a.temp_incr), os.path.join(dirname, incr), e.strerror)
                self._remove(a.path(base))
                return None
            log.info("Successfully renamed the temporary AOF incr file %s into %s", a.temp_incr, incr)
            new_incr = a.path(incr)
        keep_last = a.fd >= 0
        for info in m.incr[:-1] if keep_last and m.incr else list(m.incr):
            info.type = aofmod.HIST
            m.history.insert(0, info)
            m.incr.remove(info)
        try:
            a.persist_manifest(m)  # logs why it failed
        except OSError:
            self._remove(a.path(base))
            if new_incr is not None:
                self._remove(new_incr)
            return None
        if new_incr is not None:
            a.temp_incr = None
        return m, base

    def _after_rewrite(self, job: Job) -> None:
        a = self.aof
        if a.state == AOF_WAIT_REWRITE:
            a.buf = []
            if a.temp_incr:
                if a.fd >= 0:
                    os.close(a.fd)
                    a.fd = -1
                    self._feed_off()
                log.info("Removing the temp incr aof file %s in the background", a.temp_incr)
                self._remove(a.path(a.temp_incr))
                a.temp_incr = None
            a.rewrite_scheduled = True
        a.last_rewrite_time = int(time.time() - job.start)

    def rewrite_limited(self) -> bool:
        """After 3 consecutive rewrite failures, automatic/scheduled rewrites back off (1, 2, 4... 60 min)."""
        a = self.aof
        if a.rewrite_failures < 3:
            self._limit_delay = 0
            self._limit_until = 0.0
            return False
        if self._limit_until:
            if time.time() < self._limit_until:
                return True
            self._limit_until = 0.0
            return False
        self._limit_delay = min(self._limit_delay * 2 if self._limit_delay else 1, 60)
        self._limit_until = time.time() + self._limit_delay * 60
        log.warning("Background AOF rewrite has repeatedly failed and triggered the limit, will retry in %d "
                    "minutes", self._limit_delay)
        return True

    # -- AOF on/off ---------------------------------------------------------------------------------------
    def _feed_on(self) -> None:
        props = self.server.propagators
        if self.aof.feed not in props:
            props.append(self.aof.feed)
        self.aof.attach()

    def _feed_off(self) -> None:
        props = self.server.propagators
        if self.aof.feed in props:
            props.remove(self.aof.feed)
        self.aof.detach()

    def _on_appendonly(self, value: bool) -> None:
        a = self.aof
        if value and a.state == AOF_OFF:
            self.start_aof()
        elif not value and a.state != AOF_OFF:
            self.stop_aof()

    def _on_auto_gc(self, disabled: bool) -> None:
        m = self.aof.manifest
        if not disabled and m is not None and m.history:
            self.server.config.values["aof-disable-auto-gc"] = False
            self.aof.delete_history(m)

    def start_aof(self) -> bool:
        a = self.aof
        a.state = AOF_WAIT_REWRITE
        caller = getattr(self.server, "current_client", None)
        if caller is not None and getattr(caller, "in_exec", False):
            a.rewrite_scheduled = True
            log.warning("AOF was enabled during a transaction. An AOF background was scheduled to happen as soon as "
                        "possible.")
        elif self.child is not None and self.child.kind != CHILD_AOF:
            a.rewrite_scheduled = True
            log.warning("AOF was enabled but there is already another background operation. An AOF background was "
                        "scheduled to happen as soon as possible.")
        else:
            if self.child is not None:
                log.warning("AOF was enabled but there is already an AOF rewriting in background. Stopping "
                            "background AOF and starting a rewrite now.")
                log.info("Killing running AOF rewrite child: %d", self.child.pid)
                self.kill_child()
            if not self.start_rewrite():
                a.state = AOF_OFF
                log.warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. "
                            "Check the above logs for more info about the error.")
                return False
        a.last_fsync = time.time()
        if a.fsync_error:
            log.warning("AOF reopen, just ignore the AOF fsync error in bio job")
            a.fsync_error = ""
        if not a.last_write_ok:
            log.warning("AOF reopen, just ignore the last error.")
            a.last_write_ok = True
        self.update_misconf()
        return True

    def stop_aof(self) -> None:
        a = self.aof
        a.close(fsync=True)
        self._feed_off()
        a.selected_db = -1
        a.state = AOF_OFF
        a.rewrite_scheduled = False
        if self.child is not None and self.child.kind == CHILD_AOF:
            log.info("Killing running AOF rewrite child: %d", self.child.pid)
            self.kill_child()
            if a.temp_incr:
                self._remove(a.path(a.temp_incr))
                a.temp_incr = None
        a.buf = []
