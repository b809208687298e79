#!/usr/bin/python3
"""Lock holder for the lock tests: opens PATH read-write, then obeys one
command per line on stdin and answers one line on stdout.

  lk  r|w|u START LEN     fcntl F_SETLK   -> "ok" | "err ERRNO"
  lkw r|w|u START LEN     fcntl F_SETLKW  (blocks until granted)
  flock sh|ex|un [nb]     flock(2)
  pwrite OFF LEN BYTE     write LEN bytes of value BYTE (0..255) at OFF
  sha OFF LEN             "ok <sha256>" of LEN bytes read at OFF
  close                   close the file (locks held by this process go)
  reopen                  open PATH again
  exit                    exit 0 without closing anything first

A lock conflicting with another client's lock is refused with EAGAIN or
EACCES (fcntl) / EWOULDBLOCK (flock nb).
"""

import fcntl
import hashlib
import os
import sys

TYPES = {"r": fcntl.F_RDLCK, "w": fcntl.F_WRLCK, "u": fcntl.F_UNLCK}


def flock_struct(ltype, start, length):
    import struct
    return struct.pack("hhqqi4x", ltype, os.SEEK_SET, start, length, 0)


def main():
    path = sys.argv[1]
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    out = sys.stdout
    out.write("ok open %d\n" % os.getpid())
    out.flush()
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        try:
            if w[0] in ("lk", "lkw"):
                cmd = fcntl.F_SETLK if w[0] == "lk" else fcntl.F_SETLKW
                fcntl.fcntl(fd, cmd, flock_struct(TYPES[w[1]], int(w[2]), int(w[3])))
                ans = "ok"
            elif w[0] == "flock":
                op = {"sh": fcntl.LOCK_SH, "ex": fcntl.LOCK_EX, "un": fcntl.LOCK_UN}[w[1]]
                if len(w) > 2 and w[2] == "nb":
                    op |= fcntl.LOCK_NB
                fcntl.flock(fd, op)
                ans = "ok"
            elif w[0] == "pwrite":
                n = os.pwrite(fd, bytes([int(w[3])]) * int(w[2]), int(w[1]))
                ans = "ok %d" % n
            elif w[0] == "sha":
                data = os.pread(fd, int(w[2]), int(w[1]))
                ans = "ok %s" % hashlib.sha256(data).hexdigest()
            elif w[0] == "close":
                os.close(fd)
                fd = -1
                ans = "ok"
            elif w[0] == "reopen":
                fd = os.open(path, os.O_RDWR)
                ans = "ok"
            elif w[0] == "exit":
                os._exit(0)
            else:
                ans = "err bad-command"
        except OSError as e:
            ans = "err %d" % e.errno
        out.write(ans + "\n")
        out.flush()


if __name__ == "__main__":
    main()
