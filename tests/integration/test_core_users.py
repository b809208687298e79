"""Identity: every RPC carries the calling user's uid/gid, so the server
enforces permissions per user on an allow_other mount; and an unprivileged
user can mount and use efs-fuse."""

import errno
import os
import stat

import pytest

from lib import mounts


def _create(path, data, mode):
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    os.write(fd, data)
    os.close(fd)
    return os.getuid()


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _errno_of(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return 0


@pytest.fixture
def shared(work):
    """A sticky, world-writable directory inside the test's directory."""
    os.chmod(work.mnt, 0o1777)
    assert stat.S_IMODE(os.stat(work.srv).st_mode) == 0o1777
    return work


def test_two_users_on_allow_other_mount(shared, users, ganesha, mount_factory):
    u1, u2 = users
    m = mount_factory(ganesha.source, options=["allow_other"])
    rel = os.path.relpath(shared.mnt, os.path.dirname(shared.mnt))
    d = os.path.join(m.mountpoint, rel)
    secret = os.path.join(d, "secret")
    assert u1.run(_create, secret, b"only for user1", 0o600) == 2001
    assert u1.run(_read, secret) == b"only for user1"
    # what the server stored: user1 owns it, mode 0600
    sst = os.stat(shared.s("secret"))
    assert (sst.st_uid, sst.st_gid) == (u1.uid, u1.gid)
    assert stat.S_IMODE(sst.st_mode) == 0o600
    st = u2.run(os.stat, secret)
    assert (st.st_uid, st.st_gid) == (u1.uid, u1.gid)
    # user2 is refused by the server (or the kernel), not served from a cache
    assert u2.run(_errno_of, _read, secret) == errno.EACCES
    assert u2.run(_errno_of, os.open, secret, os.O_WRONLY) == errno.EACCES
    assert u2.run(_errno_of, os.unlink, secret) in (errno.EACCES, errno.EPERM)  # sticky dir
    assert u2.run(_errno_of, os.chmod, secret, 0o666) == errno.EPERM
    assert os.path.exists(shared.s("secret"))
    # and user2's own file is user2's on the server
    assert u2.run(_create, os.path.join(d, "mine2"), b"2", 0o644) == 2002
    assert os.stat(shared.s("mine2")).st_uid == u2.uid
    assert u1.run(_read, os.path.join(d, "mine2")) == b"2"
    # user1 can still read its file after user2's refusals
    assert u1.run(_read, secret) == b"only for user1"
    assert m.unmount() == 0


def test_unprivileged_user_mounts(work, users, ganesha, mount_factory, host_fuse):
    u1, u2 = users
    os.chmod(work.mnt, 0o777)
    rel = os.path.relpath(work.mnt, os.path.dirname(work.mnt))
    m = mount_factory(ganesha.source, user=u1)
    assert mounts.is_mounted(m.mountpoint)
    st = os.stat("/proc/%d" % m.pid)
    assert st.st_uid == u1.uid, "daemon runs as uid %d, not %d" % (st.st_uid, u1.uid)
    d = os.path.join(m.mountpoint, rel)
    path = os.path.join(d, "by-user1")
    assert u1.run(_create, path, b"hello from 2001", 0o644) == 2001
    assert u1.run(_read, path) == b"hello from 2001"
    assert sorted(u1.run(os.listdir, d)) == ["by-user1"]
    assert os.stat(work.s("by-user1")).st_uid == u1.uid
    assert _read(work.s("by-user1")) == b"hello from 2001"
    # without allow_other, nobody else (not even root) gets in
    assert _errno_of(os.stat, path) == errno.EACCES
    assert u2.run(_errno_of, os.stat, path) == errno.EACCES
    rc = m.unmount(as_user=True)
    assert rc == 0, "daemon exited %r" % rc
    assert not mounts.is_mounted(m.mountpoint)


def test_unprivileged_allow_other_mount(work, users, ganesha, mount_factory, host_fuse):
    u1, u2 = users
    os.chmod(work.mnt, 0o1777)
    rel = os.path.relpath(work.mnt, os.path.dirname(work.mnt))
    m = mount_factory(ganesha.source, user=u1, options=["allow_other"])
    d = os.path.join(m.mountpoint, rel)
    assert u1.run(_create, os.path.join(d, "pub"), b"public", 0o644) == 2001
    assert u1.run(_create, os.path.join(d, "priv"), b"private", 0o600) == 2001
    assert u2.run(_read, os.path.join(d, "pub")) == b"public"
    assert u2.run(_errno_of, _read, os.path.join(d, "priv")) == errno.EACCES
    assert m.unmount(as_user=True) == 0
