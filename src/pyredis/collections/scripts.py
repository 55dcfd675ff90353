"""Lua scripts shared by the sync and async containers (run by EVALSHA, EVAL fallback)."""

from __future__ import annotations

from pyredis.collections.ops import Script

# -- hashes ------------------------------------------------------------------------------
#: KEYS[1] hash.  Removes and returns an arbitrary {field, value}; false when empty.
DICT_POPITEM = Script(
    """
local field = redis.call('HRANDFIELD', KEYS[1])
if not field then return false end
local value = redis.call('HGET', KEYS[1], field)
redis.call('HDEL', KEYS[1], field)
return {field, value}
"""
)

# -- lists ------------------------------------------------------------------------------
#: KEYS[1] list; ARGV: index, value, unique sentinel, maxlen (0: none).
#: Returns the new length, or -1 when the list is already at maxlen.
LIST_INSERT = Script(
    """
local n = redis.call('LLEN', KEYS[1])
local maxlen = tonumber(ARGV[4])
if maxlen > 0 and n >= maxlen then return -1 end
local i = tonumber(ARGV[1])
if i < 0 then i = math.max(n + i, 0) end
if i >= n then return redis.call('RPUSH', KEYS[1], ARGV[2]) end
if i == 0 then return redis.call('LPUSH', KEYS[1], ARGV[2]) end
local pivot = redis.call('LINDEX', KEYS[1], i)
redis.call('LSET', KEYS[1], i, ARGV[3])
redis.call('LINSERT', KEYS[1], 'BEFORE', ARGV[3], ARGV[2])
redis.call('LSET', KEYS[1], i + 1, pivot)
return n + 1
"""
)

#: KEYS[1] list; ARGV: index, unique sentinel.  Removes and returns the element at
#: index as {value}; {} when the index is out of range.
LIST_POP_INDEX = Script(
    """
local n = redis.call('LLEN', KEYS[1])
local i = tonumber(ARGV[1])
if i < 0 then i = n + i end
if i < 0 or i >= n then return {} end
local value = redis.call('LINDEX', KEYS[1], i)
redis.call('LSET', KEYS[1], i, ARGV[2])
redis.call('LREM', KEYS[1], 1, ARGV[2])
return {value}
"""
)

#: KEYS[1] list; ARGV[1] steps to rotate right (negative: left).
LIST_ROTATE = Script(
    """
local n = redis.call('LLEN', KEYS[1])
if n <= 1 then return 0 end
local k = tonumber(ARGV[1]) % n
if k == 0 then return 0 end
if k <= n / 2 then
  for _ = 1, k do redis.call('LPUSH', KEYS[1], redis.call('RPOP', KEYS[1])) end
else
  for _ = 1, n - k do redis.call('RPUSH', KEYS[1], redis.call('LPOP', KEYS[1])) end
end
return k
"""
)

# -- locks and ids ------------------------------------------------------------------------
#: KEYS[1] lock; ARGV[1] token.  Deletes the lock only if this token holds it.
LOCK_RELEASE = Script(
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
)

#: KEYS[1] lock; ARGV: token, milliseconds.  Resets the lock's TTL if this token holds it.
LOCK_EXTEND = Script(
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
)

#: KEYS[1] lock; ARGV[1] token.  The lock's remaining milliseconds if this token holds it, else 0.
LOCK_TTL = Script(
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PTTL', KEYS[1]) end
return 0
"""
)

#: KEYS[1] counter; ARGV[1] candidate id.  Stores it and returns 1 only if it is larger.
NEXTID_CLAIM = Script(
    """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local candidate = tonumber(ARGV[1])
if current < candidate then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
"""
)
