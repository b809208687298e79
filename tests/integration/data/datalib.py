"""Helpers of the data-path tests (issue 10)."""

import errno
import hashlib
import os
import subprocess
import time

import pytest

MiB = 1 << 20


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


def write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        assert n > 0, "write returned %d" % n
        view = view[n:]


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def sha(data):
    return hashlib.sha256(data).hexdigest()


def errno_name(e):
    return errno.errorcode.get(e, str(e))


def srv_dir(ganesha, m, name):
    """A fresh directory made through mount m; (path through m, path on the server)."""
    d = os.path.join(m.mountpoint, name)
    os.mkdir(d)
    srv = ganesha.server_path(name)
    assert os.path.isdir(srv), "mkdir through efs-fuse did not reach the server (%s)" % srv
    return d, srv


def chattr(flag, path):
    p = subprocess.run(["chattr", flag, path], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail("chattr %s %s failed (the export's file system must support it): %s"
                    % (flag, path, p.stderr.strip()), pytrace=False)


def need(tool):
    import shutil
    if not shutil.which(tool):
        pytest.fail("%s is not installed (scripts/install-deps.sh)" % tool, pytrace=False)


def daemon_stats(mountpoint):
    """The daemon's counters (the stats xattr of the mount's root)."""
    raw = os.getxattr(mountpoint, "user.efs-fuse.stats")
    out = {}
    for line in raw.decode().splitlines():
        k, _, v = line.partition(" ")
        try:
            out[k] = int(v)
        except ValueError:
            pass
    return out
