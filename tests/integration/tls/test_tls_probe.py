"""The TLS transport against a real TLS front (stunnel4) and a real NFS
server (nfs-ganesha): an NFS NULL call gets its reply through TLS, and each
way of getting TLS wrong fails with its own one-line message."""

import os

FS_NAME = "fs-12345678.efs.us-east-1.amazonaws.com"  # in the test certificate


def _one_line(p):
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, "want one line on stderr, got:\n%s" % p.stderr
    return lines[0]


def test_plain_null_reaches_ganesha(ganesha, tls_probe):
    # The probe's RPC is right and the server answers: the baseline for the rest.
    p = tls_probe(ganesha.addr, ganesha.port, plain=True)
    assert p.returncode == 0, p.stderr
    assert "NULL reply ok" in p.stdout and "tcp" in p.stdout


def test_null_through_tls_by_name(tls_front, tls_certs, tls_probe):
    p = tls_probe("127.0.0.1", tls_front.port, FS_NAME, tls_certs.a.ca)
    assert p.returncode == 0, p.stderr
    assert "NULL reply ok" in p.stdout and "tls" in p.stdout
    assert p.stderr == ""


def test_null_through_tls_by_ip(tls_front, tls_certs, tls_probe):
    # No name: the certificate must carry the address we connected to (IP SAN).
    p = tls_probe("127.0.0.1", tls_front.port, "-", tls_certs.a.ca)
    assert p.returncode == 0, p.stderr
    assert "NULL reply ok" in p.stdout


def test_wrong_ca(tls_front, tls_certs, tls_probe):
    p = tls_probe("127.0.0.1", tls_front.port, FS_NAME, tls_certs.b.ca)
    assert p.returncode == 1
    msg = _one_line(p)
    assert msg.startswith("TLS handshake with 127.0.0.1:%d failed: certificate verify failed ("
                          % tls_front.port), msg
    assert tls_certs.b.ca in msg, msg


def test_system_store_does_not_know_test_ca(tls_front, tls_probe):
    p = tls_probe("127.0.0.1", tls_front.port, FS_NAME)
    assert p.returncode == 1
    msg = _one_line(p)
    assert "certificate verify failed" in msg and "-o cafile=PATH" in msg, msg


def test_wrong_hostname(tls_front, tls_certs, tls_probe):
    name = "fs-12345678.efs.eu-west-1.amazonaws.com"
    p = tls_probe("127.0.0.1", tls_front.port, name, tls_certs.a.ca)
    assert p.returncode == 1
    msg = _one_line(p)
    assert "does not match %s (hostname mismatch)" % name in msg, msg


def test_wrong_ip_name(tls_front, tls_certs, tls_probe):
    p = tls_probe("127.0.0.1", tls_front.port, "127.0.0.9", tls_certs.a.ca)
    assert p.returncode == 1
    assert "does not match 127.0.0.9" in _one_line(p)


def test_plaintext_nfs_port(ganesha, tls_certs, tls_probe):
    # ganesha reads the ClientHello as a huge RPC record mark and waits for
    # the rest: the handshake must give up at the connect timeout, and say why.
    p = tls_probe(ganesha.addr, ganesha.port, FS_NAME, tls_certs.a.ca, timeout_ms=1500)
    assert p.returncode == 1
    msg = _one_line(p)
    assert "timed out after 1500 ms -- is it a plaintext NFS port?" in msg, msg
    assert 1.4 < p.elapsed < 6, "took %.2fs" % p.elapsed


def test_missing_cafile(tls_front, it_tmp, tls_probe):
    path = os.path.join(it_tmp, "no-such-ca.crt")
    p = tls_probe("127.0.0.1", tls_front.port, FS_NAME, path)
    assert p.returncode == 1
    assert _one_line(p) == "cannot read CA file %s: No such file or directory" % path


def test_nothing_listening(tls_certs, tls_probe):
    from lib import ganesha as ganesha_lib
    port = ganesha_lib.closed_port()
    p = tls_probe("127.0.0.1", port, FS_NAME, tls_certs.a.ca)
    assert p.returncode == 1
    assert "cannot connect to 127.0.0.1 port %d: Connection refused" % port in _one_line(p)


def test_stunnel_logged_our_sessions(tls_front, tls_certs, tls_probe):
    # The server side agrees: the connection was TLS 1.2+ and reached ganesha.
    p = tls_probe("127.0.0.1", tls_front.port, FS_NAME, tls_certs.a.ca)
    assert p.returncode == 0, p.stderr
    log = tls_front.log()
    assert "connected remote server from" in log or "s_connect: connected" in log, log[-2000:]
    assert "TLSv1.3" in log or "TLSv1.2" in log, log[-2000:]
