"""Helpers shared by the cache tests (imported by conftest.py and the tests)."""

import errno
import hashlib
import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LOCK_HOLDER = os.path.join(HERE, "lockholder.py")
MiB = 1 << 20


def sha256_file(path, bufsize=MiB):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(bufsize)
            if not b:
                return h.hexdigest()
            h.update(b)


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def read_all(path, flags=0):
    fd = os.open(path, os.O_RDONLY | flags)
    try:
        out = []
        while True:
            b = os.read(fd, MiB)
            if not b:
                return b"".join(out)
            out.append(b)
    finally:
        os.close(fd)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        assert n > 0, "write returned %d" % n
        view = view[n:]


def vm_rss(pid):
    """Resident set size of pid in bytes (VmRSS of /proc/PID/status)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


def wait_for(cond, timeout, what, interval=0.02):
    """Poll cond() until it returns a true value; fail with `what` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)




def errno_name(e):
    return errno.errorcode.get(e, str(e))
