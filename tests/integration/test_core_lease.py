"""Leases: with a 10 s server lease, an idle mount keeps its client record
on the server (the daemon renews its lease) and, open file included, still
works after 25 s."""

import os
import subprocess
import sys
import time

IDLE = 25


def _io_in_child(script, timeout=30):
    """Run I/O in a child with a deadline: a hung mount fails the test
    instead of hanging it."""
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, p.stderr


def test_idle_past_lease_expiry(ganesha_factory, mount_factory):
    g = ganesha_factory(lease=10)
    m = mount_factory(g.source)
    d = os.path.join(m.mountpoint, "lease-%d" % os.getpid())
    os.mkdir(d)
    held = os.path.join(d, "held-open")
    fd = os.open(held, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.write(fd, b"before idle\n")
        os.fsync(fd)
        records = g.client_records()
        assert len(records) == 1, "server client records: %r" % records
        # The test itself: stay idle for 2.5 leases, watching (server side
        # only) that the client record is never dropped, i.e. the lease is renewed.
        t0 = time.monotonic()
        while time.monotonic() - t0 < IDLE:
            now = g.client_records()
            assert now == records, "after %.1f s idle the server dropped the client " \
                "(lease not renewed): %r -> %r" % (time.monotonic() - t0, records, now)
            time.sleep(0.5)
        t1 = time.monotonic()
        os.write(fd, b"after idle\n")  # open state must have survived
        os.fsync(fd)
        os.lseek(fd, 0, os.SEEK_SET)
        assert os.read(fd, 100) == b"before idle\nafter idle\n"
    finally:
        os.close(fd)
    _io_in_child("p=%r\nopen(p+'/new','w').write('new')\nassert open(p+'/new').read()=='new'"
                 % d)
    elapsed = time.monotonic() - t1
    assert elapsed < 20, "I/O after idle took %.1f s" % elapsed
    with open(g.server_path(os.path.basename(d), "held-open"), "rb") as f:
        assert f.read() == b"before idle\nafter idle\n"
    rc = m.unmount()
    assert rc == 0, "daemon exited %r" % rc
