"""Fixtures for the efs-fuse integration tests (run as root on loopback).

  efs_fuse_bin    the built daemon: $EFS_FUSE or <repo>/build/efs-fuse
  build_dir       the build tree (test tools): $EFS_FUSE_BUILDDIR, $BUILD_DIR,
                  the daemon's directory, or <repo>/build
  it_tmp          session temp dir (under $EFS_IT_TMPDIR if set); at the end
                  nothing may be mounted under it or running for it; kept
                  (daemon logs, server logs) when $EFS_IT_KEEP is set
  ganesha         session nfs-ganesha (lease 60 s) on 127.0.0.1:<own port>
  ganesha_factory start more servers (e.g. a short lease); stopped at teardown
  mnt             module-wide efs-fuse mount of `ganesha`, as root
  work            per-test directory: work.mnt (through efs-fuse) and
                  work.srv (the same directory in the server's export)
  mount_factory   more mounts (options, user, foreground); all cleaned up
  users           efsuser1 (2001) and efsuser2 (2002), created if missing
  host_fuse       /dev/fuse 0666 + user_allow_other, restored afterwards
"""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

from lib import ganesha as ganesha_lib
from lib import mounts, users as users_lib

REPO = ganesha_lib.REPO


class Work:
    def __init__(self, mnt, srv):
        self.mnt, self.srv = mnt, srv

    def m(self, *parts):
        return os.path.join(self.mnt, *parts)

    def s(self, *parts):
        return os.path.join(self.srv, *parts)


def pytest_configure(config):
    if os.geteuid() != 0:
        raise pytest.UsageError("the integration tests need root (nfs-ganesha FSAL VFS, "
                                "test users, /dev/fuse)")
    # A daemon that detaches from us is re-parented to this process, so its
    # exit status can be read after fusermount3 -u.
    mounts.become_subreaper()


@pytest.fixture(scope="session")
def efs_fuse_bin():
    path = os.environ.get("EFS_FUSE") or os.path.join(REPO, "build", "efs-fuse")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail("efs-fuse binary not found at %s: run scripts/build.sh "
                    "or set EFS_FUSE" % path, pytrace=False)
    for tool in ("fusermount3", "setpriv", "ganesha.nfsd"):
        if not shutil.which(tool):
            pytest.fail("%s not installed: run scripts/install-deps.sh" % tool, pytrace=False)
    return os.path.realpath(path)


@pytest.fixture(scope="session")
def build_dir():
    d = (os.environ.get("EFS_FUSE_BUILDDIR") or os.environ.get("BUILD_DIR")
         or (os.path.dirname(os.environ["EFS_FUSE"]) if os.environ.get("EFS_FUSE") else None)
         or os.path.join(REPO, "build"))
    if not os.path.isfile(os.path.join(d, "Makefile")):
        pytest.fail("no configured build tree at %s: run scripts/build.sh or set "
                    "EFS_FUSE_BUILDDIR" % d, pytrace=False)
    return d


_all_mounts = []
_all_servers = []


@pytest.fixture(scope="session", autouse=True)
def it_tmp():
    # scripts/test-all.sh sets EFS_IT_TMPDIR so it can clean up after a crash.
    parent = os.environ.get("EFS_IT_TMPDIR") or None
    base = tempfile.mkdtemp(prefix="efs-fuse-it-", dir=parent)
    os.chmod(base, 0o755)  # test users must reach their mount points
    yield base
    left = mounts.fuse_mounts_under(base)
    for m in left:  # do not leave them behind, but fail the run
        subprocess.run(["fusermount3", "-uz", m[0]], capture_output=True)
    alive = [(m.mountpoint, m.pid) for m in _all_mounts
             if m.pid is not None and mounts._pid_alive(m.pid)]
    for m in _all_mounts:
        m.cleanup()
    running = [s.port for s in _all_servers if s.running]
    for s in _all_servers:
        s.stop()
    mounts.reap_orphans()
    if not left and not alive and not mounts.fuse_mounts_under(base) and not os.environ.get("EFS_IT_KEEP"):
        shutil.rmtree(base, ignore_errors=True)
    assert not left, "FUSE mounts left after the tests: %r" % left
    assert not alive, "efs-fuse daemons left after the tests: %r" % alive
    assert not running, "nfs-ganesha left running on ports %r" % running


def _new_dir(base, prefix):
    return tempfile.mkdtemp(prefix=prefix, dir=base)


def _start_server(base, **kw):
    srv = ganesha_lib.Ganesha(_new_dir(base, "ganesha-"), **kw)
    _all_servers.append(srv)
    srv.start()
    return srv


@pytest.fixture(scope="session")
def ganesha(it_tmp):
    srv = _start_server(it_tmp)
    yield srv
    rc = srv.stop()
    assert rc is not None


@pytest.fixture
def ganesha_factory(it_tmp):
    started = []

    def start(**kw):
        srv = _start_server(it_tmp, **kw)
        started.append(srv)
        return srv
    yield start
    for srv in started:
        srv.stop()


def _make_mount(base, binary, source, **kw):
    mp = _new_dir(base, "mnt-")
    user = kw.get("user")
    if user is not None:
        os.chown(mp, user.uid, user.gid)
    m = mounts.EfsMount(binary, source, mp, **kw)
    _all_mounts.append(m)
    return m


@pytest.fixture
def mount_factory(it_tmp, efs_fuse_bin):
    """mount_factory(source, options=(), user=None, foreground=False, mount=True)."""
    made = []

    def make(source, mount=True, **kw):
        m = _make_mount(it_tmp, efs_fuse_bin, source, **kw)
        made.append(m)
        if mount:
            m.mount()
        return m
    yield make
    problems = []
    for m in made:
        problems += m.cleanup()
    assert not problems, "mount cleanup needed force: %r" % problems


@pytest.fixture(scope="module")
def mnt(it_tmp, efs_fuse_bin, ganesha):
    m = _make_mount(it_tmp, efs_fuse_bin, ganesha.source)
    try:
        m.mount()
    except mounts.MountError as e:
        pytest.fail(str(e), pytrace=False)
    yield m
    try:
        rc = m.unmount()
    finally:
        problems = m.cleanup()
    assert rc == 0, "efs-fuse exited %r after fusermount3 -u" % rc
    assert not problems, problems


@pytest.fixture
def work(mnt, ganesha, request):
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:100]
    path = os.path.join(mnt.mountpoint, name)
    os.mkdir(path)
    srv = ganesha.server_path(name)
    assert os.path.isdir(srv), "mkdir through efs-fuse did not reach the server (%s)" % srv
    return Work(path, srv)


@pytest.fixture(scope="session")
def users():
    return users_lib.ensure_users()


@pytest.fixture
def host_fuse():
    s = users_lib.HostFuseSettings()
    s.apply()
    yield s
    s.restore()
