"""Where the region comes from, seen through real mounts: -o region, then
AWS_REGION, then AWS_DEFAULT_REGION, then the configuration file, then
instance metadata (IMDSv2, the stand-in).  dnsmasq answers
fs-12345678.efs.us-east-1... with AZ-a (127.0.0.1) and
fs-12345678.efs.us-west-2... with AZ-b (127.0.0.2), so the AZ mounted shows
which region's name efs-fuse built.  Without any source of the region and
without instance metadata, the mount fails fast with a clear message."""

import os
import socket

import pytest

import reachlib


def _az_of(m):
    names = set(os.listdir(m.mountpoint))
    seen = [a for a in ("AZ-a", "AZ-b") if a in names]
    assert len(seen) == 1, "mount shows %r" % sorted(names)
    return seen[0]


def test_region_from_env(reach, az, standin):
    m = reach.mount(reach.opts(port=az.port, region=None), env={"AWS_REGION": "us-east-1"})
    assert _az_of(m) == "AZ-a"
    assert standin.imds_paths() == [], "region was given: instance metadata must not be asked"


def test_region_from_default_region_env(reach, az, standin):
    m = reach.mount(reach.opts(port=az.port, region=None),
                    env={"AWS_DEFAULT_REGION": "us-west-2"})
    assert _az_of(m) == "AZ-b"
    assert standin.imds_paths() == []


def test_region_from_config_file(reach, az, standin):
    reach.write_config({"region": "us-east-1"})
    m = reach.mount(reach.opts(port=az.port, region=None))
    assert _az_of(m) == "AZ-a"
    assert standin.imds_paths() == []


def test_region_from_instance_metadata(reach, az, standin):
    standin.set(region="us-west-2")  # an answer no other source gives
    m = reach.mount(reach.opts(port=az.port, region=None))
    assert _az_of(m) == "AZ-b"
    paths = standin.imds_paths()
    assert "/latest/api/token" in paths, "IMDSv2: a token first (%r)" % paths
    assert "/latest/meta-data/placement/region" in paths, paths
    # the stand-in requires the token (IMDSv2): a GET without one is a 401
    assert all(e["status"] == 200 for e in standin.log()), standin.log()


@pytest.mark.parametrize("opt,env,conf,imds,want", [
    # -o region beats the environment
    ("us-east-1", {"AWS_REGION": "us-west-2"}, None, None, "AZ-a"),
    ("us-west-2", {"AWS_REGION": "us-east-1"}, None, None, "AZ-b"),
    # AWS_REGION beats AWS_DEFAULT_REGION
    (None, {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-west-2"}, None, None, "AZ-a"),
    # the environment beats the configuration file
    (None, {"AWS_REGION": "us-west-2"}, "us-east-1", None, "AZ-b"),
    (None, {"AWS_DEFAULT_REGION": "us-east-1"}, "us-west-2", None, "AZ-a"),
    # -o region beats the configuration file
    ("us-east-1", {}, "us-west-2", None, "AZ-a"),
    # the configuration file beats instance metadata
    (None, {}, "us-west-2", "us-east-1", "AZ-b"),
], ids=["opt>env", "opt>env-2", "AWS_REGION>AWS_DEFAULT_REGION", "env>conf",
        "default-env>conf", "opt>conf", "conf>imds"])
def test_region_precedence(reach, az, standin, opt, env, conf, imds, want):
    if conf:
        reach.write_config({"region": conf})
    if imds:
        standin.set(region=imds)
    m = reach.mount(reach.opts(port=az.port, region=opt), env=env)
    assert _az_of(m) == want
    assert standin.imds_paths() == [], "a region was given: IMDS must not be asked"


def _assert_region_message(r):
    line = r.line
    assert line.startswith("efs-fuse: "), r
    assert "region" in line and "-o region=" in line, r
    assert r.elapsed < 3.0, "took %.2f s (must fail fast without metadata)" % r.elapsed


def test_imds_refused_fails_fast(reach, az):
    reach.write_config({"imds_endpoint": "http://127.0.0.1:%d" % reachlib.closed_tcp_port()})
    r = reach.fail(reach.opts(port=az.port, region=None))
    _assert_region_message(r)


def test_imds_silent_fails_fast(reach, az):
    # accepts TCP (the kernel completes the handshake) and never answers
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    try:
        reach.write_config({"imds_endpoint": "http://127.0.0.1:%d" % s.getsockname()[1]})
        r = reach.fail(reach.opts(port=az.port, region=None))
        _assert_region_message(r)
    finally:
        s.close()


def test_imds_disabled_no_region(reach, az, standin):
    reach.write_config({"imds_enabled": "false"})
    r = reach.fail(reach.opts(port=az.port, region=None))
    _assert_region_message(r)
    assert standin.log() == []
