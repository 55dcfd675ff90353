"""The Lua side of the sandbox, run once in every new Lua state.

It builds the globals scripts see (read-only proxies over the real tables, Redis 7.0's set of
builtins), the ``redis`` API tables for EVAL, for functions and for FUNCTION LOAD, the error
handler that records where a script failed, the runners called from Python, and the encoder that
turns a script's return value into RESP bytes. Python callbacks arrive in the ``API`` table.
"""

PRELUDE = r"""
local API, KIND = ...
local type, next, pairs, ipairs, rawget, rawset, rawequal, error, tostring, tonumber, select, unpack =
      type, next, pairs, ipairs, rawget, rawset, rawequal, error, tostring, tonumber, select, unpack
local pcall, xpcall, setmetatable, getmetatable, loadstring, assert, setfenv, newproxy =
      pcall, xpcall, setmetatable, getmetatable, loadstring, assert, setfenv, newproxy
local collectgarbage, gcinfo, _VERSION = collectgarbage, gcinfo, _VERSION
local string, table, math, coroutine = string, table, math, coroutine
local sformat, sgsub, sfind, ssub, sbyte = string.format, string.gsub, string.find, string.sub, string.byte
local tconcat = table.concat
local getinfo, sethook, rawmetatable = debug.getinfo, debug.sethook, debug.getmetatable
local sdump = string.dump
local SELF = getinfo(1, 'S').source

-- compile with tail calls rewritten into plain calls (see bytecode.py): the script's frame stays on
-- the stack while redis.* helpers run, so errors report the right line
local UNTAIL = API.untail
local function load_untailed(code, name)
  local f, e = loadstring(code, name)
  if not f then return nil, e end
  local ok, b = pcall(UNTAIL, sdump(f))
  if ok then f = loadstring(b, name) or f end
  return f
end

-- read-only proxies ------------------------------------------------------------------------------
local READONLY = 'Attempt to modify a readonly table'
local REAL = setmetatable({}, {__mode = 'k'})   -- proxy -> the table it shows
local FACE = setmetatable({}, {__mode = 'k'})   -- metatable -> what getmetatable() returns (false: nil)

local function deny_write() error(READONLY, 2) end

local function nonexistent(t, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end

local function readonly(real, face)
  local mt = {__index = real, __newindex = deny_write}
  FACE[mt] = face or false
  local p = setmetatable({}, mt)
  REAL[p] = real
  return p
end

local function protected(t)
  if REAL[t] then return true end
  local mt = getmetatable(t)
  return mt ~= nil and FACE[mt] ~= nil
end

-- Python exceptions raised into Lua -> Redis error tables (or strings); pcall gives the 'err' string
local pyerr = API.pyerr
local function from_py(e)
  local kind, m, ig = pyerr(e)
  if kind == 1 then return {err = m, ignore_error_stats_update = ig} end
  return m
end

-- the sandbox's stand-ins for C builtins raise the errors those raise, as luaL_argerror words them:
-- the name the caller used ('?' when called from C, as through pcall) and the caller's position
local function argerr(narg, msg)
  local ni = getinfo(2, 'n')
  local name = ni and ni.name
  if ni and ni.namewhat == 'method' then
    narg = narg - 1
    if narg == 0 then error("calling '" .. tostring(name) .. "' on bad self (" .. msg .. ")", 3) end
  end
  error('bad argument #' .. narg .. " to '" .. tostring(name or '?') .. "' (" .. msg .. ')', 3)
end
local function typename(n, i, v)
  if i > n then return 'no value' end
  return type(v)
end
-- luaL_checktype(i, 'table') / luaL_checkany(i), for the stand-in that calls them
local function want_table(n, i, v)
  if type(v) ~= 'table' then
    local ni = getinfo(2, 'n')
    local name = ni and ni.name or '?'
    error('bad argument #' .. i .. " to '" .. name .. "' (table expected, got " .. typename(n, i, v) .. ')', 3)
  end
end
local function want_any(n, i)
  if i > n then
    local ni = getinfo(2, 'n')
    error('bad argument #' .. i .. " to '" .. tostring(ni and ni.name or '?') .. "' (value expected)", 3)
  end
end

local function sb_getmetatable(...)
  local n, o = select('#', ...), ...
  if n < 1 then argerr(1, 'value expected') end
  local mt = getmetatable(o)
  if mt == nil then return nil end
  local f = FACE[mt]
  if f == nil then return mt end
  if f == false then return nil end
  return f
end

local function sb_setmetatable(...)
  local n, t, mt = select('#', ...), ...
  if type(t) ~= 'table' then argerr(1, 'table expected, got ' .. typename(n, 1, t)) end
  if n < 2 or (mt ~= nil and type(mt) ~= 'table') then argerr(2, 'nil or table expected') end
  local cur = rawmetatable(t)
  if cur ~= nil and rawget(cur, '__metatable') ~= nil then error('cannot change a protected metatable', 2) end
  if protected(t) then error(READONLY, 0) end
  local r = setmetatable(t, mt)
  return r
end

local function sb_rawset(...)
  local n, t, k, v = select('#', ...), ...
  want_table(n, 1, t)
  want_any(n, 2)
  want_any(n, 3)
  if protected(t) then error(READONLY, 0) end
  if k == nil then error('table index is nil', 0) end
  if k ~= k then error('table index is NaN', 0) end
  local r = rawset(t, k, v)
  return r
end

local function sb_rawget(...)
  local n, t, k = select('#', ...), ...
  want_table(n, 1, t)
  want_any(n, 2)
  local v = rawget(REAL[t] or t, k)
  return v
end

local function sb_next(...)
  local n, t, k = select('#', ...), ...
  want_table(n, 1, t)
  local a, b = next(REAL[t] or t, k)
  return a, b
end

local function sb_pairs(...)
  local n, t = select('#', ...), ...
  want_table(n, 1, t)
  local a, b, c = pairs(REAL[t] or t)
  return a, b, c
end

local function sb_ipairs(...)
  local n, t = select('#', ...), ...
  want_table(n, 1, t)
  local a, b, c = ipairs(REAL[t] or t)
  return a, b, c
end

local ENV   -- the globals scripts see (set below); chunks they load get it too
local function load_chunk(s, name)
  if type(s) == 'string' and sbyte(s, 1) == 27 then
    return nil, 'binary chunks are not allowed'
  end
  local f, e = load_untailed(s, name)
  if f then setfenv(f, ENV) end
  return f, e
end

local function sb_loadstring(...)
  local n, s, name = select('#', ...), ...
  local ts = type(s)
  if ts ~= 'string' and ts ~= 'number' then argerr(1, 'string expected, got ' .. typename(n, 1, s)) end
  if name ~= nil and type(name) ~= 'string' and type(name) ~= 'number' then
    argerr(2, 'string expected, got ' .. type(name))
  end
  s = tostring(s)
  local f, e = load_chunk(s, name and tostring(name) or s)
  return f, e
end

local function sb_load(...)
  local n, fn, name = select('#', ...), ...
  if type(fn) ~= 'function' then argerr(1, 'function expected, got ' .. typename(n, 1, fn)) end
  if name ~= nil and type(name) ~= 'string' and type(name) ~= 'number' then
    argerr(2, 'string expected, got ' .. type(name))
  end
  local parts = {}
  while true do
    local ok, p = pcall(fn)   -- lua_load runs the reader protected: its errors are load's result
    if not ok then
      if type(p) == 'userdata' then p = from_py(p) end
      if type(p) == 'table' then p = rawget(p, 'err') or p end
      return nil, p
    end
    if p == nil or p == '' then break end
    if type(p) ~= 'string' then return nil, 'reader function must return a string' end
    parts[#parts + 1] = p
  end
  local f, e = load_chunk(tconcat(parts), name and tostring(name) or '=(load)')
  return f, e
end

-- Lua 5.1's unpack overflows on huge ranges: refuse them like Redis's patched Lua does
local function sb_unpack(...)
  local n, t, i, j = select('#', ...), ...
  want_table(n, 1, t)
  if i ~= nil and tonumber(i) == nil then argerr(2, 'number expected, got ' .. type(i)) end
  if j ~= nil and tonumber(j) == nil then argerr(3, 'number expected, got ' .. type(j)) end
  i = tonumber(i) or 1
  j = tonumber(j) or #t
  if i <= j and (j - i >= 2147483647 or j - i >= 8000) then
    error('too many results to unpack', 2)
  end
  return unpack(...)
end


local function pcall_result(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'userdata' then e = from_py(e) end
  if type(e) == 'table' then
    local m = rawget(e, 'err')
    if m ~= nil then e = m end
  end
  return false, e
end

local function sb_pcall(...)
  -- Redis's own pcall (luaRedisPcall) calls its result placeholder when given nothing
  if select('#', ...) == 0 then return false, 'attempt to call a boolean value' end
  return pcall_result(pcall(...))
end

local function sb_xpcall(...)
  local n, f, h = select('#', ...), ...
  if n < 2 then argerr(2, 'value expected') end
  return xpcall(f, function(e)
    if type(e) == 'userdata' then e = from_py(e) end
    return h(e)
  end)
end

-- coroutines: errors converted like pcall's, the count hook installed in each new thread, and the
-- running coroutines tracked so that Python callbacks can find the calling frame
local co_resume, co_create = coroutine.resume, coroutine.create
local RUNNING = {}
local hook
local function resume_result(ok, ...)
  RUNNING[#RUNNING] = nil
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'userdata' then e = from_py(e) end
  return false, e
end
local function pack_n(...) return {n = select('#', ...), ...} end
local CO = {}
for k, v in pairs(coroutine) do CO[k] = v end
-- a Lua function of the script's (the prelude's own count as C functions, as Redis's are)
local function lua_fn(f)
  if type(f) ~= 'function' then return false end
  local i = getinfo(f, 'S')
  return i.what ~= 'C' and i.source ~= SELF
end
local function new_thread(f)
  local co = co_create(f)
  sethook(co, hook, '', 100000)
  return co
end
CO.create = function(f)
  if not lua_fn(f) then argerr(1, 'Lua function expected') end
  local co = new_thread(f)
  return co
end
CO.resume = function(co, ...)
  if type(co) ~= 'thread' then argerr(1, 'coroutine expected') end
  RUNNING[#RUNNING + 1] = co
  return resume_result(co_resume(co, ...))
end
CO.wrap = function(f)
  if not lua_fn(f) then argerr(1, 'Lua function expected') end
  local co = new_thread(f)
  -- auxwrap: a string error gets the position of the wrapper's caller (no tail call: keep that frame)
  return function(...)
    local res = pack_n(CO.resume(co, ...))
    if res[1] then return unpack(res, 2, res.n) end
    local e = res[2]
    if type(e) == 'string' then error(e, 2) end
    error(e, 0)
  end
end
local COROUTINE = readonly(CO)

local STRING = readonly(string)
FACE[getmetatable('')] = readonly({__index = STRING})

-- Python callbacks are called directly (as C functions: no frame of ours in between) and raise
-- Python exceptions; the error handler turns those into Redis error tables or Lua error strings.

-- every Python callable is wrapped in a Lua function: scripts only ever see Lua values
local function lf(f)
  return function(...) return f(...) end
end

local function pylib(spec)
  local t = {}
  for name, v in pairs(spec) do
    if type(v) == 'userdata' then t[name] = lf(v) else t[name] = v end
  end
  return t
end

local CJSON_T = pylib(API.cjson)
local CJSON_NULL = newproxy(false)
CJSON_T.null = CJSON_NULL
API.set_cjson_null(CJSON_NULL)
local CJSON = readonly(CJSON_T)
CJSON_T.new = function() return CJSON end
local CMSGPACK = readonly(pylib(API.cmsgpack))
local STRUCT = readonly(pylib(API.struct))
local BIT = readonly(pylib(API.bit))

-- the redis API ------------------------------------------------------------------------------------
local SRESP = 2

local function add_constants(t)
  t.LOG_DEBUG, t.LOG_VERBOSE, t.LOG_NOTICE, t.LOG_WARNING = 0, 1, 2, 3
  t.REDIS_VERSION, t.REDIS_VERSION_NUM = API.version, API.version_num
end

-- redis.call/pcall: Lua wrappers so that huge argument lists (unpack of thousands of values) reach
-- Python as one table instead of overflowing the C stack limit of a Python call
local pycall, pypcall, pycall_t, pypcall_t = API.call, API.pcall, API.call_t, API.pcall_t
-- (a status reply comes back as the two values: text, true)
local function rcall(...)
  local n = select('#', ...)
  local r, st
  if n < 7000 then r, st = pycall(...) else r, st = pycall_t({...}, n) end
  if st then return {ok = r} end
  return r
end
local function rpcall(...)
  local n = select('#', ...)
  local r, st
  if n < 7000 then r, st = pypcall(...) else r, st = pypcall_t({...}, n) end
  if st then return {ok = r} end
  return r
end

local LDBH = {}   -- the debugger's redis.debug / redis.breakpoint (scripting/ldb.py), once installed
local function runtime_redis(is_eval)
  local r = {
    call = rcall, pcall = rpcall, log = lf(API.log), sha1hex = lf(API.sha1hex), error_reply = lf(API.error_reply),
    status_reply = lf(API.status_reply), setresp = lf(API.setresp), set_repl = lf(API.set_repl),
    acl_check_cmd = lf(API.acl_check_cmd),
    REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
  }
  add_constants(r)
  if is_eval then
    r.replicate_commands = function() return true end
    r.breakpoint = function() local h = LDBH.breakpoint if h then return h() end return false end
    r.debug = function(...) local h = LDBH.debug if h then h(...) end end
  end
  return readonly(r)
end

-- globals -------------------------------------------------------------------------------------------
-- Redis 7.0.15's lua-enable-deprecated-api: setfenv, getfenv and newproxy, off by default. The real
-- global table never leaks out (getfenv answers the sandbox's globals instead), and the prelude's own
-- functions and C functions keep their environments.
local getfenv = getfenv
local REALG = getfenv(0)
local function fenv_target(f)
  if type(f) == 'number' then
    if f < 0 then error("bad argument #1 to 'getfenv' (level must be non-negative)", 3) end
    if f == 0 then return 0 end
    return f + 1   -- skip the sandbox wrapper
  end
  return f
end
local function sb_getfenv(f)
  if f == nil then f = 1 end
  local e = getfenv(fenv_target(f))
  if e == REALG then return ENV end
  return e
end
local function sb_setfenv(f, t)
  local target = fenv_target(f)
  if type(t) ~= 'table' then
    error("bad argument #2 to 'setfenv' (table expected, got " .. type(t) .. ")", 2)
  end
  local fn = target
  if type(target) == 'number' then
    local info = target > 0 and getinfo(target, 'Sf')
    fn = info and info.func
  end
  if type(fn) ~= 'function' or getinfo(fn, 'S').what == 'C' or getinfo(fn, 'S').source == SELF then
    error("'setfenv' cannot change environment of given object", 2)
  end
  setfenv(fn, t)
  return fn
end

local function base_globals()
  local g = {
    _VERSION = _VERSION, assert = assert, collectgarbage = collectgarbage, error = error, gcinfo = gcinfo,
    getmetatable = sb_getmetatable, ipairs = sb_ipairs, load = sb_load, loadstring = sb_loadstring,
    next = sb_next, pairs = sb_pairs, pcall = sb_pcall, rawequal = rawequal, rawget = sb_rawget,
    rawset = sb_rawset, select = select, setmetatable = sb_setmetatable, tonumber = tonumber,
    tostring = tostring, type = type, unpack = sb_unpack, xpcall = sb_xpcall,
    string = STRING, table = readonly(table), math = readonly(math), coroutine = COROUTINE,
    bit = BIT, cjson = CJSON, cmsgpack = CMSGPACK, struct = STRUCT,
  }
  if API.deprecated_api then
    g.setfenv, g.getfenv, g.newproxy = sb_setfenv, sb_getfenv, newproxy
  end
  return g
end

local function globals_proxy(g)
  setmetatable(g, {__index = nonexistent})
  local p = readonly(g, readonly({__index = nonexistent}))
  g._G = p
  return p
end

-- where a script failed: the first frame that is neither C nor this prelude
local function err_handler(err)
  local level, info = 2, nil
  while true do
    info = getinfo(level, 'Sl')
    if info == nil then break end
    if info.what ~= 'C' and info.what ~= 'tail' and info.source ~= SELF then break end
    level = level + 1
  end
  if type(err) == 'userdata' then err = from_py(err) end
  local msg, ig
  if type(err) == 'table' then
    msg = rawget(err, 'err')
    ig = rawget(err, 'ignore_error_stats_update')
    if msg == nil then msg = 'ERR unknown error' else msg = tostring(msg) end
  else
    msg = 'ERR ' .. tostring(err)
  end
  if info then return {msg, info.source, info.currentline, ig} end
  return {msg, false, 0, ig}
end

-- the count hook: every 100000 instructions Python checks time limits and kills -----------------------
local pyhook = API.hook
hook = function()
  local msg = pyhook()
  if msg then
    sethook(hook, 'l')
    local i = getinfo(2, 'S')
    if i and i.source == SELF then return end
    error({err = 'ERR ' .. msg}, 0)   -- a table, as luaMaskCountHook's error (auxwrap adds no position)
  end
end
local function reset_hook() sethook(hook, '', 100000) end
reset_hook()

-- script result -> RESP ------------------------------------------------------------------------------
local LIMIT = 7995
local NERR = {}   -- error replies nested in the result (they count in the error stats)
local function clean(s) return (sgsub(s, '[\r\n]', ' ')) end

local enc
enc = function(v, out, n, cresp, depth)
  local t = type(v)
  n = n + 1
  if t == 'string' then
    out[n] = '$' .. #v .. '\r\n' .. v .. '\r\n'
  elseif t == 'number' then
    out[n] = ':' .. sformat('%d', v) .. '\r\n'
  elseif t == 'boolean' then
    if SRESP == 2 then
      if v then out[n] = ':1\r\n' elseif cresp == 3 then out[n] = '_\r\n' else out[n] = '$-1\r\n' end
    elseif cresp == 3 then
      out[n] = v and '#t\r\n' or '#f\r\n'
    else
      out[n] = v and ':1\r\n' or ':0\r\n'
    end
  elseif t == 'table' then
    if depth > LIMIT then out[n] = '-ERR reached lua stack limit\r\n' return n end
    local f = rawget(v, 'err')
    if type(f) == 'string' then
      out[n] = '-' .. clean(f) .. '\r\n'
      if not rawget(v, 'ignore_error_stats_update') then NERR[#NERR + 1] = f end
      return n
    end
    f = rawget(v, 'ok')
    if type(f) == 'string' then out[n] = '+' .. clean(f) .. '\r\n' return n end
    f = rawget(v, 'double')
    if type(f) == 'number' then
      local s = sformat('%.17g', f)
      if cresp == 3 then out[n] = ',' .. s .. '\r\n' else out[n] = '$' .. #s .. '\r\n' .. s .. '\r\n' end
      return n
    end
    f = rawget(v, 'big_number')
    if type(f) == 'string' then
      f = clean(f)
      if cresp == 3 then out[n] = '(' .. f .. '\r\n' else out[n] = '$' .. #f .. '\r\n' .. f .. '\r\n' end
      return n
    end
    f = rawget(v, 'map')
    if type(f) == 'table' then
      local cnt = 0
      for _ in next, f do cnt = cnt + 1 end
      if cresp == 3 then out[n] = '%' .. cnt .. '\r\n' else out[n] = '*' .. (2 * cnt) .. '\r\n' end
      for k, x in next, f do
        n = enc(k, out, n, cresp, depth + 1)
        n = enc(x, out, n, cresp, depth + 1)
      end
      return n
    end
    f = rawget(v, 'set')
    if type(f) == 'table' then
      local cnt = 0
      for _ in next, f do cnt = cnt + 1 end
      if cresp == 3 then out[n] = '~' .. cnt .. '\r\n' else out[n] = '*' .. cnt .. '\r\n' end
      for k in next, f do n = enc(k, out, n, cresp, depth + 1) end
      return n
    end
    f = rawget(v, 'verbatim_string')
    if type(f) == 'table' then
      local fmt, s = rawget(f, 'format'), rawget(f, 'string')
      if type(fmt) == 'string' and type(s) == 'string' then
        if cresp == 3 then
          out[n] = '=' .. (#s + #fmt + 1) .. '\r\n' .. fmt .. ':' .. s .. '\r\n'
        else
          out[n] = '$' .. #s .. '\r\n' .. s .. '\r\n'
        end
        return n
      end
    end
    local cnt = 0
    while rawget(v, cnt + 1) ~= nil do cnt = cnt + 1 end
    out[n] = '*' .. cnt .. '\r\n'
    for i = 1, cnt do n = enc(rawget(v, i), out, n, cresp, depth + 1) end
  else
    out[n] = cresp == 3 and '_\r\n' or '$-1\r\n'
  end
  return n
end

local function finish(ok, res, cresp)
  if not ok then
    -- not through the error handler (out of memory, an error in error handling): luaCallFunction's
    -- "Error running script" reply
    if type(res) ~= 'table' then return 3, type(res) == 'string' and res or 'execution failure' end
    return 2, res[1], res[2], res[3], res[4]
  end
  -- success: the reply's RESP bytes alone (errors come back as several values)
  local t = type(res)
  if t == 'string' then return '$' .. #res .. '\r\n' .. res .. '\r\n' end
  if t == 'number' then return ':' .. sformat('%d', res) .. '\r\n' end
  if t == 'table' then
    local e = rawget(res, 'err')
    if type(e) == 'string' then return 1, e, rawget(res, 'ignore_error_stats_update') end
  end
  local out = {}
  NERR = {}
  enc(res, out, 0, cresp, 1)
  if NERR[1] ~= nil then return 0, tconcat(out), NERR end
  return tconcat(out)
end

local function split_args(nkeys, ...)
  local n = select('#', ...)
  if n == nkeys then return {...}, {} end
  if nkeys == 0 then return {}, {...} end
  local a = {...}
  local keys, argv = {}, {}
  for i = 1, nkeys do keys[i] = a[i] end
  for i = nkeys + 1, n do argv[i - nkeys] = a[i] end
  return keys, argv
end

local EX = {
  reset_hook = reset_hook, readonly = readonly,
  is_null = function(v) return v == CJSON_NULL end,
  set_sresp = function(v) SRESP = v end,
  -- luaL_where for a Python library function: the position of its caller (our wrappers skipped)
  where = function()
    local co = RUNNING[#RUNNING]
    local level = co and 1 or 3
    local i
    repeat
      if co then i = getinfo(co, level, 'Sl') else i = getinfo(level, 'Sl') end
      level = level + 1
    until not i or i.source ~= SELF
    if i and i.currentline > 0 then return i.short_src .. ':' .. i.currentline .. ': ' end
    return ''
  end,
  -- luaL_argerror's function name: how the caller named our wrapper ('?' when called from C)
  callee = function()
    local co = RUNNING[#RUNNING]
    local level = co and 1 or 3
    local i
    repeat
      if co then i = getinfo(co, level, 'Sn') else i = getinfo(level, 'Sn') end
      level = level + 1
    until not i or i.source == SELF
    if not i then return nil end
    return i.namewhat, i.name
  end,
  mk_err2 = function(s, ig) return {err = s, ignore_error_stats_update = ig} end,
  mk_ok = function(s) return {ok = s} end,
  mk_err = function(s) return {err = s} end,
  mk_single = function(k, v) return {[k] = v} end,
  mk_verbatim = function(f, s)
    local v = {}
    v.string = s
    v.format = f
    return {verbatim_string = v}
  end,
  encode = function(v, cresp)
    local out = {}
    enc(v, out, 0, cresp, 1)
    return tconcat(out)
  end,
}

local function compile(code, name)
  local f, e = load_untailed(code, name)
  if not f then return nil, e end
  setfenv(f, ENV)
  return f
end
EX.compile = compile
EX.env = function() return ENV end
EX.set_ldb = function(h) LDBH = h end

if KIND == 'eval' then
  local G = base_globals()
  G.redis = runtime_redis(true)
  G.__redis__err__handler = err_handler
  ENV = globals_proxy(G)
  EX.run = function(fn, cresp, nkeys, ...)
    local keys, argv = split_args(nkeys, ...)
    rawset(G, 'KEYS', keys)
    rawset(G, 'ARGV', argv)
    SRESP = 2
    if RUNNING[1] then RUNNING = {} end
    local ok, res = xpcall(fn, err_handler)
    return finish(ok, res, cresp)
  end
  EX.run_tables = function(fn, cresp, keys, argv)
    rawset(G, 'KEYS', keys)
    rawset(G, 'ARGV', argv)
    SRESP = 2
    if RUNNING[1] then RUNNING = {} end
    local ok, res = xpcall(fn, err_handler)
    return finish(ok, res, cresp)
  end
else
  local G = base_globals()
  G.redis = runtime_redis(false)
  ENV = globals_proxy(G)
  local LR = {log = lf(API.log), register_function = lf(API.register_function)}
  add_constants(LR)
  setmetatable(LR, {__index = nonexistent})
  local LG = setmetatable({redis = readonly(LR)}, {__index = nonexistent})
  -- a library's code runs with LG as globals while it loads, then with the runtime globals
  EX.load = function(code, name)
    local mt = {__index = LG, __newindex = deny_write}
    FACE[mt] = false
    local env = setmetatable({}, mt)
    REAL[env] = LG
    local f, e = load_untailed(code, name)
    if not f then return 1, e end
    setfenv(f, env)
    local ok, res = xpcall(f, err_handler)
    mt.__index = G
    REAL[env] = G
    if not ok then
      if type(res) ~= 'table' then return 2, 'ERR ' .. tostring(res) end
      return 2, res[1]
    end
    return 0
  end
  EX.run = function(fn, cresp, nkeys, ...)
    local keys, argv = split_args(nkeys, ...)
    SRESP = 2
    if RUNNING[1] then RUNNING = {} end
    local ok, res = xpcall(function() return fn(keys, argv) end, err_handler)
    return finish(ok, res, cresp)
  end
  EX.run_tables = function(fn, cresp, keys, argv)
    SRESP = 2
    if RUNNING[1] then RUNNING = {} end
    local ok, res = xpcall(function() return fn(keys, argv) end, err_handler)
    return finish(ok, res, cresp)
  end
end

return EX
"""
