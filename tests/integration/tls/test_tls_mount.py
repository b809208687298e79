"""efs-fuse -o tls through stunnel4 in front of nfs-ganesha: data moves
through the mount over TLS, and a mount with the wrong CA or against a
plaintext port fails with one line that says why, leaving nothing mounted.

The source is an address (127.0.0.1:PORT:/export), so the name checked is the
address itself: the test certificate carries IP:127.0.0.1."""

import hashlib
import os
import subprocess

from lib import mounts

SIZE = 64 << 20
CHUNK = 1 << 20


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(CHUNK)
            if not b:
                return h.hexdigest()
            h.update(b)


def _tls_source(front):
    return "127.0.0.1:%d:/export" % front.port


def test_tls_mount_moves_64mib(tls_front, tls_certs, ganesha, mount_factory):
    opts = ["tls", "cafile=" + tls_certs.a.ca]
    m = mount_factory(_tls_source(tls_front), options=opts)
    name = "tls-64m-%d" % os.getpid()
    path = os.path.join(m.mountpoint, name)
    h = hashlib.sha256()
    seed = hashlib.sha256(b"efs-fuse tls").digest()
    with open(path, "wb") as f:
        for i in range(SIZE // CHUNK):
            # 1 MiB of varied bytes per step (cheap to make, not compressible)
            block = hashlib.sha256(seed + i.to_bytes(4, "big")).digest() * (CHUNK // 32)
            block = bytes(b ^ (j & 0xff) for j, b in enumerate(block[:4096])) + block[4096:]
            h.update(block)
            f.write(block)
        f.flush()
        os.fsync(f.fileno())
    want = h.hexdigest()
    assert mounts.is_mounted(m.mountpoint), "the mount went away while writing"
    assert os.path.getsize(path) == SIZE
    # The server has every byte (close-to-open: close() waited for COMMIT).
    assert _sha256(ganesha.server_path(name)) == want
    # Read back through the same mount ...
    assert _sha256(path) == want
    # ... and through a fresh TLS mount, whose page cache has never seen it.
    m2 = mount_factory(_tls_source(tls_front), options=opts)
    assert _sha256(os.path.join(m2.mountpoint, name)) == want
    os.unlink(path)
    assert not os.path.exists(ganesha.server_path(name))
    assert m2.unmount() == 0
    assert m.unmount() == 0


def _mount_fails(bin_path, source, opts, mountpoint, timeout=90):
    try:
        p = subprocess.run([bin_path, source, mountpoint, "-o", ",".join(opts)],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
    finally:
        mounts.EfsMount(bin_path, source, mountpoint).cleanup_stray()
    assert p.returncode != 0, "exit 0 for %s -o %s" % (source, opts)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, "want a one-line error, got:\n%s" % p.stderr
    print("efs-fuse said: " + lines[0])
    # (Only our mount point: other tests may mount and unmount meanwhile.)
    assert not mounts.is_mounted(mountpoint)
    assert not mounts.find_daemon(bin_path, mountpoint), "a daemon is left for " + mountpoint
    return lines[0]


def test_tls_mount_wrong_ca(efs_fuse_bin, tls_front, tls_certs, it_tmp):
    mp = os.path.join(it_tmp, "tls-wrong-ca")
    os.mkdir(mp)
    msg = _mount_fails(efs_fuse_bin, _tls_source(tls_front),
                       ["tls", "cafile=" + tls_certs.b.ca], mp)
    assert "certificate verify failed" in msg, msg
    assert "127.0.0.1:%d" % tls_front.port in msg, msg


def test_tls_mount_plaintext_port(efs_fuse_bin, ganesha, tls_certs, it_tmp):
    mp = os.path.join(it_tmp, "tls-plain-port")
    os.mkdir(mp)
    msg = _mount_fails(efs_fuse_bin, ganesha.source, ["tls", "cafile=" + tls_certs.a.ca], mp)
    assert "is it a plaintext NFS port?" in msg, msg


def _fsid_opts(front, certs, region):
    # Connect by address (no DNS), check the certificate against the
    # file system's DNS name fs-12345678.efs.REGION.amazonaws.com.
    return ["tls", "cafile=" + certs.a.ca, "mounttargetip=127.0.0.1",
            "port=%d" % front.port, "region=" + region]


def test_tls_mount_fsid_checks_efs_name(tls_front, tls_certs, ganesha, mount_factory):
    m = mount_factory("fs-12345678:/export",
                      options=_fsid_opts(tls_front, tls_certs, "us-east-1"))
    name = "tls-fsid-%d" % os.getpid()
    data = os.urandom(3 << 20)
    with open(os.path.join(m.mountpoint, name), "wb") as f:
        f.write(data)
    with open(ganesha.server_path(name), "rb") as f:
        assert f.read() == data
    os.unlink(os.path.join(m.mountpoint, name))
    assert m.unmount() == 0


def test_tls_mount_fsid_wrong_region_is_name_mismatch(efs_fuse_bin, tls_front, tls_certs,
                                                      it_tmp):
    mp = os.path.join(it_tmp, "tls-wrong-name")
    os.mkdir(mp)
    msg = _mount_fails(efs_fuse_bin, "fs-12345678:/export",
                       _fsid_opts(tls_front, tls_certs, "eu-west-1"), mp)
    assert "does not match fs-12345678.efs.eu-west-1.amazonaws.com" in msg, msg
