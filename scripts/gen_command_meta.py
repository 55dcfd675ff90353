"""Capture command metadata (COMMAND and COMMAND DOCS, RESP3) from a real redis-server.

The result, ``src/pyredis/commands/metadata.tsv`` (one ``section<TAB>name<TAB>entry JSON`` line per
entry, so the server can keep the entries as strings and parse one when asked), is what
``COMMAND INFO``/``COMMAND DOCS`` report for the commands pyredis implements, so their replies match redis-server's byte for byte.

usage: python scripts/gen_command_meta.py [port]   (a redis-server 7.0 must listen on that port)
"""

from __future__ import annotations

import json
import socket
import sys


def read_reply(f):
    line = f.readline()
    t, rest = line[:1], line[1:-2]
    if t in (b"+",):
        return {"+": rest.decode()}
    if t == b"-":
        raise RuntimeError(rest)
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        data = f.read(n + 2)[:-2]
        return data.decode("utf-8", "surrogateescape")
    if t == b"_":
        return None
    if t in (b"*", b"~", b"%"):
        n = int(rest)
        if t == b"%":
            n *= 2
        items = [read_reply(f) for _ in range(n)]
        return items if t == b"*" else {t.decode(): items}
    raise RuntimeError(f"unexpected {line!r}")


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6379
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    s.sendall(b"HELLO 3\r\n")
    read_reply(f)
    s.sendall(b"COMMAND\r\n")
    info = read_reply(f)
    s.sendall(b"COMMAND DOCS\r\n")
    docs = read_reply(f)["%"]
    out = {"info": {}, "docs": {}}
    for entry in info:
        out["info"][entry[0]] = entry
        for sub in entry[9]:
            out["info"][sub[0]] = sub
    for i in range(0, len(docs), 2):
        out["docs"][docs[i]] = docs[i + 1]
    with open("src/pyredis/commands/metadata.tsv", "w") as fh:
        for section in sorted(out):
            for name in sorted(out[section]):
                entry = json.dumps(out[section][name], separators=(",", ":"), sort_keys=True)
                fh.write(f"{section}\t{name}\t{entry}\n")
    print(len(out["info"]), "commands")




def capture_help(port: int) -> None:
    """Store the ``<CMD> HELP`` texts (status lines) in ``src/pyredis/commands/help.json``."""
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    with open("src/pyredis/commands/metadata.tsv") as fh:
        info = {name: None for section, name, _ in (line.split("\t", 2) for line in fh) if section == "info"}
    helps = {}
    for name in sorted(info):
        if name.endswith("|help"):
            parent = name.split("|")[0]
            s.sendall(f"{parent} HELP\r\n".encode())
            try:
                reply = read_reply(f)
            except RuntimeError:
                continue
            helps[parent] = [x["+"] if isinstance(x, dict) else x for x in reply]
    with open("src/pyredis/commands/help.json", "w") as fh:
        json.dump(helps, fh, indent=0, sort_keys=True)
    print(len(helps), "help texts")


if __name__ == "__main__" and len(sys.argv) > 2 and sys.argv[2] == "help":
    capture_help(int(sys.argv[1]))


if __name__ == "__main__" and len(sys.argv) <= 2:
    main()
