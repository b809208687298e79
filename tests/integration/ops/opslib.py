"""Helpers for the operations tests (issue 8): waiting on conditions, running
efs-fuse and expecting a precise failure, reading the stats xattr."""

import json
import os
import subprocess
import time

from lib import mounts

STATS_XATTR = "user.efs-fuse.stats"


def wait_for(cond, timeout, step=0.05):
    """Poll cond() until it is true; return its last value (falsy on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def read_file(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def stats(mountpoint):
    """The stats xattr as a dict of ints."""
    text = os.getxattr(mountpoint, STATS_XATTR).decode()
    out = {}
    for line in text.splitlines():
        k, v = line.split(" ")
        out[k] = int(v)
    return out


def stats_json(efs_fuse_bin, mountpoint, *args):
    p = subprocess.run([efs_fuse_bin, "stats", mountpoint, "--json"] + list(args),
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, "efs-fuse stats exited %d: %s" % (p.returncode, p.stderr)
    return json.loads(p.stdout)


def expect_mount_failure(argv, mountpoint, want, status=32, timeout=60, env=None, lines=1):
    """Run argv (an efs-fuse mount that must fail); check the exit status, that
    the last stderr line contains every string in want, that at most `lines`
    non-empty lines were printed, and that nothing got mounted.  Returns stderr."""
    before = [x for x in mounts.mountinfo() if x[1].startswith("fuse")]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout, env=env)
    after = [x for x in mounts.mountinfo() if x[1].startswith("fuse")]
    err_lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert p.returncode == status, "exit %d (want %d) for %r: %s" % (
        p.returncode, status, argv, p.stderr)
    assert err_lines, "no message on stderr for %r" % argv
    if lines is not None:
        assert len(err_lines) <= lines, "want at most %d line(s), got:\n%s" % (lines, p.stderr)
    for w in want:
        assert w in err_lines[-1], "%r not in the message %r" % (w, err_lines[-1])
    if mountpoint:
        assert not mounts.is_mounted(mountpoint) or mountpoint in [b[0] for b in before]
    assert after == before, "mount table changed: %r -> %r" % (before, after)
    return p.stderr
