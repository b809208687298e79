"""Locks across two efs-fuse daemons of the same export (NFSv4 LOCK, LOCKT,
LOCKU): fcntl byte ranges and flock(2) (whole-file locks, as the Linux NFS
client maps them).  The holder on mount 1 is a separate process
(lockholder.py), the contender is this process on mount 2 -- or another
holder process when it has to block."""

import errno
import fcntl
import time
import os
import struct

import pytest

from cachelib import sha256_bytes

REFUSED = (errno.EAGAIN, errno.EACCES)


def _flock_struct(ltype, start, length):
    return struct.pack("hhqqi4x", ltype, os.SEEK_SET, start, length, 0)


def setlk(fd, ltype, start, length):
    """fcntl F_SETLK; returns None on success or the errno."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETLK, _flock_struct(ltype, start, length))
        return None
    except OSError as e:
        return e.errno


def getlk(fd, ltype, start, length):
    """fcntl F_GETLK: (l_type, l_start, l_len) of a conflicting lock, or
    (F_UNLCK, ...) if the range could be locked."""
    out = fcntl.fcntl(fd, fcntl.F_GETLK, _flock_struct(ltype, start, length))
    t, _, s, ln, _ = struct.unpack("hhqqi4x", out)
    return t, s, ln


@pytest.fixture
def shared(pair):
    path1, path2 = pair.m1("lockfile"), pair.m2("lockfile")
    with open(path1, "wb") as f:
        f.write(b"\0" * 8192)
    fd2 = os.open(path2, os.O_RDWR)
    yield pair, path1, path2, fd2
    os.close(fd2)


def test_fcntl_lock_conflicts_across_mounts(shared, lock_holder):
    pair, path1, path2, fd2 = shared
    h = lock_holder(path1)
    assert h.cmd("lk w 0 100") == "ok"
    # The same range, and an overlapping one: refused on mount 2.
    assert setlk(fd2, fcntl.F_WRLCK, 0, 100) in REFUSED, \
        "write lock on mount 2 granted over mount 1's write lock"
    assert setlk(fd2, fcntl.F_WRLCK, 50, 10) in REFUSED, "overlapping write lock granted"
    assert setlk(fd2, fcntl.F_RDLCK, 99, 1) in REFUSED, "read lock granted under a write lock"
    # F_GETLK names the conflicting lock.
    t, s, ln = getlk(fd2, fcntl.F_WRLCK, 10, 5)
    assert t == fcntl.F_WRLCK, "F_GETLK on mount 2 reports type %d, expected F_WRLCK" % t
    assert (s, ln) == (0, 100), "F_GETLK reports range (%d, %d), expected (0, 100)" % (s, ln)
    # A range that does not overlap is free, on both ends.
    assert getlk(fd2, fcntl.F_WRLCK, 100, 100)[0] == fcntl.F_UNLCK
    assert setlk(fd2, fcntl.F_WRLCK, 100, 100) is None, "non-overlapping lock refused"
    # ... and now it conflicts the other way.
    assert h.cmd("lk w 150 10").startswith("err"), \
        "mount 1 got a lock over mount 2's range [100,200)"
    assert setlk(fd2, fcntl.F_UNLCK, 100, 100) is None
    assert h.cmd("lk w 150 10") == "ok"
    # Unlock on mount 1 frees the range for mount 2 at once.
    assert h.cmd("lk u 0 100") == "ok"
    assert setlk(fd2, fcntl.F_WRLCK, 0, 100) is None, "lock still refused after F_UNLCK"
    assert setlk(fd2, fcntl.F_UNLCK, 0, 100) is None


def test_fcntl_read_locks_share_across_mounts(shared, lock_holder):
    pair, path1, path2, fd2 = shared
    h = lock_holder(path1)
    assert h.cmd("lk r 0 1000") == "ok"
    assert setlk(fd2, fcntl.F_RDLCK, 500, 100) is None, "two read locks must coexist"
    assert setlk(fd2, fcntl.F_WRLCK, 500, 100) in REFUSED, \
        "mount 2 upgraded to a write lock over mount 1's read lock"
    # mount 2 still holds its read lock on [500,600): a write lock from
    # mount 1 over it is refused.
    assert h.cmd("lk w 0 1000").startswith("err"), \
        "mount 1 upgraded to a write lock over mount 2's read lock"
    assert setlk(fd2, fcntl.F_UNLCK, 0, 0) is None
    assert h.cmd("lk w 0 1000") == "ok", "upgrade refused after mount 2 unlocked"


def test_fcntl_lock_released_on_close(shared, lock_holder):
    pair, path1, path2, fd2 = shared
    h = lock_holder(path1)
    assert h.cmd("lk w 0 0") == "ok"  # whole file
    assert setlk(fd2, fcntl.F_WRLCK, 4096, 1) in REFUSED
    assert h.cmd("close") == "ok"
    assert setlk(fd2, fcntl.F_WRLCK, 0, 0) is None, \
        "lock still held on the server after the holder closed its file"


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_fcntl_lock_released_on_process_exit(shared, lock_holder, how):
    pair, path1, path2, fd2 = shared
    h = lock_holder(path1)
    assert h.cmd("lk w 0 0") == "ok"
    assert setlk(fd2, fcntl.F_WRLCK, 0, 1) in REFUSED
    if how == "exit":
        h.send("exit")
        rc = h.proc.wait(30)
        assert rc == 0
    else:
        h.kill()
    assert setlk(fd2, fcntl.F_WRLCK, 0, 0) is None, \
        "lock still held on the server after the holder process ended (%s)" % how


def test_flock_conflicts_across_mounts(shared, lock_holder):
    pair, path1, path2, fd2 = shared
    h = lock_holder(path1)
    assert h.cmd("flock ex nb") == "ok"
    with pytest.raises(BlockingIOError):
        fcntl.flock(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)
        pytest.fail("flock LOCK_EX granted on mount 2 while mount 1 holds LOCK_EX")
    with pytest.raises(BlockingIOError):
        fcntl.flock(fd2, fcntl.LOCK_SH | fcntl.LOCK_NB)
        pytest.fail("flock LOCK_SH granted on mount 2 while mount 1 holds LOCK_EX")
    assert h.cmd("flock un") == "ok"
    fcntl.flock(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert h.cmd("flock ex nb") != "ok", "mount 1 got LOCK_EX while mount 2 holds it"
    fcntl.flock(fd2, fcntl.LOCK_UN)
    # Shared locks coexist; exclusive against shared does not.
    assert h.cmd("flock sh nb") == "ok"
    fcntl.flock(fd2, fcntl.LOCK_SH | fcntl.LOCK_NB)
    assert h.cmd("flock ex nb") != "ok", "LOCK_EX granted over another mount's LOCK_SH"
    fcntl.flock(fd2, fcntl.LOCK_UN)
    # Released when the holder closes the file, and when it exits.  The
    # kernel sends FUSE RELEASE (which carries the flock unlock) after
    # close() has returned, so wait for the release with a deadline.
    assert h.cmd("flock ex nb") == "ok"
    assert h.cmd("close") == "ok"
    _flock_within(fd2, 5.0)
    fcntl.flock(fd2, fcntl.LOCK_UN)
    assert h.cmd("reopen") == "ok"
    assert h.cmd("flock ex nb") == "ok"
    h.kill()
    _flock_within(fd2, 5.0)
    fcntl.flock(fd2, fcntl.LOCK_UN)


def _flock_within(fd, seconds):
    """Take LOCK_EX|LOCK_NB on fd, retrying until the deadline; fails the
    test if the other holder's lock is still there then."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                pytest.fail("flock still held %.1f s after the holder closed/exited" % seconds)
            time.sleep(0.02)


@pytest.mark.parametrize("kind", ["fcntl", "flock"])
def test_blocking_lock_waits_until_released(shared, lock_holder, kind):
    """F_SETLKW / flock without LOCK_NB on mount 2 waits while mount 1 holds
    the lock and is granted once it is released."""
    pair, path1, path2, fd2 = shared
    holder = lock_holder(path1)
    waiter = lock_holder(path2)
    take, wait_cmd, release = {
        "fcntl": ("lk w 0 0", "lkw w 0 0", "lk u 0 0"),
        "flock": ("flock ex nb", "flock ex", "flock un"),
    }[kind]
    assert holder.cmd(take) == "ok"
    waiter.send(wait_cmd)
    # While the lock is held, the waiter must not get it (1 s window: the
    # waiter answers the moment it is granted).
    early = waiter.reply(1.0)
    assert early is None, "waiter on mount 2 answered %r while mount 1 held the lock" % early
    assert holder.cmd(release) == "ok"
    got = waiter.reply(60)
    assert got == "ok", "blocked lock on mount 2 not granted within 60 s of the release " \
        "(answer %r)" % got
    # Now the holder is the one refused.
    assert holder.cmd(take) != "ok", "mount 1 got the lock the waiter was granted"


def test_lock_revalidates_cache(shared, lock_holder):
    """Mount 2 has read (cached) the file; mount 1 locks, rewrites in place
    and unlocks without closing; mount 2 takes the lock and reads through its
    already open descriptor: it sees the new bytes (a lock flushes and
    revalidates, as with the kernel NFS client)."""
    pair, path1, path2, fd2 = shared
    assert os.pread(fd2, 8192, 0) == b"\0" * 8192
    assert os.pread(fd2, 8192, 0) == b"\0" * 8192
    h = lock_holder(path1)
    assert h.cmd("lk w 0 0") == "ok"
    assert h.cmd("pwrite 0 8192 171") == "ok 8192"
    assert h.cmd("lk u 0 0") == "ok"
    fcntl.fcntl(fd2, fcntl.F_SETLKW, _flock_struct(fcntl.F_RDLCK, 0, 0))
    try:
        got = os.pread(fd2, 8192, 0)
        assert got == bytes([171]) * 8192, (
            "read under lock on mount 2 returned stale data (sha256 %s)" % sha256_bytes(got)[:16])
    finally:
        setlk(fd2, fcntl.F_UNLCK, 0, 0)
    # And the server has it, though mount 1 never closed the file.
    with open(pair.s("lockfile"), "rb") as f:
        assert f.read() == bytes([171]) * 8192, "mount 1's write not on the server after unlock"
