"""Packaging (issue 8): debian/ builds a .deb with dpkg-buildpackage -us -uc
on Debian 12; it holds the daemon, the mount helper and the man pages; it
installs, mounts (mount -t efs-fuse through the packaged helper) and removes
cleanly."""

import os
import shutil
import subprocess

import pytest

from lib import ganesha as ganesha_lib
from lib import mounts

REPO = ganesha_lib.REPO


def _copy_tree(dst):
    """The source as git sees it (tracked and new files, not build output)."""
    out = subprocess.run(["git", "-C", REPO, "ls-files", "-z", "--cached", "--others",
                          "--exclude-standard"], capture_output=True, check=True).stdout
    for rel in filter(None, out.decode().split("\0")):
        src = os.path.join(REPO, rel)
        if not os.path.isfile(src):
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, rel))


@pytest.fixture(scope="module")
def deb(it_tmp):
    for tool in ("dpkg-buildpackage", "dh"):
        if not shutil.which(tool):
            pytest.fail("%s not installed: apt-get install debhelper dpkg-dev "
                        "(scripts/install-deps.sh)" % tool, pytrace=False)
    top = os.path.join(it_tmp, "deb")
    src = os.path.join(top, "efs-fuse-0.1.0")
    os.makedirs(src)
    _copy_tree(src)
    p = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src,
                       capture_output=True, text=True, timeout=900,
                       env=dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2"))
    assert p.returncode == 0, "dpkg-buildpackage failed:\n" + (p.stdout + p.stderr)[-4000:]
    debs = [f for f in os.listdir(top) if f.startswith("efs-fuse_") and f.endswith(".deb")]
    assert len(debs) == 1, os.listdir(top)
    return os.path.join(top, debs[0])


def test_deb_contents(deb):
    out = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                         check=True).stdout
    names = [l.split()[5] for l in out.splitlines()]
    for want in ("./usr/bin/efs-fuse", "./sbin/mount.efs-fuse",
                 "./usr/share/man/man8/efs-fuse.8.gz", "./usr/share/man/man1/efs-fuse.1.gz",
                 "./usr/share/man/man5/efs-fuse.conf.5.gz",
                 "./usr/share/doc/efs-fuse/examples/mnt-efs.mount"):
        assert want in names, "%s not in the package:\n%s" % (want, out)
    assert "./sbin/mount.efs-fuse -> /usr/bin/efs-fuse" in out
    info = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True, text=True,
                          check=True).stdout
    assert "libfuse3" in info and "fuse3" in info, info


def test_deb_install_mount_remove(deb, ganesha, it_tmp):
    st = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", "efs-fuse"],
                        capture_output=True, text=True)
    if st.returncode == 0 and st.stdout.strip() == "installed":
        pytest.fail("an efs-fuse package is installed already: this test would replace it "
                    "(dpkg -r efs-fuse first)", pytrace=False)
    if os.path.lexists("/sbin/mount.efs-fuse"):
        pytest.fail("/sbin/mount.efs-fuse exists outside the package: remove it first",
                    pytrace=False)
    p = subprocess.run(["dpkg", "-i", deb], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    mp = os.path.join(it_tmp, "deb-mnt")
    os.makedirs(mp, exist_ok=True)
    try:
        p = subprocess.run(["mount", "-t", "efs-fuse", ganesha.source, mp], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0, "mount -t efs-fuse with the package: " + p.stderr
        assert mounts.is_mounted(mp)
        os.listdir(mp)
        pids = mounts.find_daemon("/usr/bin/efs-fuse", mp)
        assert len(pids) == 1, pids
        m = mounts.EfsMount("/usr/bin/efs-fuse", ganesha.source, mp)
        m.pid = pids[0]
        assert m.unmount() == 0
        man = subprocess.run(["man", "-w", "efs-fuse"], capture_output=True, text=True)
        assert man.stdout.strip().endswith("efs-fuse.8.gz") or \
            man.stdout.strip().endswith("efs-fuse.1.gz"), man.stdout + man.stderr
    finally:
        if mounts.is_mounted(mp):
            mounts.EfsMount("/usr/bin/efs-fuse", ganesha.source, mp).cleanup_stray()
        r = subprocess.run(["dpkg", "-r", "efs-fuse"], capture_output=True, text=True,
                           timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not os.path.exists("/usr/bin/efs-fuse")
    assert not os.path.lexists("/sbin/mount.efs-fuse")
