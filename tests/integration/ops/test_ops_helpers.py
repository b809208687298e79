"""Mount helpers (issue 8): mount -t efs-fuse through /sbin/mount.efs-fuse,
fstab lines of type efs-fuse and fuse.efs-fuse, a `user` fstab line mounted
by an ordinary user with HOME=/root, the contrib/ systemd units (checked by
systemd-analyze verify) and the rootless container example."""

import os
import shutil
import subprocess

import pytest

from lib import ganesha as ganesha_lib
from lib import mounts
from opslib import wait_for

REPO = ganesha_lib.REPO
HELPER = "/sbin/mount.efs-fuse"


@pytest.fixture
def mount_helper(efs_fuse_bin):
    """/sbin/mount.efs-fuse -> the built daemon (what make install links)."""
    if os.path.lexists(HELPER):
        if os.path.realpath(HELPER) != os.path.realpath(efs_fuse_bin):
            pytest.fail("%s exists and is not this build (%s): remove it or point "
                        "EFS_FUSE at it" % (HELPER, os.path.realpath(HELPER)), pytrace=False)
        yield HELPER
        return
    os.symlink(efs_fuse_bin, HELPER)
    try:
        yield HELPER
    finally:
        os.unlink(HELPER)


def _mp(it_tmp, name, owner=None):
    mp = os.path.join(it_tmp, name)
    os.makedirs(mp, exist_ok=True)
    if owner is not None:
        os.chown(mp, owner.uid, owner.gid)
    return os.path.realpath(mp)


def _adopt(efs_fuse_bin, source, mp):
    """An EfsMount for a mount made by mount(8), for unmounting and cleanup."""
    m = mounts.EfsMount(efs_fuse_bin, source, mp)
    pids = mounts.find_daemon(efs_fuse_bin, mp)
    assert len(pids) == 1, "want one daemon for %s, found %r" % (mp, pids)
    m.pid = pids[0]
    return m


def _fstype(mp):
    return [x[1] for x in mounts.mountinfo() if x[0] == mp]


def test_mount_t_efs_fuse(ganesha, efs_fuse_bin, mount_helper, it_tmp):
    mp = _mp(it_tmp, "mount-t")
    p = subprocess.run(["mount", "-t", "efs-fuse", ganesha.source, mp, "-o", "noatime,_netdev"],
                       capture_output=True, text=True, timeout=60)
    m = _adopt(efs_fuse_bin, ganesha.source, mp) if p.returncode == 0 else None
    try:
        assert p.returncode == 0, "mount -t efs-fuse: %d %s" % (p.returncode, p.stderr)
        assert _fstype(mp) == ["fuse.efs-fuse"], mounts.mountinfo()
        os.listdir(mp)
        assert m.unmount() == 0
    finally:
        if m:
            m.cleanup()


def test_fstab_type_efs_fuse(ganesha, efs_fuse_bin, mount_helper, it_tmp):
    # (fuse.efs-fuse lines go through mount.fuse3, which needs efs-fuse in the
    # system PATH: covered by test_core_mount's fstab option parsing)
    mp1 = _mp(it_tmp, "fstab-efs")
    fstab = os.path.join(it_tmp, "fstab")
    with open(fstab, "w") as f:
        f.write("%s %s efs-fuse _netdev,noauto,nconnect=2 0 0\n" % (ganesha.source, mp1))
    made = []
    try:
        for mp in (mp1,):
            p = subprocess.run(["mount", "-T", fstab, mp], capture_output=True, text=True,
                               timeout=60)
            assert p.returncode == 0, "mount -T fstab %s: %s" % (mp, p.stderr)
            made.append(_adopt(efs_fuse_bin, ganesha.source, mp))
            assert _fstype(mp) == ["fuse.efs-fuse"]
            os.listdir(mp)
        for m in made:
            assert m.unmount() == 0
    finally:
        for m in made:
            m.cleanup()


def test_fstab_user_line(ganesha, efs_fuse_bin, mount_helper, users, host_fuse, it_tmp):
    """`mount MP` by an ordinary user for a `user` fstab line; mount(8) runs the
    helper as that user with HOME=/root (an unreadable per-user config)."""
    u1, _ = users
    mp = _mp(it_tmp, "fstab-user", u1)
    fstab = os.path.join(it_tmp, "fstab-user.tab")
    with open(fstab, "w") as f:
        f.write("%s %s efs-fuse _netdev,noauto,user 0 0\n" % (ganesha.source, mp))
    out = os.path.join(it_tmp, "fstab-user.out")
    # a private mount namespace sees our file as /etc/fstab; all of it
    # (mount, use, unmount) happens inside
    script = r'''
        set -e
        mount --bind "$1" /etc/fstab
        run() { setpriv --reuid=%(uid)d --regid=%(gid)d --init-groups --reset-env -- \
                env HOME=/root "$@"; }
        run mount "$2"
        grep -q " $2 .* fuse.efs-fuse " /proc/self/mountinfo
        run ls "$2" >/dev/null
        echo MOUNTED
        run umount "$2"
        ! grep -q " $2 " /proc/self/mountinfo
        echo UNMOUNTED
    ''' % {"uid": u1.uid, "gid": u1.gid}
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                        fstab, mp], capture_output=True, text=True, timeout=90)
    try:
        assert p.returncode == 0 and "UNMOUNTED" in p.stdout, \
            "user fstab mount: rc %d\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout,
                                                                  p.stderr)
        # the daemon ended with its mount
        assert wait_for(lambda: mounts.find_daemon(efs_fuse_bin, mp) == [], 10)
    finally:
        for pid in mounts.find_daemon(efs_fuse_bin, mp):
            os.kill(pid, 9)
        mounts.reap_orphans()


def test_systemd_units_verify(it_tmp):
    tool = shutil.which("systemd-analyze")
    if not tool:
        pytest.fail("systemd-analyze not installed (apt-get install systemd)", pytrace=False)
    # Documentation=man:efs-fuse(8) must resolve: give man our page
    man = os.path.join(it_tmp, "man")
    os.makedirs(os.path.join(man, "man8"), exist_ok=True)
    shutil.copy(os.path.join(REPO, "man", "efs-fuse.8"), os.path.join(man, "man8"))
    units = [os.path.join(REPO, "contrib", "systemd", u)
             for u in ("mnt-efs.mount", "mnt-efs.automount")]
    p = subprocess.run([tool, "verify"] + units, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MANPATH=man))
    assert p.returncode == 0 and not p.stderr.strip(), p.stdout + p.stderr
    text = open(units[0]).read()
    assert "Type=efs-fuse" in text and "Where=/mnt/efs" in text


def test_rootless_container_example(ganesha_factory, efs_fuse_bin, users, host_fuse, it_tmp):
    """contrib/rootless: uid 0 in a user namespace, the real uid on the wire.
    The kernel refuses writes into a directory whose owner is not mapped into
    the namespace, so the command writes into the export's root (owned by
    root, which is the namespace's uid 0), made sticky and world-writable."""
    u1, _ = users
    g = ganesha_factory()
    os.chmod(g.export_dir, 0o1777)
    mp = _mp(it_tmp, "rootless", u1)
    name = "rootless-%d" % os.getpid()
    script = os.path.join(REPO, "contrib", "rootless", "efs-fuse-rootless.sh")
    cmd = u1.cmd(["env", "EFS_FUSE=" + efs_fuse_bin, script, g.source, mp, "--",
                  "sh", "-c", 'id -u; echo hi > "$0/%s"; cat "$0/%s"' % (name, name), mp])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    try:
        assert p.returncode == 0, "rc %d: %s %s" % (p.returncode, p.stdout, p.stderr)
        assert p.stdout.split() == ["0", "hi"], p.stdout  # uid 0 inside
        st = os.stat(g.server_path(name))
        assert (st.st_uid, st.st_gid) == (u1.uid, u1.gid)  # the real identity outside
        assert wait_for(lambda: mounts.find_daemon(efs_fuse_bin, mp) == [], 10)
    finally:
        for pid in mounts.find_daemon(efs_fuse_bin, mp):
            os.kill(pid, 9)
        mounts.reap_orphans()
