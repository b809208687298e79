"""Durability: once close(), fsync() or an O_SYNC/O_DIRECT write returns, the
data is on the server -- SIGKILL of the daemon right after must lose nothing.
And a write-back error is returned by close()/fsync(), never dropped."""

import errno
import os
import signal
import subprocess

import pytest

from cachelib import MiB, errno_name, sha256_bytes, sha256_file, wait_for, write_all
from lib import mounts


def _kill_daemon(m):
    """SIGKILL the daemon of mount m at once and wait until it is gone."""
    assert m.pid is not None and mounts._pid_alive(m.pid), "daemon of %s not running" % (
        m.mountpoint)
    os.kill(m.pid, signal.SIGKILL)
    wait_for(lambda: not mounts._pid_alive(m.pid), 10, "efs-fuse pid %d to die" % m.pid)


def _srv_dir(ganesha, m, name):
    d = os.path.join(m.mountpoint, name)
    os.mkdir(d)
    srv = ganesha.server_path(name)
    assert os.path.isdir(srv)
    return d, srv


def _check_srv(path, data, what):
    assert os.path.exists(path), "%s: %s missing on the server" % (what, path)
    size = os.stat(path).st_size
    assert size == len(data) and sha256_file(path) == sha256_bytes(data), (
        "%s: server has %d bytes sha256 %s, expected %d bytes sha256 %s" % (
            what, size, sha256_file(path)[:16], len(data), sha256_bytes(data)[:16]))


@pytest.mark.parametrize("how", ["close", "fsync", "fdatasync"])
def test_sigkill_after_close_or_fsync_loses_nothing(ganesha, mount_factory, how):
    m = mount_factory(ganesha.source)
    d, srv = _srv_dir(ganesha, m, "kill-" + how)
    data = os.urandom(24 * MiB + 4321)
    fd = os.open(os.path.join(d, "f"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, data)
        if how == "fsync":
            os.fsync(fd)
        elif how == "fdatasync":
            os.fdatasync(fd)
        else:
            os.close(fd)
            fd = -1
        _kill_daemon(m)
    finally:
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass  # the daemon is dead: ENOTCONN
    _check_srv(os.path.join(srv, "f"), data, "after %s then SIGKILL" % how)


def test_sigkill_after_many_small_closes_loses_nothing(ganesha, mount_factory):
    """200 small files, each written and closed, then SIGKILL: all complete."""
    m = mount_factory(ganesha.source)
    d, srv = _srv_dir(ganesha, m, "kill-small")
    files = {}
    for i in range(200):
        data = os.urandom(1 + (i * 997) % 20000)
        with open(os.path.join(d, "s%03d" % i), "wb") as f:
            f.write(data)
        files["s%03d" % i] = data
    # Overwrite a few in place (no truncation) and one with truncation.
    for i in range(0, 200, 40):
        name = "s%03d" % i
        new = bytearray(files[name])
        new[:3] = b"XYZ" if len(new) >= 3 else new[:3]
        with open(os.path.join(d, name), "r+b") as f:
            f.write(bytes(new[:3]))
        files[name] = bytes(new)
    with open(os.path.join(d, "s001"), "wb") as f:
        f.write(b"short")
    files["s001"] = b"short"
    _kill_daemon(m)
    for name, data in files.items():
        _check_srv(os.path.join(srv, name), data, "small file %s after close + SIGKILL" % name)


@pytest.mark.parametrize("flag", ["O_SYNC", "O_DSYNC", "O_DIRECT"])
def test_sigkill_after_sync_write_loses_nothing(ganesha, mount_factory, flag):
    """O_SYNC / O_DSYNC / O_DIRECT writes: durable when write() returns,
    without fsync or close."""
    import mmap
    m = mount_factory(ganesha.source)
    d, srv = _srv_dir(ganesha, m, "kill-" + flag)
    data = os.urandom(4 * MiB)
    buf = mmap.mmap(-1, len(data))  # page-aligned for O_DIRECT
    buf.write(data)
    fd = os.open(os.path.join(d, "f"), os.O_WRONLY | os.O_CREAT | getattr(os, flag), 0o644)
    try:
        for off in range(0, len(data), MiB):
            assert os.pwrite(fd, buf[off:off + MiB], off) == MiB
        _kill_daemon(m)
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    _check_srv(os.path.join(srv, "f"), data, "%s writes then SIGKILL" % flag)


def test_sigterm_flushes_dirty_data(ganesha, mount_factory):
    """SIGTERM with a file still open and dirty: the daemon flushes first."""
    m = mount_factory(ganesha.source)
    d, srv = _srv_dir(ganesha, m, "term")
    data = os.urandom(8 * MiB + 1)
    fd = os.open(os.path.join(d, "f"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    write_all(fd, data)
    pid = m.pid
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not mounts._pid_alive(pid), 60, "efs-fuse pid %d to exit on SIGTERM" % pid)
    try:
        os.close(fd)
    except OSError:
        pass
    _check_srv(os.path.join(srv, "f"), data, "write (no close) then SIGTERM")


# -- write errors surface at close/fsync --------------------------------------

def _fill(path, total, sync):
    """Write `total` bytes in 1 MiB writes, then fsync (sync) and close.
    Returns [(call, errno)] of the calls that failed."""
    errs = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    buf = os.urandom(MiB)
    try:
        for _ in range(total // MiB):
            try:
                write_all(fd, buf)
            except OSError as e:
                errs.append(("write", e.errno))
                break
        if sync:
            try:
                os.fsync(fd)
            except OSError as e:
                errs.append(("fsync", e.errno))
    finally:
        try:
            os.close(fd)
        except OSError as e:
            errs.append(("close", e.errno))
    return errs


@pytest.mark.parametrize("sync", [False, True], ids=["close", "fsync"])
def test_enospc_reported_not_dropped(small_export, sync):
    """16 MiB into an 8 MiB file system: a write, the fsync or the close
    fails with ENOSPC -- and if every write() was accepted into the cache,
    it is fsync (when called) or close that reports it."""
    errs = _fill(os.path.join(small_export.mnt, "big"), 16 * MiB, sync)
    assert errs, "16 MiB written into an 8 MiB export and no call failed (error dropped)"
    assert all(e == errno.ENOSPC for _, e in errs), \
        "expected ENOSPC, got %r" % [(c, errno_name(e)) for c, e in errs]
    if errs[0][0] != "write":
        assert errs[0][0] == ("fsync" if sync else "close"), errs
    # The mount still works once space is freed.
    os.unlink(os.path.join(small_export.mnt, "big"))
    wait_for(lambda: not os.path.exists(os.path.join(small_export.srv, "big")), 10,
             "big removed on the server")
    data = os.urandom(MiB)
    with open(os.path.join(small_export.mnt, "after"), "wb") as f:
        f.write(data)
    _check_srv(os.path.join(small_export.srv, "after"), data, "write after ENOSPC")


def test_enospc_cached_writes_then_close(small_export):
    """Writes that fit the cache but not the server (12 MiB, no fsync):
    close() must say ENOSPC unless a write() already did."""
    errs = _fill(os.path.join(small_export.mnt, "c"), 12 * MiB, False)
    assert errs and errs[-1][1] == errno.ENOSPC, \
        "close() after 12 MiB into 8 MiB: %r" % [(c, errno_name(e)) for c, e in errs]


def test_server_refuses_write_error_at_fsync_and_close(ganesha, mount_factory):
    """The server refuses the writes (file made immutable behind its back:
    EPERM from the server's file system): the error comes back from a write,
    fsync or close -- nothing returns success for data that was refused."""
    m = mount_factory(ganesha.source)
    d, srv = _srv_dir(ganesha, m, "refused")
    path, spath = os.path.join(d, "f"), os.path.join(srv, "f")
    with open(path, "wb") as f:
        f.write(b"a" * 4096)
    fd = os.open(path, os.O_WRONLY)
    p = subprocess.run(["chattr", "+i", spath], capture_output=True, text=True)
    if p.returncode != 0:
        os.close(fd)
        pytest.fail("chattr +i on the export (%s) failed: %s" % (spath, p.stderr.strip()),
                    pytrace=False)
    errs = []
    try:
        try:
            write_all(fd, b"b" * (2 * MiB))
        except OSError as e:
            errs.append(("write", e.errno))
        try:
            os.fsync(fd)
        except OSError as e:
            errs.append(("fsync", e.errno))
        try:
            os.close(fd)
        except OSError as e:
            errs.append(("close", e.errno))
    finally:
        subprocess.run(["chattr", "-i", spath], capture_output=True)
    assert errs, "2 MiB written to a file the server refuses, and write/fsync/close " \
        "all returned success"
    assert all(e in (errno.EPERM, errno.EACCES) for _, e in errs), \
        [(c, errno_name(e)) for c, e in errs]
    if errs[0][0] == "write":
        pass  # refused at once: fine
    else:
        assert errs[0][0] == "fsync", errs
    assert os.stat(spath).st_size == 4096


def test_server_side_unlink_while_open(pair):
    """A file open on mount 1 is removed on the server (behind ganesha's
    back).  nfs-ganesha keeps its own descriptor of the file, so it goes on
    accepting WRITE/COMMIT for the open stateid: like the kernel NFS client
    we may then report success (verified here against ganesha 4.3) -- but an
    error, if the server returns one (ESTALE), must reach write/fsync/close.
    What must hold either way: the data goes to the file by handle, the name
    is not re-created on the server, and no new open through either mount
    finds the removed name (open revalidates, close-to-open)."""
    path1, path2, spath = pair.m1("u"), pair.m2("u"), pair.s("u")
    with open(path1, "wb") as f:
        f.write(b"a" * 4096)
    assert open(path2, "rb").read() == b"a" * 4096
    fd = os.open(path1, os.O_WRONLY)
    os.unlink(spath)
    errs = []
    try:
        write_all(fd, b"b" * MiB)
    except OSError as e:
        errs.append(("write", e.errno))
    try:
        os.fsync(fd)
    except OSError as e:
        errs.append(("fsync", e.errno))
    try:
        os.close(fd)
    except OSError as e:
        errs.append(("close", e.errno))
    assert all(e in (errno.ESTALE, errno.ENOENT, errno.EIO) for _, e in errs), \
        [(c, errno_name(e)) for c, e in errs]
    assert not os.path.exists(spath), "the removed name was re-created on the server"
    found = []
    for what, p in (("mount 1", path1), ("mount 2", path2)):
        try:
            os.close(os.open(p, os.O_RDONLY))
            found.append(what)
        except FileNotFoundError:
            pass
    assert not found, "open() through %s found the file removed on the server" % (
        " and ".join(found))
