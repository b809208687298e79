"""Write-back errors reach the right caller (issue 10): recorded per inode
with a sequence number; the writer's fsync() and close() report the error
although a child process closed the descriptor first (close-on-exec), and
a close on another descriptor does not consume it.

The server refuses the data: the export file is made immutable behind
ganesha's back (chattr +i), so its WRITEs fail with NFS4ERR_PERM."""

import errno
import os
import subprocess

from datalib import MiB, chattr, srv_dir, write_all, errno_name

REFUSED = (errno.EPERM, errno.EACCES)


def _close_quietly(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def _refused_writer(ganesha, m, name, more=()):
    """A descriptor with 64 KiB cached (less than a chunk: it stays cached
    until a flush) the server will refuse; more: flags of other
    descriptors of the file, opened before it became immutable."""
    d, srv = srv_dir(ganesha, m, name)
    path, spath = os.path.join(d, "f"), os.path.join(srv, "f")
    with open(path, "wb") as f:
        f.write(b"a" * 4096)
    fd = os.open(path, os.O_WRONLY)  # O_CLOEXEC: Python's default
    others = [os.open(path, fl) for fl in more]
    chattr("+i", spath)
    try:
        write_all(fd, b"b" * (64 << 10))
    except BaseException:
        # never leave an immutable file (or open descriptors) behind
        for f in [fd] + others:
            _close_quietly(f)
        chattr("-i", spath)
        raise
    if more:
        return fd, path, spath, others
    return fd, path, spath


def _child_exec():
    # The child inherits the descriptor table and closes fd at exec.
    assert subprocess.run(["true"]).returncode == 0


def test_fsync_sees_error_despite_child_close(ganesha, mount_factory):
    m = mount_factory(ganesha.source)
    fd, path, spath, (reader,) = _refused_writer(ganesha, m, "errseq-fsync", [os.O_RDONLY])
    try:
        _child_exec()
        # a reader's close in between does not consume it either
        os.close(reader)
        try:
            os.fsync(fd)
            err = 0
        except OSError as e:
            err = e.errno
        assert err in REFUSED, "fsync after a child's close-on-exec: %s" % errno_name(err)
        os.fsync(fd)  # reported once
        os.close(fd)
        fd = -1
    finally:
        if fd >= 0:
            _close_quietly(fd)
        chattr("-i", spath)
    assert os.stat(spath).st_size == 4096


def test_close_sees_error_despite_child_close(ganesha, mount_factory):
    m = mount_factory(ganesha.source)
    fd, path, spath = _refused_writer(ganesha, m, "errseq-close")
    try:
        _child_exec()
        _child_exec()
        try:
            os.close(fd)
            err = 0
        except OSError as e:
            err = e.errno
        fd = -1
        assert err in REFUSED, "close after a child's close-on-exec: %s" % errno_name(err)
    finally:
        if fd >= 0:
            _close_quietly(fd)
        chattr("-i", spath)
    assert os.stat(spath).st_size == 4096


def test_every_open_description_sees_error_once(ganesha, mount_factory):
    """Two writers of one file: both see the error at their fsync, once; a
    dup's close reports it without consuming it."""
    m = mount_factory(ganesha.source)
    fd, path, spath, (fd2,) = _refused_writer(ganesha, m, "errseq-two", [os.O_WRONLY])
    try:
        try:
            os.close(os.dup(fd2))
            dup_err = 0
        except OSError as e:
            dup_err = e.errno
        assert dup_err in REFUSED + (0,), errno_name(dup_err)
        errs = []
        for f in (fd, fd2):
            try:
                os.fsync(f)
                errs.append(0)
            except OSError as e:
                errs.append(e.errno)
        assert all(e in REFUSED for e in errs), [errno_name(e) for e in errs]
        os.fsync(fd)  # once per description
        os.fsync(fd2)
        os.close(fd2)  # consumed: close is clean
        fd2 = -1
    finally:
        if fd2 >= 0:
            _close_quietly(fd2)
        _close_quietly(fd)
        chattr("-i", spath)


def test_large_refused_write_reported(ganesha, mount_factory):
    """2 MiB (streamed by the flushers while written): the error reaches a
    write, fsync or close of the writer, never success everywhere."""
    m = mount_factory(ganesha.source)
    fd, path, spath = _refused_writer(ganesha, m, "errseq-big")
    errs = []
    try:
        try:
            write_all(fd, b"c" * (2 * MiB))
        except OSError as e:
            errs.append(("write", e.errno))
        _child_exec()
        try:
            os.fsync(fd)
        except OSError as e:
            errs.append(("fsync", e.errno))
    finally:
        _close_quietly(fd)
        chattr("-i", spath)
    assert any(w == "fsync" for w, _ in errs) or any(w == "write" for w, _ in errs), errs
    assert all(e in REFUSED for _, e in errs), errs
