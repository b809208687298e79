"""Per-user permissions on a shared allow_other mount, as strict as the
kernel NFS client (issue 7): two non-root users, each case checked by its
errno and by the state the server holds afterwards, also after the other
user put the path into the kernel's caches."""

import errno
import os
import shutil
import socket
import stat

import pytest


def _errno_of(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return 0


def _write_file(path, data, mode):
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    os.write(fd, data)
    os.close(fd)
    os.chmod(path, mode)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _mkdir(path, mode):
    os.mkdir(path)
    os.chmod(path, mode)


def _mkfifo_sock_link(d):
    os.mkfifo(os.path.join(d, "fifo"), 0o644)
    s = socket.socket(socket.AF_UNIX)
    s.bind(os.path.join(d, "sock"))
    s.close()
    os.symlink("f", os.path.join(d, "link"))


def _walk_all(d):
    """Every name of d looked up (and so cached by the kernel)."""
    return sorted((n, stat.S_IFMT(os.lstat(os.path.join(d, n)).st_mode)) for n in os.listdir(d))


def test_search_permission_cached_path(shared):
    u1, u2 = shared.u1, shared.u2
    d = shared.m("d")
    u1.run(os.mkdir, d, 0o755)
    u1.run(_write_file, os.path.join(d, "f"), b"not for user2", 0o644)
    u1.run(_mkfifo_sock_link, d)
    # user2 may look while d is searchable: everything is now cached
    assert u2.run(_read, os.path.join(d, "f")) == b"not for user2"
    assert len(u2.run(_walk_all, d)) == 4
    # the owner closes the directory
    u1.run(os.chmod, d, 0o700)
    assert stat.S_IMODE(os.stat(shared.s("d")).st_mode) == 0o700
    for name in ("f", "fifo", "sock", "link"):
        p = os.path.join(d, name)
        assert u2.run(_errno_of, os.lstat, p) == errno.EACCES, name
        assert u1.run(_errno_of, os.lstat, p) == 0, name
    assert u2.run(_errno_of, _read, os.path.join(d, "f")) == errno.EACCES
    assert u2.run(_errno_of, os.readlink, os.path.join(d, "link")) == errno.EACCES
    assert u1.run(os.readlink, os.path.join(d, "link")) == "f"
    assert u1.run(_read, os.path.join(d, "f")) == b"not for user2"


def test_search_permission_owner_cached_first(shared):
    """The issue's case: user1 reads d/f in its own 0700 directory, then
    user2 tries the path the kernel has cached."""
    u1, u2 = shared.u1, shared.u2
    d = shared.m("private")
    u1.run(os.mkdir, d, 0o700)
    u1.run(_write_file, os.path.join(d, "f"), b"secret", 0o644)
    for _ in range(3):
        assert u1.run(_read, os.path.join(d, "f")) == b"secret"
        assert u2.run(_errno_of, _read, os.path.join(d, "f")) == errno.EACCES
        assert u2.run(_errno_of, os.stat, os.path.join(d, "f")) == errno.EACCES
        assert u2.run(_errno_of, os.stat, os.path.join(d, "nonexistent")) == errno.EACCES


def test_chmod_through_closed_directory(shared):
    """chmod 644 d by its owner stops user2 from chmod-ing its own d/g."""
    u1, u2 = shared.u1, shared.u2
    d = shared.m("d")
    u1.run(_mkdir, d, 0o777)
    g = os.path.join(d, "g")
    u2.run(_write_file, g, b"x", 0o644)
    u2.run(os.chmod, g, 0o600)
    assert stat.S_IMODE(os.stat(shared.s("d", "g")).st_mode) == 0o600
    u1.run(os.chmod, d, 0o644)
    assert u2.run(_errno_of, os.chmod, g, 0o666) == errno.EACCES
    assert stat.S_IMODE(os.stat(shared.s("d", "g")).st_mode) == 0o600
    assert u2.run(_errno_of, os.unlink, g) == errno.EACCES
    assert os.path.exists(shared.s("d", "g"))


def test_exec_only_file_not_readable(shared):
    u1, u2 = shared.u1, shared.u2
    x = shared.m("x")
    u1.run(_write_file, x, b"secret\n", 0o600)
    assert u1.run(_read, x) == b"secret\n"
    u1.run(os.chmod, x, 0o100)
    assert stat.S_IMODE(os.stat(shared.s("x")).st_mode) == 0o100
    assert u1.run(_errno_of, _read, x) == errno.EACCES
    assert u1.run(_errno_of, os.open, x, os.O_RDWR) == errno.EACCES
    assert u2.run(_errno_of, _read, x) == errno.EACCES
    # exec-only still runs: a binary with mode 0111
    t = shared.m("true")
    shutil.copyfile(shutil.which("true"), t)
    os.chown(t, u1.uid, u1.gid)
    os.chmod(t, 0o111)

    def run(path):
        pid = os.fork()
        if pid == 0:
            try:
                os.execv(path, [path])
            finally:
                os._exit(127)
        return os.waitpid(pid, 0)[1]
    assert u1.run(run, t) == 0
    assert u2.run(run, t) == 0
    assert u1.run(_errno_of, _read, t) == errno.EACCES


def test_opendir_without_read_permission(shared):
    u1, u2 = shared.u1, shared.u2
    d = shared.m("wx")
    u1.run(os.mkdir, d, 0o700)
    u1.run(_write_file, os.path.join(d, "f"), b"1", 0o644)
    assert u1.run(os.listdir, d) == ["f"]
    u1.run(os.chmod, d, 0o311)
    assert u1.run(_errno_of, os.open, d, os.O_RDONLY | os.O_DIRECTORY) == errno.EACCES
    assert u1.run(_errno_of, os.listdir, d) == errno.EACCES
    assert u2.run(_errno_of, os.open, d, os.O_RDONLY | os.O_DIRECTORY) == errno.EACCES
    # search permission still works
    assert u1.run(_read, os.path.join(d, "f")) == b"1"
    assert u2.run(_read, os.path.join(d, "f")) == b"1"
    # O_PATH needs no read permission
    fd = u1.run(lambda p: (os.close(os.open(p, os.O_PATH)), 0)[1], d)
    assert fd == 0


def test_owner_cannot_truncate_read_only_file(shared):
    u1 = shared.u1
    f = shared.m("ro")
    u1.run(_write_file, f, b"precious data", 0o444)
    assert stat.S_IMODE(os.stat(shared.s("ro")).st_mode) == 0o444
    assert u1.run(_errno_of, os.open, f, os.O_RDONLY | os.O_TRUNC) == errno.EACCES
    assert os.path.getsize(shared.s("ro")) == 13
    assert u1.run(_errno_of, os.truncate, f, 0) == errno.EACCES
    assert os.path.getsize(shared.s("ro")) == 13
    assert u1.run(_errno_of, os.open, f, os.O_WRONLY) == errno.EACCES
    assert u1.run(_errno_of, os.open, f, os.O_RDWR) == errno.EACCES

    def ftrunc(path):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)
    assert u1.run(_errno_of, ftrunc, f) in (errno.EACCES, errno.EINVAL, errno.EBADF)
    assert os.path.getsize(shared.s("ro")) == 13
    assert u1.run(_read, f) == b"precious data"
    # with write permission all three work again
    u1.run(os.chmod, f, 0o644)
    assert u1.run(_errno_of, os.truncate, f, 5) == 0
    assert os.path.getsize(shared.s("ro")) == 5
    assert u1.run(lambda p: os.close(os.open(p, os.O_RDONLY | os.O_TRUNC)), f) is None
    assert os.path.getsize(shared.s("ro")) == 0
    # a file created read-only is still writable through the creating open
    def create_ro(path):
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o444)
        os.write(fd, b"abc")
        os.ftruncate(fd, 2)
        os.close(fd)
    u1.run(create_ro, shared.m("new-ro"))
    assert open(shared.s("new-ro"), "rb").read() == b"ab"


def _append(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


@pytest.mark.parametrize("mode", [0o6777, 0o4777, 0o2777])
def test_non_owner_write_clears_setid(shared, mode):
    u1, u2 = shared.u1, shared.u2
    f = shared.m("suid")
    u1.run(_write_file, f, b"#!/bin/sh\n", 0o777)
    u1.run(os.chmod, f, mode)
    assert stat.S_IMODE(os.stat(shared.s("suid")).st_mode) == mode
    assert u2.run(_append, f, b"echo hi\n") == 8
    left = stat.S_IMODE(os.stat(shared.s("suid")).st_mode)
    assert left & (stat.S_ISUID | stat.S_ISGID) == 0, oct(left)
    assert left == 0o777, oct(left)
    assert open(shared.s("suid"), "rb").read() == b"#!/bin/sh\necho hi\n"
    st = u2.run(os.stat, f)
    assert stat.S_IMODE(st.st_mode) == 0o777


def test_namemax(shared):
    sv = os.statvfs(shared.d)
    assert sv.f_namemax == 255
    assert os.pathconf(shared.d, "PC_NAME_MAX") == 255
    ok = shared.m("a" * 255)
    with open(ok, "wb") as f:
        f.write(b"1")
    assert os.path.exists(shared.s("a" * 255))
    assert _errno_of(os.open, shared.m("b" * 256), os.O_CREAT | os.O_WRONLY) == errno.ENAMETOOLONG
    assert _errno_of(os.mkdir, shared.m("c" * 256)) == errno.ENAMETOOLONG
    assert _errno_of(os.rename, ok, shared.m("d" * 256)) == errno.ENAMETOOLONG
    assert _errno_of(os.symlink, "x", shared.m("e" * 256)) == errno.ENAMETOOLONG


def _stats(mountpoint):
    text = os.getxattr(mountpoint, "user.efs-fuse.stats").decode()
    return {k: int(v) for k, v in (line.split() for line in text.splitlines())}


def test_closed_directory_walks_cost_no_round_trip(shared):
    """Names in a 0700 directory are looked up at every walk (the kernel
    does not keep them), but answered from the daemon's caches for the
    owner: no LOOKUP or ACCESS round trip once known; still EACCES for
    the other user."""
    u1, u2 = shared.u1, shared.u2
    d = shared.m("home")
    u1.run(os.mkdir, d, 0o700)
    u1.run(_write_file, os.path.join(d, "f"), b"1", 0o644)
    u1.run(os.stat, os.path.join(d, "f"))
    u2.run(_errno_of, os.stat, os.path.join(d, "f"))
    for who, call, want in ((u1, os.stat, None), (u2, _errno_of, errno.EACCES)):
        s0 = _stats(shared.mount.mountpoint)
        for _ in range(20):
            if want is None:
                assert who.run(os.stat, os.path.join(d, "f")).st_size == 1
            else:
                assert who.run(_errno_of, os.stat, os.path.join(d, "f")) == want
        s1 = _stats(shared.mount.mountpoint)
        assert s1["fuse.lookup"] - s0["fuse.lookup"] >= 20, "the kernel kept the name"
        for proc in ("LOOKUP", "ACCESS", "GETATTR"):
            k = "proc." + proc
            assert s1[k] - s0[k] <= 2, (who, k, s0[k], s1[k])


def test_create_of_file_made_elsewhere(pair2, users):
    """open(O_CREAT) of a name this mount holds as absent (a cached negative
    entry) while another client made the file: the kernel sends CREATE for
    an existing file, which gets the checks of an open, O_TRUNC after them."""
    u1, _ = users

    def try_open(path, flags):
        fd = os.open(path, flags, 0o644)
        os.close(fd)
    names = {"ro": 0o444, "xo": 0o100, "rw": 0o644}
    for n in names:
        assert _errno_of(os.stat, pair2.m1(n)) == errno.ENOENT  # negative entries on mount 1
    for n, mode in names.items():
        with open(pair2.m2(n), "wb") as f:
            f.write(b"made on mount 2")
        os.chown(pair2.m2(n), u1.uid, u1.gid)
        os.chmod(pair2.m2(n), mode)
    assert u1.run(_errno_of, try_open, pair2.m1("ro"),
                  os.O_CREAT | os.O_RDONLY | os.O_TRUNC) == errno.EACCES
    assert u1.run(_errno_of, try_open, pair2.m1("xo"), os.O_CREAT | os.O_RDONLY) == errno.EACCES
    assert os.path.getsize(pair2.s("ro")) == 15
    assert u1.run(_errno_of, try_open, pair2.m1("rw"),
                  os.O_CREAT | os.O_WRONLY | os.O_TRUNC) == 0
    assert os.path.getsize(pair2.s("rw")) == 0
    assert os.path.getsize(pair2.s("xo")) == 15
