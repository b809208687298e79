"""Core POSIX file operations through efs-fuse against nfs-ganesha; results
are checked through the mount and, where it matters, in the server's export
directory (what another NFS client would see)."""

import ctypes
import errno
import hashlib
import os
import stat
import subprocess
import time

import pytest

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
MiB = 1 << 20
GiB = 1 << 30


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MiB)
            if not b:
                return h.hexdigest()
            h.update(b)


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def write(path, data):
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def test_file_lifecycle(work):
    p = work.m("hello.txt")
    fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    assert os.write(fd, b"hello, efs\n") == 11
    os.close(fd)
    st = os.stat(p)
    assert stat.S_ISREG(st.st_mode) and st.st_size == 11
    assert stat.S_IMODE(st.st_mode) == 0o644 & ~_umask()
    assert read(p) == b"hello, efs\n"
    assert read(work.s("hello.txt")) == b"hello, efs\n"  # on the server after close()
    with pytest.raises(FileExistsError):
        os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    # overwrite in the middle, then O_TRUNC
    with open(p, "r+b") as f:
        f.seek(7)
        f.write(b"EFS")
    assert read(p) == b"hello, EFS\n"
    with open(p, "wb") as f:
        f.write(b"x")
    assert os.stat(p).st_size == 1 and read(work.s("hello.txt")) == b"x"
    assert "hello.txt" in os.listdir(work.mnt)
    os.unlink(p)
    assert not os.path.exists(p)
    assert not os.path.exists(work.s("hello.txt"))
    assert "hello.txt" not in os.listdir(work.mnt)
    with pytest.raises(FileNotFoundError):
        os.stat(p)
    with pytest.raises(FileNotFoundError):
        os.unlink(p)


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def test_unlinked_open_file_stays_readable(work):
    p = work.m("ghost")
    write(p, b"still here")
    with open(p, "rb") as f:
        os.unlink(p)
        assert not os.path.exists(p)
        assert f.read() == b"still here"


def test_256mib_file_sha256(work, it_tmp):
    local = os.path.join(it_tmp, "random-256m.bin")
    try:
        subprocess.run(["dd", "if=/dev/urandom", "of=" + local, "bs=1M", "count=256",
                        "status=none"], check=True)
        want = sha256_file(local)
        t0 = time.monotonic()
        subprocess.run(["cp", local, work.m("big.bin")], check=True)
        t_write = time.monotonic() - t0
        assert os.stat(work.m("big.bin")).st_size == 256 * MiB
        assert sha256_file(work.m("big.bin")) == want, "read back through efs-fuse differs"
        assert os.stat(work.s("big.bin")).st_size == 256 * MiB
        assert sha256_file(work.s("big.bin")) == want, "file on the server differs"
        print("256 MiB cp to efs-fuse: %.2f s (%.0f MB/s)" % (t_write, 256 * MiB / t_write / 1e6))
    finally:
        if os.path.exists(local):
            os.unlink(local)


def test_sparse_write_at_1gib(work):
    p = work.m("sparse")
    with open(p, "wb") as f:
        f.seek(GiB)
        f.write(b"tail")
    st = os.stat(p)
    assert st.st_size == GiB + 4
    assert os.stat(work.s("sparse")).st_size == GiB + 4
    with open(p, "rb") as f:
        assert f.read(MiB) == bytes(MiB)
        f.seek(GiB // 2)
        assert f.read(MiB) == bytes(MiB)
        f.seek(GiB - 4)
        assert f.read() == bytes(4) + b"tail"
    with open(work.s("sparse"), "rb") as f:
        f.seek(GiB)
        assert f.read() == b"tail"


def test_truncate_up_and_down(work):
    p = work.m("trunc")
    write(p, b"0123456789")
    os.truncate(p, 100)
    assert os.stat(p).st_size == 100
    assert read(p) == b"0123456789" + bytes(90)
    os.truncate(p, 4)
    assert os.stat(p).st_size == 4
    assert read(p) == b"0123"
    assert read(work.s("trunc")) == b"0123"
    with open(p, "r+b") as f:  # ftruncate on an open file, then write past it
        f.truncate(2)
        f.seek(6)
        f.write(b"Z")
    assert read(p) == b"01" + bytes(4) + b"Z"
    os.truncate(p, 0)
    assert os.stat(p).st_size == 0 and read(p) == b""
    assert os.stat(work.s("trunc")).st_size == 0


def test_o_append_from_two_opens(work):
    p = work.m("append.log")
    write(p, b"start\n")
    a = os.open(p, os.O_WRONLY | os.O_APPEND)
    b = os.open(p, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(a, b"a1\n")
        os.write(b, b"b1\n")
        os.write(a, b"a2\n")
        os.write(b, b"b2\n")
    finally:
        os.close(a)
        os.close(b)
    want = b"start\na1\nb1\na2\nb2\n"
    assert read(p) == want
    assert read(work.s("append.log")) == want


def test_hard_links(work):
    a, b = work.m("orig"), work.m("link")
    write(a, b"shared")
    assert os.stat(a).st_nlink == 1
    os.link(a, b)
    sa, sb = os.stat(a), os.stat(b)
    assert sa.st_nlink == 2 and sb.st_nlink == 2
    assert sa.st_ino == sb.st_ino
    assert os.stat(work.s("orig")).st_ino == os.stat(work.s("link")).st_ino
    write(b, b"changed via link")
    assert read(a) == b"changed via link"
    os.unlink(a)
    assert os.stat(b).st_nlink == 1
    assert read(b) == b"changed via link"
    with pytest.raises(FileExistsError):
        os.link(b, b)


def test_symlinks(work):
    write(work.m("target"), b"T")
    os.symlink("target", work.m("rel"))
    os.symlink("/nonexistent/abs/path", work.m("dangling"))
    assert os.readlink(work.m("rel")) == "target"
    assert os.readlink(work.m("dangling")) == "/nonexistent/abs/path"
    assert os.readlink(work.s("rel")) == "target"
    lst = os.lstat(work.m("rel"))
    assert stat.S_ISLNK(lst.st_mode) and lst.st_size == len("target")
    assert stat.S_ISREG(os.stat(work.m("rel")).st_mode)
    assert read(work.m("rel")) == b"T"
    assert not os.path.exists(work.m("dangling")) and os.path.lexists(work.m("dangling"))
    with pytest.raises(OSError) as ei:
        os.readlink(work.m("target"))
    assert ei.value.errno == errno.EINVAL
    os.unlink(work.m("rel"))
    assert os.path.exists(work.m("target"))


def test_mkdir_rmdir_rename_trees(work):
    os.makedirs(work.m("a", "b", "c"))
    write(work.m("a", "b", "f"), b"F")
    os.mkdir(work.m("x"))
    assert stat.S_ISDIR(os.stat(work.m("a", "b", "c")).st_mode)
    with pytest.raises(FileExistsError):
        os.mkdir(work.m("a"))
    # rename across directories
    os.rename(work.m("a", "b", "f"), work.m("x", "f"))
    assert read(work.m("x", "f")) == b"F" and not os.path.exists(work.m("a", "b", "f"))
    assert read(work.s("x", "f")) == b"F"
    # rename over an existing file
    write(work.m("x", "g"), b"old G")
    os.rename(work.m("x", "f"), work.m("x", "g"))
    assert read(work.m("x", "g")) == b"F"
    assert sorted(os.listdir(work.m("x"))) == ["g"]
    # rename a directory (with contents) into another
    write(work.m("a", "b", "c", "deep"), b"D")
    os.rename(work.m("a", "b"), work.m("x", "b2"))
    assert read(work.m("x", "b2", "c", "deep")) == b"D"
    assert read(work.s("x", "b2", "c", "deep")) == b"D"
    assert os.listdir(work.m("a")) == []
    # a directory into its own subtree
    with pytest.raises(OSError) as ei:
        os.rename(work.m("x"), work.m("x", "b2", "inside"))
    assert ei.value.errno == errno.EINVAL
    # rmdir
    with pytest.raises(OSError) as ei:
        os.rmdir(work.m("x", "b2"))
    assert ei.value.errno == errno.ENOTEMPTY
    with pytest.raises(NotADirectoryError):
        os.rmdir(work.m("x", "g"))
    os.unlink(work.m("x", "b2", "c", "deep"))
    os.rmdir(work.m("x", "b2", "c"))
    os.rmdir(work.m("x", "b2"))
    os.rmdir(work.m("a"))
    assert sorted(os.listdir(work.mnt)) == ["x"]
    assert sorted(os.listdir(work.srv)) == ["x"]


def _renameat2(old, new, flags):
    libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                               ctypes.c_uint]
    r = libc.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD, os.fsencode(new), flags)
    return 0 if r == 0 else ctypes.get_errno()


def test_renameat2_flags_einval(work):
    """NFSv4 has no atomic no-replace or exchange: renameat2 with those flags
    fails with EINVAL once the VFS's own checks pass, and changes nothing."""
    write(work.m("one"), b"1")
    write(work.m("two"), b"2")
    # what the VFS answers before asking the file system
    assert _renameat2(work.m("one"), work.m("two"), RENAME_NOREPLACE) == errno.EEXIST
    assert _renameat2(work.m("one"), work.m("three"), RENAME_EXCHANGE) == errno.ENOENT
    # what efs-fuse answers
    assert _renameat2(work.m("one"), work.m("three"), RENAME_NOREPLACE) == errno.EINVAL
    assert _renameat2(work.m("one"), work.m("two"), RENAME_EXCHANGE) == errno.EINVAL
    assert read(work.m("one")) == b"1" and read(work.m("two")) == b"2"
    assert not os.path.exists(work.m("three"))
    assert sorted(os.listdir(work.srv)) == ["one", "two"]
    os.rename(work.m("one"), work.m("three"))  # plain rename still works
    assert read(work.m("three")) == b"1"


def test_10000_entry_directory(work):
    # Created through the server's directory (fast); listed through efs-fuse.
    os.mkdir(work.s("big"))
    names = {"entry-%05d-%s" % (i, "x" * (i % 40)) for i in range(10000)}
    for n in names:
        open(work.s("big", n), "w").close()
    got = os.listdir(work.m("big"))
    assert len(got) == 10000, "listed %d of 10000 entries" % len(got)
    assert set(got) == names
    # and a second listing (cached or not) is just as complete
    with os.scandir(work.m("big")) as it:
        again = {e.name for e in it if e.is_file()}
    assert again == names
    assert os.stat(work.m("big", "entry-09999-" + "x" * (9999 % 40))).st_size == 0


def test_chmod_chown_utime(work):
    p = work.m("attrs")
    write(p, b"a")
    os.chmod(p, 0o640)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(work.s("attrs")).st_mode) == 0o640
    os.chmod(p, 0o4755)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o4755
    os.chown(p, 2001, 2002)
    st = os.stat(p)
    assert (st.st_uid, st.st_gid) == (2001, 2002)
    sst = os.stat(work.s("attrs"))
    assert (sst.st_uid, sst.st_gid) == (2001, 2002)
    os.chown(p, -1, 0)
    assert (os.stat(p).st_uid, os.stat(p).st_gid) == (2001, 0)
    # nanosecond times
    at, mt = 1_500_000_000_123_456_789, 1_600_000_000_987_654_321
    os.utime(p, ns=(at, mt))
    st = os.stat(p)
    assert st.st_atime_ns == at and st.st_mtime_ns == mt
    assert os.stat(work.s("attrs")).st_mtime_ns == mt
    # UTIME_NOW for atime, UTIME_OMIT for mtime
    class Timespec(ctypes.Structure):
        _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]
    ts = (Timespec * 2)(Timespec(0, UTIME_NOW), Timespec(0, UTIME_OMIT))
    before = time.time_ns()
    assert libc.utimensat(AT_FDCWD, os.fsencode(p), ts, 0) == 0, os.strerror(ctypes.get_errno())
    st = os.stat(p)
    assert st.st_mtime_ns == mt, "UTIME_OMIT changed mtime"
    assert abs(st.st_atime_ns - before) < 5 * 10**9, "UTIME_NOW atime %d, now %d" % (
        st.st_atime_ns, before)
    # a write moves mtime and ctime forward
    ctime0 = st.st_ctime_ns
    with open(p, "ab") as f:
        f.write(b"b")
    st = os.stat(p)
    assert st.st_mtime_ns > mt and st.st_ctime_ns >= ctime0


def test_statfs(mnt):
    v = os.statvfs(mnt.mountpoint)
    assert v.f_bsize > 0 and v.f_frsize > 0
    assert v.f_blocks > 0
    assert 0 <= v.f_bavail <= v.f_bfree <= v.f_blocks
    assert v.f_namemax > 0
    out = subprocess.run(["df", "-P", mnt.mountpoint], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_mknod_fifo_and_socket(work):
    os.mkfifo(work.m("fifo"), 0o600)
    assert stat.S_ISFIFO(os.stat(work.m("fifo")).st_mode)
    assert stat.S_ISFIFO(os.stat(work.s("fifo")).st_mode)
    os.mknod(work.m("sock"), stat.S_IFSOCK | 0o644)
    assert stat.S_ISSOCK(os.stat(work.m("sock")).st_mode)
    assert stat.S_ISSOCK(os.stat(work.s("sock")).st_mode)
    os.mknod(work.m("fifo2"), stat.S_IFIFO | 0o644)
    assert stat.S_ISFIFO(os.lstat(work.m("fifo2")).st_mode)
    for n in ("fifo", "sock", "fifo2"):
        os.unlink(work.m(n))
    assert os.listdir(work.mnt) == []
