#!/usr/bin/python3
"""Actor for the state tests: keeps files and locks open and obeys one
command per line on stdin, answering one line on stdout ("ok ..." or
"err ERRNO") before reading the next.

  open PATH [rw|ro|wo] [creat] [append] [trunc]  -> "ok FD"
  lk FD r|w|u START LEN      fcntl F_SETLK
  lkw FD r|w|u START LEN     fcntl F_SETLKW (blocks)
  lockf FD START LEN         lockf(F_TLOCK) at START (seek first)
  flock FD sh|ex|un [nb]
  pwrite FD OFF HEX          -> "ok N"
  pread FD OFF LEN           -> "ok HEX"
  fsync FD | close FD
  exit                       exit 0 at once
"""

import fcntl
import os
import struct
import sys

TYPES = {"r": fcntl.F_RDLCK, "w": fcntl.F_WRLCK, "u": fcntl.F_UNLCK}
FLAGS = {"rw": os.O_RDWR, "ro": os.O_RDONLY, "wo": os.O_WRONLY, "creat": os.O_CREAT,
         "append": os.O_APPEND, "trunc": os.O_TRUNC, "excl": os.O_EXCL}


def main():
    out = sys.stdout
    out.write("ok actor %d\n" % os.getpid())
    out.flush()
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        try:
            c = w[0]
            if c == "open":
                fl = 0
                for f in (w[2:] or ["rw"]):
                    fl |= FLAGS[f]
                ans = "ok %d" % os.open(w[1], fl, 0o644)
            elif c in ("lk", "lkw"):
                cmd = fcntl.F_SETLK if c == "lk" else fcntl.F_SETLKW
                fcntl.fcntl(int(w[1]), cmd, struct.pack("hhqqi4x", TYPES[w[2]], os.SEEK_SET,
                                                        int(w[3]), int(w[4]), 0))
                ans = "ok"
            elif c == "lockf":
                fd = int(w[1])
                os.lseek(fd, int(w[2]), os.SEEK_SET)
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, int(w[3]))
                ans = "ok"
            elif c == "flock":
                op = {"sh": fcntl.LOCK_SH, "ex": fcntl.LOCK_EX, "un": fcntl.LOCK_UN}[w[2]]
                if len(w) > 3 and w[3] == "nb":
                    op |= fcntl.LOCK_NB
                fcntl.flock(int(w[1]), op)
                ans = "ok"
            elif c == "pwrite":
                ans = "ok %d" % os.pwrite(int(w[1]), bytes.fromhex(w[3]), int(w[2]))
            elif c == "pread":
                ans = "ok " + os.pread(int(w[1]), int(w[3]), int(w[2])).hex()
            elif c == "fsync":
                os.fsync(int(w[1]))
                ans = "ok"
            elif c == "close":
                os.close(int(w[1]))
                ans = "ok"
            elif c == "exit":
                os._exit(0)
            else:
                ans = "err bad-command"
        except OSError as e:
            ans = "err %d" % e.errno
        out.write(ans + "\n")
        out.flush()


if __name__ == "__main__":
    main()
