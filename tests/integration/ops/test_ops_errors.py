"""Precise mount errors (issue 8): each problem a FUSE mount can hit gets its
own one-line message with the fix, checked before connecting where possible;
nothing is left mounted or running."""

import os
import signal
import socket
import subprocess
import time

from lib import ganesha as ganesha_lib
from lib import mounts
from opslib import expect_mount_failure, read_file, wait_for


def _mp(it_tmp, name, owner=None):
    mp = os.path.join(it_tmp, name)
    os.makedirs(mp, exist_ok=True)
    if owner is not None:
        os.chown(mp, owner.uid, owner.gid)
    return mp


def test_second_mount_on_the_same_directory(ganesha, mount_factory, efs_fuse_bin):
    m = mount_factory(ganesha.source)
    expect_mount_failure([efs_fuse_bin, ganesha.source, m.mountpoint], None,
                         ["%s is already an efs-fuse mount" % m.mountpoint,
                          "fusermount3 -u %s" % m.mountpoint])
    # still exactly one daemon and one mount
    assert mounts.find_daemon(efs_fuse_bin, m.mountpoint) == [m.pid]
    assert [x for x in mounts.mountinfo() if x[0] == m.mountpoint].__len__() == 1
    assert m.unmount() == 0


def test_stale_mount(ganesha, mount_factory, efs_fuse_bin):
    m = mount_factory(ganesha.source, foreground=True)
    os.kill(m.pid, signal.SIGKILL)
    m.proc.wait(10)
    m.proc = None
    m.pid = None
    try:
        os.statvfs(m.mountpoint)
        raise AssertionError("a killed daemon's mount still answers")
    except OSError as e:
        assert e.errno == 107, e  # ENOTCONN: "Transport endpoint is not connected"
    assert mounts.is_mounted(m.mountpoint)
    expect_mount_failure([efs_fuse_bin, ganesha.source, m.mountpoint], None,
                         ["stale FUSE mount", "fusermount3 -u %s" % m.mountpoint])
    # the fix the message gives works
    subprocess.run(["fusermount3", "-u", m.mountpoint], check=True, timeout=10)
    assert not mounts.is_mounted(m.mountpoint)


def test_unwritable_mount_point(ganesha, efs_fuse_bin, users, host_fuse, it_tmp):
    u1, _ = users
    mp = _mp(it_tmp, "root-owned")  # root's, 0755
    os.chmod(mp, 0o755)
    expect_mount_failure(u1.cmd([efs_fuse_bin, ganesha.source, mp]), mp,
                         ["you cannot write to mount point %s" % mp, "chown"])


def test_allow_other_needs_user_allow_other(ganesha, efs_fuse_bin, users, host_fuse, it_tmp):
    u1, _ = users
    mp = _mp(it_tmp, "ao-user", u1)
    conf = os.path.join(it_tmp, "fuse.conf-empty")
    with open(conf, "w") as f:
        f.write("# mount_max = 1000\n#user_allow_other\n")
    # a private mount namespace sees this file as /etc/fuse.conf; the host's
    # (which other tests edit) is not touched
    script = 'mount --bind "$1" /etc/fuse.conf && shift && exec "$@"'
    argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", conf] + \
        u1.cmd([efs_fuse_bin, ganesha.source, mp, "-o", "allow_other"])
    expect_mount_failure(argv, mp, ["allow_other needs 'user_allow_other' in /etc/fuse.conf",
                                    "add that line as root"])


def test_no_dev_fuse(ganesha, efs_fuse_bin, it_tmp):
    mp = _mp(it_tmp, "no-dev-fuse")
    script = 'mount -t tmpfs none /dev && exec "$@"'
    argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
            efs_fuse_bin, ganesha.source, mp]
    expect_mount_failure(argv, mp, ["no /dev/fuse", "modprobe fuse", "--device /dev/fuse"])


def test_no_cap_sys_admin(ganesha, efs_fuse_bin, it_tmp):
    mp = _mp(it_tmp, "no-cap")
    argv = ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", "--",
            efs_fuse_bin, ganesha.source, mp]
    # libfuse and fusermount3 say their part first; ours is the last line
    expect_mount_failure(argv, mp, ["no CAP_SYS_ADMIN", "--cap-add SYS_ADMIN"], lines=None)
    assert mounts.find_daemon(efs_fuse_bin, mp) == []


def test_uid0_in_a_user_namespace_is_refused(ganesha, efs_fuse_bin, users, host_fuse, it_tmp):
    u1, _ = users
    mp = _mp(it_tmp, "userns-root", u1)
    argv = u1.cmd(["unshare", "--user", "--map-root-user", "--mount", efs_fuse_bin,
                   ganesha.source, mp])
    expect_mount_failure(argv, mp, ["inside a user namespace uid 0 is an ordinary user",
                                    "-o uid=N,gid=N", "-o userns_root=allow"])


def test_refused_connection_names_port_and_security_group(efs_fuse_bin, it_tmp):
    port = ganesha_lib.closed_port("127.0.0.1")
    mp = _mp(it_tmp, "refused")
    expect_mount_failure([efs_fuse_bin, "127.0.0.1:%d:/export" % port, mp], mp,
                         ["is TCP port %d of 127.0.0.1 reachable" % port, "security group"])
    assert mounts.find_daemon(efs_fuse_bin, mp) == []


def test_connecting_line_when_slow(efs_fuse_bin, it_tmp):
    # a server that accepts and never answers: efs-fuse says what it waits for
    port = ganesha_lib.allocate_port("127.0.0.1")
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(8)
    mp = _mp(it_tmp, "slow")
    errf = os.path.join(it_tmp, "slow.stderr")
    with open(errf, "wb") as err:
        p = subprocess.Popen([efs_fuse_bin, "127.0.0.1:%d:/export" % port, mp, "-f",
                              "-o", "soft,timeo=100,retrans=0"],
                             stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        want = "connecting to 127.0.0.1:%d..." % port
        assert wait_for(lambda: want in read_file(errf), 10), read_file(errf)
        assert not mounts.is_mounted(mp)
    finally:
        p.kill()
        p.wait(10)
        ls.close()


def test_dev_fuse_not_open_to_the_user(ganesha, efs_fuse_bin, users, it_tmp):
    # a 0600 /dev/fuse (as on some hosts): libfuse would fail before it ever
    # tries fusermount3; a private copy of the node keeps the host's as it is
    u1, _ = users
    mp = _mp(it_tmp, "dev-fuse-0600", u1)
    node = os.path.join(it_tmp, "fuse-0600")
    if not os.path.exists(node):
        os.mknod(node, 0o600 | 0o020000, os.makedev(10, 229))
    script = 'mount --bind "$1" /dev/fuse && shift && exec "$@"'
    argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", node] + \
        u1.cmd([efs_fuse_bin, ganesha.source, mp])
    expect_mount_failure(argv, mp, ["/dev/fuse is not readable and writable by you (mode 0600)",
                                    "chmod 0666 /dev/fuse"])
