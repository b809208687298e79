"""Issue 12, owners and blocking locks:
- "Byte-range locks work on one file per process only ... `lockf` on file b
  fails with EREMOTEIO after `lockf` on file a succeeded."
- "Sixteen processes blocked in F_SETLKW deadlock the whole mount ... `stat`
  of the mount root then hangs" / "200 waiters on one lock and `stat` still
  answers; each waiter is killable; the lock goes to a waiter within a
  second of its release"."""

import os
import select
import signal
import subprocess
import sys
import time

import pytest

from statelib import Actor, REFUSED, pid_alive, py_op, wait_gone

WAITERS = 200


@pytest.mark.parametrize("how", ["lk", "lockf", "flock"])
def test_two_files_locked_by_one_process(server, mount_factory, procs, how):
    # issue 12: any number of files locked by one process (owners per open-owner/lock-owner)
    m = mount_factory(server.source)
    d = os.path.join(m.mountpoint, "two")
    os.mkdir(d)
    a = Actor(procs)
    fds = []
    for name in ("a", "b", "c"):
        ans = a.cmd("open %s rw creat" % os.path.join(d, name))
        assert ans.startswith("ok"), ans
        fds.append(int(ans.split()[1]))
    cmd = {"lk": "lk %d w 0 0", "lockf": "lockf %d 0 0", "flock": "flock %d ex nb"}[how]
    got = [a.cmd(cmd % fd) for fd in fds]
    assert got == ["ok"] * 3, "%s on three files by one process: %r (errno 121 = EREMOTEIO)" % (
        how, got)
    # the locks are real: another client is refused on each file
    m2 = mount_factory(server.source)
    for name in ("a", "b", "c"):
        r = py_op("setlk", 30, path=os.path.join(m2.mountpoint, "two", name))
        if how == "flock":
            continue  # flock vs fcntl from another client: not compared here
        assert not r.ok and r.errno in REFUSED, "lock on %s not held on the server: %r" % (
            name, r)
    # and a second process of the same client is refused too (different lock owner)
    b = Actor(procs)
    fd = int(b.cmd("open %s rw" % os.path.join(d, "b")).split()[1])
    ans = b.cmd((cmd % fd))
    assert ans.startswith("err"), "second process got the lock on b: %r" % ans


_WAITER = r"""
import fcntl, os, signal, struct, sys, time
path, n = sys.argv[1], int(sys.argv[2])
out = os.fdopen(1, "w", buffering=1)
kids = []
for i in range(n):
    pid = os.fork()
    if pid == 0:
        out.write("forked %d\n" % os.getpid())
        fd = os.open(path, os.O_RDWR)
        out.write("waiting %d\n" % os.getpid())
        try:
            fcntl.fcntl(fd, fcntl.F_SETLKW, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 0, 0, 0))
            out.write("got %d %f\n" % (os.getpid(), time.monotonic()))
        except OSError as e:
            out.write("err %d %d\n" % (os.getpid(), e.errno))
        time.sleep(3600)
        os._exit(0)
    kids.append(pid)
out.write("all %d\n" % n)
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
"""


def test_200_blocked_waiters(server, mount_factory, procs):
    # issue 12: 200 F_SETLKW waiters: stat still answers, waiters killable, lock handed over
    m = mount_factory(server.source)
    d = os.path.join(m.mountpoint, "waiters")
    os.mkdir(d)
    path = os.path.join(d, "lock")
    with open(path, "wb") as f:
        f.write(b"L")
    holder = Actor(procs)
    hfd = int(holder.cmd("open %s rw" % path).split()[1])
    assert holder.cmd("lk %d w 0 0" % hfd) == "ok"
    drv = subprocess.Popen([sys.executable, "-c", _WAITER, path, str(WAITERS)],
                           stdout=subprocess.PIPE, bufsize=0, start_new_session=True)
    procs.append(drv)
    waiting, got, forked = set(), {}, set()
    lines = []

    rfd = drv.stdout.fileno()
    buf = [b""]

    def pump(timeout):
        # raw reads: a buffered readline() would hide lines from select()
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([rfd], [], [], left)
            if not r:
                return
            chunk = os.read(rfd, 65536)
            if not chunk:
                return
            buf[0] += chunk
            *complete, buf[0] = buf[0].split(b"\n")
            for line in complete:
                handle(line.decode())
            if len(waiting) >= WAITERS and not got:
                return

    def handle(line):
            lines.append(line)
            w = line.split()
            if not w:
                return
            if w[0] == "waiting":
                waiting.add(int(w[1]))
            elif w[0] == "forked":
                forked.add(int(w[1]))
            elif w[0] == "got":
                got[int(w[1])] = float(w[2])

    def kill_group():
        try:
            os.killpg(drv.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    try:
        deadline = time.monotonic() + 30
        while len(waiting) < WAITERS and time.monotonic() < deadline:
            pump(1)
        assert len(waiting) == WAITERS, (
            "only %d of %d forked waiters could open the file within 30 s (the others hang in "
            "open(): every FUSE worker is taken by a blocked F_SETLKW)" % (len(waiting),
                                                                          len(forked)))
        pump(1.0)  # give the F_SETLKWs time to reach the daemon (a duration, not a sync)
        assert not got, "waiters got the lock while it is held: %r" % sorted(got)[:5]
        # the mount still answers
        for what, op, kw in (("stat of the mount root", "stat", {"path": m.mountpoint}),
                             ("lookup of a new name", "lstat_missing",
                              {"path": os.path.join(m.mountpoint, "nothing-%d" % time.time_ns())}),
                             ("readdir of the root", "listdir", {"path": m.mountpoint})):
            r = py_op(op, 5, **kw)
            assert not r.hung and r.ok and r.secs < 2.0, (
                "%s with %d waiters blocked in F_SETLKW: %r" % (what, WAITERS, r))
        # each waiter is killable: SIGKILL one, it is gone at once
        victim = sorted(waiting)[7]
        os.kill(victim, signal.SIGKILL)
        took = wait_gone(victim, 5)
        assert took is not None and took < 1.5, (
            "waiter %d blocked in F_SETLKW still there %s s after SIGKILL (state %s)" % (
                victim, "5+" if took is None else "%.1f" % took,
                open("/proc/%d/stat" % victim).read().split()[2] if took is None else "-"))
        # release: a waiter gets the lock within ~1-2 s
        t_rel = time.monotonic()
        assert holder.cmd("lk %d u 0 0" % hfd) == "ok"
        end = t_rel + 10
        while not got and time.monotonic() < end:
            pump(0.2)
        assert got, "no waiter got the lock within 10 s of its release"
        first = min(got.values()) - t_rel
        assert first < 2.0, "the first waiter got the lock %.1f s after the release" % first
        assert len(got) == 1, "%d waiters hold an exclusive lock at once" % len(got)
    finally:
        kill_group()
        # waiters stuck in the kernel (the daemon never answers their F_SETLKW or
        # open) only go when the daemon does: SIGKILL it rather than hang the cleanup
        end = time.monotonic() + 3
        while any(pid_alive(p) for p in forked) and time.monotonic() < end:
            time.sleep(0.05)
        if any(pid_alive(p) for p in forked) and m.pid:
            os.kill(m.pid, signal.SIGKILL)
            wait_gone(m.pid, 10)
