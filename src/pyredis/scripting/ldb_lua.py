"""The Lua half of the script debugger (eval.c's LDB): the line hook and the stack inspection helpers.

Run once in the EVAL Lua state (after the prelude) with ``(LINE, compile, env, pyerr)``: ``LINE`` is the
Python callback for every line of the script, ``compile``/``env`` the prelude's sandboxed compiler and
globals. It returns the helpers Python calls from inside that callback (the script's frames are found
by their chunk name, ``@user_script``, so extra C and helper frames in between do not matter).
"""

LDB_LUA = r"""
local LINE, compile, env, pyerr = ...
local getinfo, getlocal, sethook = debug.getinfo, debug.getlocal, debug.sethook
local type, tostring, next, pcall, unpack, rawget = type, tostring, next, pcall, unpack, rawget
local sformat, sgsub, sfind, sbyte, smatch = string.format, string.gsub, string.find, string.byte, string.match
local tconcat = table.concat
local SRC = '@user_script'
local MAXDEPTH = 10   -- LUA_MINSTACK / 2

local ESC = {['\\'] = '\\\\', ['"'] = '\\"', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t',
             ['\a'] = '\\a', ['\b'] = '\\b'}
local function srepr(s)
  return '"' .. sgsub(s, '[%z\1-\31"\\\127-\255]', function(c)
    return ESC[c] or sformat('\\x%02x', sbyte(c))
  end) .. '"'
end

local repr
repr = function(v, level)
  level = level or 0
  if level == MAXDEPTH then return '<max recursion level reached! Nested table?>' end
  level = level + 1
  local t = type(v)
  if t == 'string' then return srepr(v) end
  if t == 'boolean' then return v and 'true' or 'false' end
  if t == 'number' then return sformat('%g', v) end
  if t == 'nil' then return 'nil' end
  if t == 'table' then
    local arr, full, expect, is_array = {}, {}, 1, true
    local k, x = next(v)
    while k ~= nil do
      if is_array and (type(k) ~= 'number' or k ~= expect) then is_array = false end
      arr[#arr + 1] = repr(x, level)
      full[#full + 1] = '[' .. repr(k, level) .. ']=' .. repr(x, level)
      expect = expect + 1
      k, x = next(v, k)
    end
    return '{' .. tconcat(is_array and arr or full, '; ') .. '}'
  end
  local addr = smatch(tostring(v), ': (.*)$') or '?'
  return '"' .. t .. '@' .. addr .. '"'
end

-- the level (as seen by the caller) of the innermost frame of the script
local function ulevel()
  local l = 2
  while true do
    local i = getinfo(l, 'S')
    if not i then return nil end
    if i.source == SRC then return l - 1 end
    l = l + 1
  end
end

local function errtext(e)
  if type(e) == 'userdata' then
    local kind, m = pyerr(e)
    e = m
  elseif type(e) == 'table' then
    e = rawget(e, 'err') or 'unknown error'
  end
  return tostring(e)
end

local function hook(ev, line)
  local i = getinfo(2, 'Sl')
  if not i or i.source ~= SRC then return end
  if ev == 'count' then LINE(i.currentline, true) else LINE(line, false) end
end

local H = {}
H.install = function() sethook(hook, 'l', 100000) end
H.currentline = function()
  local l = ulevel()
  if not l then return 0 end
  return getinfo(l, 'l').currentline
end
H.locals = function()
  local out = {}
  local l = ulevel()
  if not l then return out end
  local i = 1
  while true do
    local name, v = getlocal(l, i)
    if name == nil then break end
    if not sfind(name, '(*temporary)', 1, true) then out[#out + 1] = name .. ' = ' .. repr(v) end
    i = i + 1
  end
  return out
end
H.print_var = function(name)
  local l = ulevel()
  while l and getinfo(l, 'S') do
    local i = 1
    while true do
      local n, v = getlocal(l, i)
      if n == nil then break end
      if n == name then return repr(v) end
      i = i + 1
    end
    l = l + 1
  end
  if name == 'ARGV' or name == 'KEYS' then return repr(env()[name]) end
  return nil
end
H.trace = function()
  local out = {}
  local l = ulevel()
  while l do
    local i = getinfo(l, 'Snl')
    if not i then break end
    if sfind(i.short_src, 'user_script', 1, true) then
      out[#out + 1] = {i.name or 'top level', i.currentline}
    end
    l = l + 1
  end
  return out
end
H.eval = function(code)
  local f, e = compile('return ' .. code, '@ldb_eval')
  if not f then
    f, e = compile(code, '@ldb_eval')
    if not f then return false, tostring(e) end
  end
  local ok, r = pcall(f)
  if not ok then return false, errtext(r) end
  return true, repr(r)
end
H.redis = function(args)
  local r = env().redis
  pcall(r.call, unpack(args))
end
H.debug = function(...)
  local n = select('#', ...)
  local parts = {}
  for j = 1, n do parts[j] = repr((select(j, ...))) end
  return tconcat(parts, ', ')
end
return H
"""
