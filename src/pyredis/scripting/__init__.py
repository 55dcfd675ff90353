"""Lua scripting (EVAL and Redis Functions) on a sandboxed Lua 5.1 (lupa).

- ``engine``: the per-server :class:`~pyredis.scripting.engine.Scripting` (script cache, libraries,
  running scripts, ``redis.call``); ``run``: one running script and the busy-script handling;
  ``api``: the ``redis.*`` functions; ``vm`` + ``prelude``: the Lua state and its sandbox;
  ``convert``: reply values -> Lua; ``bytecode``: tail-call rewriting; ``shebang``/``library``:
  script flags, library metadata and FUNCTION DUMP payloads;
  ``cjson``/``cmsgpack``/``structlib``/``bitop``: the Lua libraries scripts expect.
"""
