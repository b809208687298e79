"""`efs-fuse fs-12345678 MNT` finds its mount target through DNS (dnsmasq as
the VPC resolver), picks another AZ with -o az=, fails clearly on NXDOMAIN,
and skips DNS entirely with -o mounttargetip= (Direct Connect / on-premises)."""

import os

import reachlib
from reachlib import AZB_NAME, NAME


def _which_az(m, az):
    """Which AZ's export the mount shows (by marker file), asserting only one."""
    names = set(os.listdir(m.mountpoint))
    seen = [g.az for g in (az.a, az.b) if g.az in names]
    assert len(seen) == 1, "mount shows markers %r (entries %r)" % (seen, sorted(names))
    with open(os.path.join(m.mountpoint, seen[0])) as f:
        assert f.read() == seen[0] + "\n"
    return seen[0]


def _write_lands_in(m, az, target, name):
    other = az.b if target is az.a else az.a
    data = os.urandom(4096)
    with open(os.path.join(m.mountpoint, name), "wb") as f:
        f.write(data)
    try:
        with open(target.server_path(name), "rb") as f:
            assert f.read() == data, "data written through the mount differs on %s" % target.az
        assert not os.path.exists(other.server_path(name)), "write landed in %s" % other.az
    finally:
        os.unlink(os.path.join(m.mountpoint, name))
    assert not os.path.exists(target.server_path(name))


def test_fs_id_mounts_own_az_by_dns(reach, az, dns):
    before = dns.queries(NAME)
    m = reach.mount(reach.opts(port=az.port))
    assert _which_az(m, az) == "AZ-a"
    _write_lands_in(m, az, az.a, "by-dns")
    assert dns.queried_since(NAME, before), "dnsmasq never saw a query for %s" % NAME
    assert reachlib.daemon_peers(m.pid) == ["127.0.0.1:%d" % az.port]
    assert reach.standin.api_log() == [], "DNS answered: the EFS API must not be asked"


def test_full_dns_name_as_source(reach, az):
    m = reach.mount(reach.opts(port=az.port, region=None), source=NAME + ":/")
    assert _which_az(m, az) == "AZ-a"


def test_az_option_mounts_other_az(reach, az, dns):
    before = dns.queries(AZB_NAME)
    m = reach.mount(reach.opts("az=us-east-1b", port=az.port))
    assert _which_az(m, az) == "AZ-b"
    _write_lands_in(m, az, az.b, "by-az")
    assert dns.queried_since(AZB_NAME, before), "dnsmasq never saw a query for %s" % AZB_NAME
    assert reachlib.daemon_peers(m.pid) == ["127.0.0.2:%d" % az.port]


def test_nxdomain_is_one_clear_line(reach, az, dns):
    bad = "fs-99999999.efs.us-east-1.amazonaws.com"
    # only DNS is under test here: no EFS API fallback
    reach.write_config({"fall_back_to_mount_target_ip_address_enabled": "false"})
    r = reach.fail(reach.opts(port=az.port), source="fs-99999999")
    line = r.line
    assert line.startswith("efs-fuse: "), r
    assert bad in line, r
    assert "mounttargetip" in line and "dnsserver" in line, r
    assert dns.queried_since(bad, 0), "the NXDOMAIN did not come from dnsmasq"
    assert reach.standin.api_log() == []


def test_unknown_fs_with_api_fallback_is_one_line(reach, az, dns):
    # default configuration: DNS says NXDOMAIN, then the EFS API says the
    # file system does not exist; still one line naming the name tried
    bad = "fs-99999999.efs.us-east-1.amazonaws.com"
    env = {"AWS_ACCESS_KEY_ID": reachlib.TEST_AKID,
           "AWS_SECRET_ACCESS_KEY": reachlib.TEST_SECRET}
    r = reach.fail(reach.opts(port=az.port), source="fs-99999999", env=env)
    line = r.line
    assert bad in line and "mounttargetip" in line and "dnsserver" in line, r
    assert [e["status"] for e in reach.standin.api_log()][:1] == [404], \
        reach.standin.api_log()


def test_mounttargetip_uses_no_dns(reach, az, dns):
    before = dns.queries(NAME) + dns.queries(AZB_NAME)
    dead = "127.0.0.1:%d" % reachlib.udp_port()  # nobody answers there
    m = reach.mount(reach.opts("mounttargetip=127.0.0.2", port=az.port, dnsserver=dead))
    assert _which_az(m, az) == "AZ-b"
    _write_lands_in(m, az, az.b, "by-ip")
    assert dns.queries(NAME) + dns.queries(AZB_NAME) == before, "a DNS query was made"
    assert reach.standin.api_log() == []


def test_mounttargetip_without_region_or_dns(reach, az, standin):
    # on premises: no region, no resolver, no instance metadata at all
    reach.write_config({"imds_enabled": "false", "imds_endpoint": None,
                        "efs_api_endpoint": None})
    m = reach.mount(reach.opts("mounttargetip=127.0.0.1", port=az.port, region=None,
                               dnsserver=None))
    assert _which_az(m, az) == "AZ-a"
    assert standin.log() == []
