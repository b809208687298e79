"""Attribute and name caches with nfs(5) semantics, and the daemon's counters.

The counters come from the `user.efs-fuse.stats` extended attribute (one
`key value` line each); round trips are its `compounds` line, per procedure
`proc.<NAME>`.  Two daemons mount the same export (the `pair` fixture, or
mount_factory with options) to see one mount's changes through the other.
"""

import ctypes
import ctypes.util
import errno
import os
import time

import pytest

from lib import mounts

from cachelib import wait_for

STATS = "user.efs-fuse.stats"

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
_libc.getxattr.restype = ctypes.c_ssize_t

AT_FDCWD = -100
AT_STATX_FORCE_SYNC = 0x2000
STATX_BASIC_STATS = 0x7FF


def stats(path):
    """The daemon's counters as {key: int}; every line must be `key value`."""
    raw = os.getxattr(path, STATS).decode()
    out = {}
    for line in raw.splitlines():
        k, v = line.split(" ")
        out[k] = int(v)
    return out


def delta(before, after, key):
    return after[key] - before[key]


def statx_sync(path):
    """stat(2) that makes the kernel ask the daemon (AT_STATX_FORCE_SYNC)."""
    buf = ctypes.create_string_buffer(256)
    rc = _libc.statx(AT_FDCWD, os.fsencode(path), AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, buf)
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)


def _mount(mount_factory, ganesha, *options):
    try:
        return mount_factory(ganesha.source, options=list(options))
    except mounts.MountError as e:
        pytest.fail(str(e), pytrace=False)


def _shared_dir(ganesha, m1, m2, name):
    """A fresh directory made through m1, seen through m2."""
    os.mkdir(os.path.join(m1.mountpoint, name))
    assert os.path.isdir(ganesha.server_path(name))
    d1, d2 = os.path.join(m1.mountpoint, name), os.path.join(m2.mountpoint, name)
    assert os.path.isdir(d2), "directory made through mount 1 not found through mount 2"
    return d1, d2


# -- the counters ------------------------------------------------------------------


def test_meta_stats_xattr_parses_and_counts(mnt):
    mp = mnt.mountpoint
    s0 = stats(mp)
    for k in ("compounds", "ops", "retries", "rpc.calls", "rpc.bytes_out", "rpc.bytes_in",
              "rpc.reconnects", "fuse.lookup", "fuse.getattr", "fuse.create", "fuse.write",
              "fuse.getxattr"):
        assert k in s0, "no %r in the stats: %r" % (k, sorted(s0))
    for p in ("LOOKUP", "GETATTR", "SETATTR", "ACCESS", "READLINK", "CREATE", "REMOVE",
              "RENAME", "LINK", "OPEN", "CLOSE", "READ", "WRITE", "COMMIT", "READDIR", "STATFS",
              "LOCK", "LOCKT", "LOCKU", "SEQUENCE", "SESSION"):
        assert "proc." + p in s0, "no proc.%s in the stats" % p
    assert s0["compounds"] > 0 and s0["rpc.calls"] >= s0["compounds"] - s0["retries"]

    name = os.path.join(mp, "stats-%d" % os.getpid())
    with open(name, "w") as f:
        f.write("hello")
    os.unlink(name)
    s1 = stats(mp)
    assert delta(s0, s1, "compounds") > 0
    assert delta(s0, s1, "proc.OPEN") >= 1 and delta(s0, s1, "proc.REMOVE") == 1
    assert delta(s0, s1, "fuse.create") == 1 and delta(s0, s1, "fuse.unlink") == 1
    assert delta(s0, s1, "fuse.getxattr") >= 1
    assert delta(s0, s1, "rpc.bytes_out") > 0 and delta(s0, s1, "rpc.bytes_in") > 0
    # on every inode, not only the root
    os.mkdir(name)
    try:
        assert "compounds" in stats(name)
    finally:
        os.rmdir(name)


def test_meta_stats_xattr_protocol(mnt):
    """Size probe (size 0) then read, as getfattr does; not listed; read-only."""
    mp = mnt.mountpoint.encode()
    n = _libc.getxattr(mp, STATS.encode(), None, 0)
    assert n > 0, "size probe failed: %s" % os.strerror(ctypes.get_errno())
    buf = ctypes.create_string_buffer(n)
    got = _libc.getxattr(mp, STATS.encode(), buf, n)
    assert 0 < got <= n, "read after the size probe: %d (%s)" % (
        got, os.strerror(ctypes.get_errno()))
    assert buf.raw[:got].decode().startswith("compounds ")
    small = ctypes.create_string_buffer(8)
    assert _libc.getxattr(mp, STATS.encode(), small, 8) == -1
    assert ctypes.get_errno() == errno.ERANGE
    assert os.listxattr(mnt.mountpoint) == []
    with pytest.raises(OSError) as ei:
        os.getxattr(mnt.mountpoint, "user.something-else")
    assert ei.value.errno == errno.ENODATA
    with pytest.raises(OSError) as ei:
        os.setxattr(mnt.mountpoint, "user.x", b"1")
    assert ei.value.errno in (errno.ENOTSUP, errno.EOPNOTSUPP)


# -- attribute cache ---------------------------------------------------------------


def test_meta_getattr_within_acregmin_no_round_trip(mnt, work):
    p = os.path.join(work.mnt, "f")
    with open(p, "w") as f:
        f.write("x")
    os.stat(p)  # fresh attributes in the daemon (and the kernel)
    s0 = stats(mnt.mountpoint)
    for _ in range(20):
        statx_sync(p)  # each one reaches the daemon's getattr
    s1 = stats(mnt.mountpoint)
    assert delta(s0, s1, "fuse.getattr") >= 20, "statx(FORCE_SYNC) did not reach the daemon"
    assert delta(s0, s1, "proc.GETATTR") == 0, "getattr within acregmin went to the server"


def test_meta_other_mount_change_seen_within_acregmax(ganesha, mount_factory):
    """actimeo=1: a chmod on mount 1 shows on mount 2 once its cache times out."""
    m1 = _mount(mount_factory, ganesha, "actimeo=1")
    m2 = _mount(mount_factory, ganesha, "actimeo=1")
    d1, d2 = _shared_dir(ganesha, m1, m2, "ac-%d" % os.getpid())
    with open(os.path.join(d1, "f"), "w") as f:
        f.write("x")
    os.chmod(os.path.join(d1, "f"), 0o600)
    assert os.stat(os.path.join(d2, "f")).st_mode & 0o777 == 0o600
    os.chmod(os.path.join(d1, "f"), 0o640)
    t0 = time.monotonic()
    wait_for(lambda: os.stat(os.path.join(d2, "f")).st_mode & 0o777 == 0o640, 1 + 2,
             "mount 2 to see mount 1's chmod within acregmax (1 s)")
    assert time.monotonic() - t0 <= 3


def test_meta_noac_sees_other_mount_at_once(ganesha, mount_factory):
    m1 = _mount(mount_factory, ganesha)
    m2 = _mount(mount_factory, ganesha, "noac")
    d1, d2 = _shared_dir(ganesha, m1, m2, "noac-%d" % os.getpid())
    p1, p2 = os.path.join(d1, "f"), os.path.join(d2, "f")
    with open(p1, "w") as f:
        f.write("x")
    for mode in (0o600, 0o640, 0o604, 0o644):
        os.chmod(p1, mode)
        assert os.stat(p2).st_mode & 0o777 == mode, "noac mount served a stale mode"
    s0 = stats(m2.mountpoint)
    os.stat(p2)
    os.stat(p2)
    assert delta(s0, stats(m2.mountpoint), "proc.GETATTR") >= 2, "noac: stat without GETATTR"


def test_meta_default_mount_caches_other_mount_change(ganesha, mount_factory):
    """The counterpart of noac: with the defaults (acregmin 3 s) a second stat
    right after the first is answered from the caches, stale by design."""
    m1 = _mount(mount_factory, ganesha)
    m2 = _mount(mount_factory, ganesha)
    d1, d2 = _shared_dir(ganesha, m1, m2, "dflt-%d" % os.getpid())
    p1, p2 = os.path.join(d1, "f"), os.path.join(d2, "f")
    with open(p1, "w") as f:
        f.write("x")
    os.chmod(p1, 0o600)
    s0 = stats(m2.mountpoint)
    assert os.stat(p2).st_mode & 0o777 == 0o600
    os.chmod(p1, 0o644)
    assert os.stat(p2).st_mode & 0o777 == 0o600, "served fresh: no attribute cache?"
    assert delta(s0, stats(m2.mountpoint), "proc.GETATTR") == 0


# -- name cache --------------------------------------------------------------------


def test_meta_lookupcache_none_sees_new_file_at_once(ganesha, mount_factory):
    m1 = _mount(mount_factory, ganesha)
    m2 = _mount(mount_factory, ganesha, "lookupcache=none")
    d1, d2 = _shared_dir(ganesha, m1, m2, "lcnone-%d" % os.getpid())
    for i in range(5):
        name = "n%d" % i
        assert not os.path.exists(os.path.join(d2, name))
        with open(os.path.join(d1, name), "w") as f:
            f.write("x")
        assert os.path.exists(os.path.join(d2, name)), \
            "lookupcache=none: a file created on mount 1 was not seen at once"


def test_meta_lookupcache_positive_no_negative_entries(ganesha, mount_factory):
    m1 = _mount(mount_factory, ganesha)
    m2 = _mount(mount_factory, ganesha, "lookupcache=positive")
    d1, d2 = _shared_dir(ganesha, m1, m2, "lcpos-%d" % os.getpid())
    assert not os.path.exists(os.path.join(d2, "late"))
    s0 = stats(m2.mountpoint)
    assert not os.path.exists(os.path.join(d2, "late"))
    assert delta(s0, stats(m2.mountpoint), "proc.LOOKUP") == 1, "negative entry was cached"
    with open(os.path.join(d1, "late"), "w") as f:
        f.write("x")
    assert os.path.exists(os.path.join(d2, "late"))


def test_meta_negative_lookups_in_our_dir_no_round_trips(mnt, work):
    """A directory this mount created: names not in it are known absent."""
    d = os.path.join(work.mnt, "ours")
    os.mkdir(d)
    os.mkdir(os.path.join(d, "sub"))  # our own changes keep it known
    os.symlink("target", os.path.join(d, "link"))
    s0 = stats(mnt.mountpoint)
    for i in range(50):
        assert not os.path.exists(os.path.join(d, "nothere%d" % i))
    s1 = stats(mnt.mountpoint)
    assert delta(s0, s1, "fuse.lookup") >= 50, "the lookups did not reach the daemon"
    assert delta(s0, s1, "proc.LOOKUP") == 0
    assert delta(s0, s1, "compounds") == 0
    # the names we made are still found
    assert os.path.isdir(os.path.join(d, "sub"))
    assert os.readlink(os.path.join(d, "link")) == "target"


def test_meta_made_dir_not_inferred_until_we_fill_it(mnt, work, ganesha):
    """A directory this mount made but did not fill: a name another client
    put there is found at once (as with the kernel client)."""
    d = os.path.join(work.mnt, "made")
    os.mkdir(d)
    os.mkdir(ganesha.server_path(os.path.basename(work.mnt), "made", "theirs"))
    assert os.path.isdir(os.path.join(d, "theirs"))


def test_meta_listed_dir_answers_negative_lookups(mnt, work, ganesha):
    """A directory listed whole, then filled through this mount: names in
    neither are known absent."""
    d = work.mnt
    for i in range(20):
        with open(work.s("e%d" % i), "w"):  # made by "another client"
            pass
    os.stat(d)  # the directory's attributes (change) before the listing
    assert len(os.listdir(d)) == 20
    assert os.path.exists(os.path.join(d, "e7"))
    os.mkdir(os.path.join(d, "ours"))
    s0 = stats(mnt.mountpoint)
    for i in range(30):
        assert not os.path.exists(os.path.join(d, "absent%d" % i))
    assert delta(s0, stats(mnt.mountpoint), "proc.LOOKUP") == 0


def test_meta_negative_cache_dropped_by_other_mount_change(ganesha, mount_factory):
    """actimeo=1: mount 2 made the directory and knows it empty; mount 1
    creates a file; mount 2 finds it once its directory cache times out."""
    m1 = _mount(mount_factory, ganesha, "actimeo=1")
    m2 = _mount(mount_factory, ganesha, "actimeo=1")
    d2, d1 = _shared_dir(ganesha, m2, m1, "negdrop-%d" % os.getpid())
    os.mkdir(os.path.join(d2, "ours"))  # mount 2 fills it
    s0 = stats(m2.mountpoint)
    assert not os.path.exists(os.path.join(d2, "late"))
    assert delta(s0, stats(m2.mountpoint), "proc.LOOKUP") == 0, "not answered from the cache"
    with open(os.path.join(d1, "late"), "w") as f:
        f.write("x")
    wait_for(lambda: os.path.exists(os.path.join(d2, "late")), 1 + 2,
             "mount 2 to find a file mount 1 created in a directory mount 2 made")


def test_meta_unlink_updates_link_count(mnt, work):
    """Changes through this mount invalidate the daemon's cached attributes."""
    a, b = os.path.join(work.mnt, "a"), os.path.join(work.mnt, "b")
    with open(a, "w") as f:
        f.write("x")
    os.link(a, b)
    assert os.stat(a).st_nlink == 2
    os.unlink(b)
    assert os.stat(a).st_nlink == 1
    statx_sync(a)
    assert os.stat(a).st_nlink == 1
    os.chmod(a, 0o600)
    statx_sync(a)
    assert os.stat(a).st_mode & 0o777 == 0o600
    os.rename(a, b)
    assert not os.path.exists(a) and os.stat(b).st_mode & 0o777 == 0o600


def test_meta_readdirplus_fills_attribute_cache(mnt, work):
    """Entries listed with readdirplus (files made on the server side, so the
    daemon knew nothing of them) are then stat'ed without a round trip."""
    for i in range(30):
        with open(work.s("r%d" % i), "w") as f:
            f.write("x" * i)
    s0 = stats(mnt.mountpoint)
    assert len(os.listdir(work.mnt)) == 30
    s1 = stats(mnt.mountpoint)
    assert delta(s0, s1, "fuse.readdirplus") >= 1, "the kernel did not use readdirplus"
    for i in range(30):
        p = os.path.join(work.mnt, "r%d" % i)
        statx_sync(p)
        assert os.stat(p).st_size == i
    s2 = stats(mnt.mountpoint)
    assert delta(s1, s2, "fuse.getattr") >= 30, "statx(FORCE_SYNC) did not reach the daemon"
    assert delta(s1, s2, "proc.GETATTR") == 0 and delta(s1, s2, "proc.LOOKUP") == 0
