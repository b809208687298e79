"""-o iam / -o accesspoint= through the IAM-checking mount target stand-in
(tests/standin/iam_target.py in front of nfs-ganesha): what it accepts
mounts and moves data, what it refuses fails the mount with one line that
says why, files made through an access point belong to its uid/gid, and a
reconnect after the certificate's validity presents a new, re-signed one."""

import errno
import os
import time

import pytest

from iamlib import (ALL_ACTIONS, AP_GID, AP_ID, AP_OTHER_FS, AP_ROOT, AP_UID, ENV_KEY,
                      FS_ID, new_verdicts, wait_for)


def _env_keys(env):
    env.setenv(AWS_ACCESS_KEY_ID=ENV_KEY[0], AWS_SECRET_ACCESS_KEY=ENV_KEY[1])


def test_iam_mount_accepted_moves_data(iam_env, iam_fs, iam_target):
    _env_keys(iam_env)
    iam_target.set(policy={ENV_KEY[0]: ALL_ACTIONS})
    m = iam_env.mount()
    name = "iam-ok-%d" % os.getpid()
    data = os.urandom(300000)
    with open(os.path.join(m.mountpoint, name), "wb") as f:
        f.write(data)
    with open(os.path.join(iam_fs.root, name), "rb") as f:
        assert f.read() == data, "the server does not have what was written"
    st = os.stat(os.path.join(iam_fs.root, name))
    assert (st.st_uid, st.st_gid) == (0, 0), "root's file is not root's (ClientRootAccess)"
    v = [x for x in new_verdicts(iam_target) if x["ok"]]
    assert len(v) == 1, new_verdicts(iam_target)
    v = v[0]
    assert v["access_key"] == ENV_KEY[0] and not v["has_token"]
    assert v["fs_id"] == FS_ID and "access_point" not in v
    assert v["client_info"][0] == "efs-fuse"
    assert v["ext_order"] == ["2.5.29.14", "1.3.6.1.4.1.4843.7.2", "1.3.6.1.4.1.4843.7.3",
                              "1.3.6.1.4.1.4843.7.4"]
    # efs-utils' window: 15 minutes back, 3 hours ahead
    assert abs(v["signed_at"] - v["not_before"] - 900) <= 1
    assert abs(v["not_after"] - v["signed_at"] - 3 * 3600) <= 1
    assert abs(v["signed_at"] - time.time()) < 120
    os.unlink(os.path.join(m.mountpoint, name))
    assert m.unmount() == 0


def test_iam_denied_by_policy(iam_env, iam_target):
    _env_keys(iam_env)
    iam_target.set(policy={"AKIASOMEONEELSE00001": ALL_ACTIONS})
    line = iam_env.mount_fails()
    assert "access denied by the file system policy" in line
    assert "elasticfilesystem:ClientMount" in line and "environment" in line
    assert [v["alert"] for v in new_verdicts(iam_target)] == ["access_denied"]


def test_iam_denied_at_the_nfs_level(iam_env, iam_target):
    """EFS as publicly reported: TLS is accepted, the mount gets NFS4ERR_ACCESS."""
    _env_keys(iam_env)
    iam_target.set(policy={"AKIASOMEONEELSE00001": ALL_ACTIONS}, deny_mode="nfs")
    line = iam_env.mount_fails()
    assert "NFS4ERR_ACCESS" in line, line
    assert "may not grant elasticfilesystem:ClientMount to the credentials from environment" \
        in line
    assert [v["alert"] for v in new_verdicts(iam_target)] == ["access_denied"]


def test_iam_expired_credentials(iam_env, iam_target):
    _env_keys(iam_env)
    keys = dict(iam_target.config["keys"])
    keys[ENV_KEY[0]] = dict(keys[ENV_KEY[0]], expiration=time.time() - 60)
    iam_target.set(keys=keys)
    line = iam_env.mount_fails()
    assert "expired" in line and "refresh the credentials" in line
    assert [v["alert"] for v in new_verdicts(iam_target)] == ["certificate_expired"]


def test_iam_wrong_secret(iam_env, iam_target):
    iam_env.setenv(AWS_ACCESS_KEY_ID=ENV_KEY[0], AWS_SECRET_ACCESS_KEY="not-the-secret")
    line = iam_env.mount_fails()
    assert "did not accept the IAM signature" in line and "environment" in line
    v = new_verdicts(iam_target)
    assert [x["reason"] for x in v] == ["signature mismatch"]


def test_iam_no_credentials_lists_sources(iam_env, iam_target):
    line = iam_env.mount_fails()
    assert line.startswith("efs-fuse: no AWS credentials for -o iam (tried ")
    assert "profile: profile default not in" in line
    assert "instance role: instance metadata is disabled" in line
    assert "AWS_ACCESS_KEY_ID" in line and "awsprofile" in line
    assert new_verdicts(iam_target) == [], "it connected without credentials"


def test_iam_required_but_not_given(iam_env, iam_target):
    iam_target.set(policy={ENV_KEY[0]: ALL_ACTIONS})
    line = iam_env.mount_fails(extra=("accesspoint=" + AP_ID,))
    assert "requires IAM authorization: add -o iam" in line
    assert [v["alert"] for v in new_verdicts(iam_target)] == ["access_denied"]


def test_iam_read_only_policy(iam_env, iam_fs, iam_target):
    """ClientMount without ClientWrite: EFS mounts read-only."""
    _env_keys(iam_env)
    iam_target.set(policy={ENV_KEY[0]: ["elasticfilesystem:ClientMount"]})
    name = "iam-ro-%d" % os.getpid()
    with open(os.path.join(iam_fs.root, name), "w") as f:
        f.write("server side\n")
    m = iam_env.mount()
    with open(os.path.join(m.mountpoint, name)) as f:
        assert f.read() == "server side\n"
    with pytest.raises(OSError) as e:
        with open(os.path.join(m.mountpoint, name + ".new"), "w") as f:
            f.write("x")
    assert e.value.errno in (errno.EROFS, errno.EACCES, errno.EPERM), e.value
    assert not os.path.exists(os.path.join(iam_fs.root, name + ".new"))
    os.unlink(os.path.join(iam_fs.root, name))
    assert m.unmount() == 0


@pytest.mark.parametrize("with_iam", [True, False], ids=["iam", "no-iam"])
def test_access_point_files_belong_to_its_identity(iam_env, iam_fs, iam_target, with_iam):
    _env_keys(iam_env)
    if with_iam:
        iam_target.set(policy={ENV_KEY[0]: ALL_ACTIONS})
    extra = ["accesspoint=" + AP_ID] + (["iam"] if with_iam else [])
    m = iam_env.mount(extra=extra)
    name = "ap-%s-%d" % (with_iam, os.getpid())
    with open(os.path.join(m.mountpoint, name), "w") as f:
        f.write("through the access point\n")
    os.mkdir(os.path.join(m.mountpoint, name + ".d"))
    # it lands in the access point's root directory, owned by its identity
    for p in (name, name + ".d"):
        st = os.stat(os.path.join(iam_fs.ap_root, p))
        assert (st.st_uid, st.st_gid) == (AP_UID, AP_GID), (p, st.st_uid, st.st_gid)
    assert not os.path.exists(os.path.join(iam_fs.root, name))
    assert os.path.basename(iam_fs.ap_root) == AP_ROOT
    v = [x for x in new_verdicts(iam_target) if x["ok"]]
    assert len(v) == 1 and v[0]["access_point"] == AP_ID
    assert ("1.3.6.1.4.1.4843.7.2" in v[0]["ext_order"]) == with_iam
    assert v[0]["ext_order"][:2] == ["2.5.29.14", "1.3.6.1.4.1.4843.7.1"]
    os.unlink(os.path.join(m.mountpoint, name))
    os.rmdir(os.path.join(m.mountpoint, name + ".d"))
    assert m.unmount() == 0


def test_access_point_of_another_file_system(iam_env, iam_target):
    _env_keys(iam_env)
    line = iam_env.mount_fails(extra=("iam", "accesspoint=" + AP_OTHER_FS))
    assert "access point %s was not found in file system %s" % (AP_OTHER_FS, FS_ID) in line
    assert [v["reason"] for v in new_verdicts(iam_target)] == [
        "access point %s belongs to fs-87654321" % AP_OTHER_FS]


def test_access_point_unknown(iam_env, iam_target):
    line = iam_env.mount_fails(extra=("accesspoint=fsap-00000000000000000",))
    assert "access point fsap-00000000000000000 was not found" in line


def test_reconnect_presents_a_new_certificate(iam_env, iam_fs, iam_target):
    """A certificate valid for 20 s; after it expired the connection drops;
    the reconnect must present a new one (the stand-in refuses the old)."""
    _env_keys(iam_env)
    iam_env.setenv(EFS_FUSE_TEST_CERT_VALIDITY_S="20")
    iam_target.set(policy={ENV_KEY[0]: ALL_ACTIONS})
    m = iam_env.mount()
    first = [x for x in new_verdicts(iam_target) if x["ok"]]
    assert len(first) == 1
    first = first[0]
    assert first["not_after"] - first["signed_at"] == 20
    with open(os.path.join(m.mountpoint, "before"), "w") as f:
        f.write("1")
    wait_for(lambda: time.time() > first["not_after"] + 1, 30, "the certificate to expire")
    assert iam_target.drop().startswith("dropped ")
    name = "after-%d" % os.getpid()
    with open(os.path.join(m.mountpoint, name), "w") as f:  # needs the server again
        f.write("2")
    assert os.path.exists(os.path.join(iam_fs.root, name))
    ok = [x for x in new_verdicts(iam_target) if x["ok"]]
    assert len(ok) >= 2, new_verdicts(iam_target)
    second = ok[1]
    assert second["signed_at"] > first["not_after"]
    assert second["serial"] != first["serial"]
    assert second["signature"] != first["signature"]
    assert all(x["ok"] for x in new_verdicts(iam_target)), "an old certificate was presented"
    for p in ("before", name):
        os.unlink(os.path.join(m.mountpoint, p))
    assert m.unmount() == 0


def test_iam_needs_a_file_system_id(iam_env, iam_target, efs_fuse_bin):
    from iamlib import mount_fails
    mp = os.path.join(iam_env.dir, "mnt-host")
    os.makedirs(mp)
    line = mount_fails(efs_fuse_bin, "127.0.0.1:%d:/" % iam_target.port,
                       ["iam", "cafile=" + iam_target.cafile], mp)
    assert "-o iam needs the file system id as SOURCE (fs-XXXXXXXX[:/path])" in line
    assert new_verdicts(iam_target) == []
