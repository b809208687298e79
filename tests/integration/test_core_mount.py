"""Mounting and unmounting: the daemon detaches only once the mount works,
a clean unmount destroys the NFSv4.1 session and client id and exits 0, and
bad input fails with one line and nothing mounted."""

import os
import subprocess
import time

from lib import ganesha as ganesha_lib
from lib import mounts


def test_detaches_only_when_usable(ganesha, mount_factory):
    m = mount_factory(ganesha.source)  # asserts mountinfo right after exit 0
    assert os.path.isdir(m.mountpoint)
    os.listdir(m.mountpoint)
    with open(os.path.join(m.mountpoint, ".probe-%d" % os.getpid()), "w") as f:
        f.write("x")
    os.unlink(os.path.join(m.mountpoint, ".probe-%d" % os.getpid()))
    st = os.statvfs(m.mountpoint)
    assert st.f_blocks > 0
    rc = m.unmount()
    assert rc == 0, "daemon exited %r after fusermount3 -u" % rc


def _wait_for(cond, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def test_clean_unmount_destroys_session(ganesha_factory, mount_factory):
    g = ganesha_factory()  # own server: its client records are ours alone
    assert g.client_records() == []
    m = mount_factory(g.source, foreground=True)
    p = os.path.join(m.mountpoint, "clean-%d" % os.getpid())
    with open(p, "w") as f:
        f.write("bye")
    os.unlink(p)
    assert _wait_for(lambda: len(g.client_records()) == 1, 5), \
        "server holds %r client records while mounted, want 1" % g.client_records()
    rc = m.unmount()
    err = m.stderr()
    assert rc == 0, "efs-fuse -f exited %r; stderr:\n%s" % (rc, err[-2000:])
    assert "session destroyed" in err, "no 'session destroyed' in stderr:\n" + err[-2000:]
    assert "client id destroyed" in err, "no 'client id destroyed' in stderr:\n" + err[-2000:]
    assert err.index("session destroyed") < err.index("client id destroyed")
    # gone from the server at once (the lease is 60 s: not an expiry)
    assert _wait_for(lambda: g.client_records() == [], 5), \
        "server still holds %r after unmount" % g.client_records()


def _expect_failure(bin_path, args, mountpoint, timeout=90):
    before = [x for x in mounts.mountinfo() if x[1].startswith("fuse")]
    try:
        p = subprocess.run([bin_path] + args, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout)
        after = [x for x in mounts.mountinfo() if x[1].startswith("fuse")]
    finally:
        if mountpoint:  # it should not have mounted: undo it if it did
            mounts.EfsMount(bin_path, args[0], mountpoint).cleanup_stray()
    assert p.returncode != 0, "exit 0 for %r" % args
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, "want a one-line error, got:\n%s" % p.stderr
    if mountpoint:
        assert not mounts.is_mounted(mountpoint)
    assert after == before, "mount table changed: %r -> %r" % (before, after)
    return lines[0]


def test_unknown_option(efs_fuse_bin, ganesha, it_tmp):
    mp = os.path.join(it_tmp, "bad-opt")
    os.makedirs(mp, exist_ok=True)
    line = _expect_failure(efs_fuse_bin, [ganesha.source, mp, "-o", "no_such_option=1"], mp)
    assert "no_such_option" in line


def test_missing_mountpoint(efs_fuse_bin, ganesha):
    _expect_failure(efs_fuse_bin, [ganesha.source], None)


def test_nonexistent_mountpoint(efs_fuse_bin, ganesha, it_tmp):
    mp = os.path.join(it_tmp, "does-not-exist")
    _expect_failure(efs_fuse_bin, [ganesha.source, mp], mp)
    assert not os.path.exists(mp)


def test_unreachable_server(efs_fuse_bin, it_tmp):
    port = ganesha_lib.closed_port("127.0.0.1")
    mp = os.path.join(it_tmp, "unreachable")
    os.makedirs(mp, exist_ok=True)
    _expect_failure(efs_fuse_bin, ["127.0.0.1:%d:/export" % port, mp], mp)
    # and nothing keeps running for that mount point
    assert mounts.find_daemon(efs_fuse_bin, mp) == []


def test_missing_export(efs_fuse_bin, ganesha, it_tmp):
    mp = os.path.join(it_tmp, "noexport")
    os.makedirs(mp, exist_ok=True)
    _expect_failure(efs_fuse_bin,
                    ["%s:%d:/no/such/export" % (ganesha.addr, ganesha.port), mp], mp)
    assert mounts.find_daemon(efs_fuse_bin, mp) == []


def test_version_and_help(efs_fuse_bin):
    for flag in ("-V", "-h"):
        p = subprocess.run([efs_fuse_bin, flag], capture_output=True, text=True, timeout=10)
        assert p.returncode == 0, "%s exited %d: %s" % (flag, p.returncode, p.stderr)
        assert p.stdout.strip(), "%s printed nothing on stdout" % flag
