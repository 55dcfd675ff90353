# Included by _hotpath.pyx: ``batch``, the request loop of ``run_batch`` and ``receive``. The native
# command handlers are the branches of its if/elif chain on the entry's kind (``K_*``).


cdef Py_ssize_t batch(object c, bytes data, dict table, object execute, long long maxbulk, object propagating,
                      OutBuf* bp) except -1:
    """``run_batch`` once the fast path is known to be allowed: the replies of the last run of native
    commands stay in *bp* (earlier ones, flushed before a Python handler, are in ``c.out``)."""
    cdef const char* p = PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef Py_ssize_t pos = 0, q = 0, argc, i, q0 = 0
    cdef OutBuf b = bp[0]
    cdef _State st = _State()
    cdef Entry ent
    cdef PyObject* ob
    cdef PyObject* last_ob = NULL  # borrowed from *table*, which is not changed during the batch
    cdef object last_name = None
    cdef PyObject* vp
    cdef long long t0, t1, dt, delta, cur, slow, hits, misses, lim, dirty0
    cdef int kind, ar, resp
    cdef bint ok, empty, prop
    cdef double score
    # configuration limits, read on first use (a full-path command may change them: read again after one)
    cdef long long zmax_entries = -1, zmax_value = -1, hmax_entries = -1, hmax_value = -1
    cdef char numbuf[24]
    cdef char dbuf[40]  # a %.17g double
    cdef int nlen
    cdef list argv, out
    cdef object ddata
    cdef dict dexp
    cdef dict cd = idict(c, 0)
    srv = dget(cd, c, "server")
    cdef dict sd = idict(srv, 1)
    st.touched = []
    st.last = None
    st.cd = cd
    st.sd = sd
    dset(sd, srv, "current_client", c)
    out = dget(cd, c, "out")
    db = dget(cd, c, "db")
    ddata = db.data
    dexp = db.expires
    ks = db.keyspace
    st.kd = idict(ks, 2)
    resp = dget(cd, c, "resp")
    prop = dget(sd, srv, "propagators") and (propagating(srv) if propagating is not None else is_propagating(srv, sd))
    slow = dget(sd, srv, "slow_threshold")
    try:
        t0 = now_ns()
        while pos < n:
            argv = parse_one(p, pos, n, maxbulk, &q)
            if argv is None:
                break
            name = argv[0]
            if (last_name is not None and PyBytes_GET_SIZE(name) == PyBytes_GET_SIZE(last_name)
                    and memcmp(PyBytes_AS_STRING(name), PyBytes_AS_STRING(last_name), PyBytes_GET_SIZE(name)) == 0):
                ob = last_ob  # the same name as the previous request: the same entry
            else:
                ob = PyDict_GetItem(table, name)
                last_name = name
                last_ob = ob
            ok = False
            if ob != NULL:
                ent = <Entry>ob
                argc = len(argv)
                ar = ent.arity
                kind = ent.kind
                if (ar > 0 and argc != ar) or argc < -ar:
                    kind = -1
                dirty0 = st.dirty
                if kind == K_GET:
                    key = argv[1]
                    if not (PyDict_Size(dexp) and key in dexp):
                        vp = dget_item(ddata, key)
                        if vp == NULL:
                            st.misses += 1
                            if resp == 3:
                                put(&b, "_\r\n", 3)
                            else:
                                put(&b, "$-1\r\n", 5)
                            ok = True
                        elif type(<object>vp) is bytes:
                            st.hits += 1
                            put_bulk(&b, PyBytes_AS_STRING(<object>vp), PyBytes_GET_SIZE(<object>vp))
                            ok = True
                elif kind == K_SET:
                    key = argv[1]
                    if argc == 3 and not (PyDict_Size(dexp) and key in dexp):
                        dset_item(ddata, key, argv[2])
                        st.dirty += 1
                        put(&b, "+OK\r\n", 5)
                        ok = True
                elif kind >= K_INCR and kind <= K_DECRBY:
                    key = argv[1]
                    ok = True
                    delta = 0
                    cur = 0
                    if kind == K_INCR:
                        delta = 1
                    elif kind == K_DECR:
                        delta = -1
                    else:
                        ok = strict_ll(argv[2], &delta)
                        if kind == K_DECRBY:
                            if delta == LLMIN:
                                ok = False
                            delta = -delta
                    if ok and PyDict_Size(dexp) and key in dexp:
                        ok = False
                    if ok:
                        vp = dget_item(ddata, key)
                        if vp == NULL:
                            cur = 0
                        elif type(<object>vp) is bytes:
                            ok = strict_ll(<object>vp, &cur)
                        else:
                            ok = False
                    if ok:
                        if (delta > 0 and cur > LLMAX - delta) or (delta < 0 and cur < LLMIN - delta):
                            ok = False
                    if ok:
                        cur += delta
                        numbuf[0] = 58  # ':'
                        nlen = fmt_ll(numbuf + 1, cur)
                        # the value object rewritten in place when unshared and as long, as Redis does
                        if vp == NULL or not bytes_overwrite(vp, numbuf + 1, nlen):
                            dset_item(ddata, key, PyBytes_FromStringAndSize(numbuf + 1, nlen))
                        st.dirty += 1
                        numbuf[nlen + 1] = 13
                        numbuf[nlen + 2] = 10
                        put(&b, numbuf, nlen + 3)
                elif kind == K_MGET:
                    ok = True
                    if PyDict_Size(dexp):
                        for i in range(1, argc):
                            if argv[i] in dexp:
                                ok = False
                                break
                    if ok:
                        put_int(&b, 42, argc - 1)
                        for i in range(1, argc):
                            vp = dget_item(ddata, argv[i])
                            if vp == NULL:
                                st.misses += 1
                            else:
                                st.hits += 1
                            if vp != NULL and type(<object>vp) is bytes:
                                put_bulk(&b, PyBytes_AS_STRING(<object>vp), PyBytes_GET_SIZE(<object>vp))
                            elif resp == 3:
                                put(&b, "_\r\n", 3)
                            else:
                                put(&b, "$-1\r\n", 5)
                elif kind == K_MSET:
                    ok = argc % 2 == 1
                    if ok and PyDict_Size(dexp):
                        for i in range(1, argc, 2):
                            if argv[i] in dexp:
                                ok = False
                                break
                    if ok:
                        for i in range(1, argc, 2):
                            dset_item(ddata, argv[i], argv[i + 1])
                        st.dirty += argc // 2
                        put(&b, "+OK\r\n", 5)
                elif kind == K_EXISTS:
                    ok = True
                    cur = 0
                    for i in range(1, argc):
                        key = argv[i]
                        if PyDict_Size(dexp) and key in dexp:
                            ok = False
                            break
                        if dget_item(ddata, key) != NULL:
                            cur += 1
                    if ok:
                        put_int(&b, 58, cur)
                elif kind == K_PING:
                    if argc == 1:
                        put(&b, "+PONG\r\n", 7)
                        ok = True
                    elif argc == 2:
                        put_bulk(&b, PyBytes_AS_STRING(argv[1]), PyBytes_GET_SIZE(argv[1]))
                        ok = True
                elif kind == K_LPUSH or kind == K_RPUSH:
                    key = argv[1]
                    if argc == 3 and not (PyDict_Size(dexp) and key in dexp):
                        vp = dget_item(ddata, key)
                        if vp == NULL:
                            v = ListValue()
                            dset_item(ddata, key, v)
                            ok = True
                        else:
                            v = <object>vp
                            ok = type(v) is ListValue
                        if ok:
                            put_int(&b, 58, list_push(v, argv[2], kind == K_LPUSH))
                            st.dirty += 1
                elif kind == K_LPOP or kind == K_RPOP:
                    key = argv[1]
                    if argc == 2 and not (PyDict_Size(dexp) and key in dexp):
                        vp = dget_item(ddata, key)
                        if vp == NULL:
                            if resp == 3:
                                put(&b, "_\r\n", 3)
                            else:
                                put(&b, "$-1\r\n", 5)
                            ok = True
                        elif type(<object>vp) is ListValue:
                            v = <object>vp
                            x = list_pop(v, kind == K_LPOP, &empty)
                            if empty:
                                del ddata[key]
                            st.dirty += 1
                            put_bulk(&b, PyBytes_AS_STRING(x), PyBytes_GET_SIZE(x))
                            ok = True
                elif kind == K_LRANGE:
                    key = argv[1]
                    if (strict_ll(argv[2], &delta) and strict_ll(argv[3], &cur)
                            and not (PyDict_Size(dexp) and key in dexp)):
                        vp = dget_item(ddata, key)
                        if vp == NULL:
                            st.misses += 1
                            put(&b, "*0\r\n", 4)
                            ok = True
                        elif type(<object>vp) is ListValue:
                            v = <object>vp
                            st.hits += 1
                            i = clamp_range(delta, cur, len(v), &q0)
                            if i == 0:
                                put(&b, "*0\r\n", 4)
                            else:
                                items = v.range(q0, q0 + i - 1)
                                put_int(&b, 42, len(items))
                                for x in items:
                                    put_bulk(&b, PyBytes_AS_STRING(x), PyBytes_GET_SIZE(x))
                            ok = True
                elif kind == K_SADD:
                    key = argv[1]
                    if argc == 3 and not (PyDict_Size(dexp) and key in dexp):
                        vp = dget_item(ddata, key)
                        if vp == NULL:
                            v = SetValue()
                            v.big = False
                            dset_item(ddata, key, v)
                            ok = True
                        else:
                            v = <object>vp
                            ok = type(v) is SetValue
                        if ok:
                            x = argv[2]
                            if PySet_Contains(v, x):
                                put(&b, ":0\r\n", 4)
                            else:
                                PySet_Add(v, x)
                                pool = v.pool
                                if pool is not None:
                                    pool.append(x)
                                if not v.big:
                                    v.after_add(srv.config, argv[2:])
                                st.dirty += 1
                                put(&b, ":1\r\n", 4)
                elif kind == K_SISMEMBER:
                    key = argv[1]
                    if not (PyDict_Size(dexp) and key in dexp):
                        vp = dget_item(ddata, key)
                        if vp == NULL:
                            st.misses += 1
                            put(&b, ":0\r\n", 4)
                            ok = True
                        elif type(<object>vp) is SetValue:
                            st.hits += 1
                            if PySet_Contains(<object>vp, argv[2]):
                                put(&b, ":1\r\n", 4)
                            else:
                                put(&b, ":0\r\n", 4)
                            ok = True
                elif kind == K_HSET:
                    key = argv[1]
                    if argc == 4 and not (PyDict_Size(dexp) and key in dexp):
                        vp = dget_item(ddata, key)
                        if vp == NULL:
                            v = HashValue()
                            dset_item(ddata, key, v)
                            ok = True
                        else:
                            v = <object>vp
                            ok = type(v) is HashValue
                        if ok:
                            x = argv[2]
                            if HASH_KT:
                                added = (<KeyTable>v).lookup(x) == NULL
                                (<KeyTable>v).store(x, argv[3])
                            else:
                                added = PyDict_GetItem(v, x) == NULL
                                PyDict_SetItem(v, x, argv[3])
                            if not v.big:  # HashValue.check_lengths + check_size, inlined
                                if hmax_value < 0:
                                    cfgv = srv.config.values
                                    hmax_value = cfgv["hash-max-listpack-value"]
                                    hmax_entries = cfgv["hash-max-listpack-entries"]
                                if (PyBytes_GET_SIZE(x) > hmax_value or PyBytes_GET_SIZE(argv[3]) > hmax_value
                                        or len(v) > hmax_entries):
                                    v.big = True
                            st.dirty += 1
                            if added:
                                put(&b, ":1\r\n", 4)
                            else:
                                put(&b, ":0\r\n", 4)
                elif kind == K_HGET:
                    key = argv[1]
                    if not (PyDict_Size(dexp) and key in dexp):
                        vp = dget_item(ddata, key)
                        if vp == NULL:
                            st.misses += 1
                            ok = True
                        elif type(<object>vp) is HashValue:
                            st.hits += 1
                            if HASH_KT:
                                vp = (<KeyTable>vp).lookup(argv[2])
                            else:
                                vp = PyDict_GetItem(<object>vp, argv[2])
                            ok = True
                            if vp != NULL:
                                put_bulk(&b, PyBytes_AS_STRING(<object>vp), PyBytes_GET_SIZE(<object>vp))
                        if ok and vp == NULL:
                            if resp == 3:
                                put(&b, "_\r\n", 3)
                            else:
                                put(&b, "$-1\r\n", 5)
                elif kind == K_ZADD:  # ZADD key score member (fastpath.fast_zadd)
                    key = argv[1]
                    if argc == 4 and not (PyDict_Size(dexp) and key in dexp):
                        sc = None
                        if strict_ll(argv[2], &cur) and -FLOAT_EXACT <= cur <= FLOAT_EXACT:
                            score = <double>cur  # exact, as float() of these digits
                            ok = True
                        else:
                            sc = parse_score_py(argv[2])
                            ok = sc is not None
                            if ok:
                                score = sc
                        if ok:
                            vp = dget_item(ddata, key)
                            if vp == NULL:
                                v = ZSetValue()
                                dset_item(ddata, key, v)
                            else:
                                v = <object>vp
                                ok = type(v) is ZSetValue
                        if ok:
                            x = argv[3]
                            vp = dget_item(v.d, x)
                            if vp == NULL:
                                if sc is None:
                                    sc = PyFloat_FromDouble(score)
                                if zmax_entries < 0:
                                    cfgv = srv.config.values
                                    zmax_entries = cfgv["zset-max-listpack-entries"]
                                    zmax_value = cfgv["zset-max-listpack-value"]
                                v.insert(x, sc, zmax_entries, zmax_value)
                                st.dirty += 1
                                put(&b, ":1\r\n", 4)
                            else:
                                if type(<object>vp) is float:
                                    empty = score != PyFloat_AS_DOUBLE(<object>vp)
                                else:
                                    empty = score != <object>vp
                                if empty:
                                    if sc is None:
                                        sc = PyFloat_FromDouble(score)
                                    v.update(x, <object>vp, sc)
                                    st.dirty += 1
                                put(&b, ":0\r\n", 4)
                elif kind == K_ZSCORE or kind == K_ZCARD:  # ZSCORE key member, ZCARD key
                    key = argv[1]
                    if not (PyDict_Size(dexp) and key in dexp):
                        vp = dget_item(ddata, key)
                        if vp == NULL:
                            st.misses += 1
                            if kind == K_ZCARD:
                                put(&b, ":0\r\n", 4)
                            elif resp == 3:
                                put(&b, "_\r\n", 3)
                            else:
                                put(&b, "$-1\r\n", 5)
                            ok = True
                        elif type(<object>vp) is ZSetValue:
                            v = <object>vp
                            if kind == K_ZCARD:
                                st.hits += 1
                                put_int(&b, 58, len(v.d))  # ':'
                                ok = True
                            else:
                                vp = dget_item(v.d, argv[2])
                                if vp == NULL:
                                    st.hits += 1
                                    if resp == 3:
                                        put(&b, "_\r\n", 3)
                                    else:
                                        put(&b, "$-1\r\n", 5)
                                    ok = True
                                elif type(<object>vp) is float:
                                    st.hits += 1
                                    nlen = snprintf(dbuf, sizeof(dbuf), "%.17g", PyFloat_AS_DOUBLE(<object>vp))
                                    if resp == 3:
                                        put(&b, ",", 1)
                                        put(&b, dbuf, nlen)
                                        put(&b, "\r\n", 2)
                                    else:
                                        put_bulk(&b, dbuf, nlen)
                                    ok = True
                if kind == K_PY or (kind > 0 and not ok):
                    # the Python fast handler, then the command's own handler (never declines)
                    if prop:
                        flush(&b, out, st, srv, ks, c)
                        d0 = srv.dirty
                    r = None
                    if kind == K_PY:
                        if ent.writes:
                            flush(&b, out, st, srv, ks, c)
                        r = ent.fn(c, db, argv)
                    if r is None:
                        flush(&b, out, st, srv, ks, c)
                        r = ent.direct(c, db, argv)
                    if r:
                        put(&b, PyBytes_AS_STRING(r), PyBytes_GET_SIZE(r))
                    if prop and (srv.dirty != d0 or c.repl is not None):
                        flush(&b, out, st, srv, ks, c)
                        srv.propagate(c, ent.cmd, argv)
                    ok = True
                    kind = K_PY
                if ok:
                    if prop and kind != K_PY and st.dirty != dirty0:
                        flush(&b, out, st, srv, ks, c)
                        srv.propagate(c, ent.cmd, argv)
                    t1 = now_ns()
                    dt = (t1 - t0) // 1000
                    t0 = t1
                    if ent.calls == 0:
                        st.touched.append(ent)
                    ent.calls += 1
                    ent.usec += dt
                    st.last = ent.cmd
                    if dt >= slow:
                        flush(&b, out, st, srv, ks, c)
                        srv.slow_command(c, ent.cmd, argv, dt)
            pos = q
            if not ok:
                flush(&b, out, st, srv, ks, c)
                if execute is None:
                    execute = srv.execute
                execute(c, argv)
                if not allowed(srv, c):
                    break
                db = dget(cd, c, "db")
                ddata = db.data
                dexp = db.expires
                resp = dget(cd, c, "resp")
                prop = dget(sd, srv, "propagators") and (propagating(srv) if propagating is not None
                                                         else is_propagating(srv, sd))
                slow = dget(sd, srv, "slow_threshold")
                zmax_entries = zmax_value = hmax_entries = hmax_value = -1
                t0 = now_ns()
        flush_counters(st, srv, ks, c)
    finally:
        bp[0] = b  # the buffer may have moved (realloc): the caller frees it
    return pos
