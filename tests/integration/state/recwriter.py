#!/usr/bin/python3
"""Record writer for the restart tests and the soak:

  recwriter.py PATH LOG WRITER_ID RECSIZE STOPFILE

Opens PATH once (O_WRONLY|O_CREAT|O_APPEND) and keeps that descriptor for
its whole life.  Record n is RECSIZE bytes: "W<id>:<n>:" + payload derived
from (id, n) + "\\n".  After each write the record is fsynced; only when the
fsync returned 0 is "n" appended to LOG (a local file, flushed), so LOG
lists exactly the records the application was told are durable.  Errors are
logged as "err ERRNO n op" and the writer keeps going with the same fd
(the test decides whether any error is acceptable).  Stops when STOPFILE
exists, closes the fd (logging "close ok" or "close err ERRNO") and exits 0.
"""

import hashlib
import os
import sys
import time


def record(wid, n, size):
    head = ("W%s:%d:" % (wid, n)).encode()
    body = hashlib.sha256(head).hexdigest().encode()
    pay = (body * (size // len(body) + 1))[:size - len(head) - 1]
    return head + pay + b"\n"


def main():
    path, log, wid, size, stop = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), \
        sys.argv[5]
    lf = open(log, "a", buffering=1)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    lf.write("open\n")
    n = 0
    while not os.path.exists(stop):
        rec = record(wid, n, size)
        try:
            w = os.write(fd, rec)
            if w != len(rec):
                lf.write("err short %d %d write\n" % (w, n))
                n += 1
                continue
        except OSError as e:
            lf.write("err %d %d write\n" % (e.errno, n))
            n += 1
            time.sleep(0.05)
            continue
        try:
            os.fsync(fd)
        except OSError as e:
            lf.write("err %d %d fsync\n" % (e.errno, n))
            n += 1
            time.sleep(0.05)
            continue
        lf.write("%d\n" % n)
        n += 1
    try:
        os.close(fd)
        lf.write("close ok\n")
    except OSError as e:
        lf.write("close err %d\n" % e.errno)
    lf.close()


if __name__ == "__main__":
    main()
