"""Re-resolution on reconnect: mounted by DNS name on AZ-a, the DNS answer
changes to AZ-b and AZ-a's server goes away; the mount's next I/O must reach
AZ-b without a remount.

Like EFS (one file system behind every mount target, the same file handles
everywhere), both nfs-ganesha instances here export the SAME directory, each
with its own state.  That AZ-b served the I/O is shown by: AZ-a's ganesha is
stopped (nothing else could), the daemon's TCP peer is 127.0.0.2, dnsmasq
logged a new query for the name, and AZ-b's ganesha holds a client record."""

import os
import subprocess
import sys

import pytest

import reachlib
from reachlib import SWITCH_FS, SWITCH_NAME


@pytest.fixture
def shared_pair(reach_base, dns):
    d = os.path.join(reach_base, "shared-%d" % len(os.listdir(reach_base)))
    os.makedirs(os.path.join(d, "export"))
    export = os.path.join(d, "export")
    port = reachlib.port_pair()
    started = []
    dns.switch("127.0.0.1")
    try:
        for name, addr in (("AZ-a", "127.0.0.1"), ("AZ-b", "127.0.0.2")):
            started.append(reachlib.start_az(d, name, addr, port, export_dir=export,
                                             marker=False))
        yield started[0], started[1], export
    finally:
        for g in started:
            g.stop()
        dns.switch("127.0.0.1")


def _write_with_deadline(path, data, timeout):
    """Write and close path in a child process; (ok, detail).  A hung FUSE
    request must not hang the test: the child is abandoned (reach's cleanup
    unmounts and stops the daemon, which releases it)."""
    code = "import sys; open(sys.argv[1], 'wb').write(bytes.fromhex(sys.argv[2]))"
    try:
        p = subprocess.run([sys.executable, "-c", code, path, data.hex()],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "write through the mount did not finish within %ss" % timeout
    return p.returncode == 0, p.stderr.strip()


def test_reconnect_resolves_again(reach, dns, shared_pair):
    a, b, export = shared_pair
    m = reach.mount(reach.opts(port=a.port), source=SWITCH_FS)
    assert reachlib.daemon_peers(m.pid) == ["127.0.0.1:%d" % a.port]
    before = os.urandom(1000)
    with open(os.path.join(m.mountpoint, "before"), "wb") as f:
        f.write(before)
    assert open(os.path.join(export, "before"), "rb").read() == before

    # AZ-a goes away and the name now answers AZ-b
    queries = dns.queries(SWITCH_NAME)
    dns.switch("127.0.0.2")
    assert a.stop() is not None
    assert not a.running

    after = os.urandom(2000)
    ok, detail = _write_with_deadline(os.path.join(m.mountpoint, "after"), after, 60)
    peers = reachlib.daemon_peers(m.pid) if m.pid else []
    assert ok, "I/O after the switch failed: %s (daemon peers %r, dnsmasq queries for "\
        "%s since the switch: %d)" % (detail, peers, SWITCH_NAME,
                                     dns.queries(SWITCH_NAME) - queries)
    with open(os.path.join(export, "after"), "rb") as f:
        assert f.read() == after
    assert dns.queried_since(SWITCH_NAME, queries), "the reconnect did not ask DNS again"
    assert peers == ["127.0.0.2:%d" % b.port], "daemon connected to %r" % peers
    assert b.client_records(), "AZ-b's ganesha holds no client record for the mount"
    # files opened before the switch are still reachable (same handles on AZ-b)
    with open(os.path.join(m.mountpoint, "before"), "rb") as f:
        assert f.read() == before


def test_reconnect_keeps_address_when_dns_fails(reach, dns, shared_pair):
    """The name stops resolving (NXDOMAIN, no API fallback) while AZ-a's
    server restarts: the reconnect keeps the address it had and the mount
    carries on."""
    a, b, export = shared_pair
    b.stop()  # only AZ-a exists in this story
    m = reach.mount(reach.opts(port=a.port), source=SWITCH_FS)
    assert reachlib.daemon_peers(m.pid) == ["127.0.0.1:%d" % a.port]
    # efs-fuse re-reads its configuration on every resolution
    reach.write_config({"fall_back_to_mount_target_ip_address_enabled": "false"})
    dns.forget()  # SWITCH_NAME -> NXDOMAIN
    queries = dns.queries(SWITCH_NAME)
    assert a.stop() is not None
    a.start()
    data = os.urandom(3000)
    ok, detail = _write_with_deadline(os.path.join(m.mountpoint, "kept"), data, 60)
    assert ok, "I/O after the restart failed: %s" % detail
    with open(os.path.join(export, "kept"), "rb") as f:
        assert f.read() == data
    assert dns.queried_since(SWITCH_NAME, queries), "the reconnect did not ask DNS again"
    assert reachlib.daemon_peers(m.pid) == ["127.0.0.1:%d" % a.port]
