"""A lock user for test_posix_locks.py: N times, take the lock (fcntl or
flock, blocking), read the counter in the file, write counter + 1, unlock.
argv: path kind(fcntl|flock|sqlite) n tag"""

import fcntl
import os
import sqlite3
import sys


def counter(path, kind, n):
    fd = os.open(path, os.O_RDWR)
    try:
        for _ in range(n):
            if kind == "fcntl":
                fcntl.lockf(fd, fcntl.LOCK_EX)
            else:
                fcntl.flock(fd, fcntl.LOCK_EX)
            st = os.fstat(fd)
            data = os.pread(fd, 64, 0)
            if len(data) != st.st_size:
                sys.exit("fstat size %d but %d bytes read" % (st.st_size, len(data)))
            v = int(data.decode() or "0")
            out = b"%d\n" % (v + 1)
            os.pwrite(fd, out, 0)
            os.ftruncate(fd, len(out))
            if kind == "fcntl":
                fcntl.lockf(fd, fcntl.LOCK_UN)
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def sqlite_writer(path, n, tag):
    db = sqlite3.connect(path, timeout=120, isolation_level=None)
    db.execute("PRAGMA journal_mode=DELETE")
    for i in range(n):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t(tag, i, pad) VALUES (?, ?, ?)", (tag, i, "x" * (200 + i % 700)))
        db.execute("UPDATE c SET v = v + 1")
        db.execute("COMMIT")
    db.close()


if __name__ == "__main__":
    path, kind, n, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if kind == "sqlite":
        sqlite_writer(path, n, tag)
    else:
        counter(path, kind, n)
    print("done", tag)
