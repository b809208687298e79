"""Close-to-open consistency and O_DIRECT read-after-write between two
efs-fuse daemons mounting the same export (EFS "Data Consistency")."""

import mmap
import os

from cachelib import MiB, read_all, sha256_bytes, sha256_file, write_all


def _write_file(path, data, flags=0):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | flags, 0o644)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def _check(got, want, what):
    assert len(got) == len(want) and got == want, (
        "%s: got %d bytes sha256 %s, expected %d bytes sha256 %s" % (
            what, len(got), sha256_bytes(got)[:16], len(want), sha256_bytes(want)[:16]))


def test_cto_new_file_seen_whole_by_other_mount(pair):
    """A file written and closed on mount 1 is read whole on mount 2."""
    data = os.urandom(5 * MiB + 12345)
    _write_file(pair.m1("new"), data)
    assert sha256_file(pair.s("new")) == sha256_bytes(data), \
        "close() on mount 1 returned before the data was on the server"
    _check(read_all(pair.m2("new")), data, "open on mount 2 after close on mount 1")


def test_cto_rewrite_seen_after_other_mount_cached_old(pair):
    """Mount 2 reads (and caches) the old contents; mount 1 rewrites the
    file with the same size and closes; a new open on mount 2 sees it all."""
    old = os.urandom(3 * MiB)
    _write_file(pair.m1("f"), old)
    for _ in range(2):  # twice: the second read may come from mount 2's caches
        _check(read_all(pair.m2("f")), old, "first read on mount 2")
    st_old = os.stat(pair.m2("f"))

    new = os.urandom(len(old))  # same size: only the change attribute tells
    fd = os.open(pair.m1("f"), os.O_WRONLY)  # no O_TRUNC: overwrite in place
    try:
        write_all(fd, new)
    finally:
        os.close(fd)
    _check(read_all(pair.m2("f")), new, "re-open on mount 2 after close on mount 1")
    st_new = os.stat(pair.m2("f"))
    assert st_new.st_size == len(new)
    assert st_new.st_ino == st_old.st_ino


def test_cto_size_change_seen_after_other_mount_cached_old(pair):
    """Grow, then shrink, the file on mount 1; each open on mount 2 sees
    exactly the new contents, though it had cached the old ones."""
    a = os.urandom(1 * MiB + 7)
    _write_file(pair.m1("g"), a)
    _check(read_all(pair.m2("g")), a, "mount 2, first version")
    b = os.urandom(4 * MiB + 99)
    _write_file(pair.m1("g"), b)
    _check(read_all(pair.m2("g")), b, "mount 2 after mount 1 grew the file")
    c = os.urandom(1000)
    _write_file(pair.m1("g"), c)
    _check(read_all(pair.m2("g")), c, "mount 2 after mount 1 shrank the file")
    assert os.stat(pair.m2("g")).st_size == len(c)


def test_cto_append_seen_by_other_mount(pair):
    """Appends closed on mount 1 are seen by each new open on mount 2."""
    want = b""
    _write_file(pair.m1("log"), b"")
    for i in range(5):
        chunk = os.urandom(4096 * (i + 1) + i)
        fd = os.open(pair.m1("log"), os.O_WRONLY | os.O_APPEND)
        try:
            write_all(fd, chunk)
        finally:
            os.close(fd)
        want += chunk
        _check(read_all(pair.m2("log")), want, "mount 2 after append %d on mount 1" % i)


def _aligned(data):
    """An mmap'd (page-aligned) buffer holding data, for O_DIRECT."""
    buf = mmap.mmap(-1, len(data))
    buf.write(data)
    return buf


def test_odirect_write_read_at_once_on_other_mount(pair):
    """An O_DIRECT write on mount 1 (file still open, no fsync, no close) is
    on the server when write() returns, and a new O_DIRECT open on mount 2
    reads it."""
    _write_file(pair.m1("d"), b"\0" * (2 * MiB))
    _check(read_all(pair.m2("d")), b"\0" * (2 * MiB), "mount 2 before")
    data = os.urandom(MiB)
    buf = _aligned(data)
    fd1 = os.open(pair.m1("d"), os.O_WRONLY | os.O_DIRECT)
    try:
        assert os.pwrite(fd1, buf, MiB) == MiB
        with open(pair.s("d"), "rb") as f:
            f.seek(MiB)
            got = f.read(MiB)
        _check(got, data, "server export right after the O_DIRECT write on mount 1")
        fd2 = os.open(pair.m2("d"), os.O_RDONLY | os.O_DIRECT)
        try:
            rbuf = mmap.mmap(-1, MiB)
            assert os.preadv(fd2, [rbuf], MiB) == MiB
            _check(bytes(rbuf), data, "O_DIRECT read on mount 2 (new open)")
        finally:
            os.close(fd2)
    finally:
        os.close(fd1)


def test_odirect_write_seen_by_open_odirect_reader(pair):
    """Mount 2 holds the file open with O_DIRECT and has read it; an
    O_DIRECT write on mount 1 is seen by the next pread on that same fd."""
    size = 2 * MiB
    _write_file(pair.m1("d2"), b"\xaa" * size)
    fd2 = os.open(pair.m2("d2"), os.O_RDONLY | os.O_DIRECT)
    fd1 = os.open(pair.m1("d2"), os.O_WRONLY | os.O_DIRECT)
    try:
        rbuf = mmap.mmap(-1, size)
        assert os.preadv(fd2, [rbuf], 0) == size
        _check(bytes(rbuf), b"\xaa" * size, "mount 2 O_DIRECT read before")
        for rnd in range(3):
            data = os.urandom(64 * 1024)
            off = (rnd * 7 + 3) * 64 * 1024
            assert os.pwrite(fd1, _aligned(data), off) == len(data)
            rbuf = mmap.mmap(-1, len(data))
            assert os.preadv(fd2, [rbuf], off) == len(data)
            _check(bytes(rbuf), data, "O_DIRECT pread on mount 2's open fd, round %d" % rnd)
    finally:
        os.close(fd1)
        os.close(fd2)


def test_osync_write_on_server_before_return(pair):
    """An O_SYNC write is on the server when write() returns (no close)."""
    data = os.urandom(256 * 1024 + 5)
    fd = os.open(pair.m1("s"), os.O_WRONLY | os.O_CREAT | os.O_SYNC, 0o644)
    try:
        write_all(fd, data)
        assert sha256_file(pair.s("s")) == sha256_bytes(data), \
            "O_SYNC write returned before the data reached the server"
        _check(read_all(pair.m2("s")), data, "mount 2 after O_SYNC write (file still open)")
    finally:
        os.close(fd)
