"""-o tls end to end, found by name: stunnel4 fronts each AZ's nfs-ganesha
(127.0.0.1:S -> AZ-a, 127.0.0.2:S -> AZ-b, one port as EFS takes TLS on its
NFS port), the certificate is made at test time by contrib/tls/gen-certs.sh
(SANs: the fs-12345678 EFS names, *.efs.us-east-1.amazonaws.com, 127.0.0.1,
127.0.0.2).  The name checked is the file system's DNS name, also when
connecting by -o mounttargetip=."""

import hashlib
import os
import subprocess

import pytest

import reachlib
from reachlib import MiB, NAME

SIZE = 16 * MiB


@pytest.fixture(scope="module")
def certs(reach_base):
    out = {}
    for ca in ("good", "other"):
        d = os.path.join(reach_base, "certs-" + ca)
        p = subprocess.run([reachlib.GEN_CERTS, d], capture_output=True, text=True)
        assert p.returncode == 0, "gen-certs.sh failed: %s" % p.stderr
        out[ca] = d
    return out


@pytest.fixture(scope="module")
def fronts(reach_base, az, certs):
    port = reachlib.port_pair()
    started = []
    try:
        for g in (az.a, az.b):
            s = reachlib.Stunnel(os.path.join(reach_base, "stunnel-" + g.az),
                                 os.path.join(certs["good"], "server.crt"),
                                 os.path.join(certs["good"], "server.key"),
                                 (g.addr, port), (g.addr, g.port))
            started.append(s.start())
        yield port, started
    finally:
        for s in started:
            s.stop()


def _ca(certs, which="good"):
    return os.path.join(certs[which], "ca.crt")


def _az_of(m):
    names = set(os.listdir(m.mountpoint))
    seen = [a for a in ("AZ-a", "AZ-b") if a in names]
    assert len(seen) == 1, "mount shows %r" % sorted(names)
    return seen[0]


def test_tls_by_fs_id_moves_16mib(reach, az, fronts, certs):
    port, (front_a, _) = fronts
    m = reach.mount(reach.opts("tls", "cafile=" + _ca(certs), port=port))
    assert _az_of(m) == "AZ-a"
    assert reachlib.daemon_peers(m.pid) == ["127.0.0.1:%d" % port], "not through stunnel"
    name = "tls-16m"
    path = os.path.join(m.mountpoint, name)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for i in range(SIZE // MiB):
            block = hashlib.sha256(b"reach %d" % i).digest() * (MiB // 32)
            block = os.urandom(64) + block[64:]
            h.update(block)
            f.write(block)
    want = h.hexdigest()
    try:
        assert reachlib.sha256_file(az.a.server_path(name)) == want, "server copy differs"
        assert reachlib.sha256_file(path) == want
        # a second TLS mount that has never seen the file
        m2 = reach.mount(reach.opts("tls", "cafile=" + _ca(certs), port=port))
        assert reachlib.sha256_file(os.path.join(m2.mountpoint, name)) == want
    finally:
        os.unlink(path)
    assert "accepted connection" in front_a.log(), "stunnel saw no TLS session"


def test_tls_az_option(reach, az, fronts, certs):
    port, _ = fronts
    m = reach.mount(reach.opts("tls", "az=us-east-1b", "cafile=" + _ca(certs), port=port))
    assert _az_of(m) == "AZ-b"


def test_tls_mounttargetip_checks_fs_name(reach, az, fronts, certs, dns):
    port, _ = fronts
    before = dns.queries(NAME)
    m = reach.mount(reach.opts("tls", "mounttargetip=127.0.0.2", "cafile=" + _ca(certs),
                               port=port))
    assert _az_of(m) == "AZ-b"
    assert dns.queries(NAME) == before


def test_tls_mounttargetip_name_mismatch(reach, az, fronts, certs):
    # the certificate holds IP:127.0.0.1 but not the us-west-2 name: the
    # check must be against the file system's DNS name, so this fails
    port, _ = fronts
    wrong = "fs-12345678.efs.us-west-2.amazonaws.com"
    r = reach.fail(reach.opts("tls", "mounttargetip=127.0.0.1", "cafile=" + _ca(certs),
                              port=port, region="us-west-2"))
    line = r.line
    assert wrong in line and "mismatch" in line, r


def test_tls_wrong_ca(reach, az, fronts, certs):
    port, _ = fronts
    r = reach.fail(reach.opts("tls", "cafile=" + _ca(certs, "other"), port=port))
    line = r.line
    assert "certificate verify failed" in line, r


def test_tls_plaintext_server(reach, az, certs):
    # -o tls against ganesha's plaintext port
    r = reach.fail(reach.opts("tls", "cafile=" + _ca(certs), port=az.port), timeout=60)
    line = r.line
    assert "TLS" in line, r
