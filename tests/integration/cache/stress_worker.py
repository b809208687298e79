#!/usr/bin/python3
"""One stress worker: owns the files it creates under DIR (seen through two
mounts as M1/DIR and M2/DIR), and for DURATION seconds applies random
writes, appends, reads, renames and truncates, each one opened and closed
through a randomly chosen mount.  It keeps the expected contents in memory,
checks every read against them (close-to-open: the previous operation was
closed, on whichever mount), and at the end writes a JSON journal:

  {"files": {name: {"size": N, "sha256": H}}, "ops": {op: count},
   "errors": [first mismatches / unexpected errors]}

Usage: stress_worker.py M1 M2 DIR SEED DURATION JOURNAL
"""

import hashlib
import json
import os
import random
import sys
import time

MAX_SIZE = 3 << 20
MAX_IO = 256 << 10


def main():
    m1, m2, sub, seed, duration, journal = sys.argv[1:7]
    rnd = random.Random(int(seed))
    roots = (os.path.join(m1, sub), os.path.join(m2, sub))
    model = {}  # name -> bytearray
    ops = {}
    errors = []
    gen = 0
    deadline = time.monotonic() + float(duration)

    def new_name():
        nonlocal gen
        gen += 1
        return "w%s-f%04d" % (seed, gen)

    def path(name):
        return os.path.join(rnd.choice(roots), name)

    def note(op):
        ops[op] = ops.get(op, 0) + 1

    def fail(msg):
        if len(errors) < 20:
            errors.append(msg)

    for _ in range(4):
        name = new_name()
        with open(path(name), "wb"):
            pass
        model[name] = bytearray()

    while time.monotonic() < deadline and len(errors) < 20:
        name = rnd.choice(sorted(model))
        cur = model[name]
        op = rnd.choices(["write", "append", "read", "readall", "rename", "truncate",
                          "replace"], [30, 10, 20, 10, 8, 10, 4])[0]
        p = path(name)
        try:
            if op == "write":
                off = rnd.randrange(0, max(1, min(len(cur) + 65536, MAX_SIZE - MAX_IO)))
                data = rnd.randbytes(rnd.randrange(1, MAX_IO))
                fd = os.open(p, os.O_WRONLY)
                try:
                    n = os.pwrite(fd, data, off)
                finally:
                    os.close(fd)
                if n != len(data):
                    fail("%s: short pwrite %d of %d" % (p, n, len(data)))
                    data = data[:n]
                if off > len(cur):
                    cur.extend(b"\0" * (off - len(cur)))
                cur[off:off + len(data)] = data
            elif op == "append":
                if len(cur) > MAX_SIZE - MAX_IO:
                    continue
                data = rnd.randbytes(rnd.randrange(1, 65536))
                fd = os.open(p, os.O_WRONLY | os.O_APPEND)
                try:
                    n = os.write(fd, data)
                finally:
                    os.close(fd)
                cur.extend(data[:n])
            elif op == "read":
                off = rnd.randrange(0, len(cur) + 1)
                ln = rnd.randrange(1, MAX_IO)
                fd = os.open(p, os.O_RDONLY)
                try:
                    got = os.pread(fd, ln, off)
                finally:
                    os.close(fd)
                if got != bytes(cur[off:off + ln]):
                    fail("%s: pread(%d, %d) got %d bytes, expected %d (contents differ)" % (
                        p, off, ln, len(got), len(cur[off:off + ln])))
            elif op == "readall":
                with open(p, "rb") as f:
                    got = f.read()
                if got != bytes(cur):
                    fail("%s: read %d bytes sha %s, expected %d sha %s" % (
                        p, len(got), hashlib.sha256(got).hexdigest()[:12], len(cur),
                        hashlib.sha256(cur).hexdigest()[:12]))
                st = os.stat(p)
                if st.st_size != len(cur):
                    fail("%s: stat size %d, expected %d" % (p, st.st_size, len(cur)))
            elif op == "rename":
                new = new_name()
                root = rnd.choice(roots)
                os.rename(os.path.join(root, name), os.path.join(root, new))
                model[new] = model.pop(name)
            elif op == "truncate":
                size = rnd.randrange(0, min(len(cur) * 2 + 4096, MAX_SIZE))
                os.truncate(p, size)
                if size < len(cur):
                    del cur[size:]
                else:
                    cur.extend(b"\0" * (size - len(cur)))
            elif op == "replace":
                data = rnd.randbytes(rnd.randrange(0, 1 << 20))
                with open(p, "wb") as f:
                    f.write(data)
                model[name] = bytearray(data)
            note(op)
        except OSError as e:
            fail("%s %s: %s" % (op, p, e))

    out = {"files": {n: {"size": len(c), "sha256": hashlib.sha256(c).hexdigest()}
                     for n, c in model.items()},
           "ops": ops, "errors": errors}
    with open(journal + ".tmp", "w") as f:
        json.dump(out, f)
    os.rename(journal + ".tmp", journal)


if __name__ == "__main__":
    main()
