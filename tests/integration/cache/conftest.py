"""Fixtures for the caching, consistency, durability and lock tests (issue 3).

Built on the parent conftest (ganesha, ganesha_factory, mount_factory):

  pair          two efs-fuse daemons mounting the same export of the session
                ganesha, and one fresh per-test directory seen through both:
                pair.m1(...), pair.m2(...) (paths through mount 1 / 2),
                pair.s(...) (the same path in the server's export directory),
                pair.mount1 / pair.mount2 (the EfsMount objects)
  small_export  a second nfs-ganesha exporting a tmpfs of 8 MiB (mounted here,
                unmounted at teardown after the efs-fuse mount and the server
                are gone), mounted through efs-fuse: .mnt, .srv, .mount
  helpers       sha256_file, read_all, write_all, vm_rss, lock_holder

Everything started here is stopped here, also when a test fails.
"""

import os
import re
import select
import subprocess
import sys

import pytest

from lib import mounts

from cachelib import LOCK_HOLDER


class Pair:
    def __init__(self, mount1, mount2, name, srv):
        self.mount1, self.mount2 = mount1, mount2
        self.name = name
        self.d1 = os.path.join(mount1.mountpoint, name)
        self.d2 = os.path.join(mount2.mountpoint, name)
        self.srv = srv

    def m1(self, *p):
        return os.path.join(self.d1, *p)

    def m2(self, *p):
        return os.path.join(self.d2, *p)

    def s(self, *p):
        return os.path.join(self.srv, *p)


def _test_dir_name(request):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:100]


@pytest.fixture
def pair(ganesha, mount_factory, request):
    """Two daemons, same export, one fresh directory made through mount 1."""
    try:
        a = mount_factory(ganesha.source)
        b = mount_factory(ganesha.source)
    except mounts.MountError as e:
        pytest.fail(str(e), pytrace=False)
    assert a.pid != b.pid, "both mounts served by one daemon (pid %d)" % a.pid
    name = _test_dir_name(request)
    os.mkdir(os.path.join(a.mountpoint, name))
    srv = ganesha.server_path(name)
    assert os.path.isdir(srv), "mkdir through mount 1 did not reach the server (%s)" % srv
    p = Pair(a, b, name, srv)
    # A directory made by the other client is found by a fresh lookup.
    assert os.path.isdir(p.d2), "directory made through mount 1 not found through mount 2"
    return p


class SmallExport:
    def __init__(self, mount, srv_dir):
        self.mount = mount
        self.mnt = mount.mountpoint
        self.srv = srv_dir


@pytest.fixture
def small_export(it_tmp, ganesha_factory, mount_factory):
    """efs-fuse -> nfs-ganesha -> tmpfs of 8 MiB (ENOSPC on demand)."""
    exp = os.path.join(it_tmp, "tmpfs8m-%d" % os.getpid())
    n = 0
    while os.path.exists(exp + "-%d" % n):
        n += 1
    exp = exp + "-%d" % n
    os.mkdir(exp)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8M,mode=0777", "tmpfs", exp],
                       capture_output=True, text=True)
    if p.returncode != 0:
        os.rmdir(exp)
        pytest.fail("cannot mount an 8 MiB tmpfs (needs root): %s" % p.stderr.strip(),
                    pytrace=False)
    srv = m = None
    try:
        srv = ganesha_factory(export_dir=exp)
        m = mount_factory(srv.source)
        yield SmallExport(m, exp)
    finally:
        # Order matters: the daemon first (it may still be flushing), then the
        # server that holds files open in the tmpfs, then the tmpfs itself.
        problems = m.cleanup() if m is not None else []
        if srv is not None:
            srv.stop()
        p = subprocess.run(["umount", exp], capture_output=True, text=True)
        if p.returncode != 0:
            subprocess.run(["umount", "-l", exp], capture_output=True)
        os.rmdir(exp)
        assert p.returncode == 0, "umount %s: %s" % (exp, p.stderr.strip())
        assert not problems, "efs-fuse on the small export needed force: %r" % problems


class LockHolder:
    """A child process holding locks (lockholder.py), driven line by line.

    Each command is one line on its stdin; it answers one line on stdout
    ("ok ...", or "err ERRNO") before taking the next."""

    def __init__(self, path):
        self.proc = subprocess.Popen([sys.executable, LOCK_HOLDER, path],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.ready = self.reply(30)
        assert self.ready.startswith("ok open"), "lock holder: %r %s" % (
            self.ready, self._stderr())

    def _stderr(self):
        if self.proc.poll() is None:
            return ""
        return self.proc.stderr.read()

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def reply(self, timeout):
        """The next answer line, or None if none came within timeout."""
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return None
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("lock holder exited (%r): %s" % (
                self.proc.wait(10), self._stderr()))
        return line.strip()

    def cmd(self, line, timeout=30):
        self.send(line)
        ans = self.reply(timeout)
        assert ans is not None, "lock holder: no answer to %r within %ss" % (line, timeout)
        return ans

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait(30)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass


@pytest.fixture
def lock_holder():
    """lock_holder(path) -> LockHolder; every holder is killed at teardown."""
    made = []

    def make(path):
        h = LockHolder(path)
        made.append(h)
        return h
    yield make
    for h in made:
        h.close()
