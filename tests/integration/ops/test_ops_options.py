"""Options (issue 8): every efs-utils mount option is accepted (a one-line
note where it has no effect; the IAM ones, which need iam, in iam/), sync has its mount(8) meaning, libfuse's
auto_unmount and allow_root pass through, uid=/gid= send a fixed identity,
and a mistyped file system id is refused with what an id looks like."""

import os
import signal
import subprocess

import pytest

from lib import mounts
from opslib import expect_mount_failure, wait_for

EFS_UTILS_NOTES = {
    "tlsport=20049": "tlsport: ignored",
    "verify=2": "verify: ignored",
    "ocsp": "ocsp: ignored",
    "stunnel": "stunnel: ignored",
    "nconnect=4": "nconnect=4 ignored",
    "crossaccount": "crossaccount: give the availability zone id",
}


def test_every_efs_utils_option(ganesha, mount_factory):
    opts = list(EFS_UTILS_NOTES) + ["noocsp", "netns=/proc/self/ns/net", "async",
                                    "nfsvers=4.1", "rsize=1048576", "wsize=1048576", "hard",
                                    "timeo=600", "retrans=2", "noresvport", "_netdev"]
    m = mount_factory(ganesha.source, options=opts)
    notes = [l for l in m.mount_output.splitlines() if l.startswith("efs-fuse: note: ")]
    for opt, want in EFS_UTILS_NOTES.items():
        assert sum(want in l for l in notes) == 1, "%s: no single note %r in:\n%s" % (
            opt, want, m.mount_output)
    assert len(notes) == len(EFS_UTILS_NOTES), m.mount_output
    os.listdir(m.mountpoint)
    assert m.unmount() == 0


def test_netns_not_a_namespace(efs_fuse_bin, ganesha, it_tmp):
    # a file that is not a network namespace fails before connecting
    mp = os.path.join(it_tmp, "netns-bad")
    os.makedirs(mp, exist_ok=True)
    plain = os.path.join(it_tmp, "not-a-netns")
    with open(plain, "w") as f:
        f.write("x")
    expect_mount_failure([efs_fuse_bin, ganesha.source, mp, "-o", "netns=" + plain], mp,
                         ["netns=%s: cannot enter it" % plain])


def test_sync_writes_reach_the_server_at_once(ganesha, mount_factory):
    m = mount_factory(ganesha.source, options=["sync"])
    name = "sync-%d" % os.getpid()
    fd = os.open(os.path.join(m.mountpoint, name), os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.write(fd, b"a" * 5000)
        # still open: with sync the bytes are on the server already
        assert os.path.getsize(ganesha.server_path(name)) == 5000
    finally:
        os.close(fd)
    assert m.unmount() == 0


def test_auto_unmount_passes_through(ganesha, mount_factory):
    m = mount_factory(ganesha.source, options=["auto_unmount"])
    pid = m.pid
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not mounts.is_mounted(m.mountpoint), 10), \
        "auto_unmount: %s still mounted after the daemon was killed" % m.mountpoint
    mounts.reap_orphans()


def test_allow_root_passes_through(ganesha, mount_factory, users, host_fuse):
    u1, u2 = users
    m = mount_factory(ganesha.source, user=u1, options=["allow_root"])
    name = "allow-root-%d" % os.getpid()
    for n in (name, name + "-other"):
        os.mkdir(ganesha.server_path(n), 0o755)  # readable by all on the server
        os.chown(ganesha.server_path(n), u1.uid, u1.gid)
    os.stat(os.path.join(m.mountpoint, name))  # root may enter

    def other():
        try:  # a name nobody looked up yet: the kernel must ask the daemon
            os.stat(m.mountpoint + "/" + name + "-other")
            return "allowed"
        except PermissionError:
            return "denied"
    assert u2.run(other) == "denied"  # others may not
    assert m.unmount() == 0


def test_allow_root_and_allow_other_exclude(efs_fuse_bin, ganesha, it_tmp):
    mp = os.path.join(it_tmp, "root-other")
    os.makedirs(mp, exist_ok=True)
    expect_mount_failure([efs_fuse_bin, ganesha.source, mp, "-o", "allow_root,allow_other"],
                         mp, ["allow_other and allow_root exclude each other"], status=1)


def test_fixed_identity(ganesha, mount_factory, users):
    u1, _ = users
    m = mount_factory(ganesha.source, options=["uid=%d" % u1.uid, "gid=%d" % u1.gid])
    d = "fixed-id-%d" % os.getpid()
    os.mkdir(ganesha.server_path(d))
    os.chmod(ganesha.server_path(d), 0o777)
    name = d + "/file"
    with open(os.path.join(m.mountpoint, name), "w") as f:  # we are root
        f.write("x")
    st = os.stat(ganesha.server_path(name))
    assert (st.st_uid, st.st_gid) == (u1.uid, u1.gid), "server file owned by %d:%d" % (
        st.st_uid, st.st_gid)
    # and root's privileges are gone: a root-only file cannot be read
    secret = ganesha.server_path("secret-%d" % os.getpid())
    with open(secret, "w") as f:
        f.write("s")
    os.chmod(secret, 0o600)
    with pytest.raises(PermissionError):
        open(os.path.join(m.mountpoint, os.path.basename(secret))).read()
    assert m.unmount() == 0


@pytest.mark.parametrize("src", ["FS-12345678", "fs-1234567g", "fs-0123456789abcdefZ:/x"])
def test_mistyped_fs_id(efs_fuse_bin, it_tmp, src):
    mp = os.path.join(it_tmp, "badid")
    os.makedirs(mp, exist_ok=True)
    expect_mount_failure([efs_fuse_bin, src, mp], mp,
                         ["a file system id is fs- and 8 or 17 lowercase hex digits",
                          "e.g. fs-12345678"], status=1)


EFS_UTILS_CONF = """[DEFAULT]
logging_level = INFO
state_file_dir_mode = 750

[mount]
dns_name_format = {az}.{fs_id}.efs.{region}.{dns_name_suffix}
dns_name_suffix = amazonaws.com
stunnel_debug_enabled = false
stunnel_cafile = /etc/amazon/efs/efs-utils.crt
stunnel_check_cert_hostname = true
stunnel_check_cert_validity = false
port_range_lower_bound = 20049
port_range_upper_bound = 20449
optimize_readahead = true
fall_back_to_mount_target_ip_address_enabled = true
disable_fetch_ec2_metadata_token = false
%s
[mount.cn-north-1]
dns_name_suffix = amazonaws.com.cn

[mount-watchdog]
enabled = true
poll_interval_sec = 1

[cloudwatch-log]
log_group_name = /aws/efs/utils
"""


def test_efs_utils_conf_copied_as_is(ganesha, mount_factory, it_tmp, monkeypatch):
    conf = os.path.join(it_tmp, "efs-utils.conf")
    with open(conf, "w") as f:
        f.write(EFS_UTILS_CONF % "")
    monkeypatch.setenv("EFS_FUSE_CONFIG", conf)
    m = mount_factory(ganesha.source)
    assert "unknown setting" not in m.mount_output, m.mount_output
    os.listdir(m.mountpoint)
    assert m.unmount() == 0
    # a key efs-fuse does not know is one warning naming FILE:LINE, not an error
    with open(conf, "w") as f:
        f.write(EFS_UTILS_CONF % "some_future_key = 1\n")
    m = mount_factory(ganesha.source)
    warn = [l for l in m.mount_output.splitlines() if "unknown setting" in l]
    assert len(warn) == 1, m.mount_output
    assert "%s:17: unknown setting \"some_future_key\" in [mount] ignored" % conf in warn[0]
    assert m.unmount() == 0
