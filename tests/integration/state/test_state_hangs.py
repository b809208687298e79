"""Issue 12, hard/soft/softerr and interrupts:
- "hard retries forever but stays killable": SIGKILL of an application blocked
  on a blackholed hard mount returns at once, and `fusermount3 -u` then works.
- "A soft mount goes permanently EIO after a one-second server stall" /
  "soft fails with EIO (softerr: ETIMEDOUT) after timeo x retrans and works
  again as soon as the server answers".
- "A server status between 512 and 4095 is passed to FUSE as an errno; the
  kernel rejects the reply and the caller hangs forever. Every errno handed
  to FUSE must be a real one."
- "An export path that is a regular file 'mounts' with exit 0 and every
  access gives EIO."
"""

import errno
import os
import signal
import subprocess
import sys
import time

import pytest

from lib import mounts
from statelib import ename, py_op, wait_gone

_BLOCKED = r"""
import os, sys
op, path = sys.argv[1], sys.argv[2]
print("start", flush=True)
if op == "stat":
    try:
        os.stat(path)
    except OSError:
        pass
else:
    fd = os.open(path, os.O_RDONLY)
    print("opened", flush=True)
    sys.stdin.readline()
    os.pread(fd, 65536, 6 << 20)
print("done", flush=True)
"""


@pytest.mark.parametrize("op", ["stat", "read"])
def test_sigkill_blocked_app_on_blackholed_hard_mount(server, proxy_factory, mount_factory,
                                                      procs, op):
    # issue 12: hard stays killable (FUSE_INTERRUPT); fusermount3 -u works afterwards
    proxy = proxy_factory(server)
    m = mount_factory(proxy.source)
    d = os.path.join(m.mountpoint, "k")
    os.mkdir(d)
    big = os.path.join(d, "big")
    with open(server.server_path("k", "big"), "wb") as f:  # written behind the daemon's back
        f.write(os.urandom(8 << 20))
    target = big if op == "read" else os.path.join(d, "missing-name")
    p = subprocess.Popen([sys.executable, "-c", _BLOCKED, op, target], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    procs.append(p)
    assert p.stdout.readline().strip() == "start"
    if op == "read":
        assert p.stdout.readline().strip() == "opened"
    t_bh = time.monotonic()
    proxy.blackhole()
    if op == "read":
        p.stdin.write("go\n")
        p.stdin.flush()
    main = "READ" if op == "read" else "LOOKUP"
    proxy.wait_calls(1, op=main, since=t_bh, timeout=15)   # the request is in flight
    time.sleep(0.3)
    assert p.poll() is None, "the %s returned through a blackhole (%r)" % (op, p.returncode)
    os.kill(p.pid, signal.SIGKILL)
    took = wait_gone(p.pid, 5)
    state = "-" if took is not None else open("/proc/%d/stat" % p.pid).read().split()[2]
    # fusermount3 -u must work even while the server is still unreachable
    u = subprocess.run(["fusermount3", "-u", m.mountpoint], capture_output=True, text=True,
                       timeout=30)
    if wait_gone(m.pid, 5) is None:   # not this test's subject (see test_state_stop.py)
        os.kill(m.pid, signal.SIGKILL)
        wait_gone(m.pid, 10)
    assert took is not None and took < 1.5, (
        "application blocked in %s still there %s s after SIGKILL (state %s)" % (
            op, "5+" if took is None else "%.2f" % took, state))
    assert u.returncode == 0, "fusermount3 -u after the kill: %s" % u.stderr.strip()


def _stall_until_failure(proxy, path, op_timeout):
    """Stall the proxy and write+fsync a new file (which must reach the
    server: no cache can answer it); returns (result, seconds stalled)."""
    t0 = time.monotonic()
    proxy.stall()
    try:
        r = py_op("write_fsync", op_timeout, path=path, data="00" * 10)
    finally:
        proxy.pass_()
    return r, time.monotonic() - t0


@pytest.mark.parametrize("mode,want", [("soft", errno.EIO), ("softerr", errno.ETIMEDOUT)])
def test_soft_mount_recovers_after_stall(server, proxy_factory, mount_factory, mode, want):
    # issue 12: soft -> EIO / softerr -> ETIMEDOUT after timeo x retrans; works again at once
    proxy = proxy_factory(server)
    try:
        m = mount_factory(proxy.source, options=[mode, "timeo=10", "retrans=1"])
    except mounts.MountError as e:
        pytest.fail("mount -o %s,timeo=10,retrans=1: %s" % (mode, e))
    d = os.path.join(m.mountpoint, "s")
    os.mkdir(d)
    for cycle in range(3):
        # a stall longer than timeo x retrans (1 s x 2): the call fails, with the right errno
        r, stalled = _stall_until_failure(proxy, os.path.join(d, "n%d" % cycle), 20)
        assert not r.hung, "%s mount: write+fsync hung %.0f s during a stall" % (mode, r.secs)
        assert not r.ok and r.errno == want, (
            "%s mount, stall %d: create+write+fsync gave %s after %.1f s, expected %s" % (
                mode, cycle, ename(r.errno) if not r.ok else "success", r.secs, ename(want)))
        assert r.secs < 8, "%s: the failure took %.1f s (timeo=1 s, retrans=1)" % (mode, r.secs)
        # the server answers again: the mount works at once (within ~2 s), and stays working
        t0 = time.monotonic()
        ok_at = None
        while time.monotonic() - t0 < 10:
            w = py_op("write_fsync", 15, path=os.path.join(d, "f%d" % cycle), data="ab" * 100)
            if w.ok:
                ok_at = time.monotonic() - t0
                break
            time.sleep(0.1)
        assert ok_at is not None and ok_at < 3, (
            "%s mount still failing %s s after the stall ended (last: %r)" % (
                mode, "10+" if ok_at is None else "%.1f" % ok_at, w))
        for i in range(5):
            w = py_op("stat", 15, path=os.path.join(d, "f%d" % cycle))
            assert w.ok, "%s mount: stat %d after recovery: %r" % (mode, i, w)
        with open(server.server_path("s", "f%d" % cycle), "rb") as f:
            assert f.read() == bytes.fromhex("ab" * 100)


@pytest.mark.parametrize("op,status", [("LOOKUP", 512), ("LOOKUP", 600), ("LOOKUP", 4095),
                                       ("GETATTR", 600), ("GETATTR", 1000)])
def test_odd_server_status_does_not_hang(server, proxy_factory, mount_factory, op, status):
    # issue 12: a server status between 512 and 4095 must not hang the caller
    proxy = proxy_factory(server)
    m = mount_factory(proxy.source, options=["actimeo=0"])
    d = os.path.join(m.mountpoint, "st")
    os.mkdir(d)
    existing = os.path.join(d, "exists")
    with open(existing, "wb") as f:
        f.write(b"e")
    rule = proxy.rewrite_status(op, status)
    if op == "ACCESS":          # open() checks access
        r = py_op("read", 20, path=existing)
    else:
        r = py_op("stat", 20, path=existing if op == "GETATTR" else os.path.join(d, "fresh"))
    assert proxy.rule_done(rule), "no %s reply was rewritten (the test did not provoke it)" % op
    assert not r.hung, "stat hung %.0f s after the server answered %s with status %d" % (
        r.secs, op, status)
    if not r.ok:
        assert 0 < r.errno < 512, "stat failed with errno %r" % r.errno
    # and the mount is fine afterwards
    r2 = py_op("stat", 20, path=existing)
    assert r2.ok, "stat after the odd status: %r" % r2


def test_export_path_is_a_regular_file(server, mount_factory):
    # issue 12: an export path that is a regular file: one-line error, non-zero exit, no mount
    with open(server.server_path("plainfile"), "wb") as f:
        f.write(b"not a directory\n")
    m = mount_factory("%s:%d:/export/plainfile" % (server.addr, server.port), mount=False)
    p = subprocess.run(m.argv(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=60)
    mounted = mounts.is_mounted(m.mountpoint)
    if mounted:
        m.cleanup_stray()
    out = (p.stdout + p.stderr).strip()
    assert p.returncode != 0, "efs-fuse exited 0 for an export path that is a file " \
        "(mounted: %s)" % mounted
    assert not mounted, "efs-fuse exited %d but left a mount" % p.returncode
    assert out and len(out.splitlines()) == 1, "expected a one-line error, got %r" % out
    assert "plainfile" in out or "directory" in out.lower(), "error does not say why: %r" % out


_BIGWRITE = r"""
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
print("opened", flush=True)
sys.stdin.readline()
t0 = time.monotonic()
try:
    block = b"z" * (1 << 20)
    for i in range(int(sys.argv[2])):
        os.write(fd, block)
    os.fsync(fd)
    print("ok %.1f" % (time.monotonic() - t0), flush=True)
except OSError as e:
    print("err %d %.1f" % (e.errno, time.monotonic() - t0), flush=True)
"""


def test_soft_mount_blocked_send_times_out(server, proxy_factory, mount_factory, procs):
    # issue 12: "a send blocked in sendmsg counts against the call's timeout" (soft mount)
    proxy = proxy_factory(server)
    m = mount_factory(proxy.source, options=["soft", "timeo=10", "retrans=1"])
    d = os.path.join(m.mountpoint, "b")
    os.mkdir(d)
    p = subprocess.Popen([sys.executable, "-c", _BIGWRITE, os.path.join(d, "big"), "64"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    procs.append(p)
    assert p.stdout.readline().strip() == "opened"
    proxy.stall()      # the proxy stops reading: the daemon's socket buffers fill up
    err = ""
    try:
        out, err = p.communicate("go\n", timeout=30)
    except subprocess.TimeoutExpired:
        out = None
    finally:
        proxy.pass_()
    assert out is not None, "64 MiB write+fsync on a soft mount (timeo=1 s, retrans=1) into a " \
        "stalled connection still blocked after 30 s"
    assert out.startswith("err 5"), "soft mount, stalled server: write+fsync gave %r, " \
        "expected EIO (exit %r, stderr %r)" % (out.strip(), p.returncode, err.strip()[-300:])
