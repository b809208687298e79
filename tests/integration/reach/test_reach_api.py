"""DNS cannot resolve the name -> efs-fuse asks the EFS API (the stand-in's
DescribeMountTargets, SigV4 checked with botocore) and mounts the `available`
mount target in this instance's AZ (zone id from instance metadata).

fs-deadbeef is NXDOMAIN in dnsmasq; the stand-in knows its mount targets:
use1-az1 -> 127.0.0.1 (AZ-a), use1-az2 -> 127.0.0.2 (AZ-b), use1-az4 creating.
The stand-in's instance metadata says use1-az2 unless a test changes it."""

import json
import os
import subprocess

import pytest

from reachlib import (API_ONLY_FS, PROFILE_AKID, PROFILE_SECRET, TEST_AKID, TEST_SECRET)

API_NAME = "fs-deadbeef.efs.us-east-1.amazonaws.com"
ENV_KEYS = {"AWS_ACCESS_KEY_ID": TEST_AKID, "AWS_SECRET_ACCESS_KEY": TEST_SECRET}


def _az_of(m):
    names = set(os.listdir(m.mountpoint))
    seen = [a for a in ("AZ-a", "AZ-b") if a in names]
    assert len(seen) == 1, "mount shows %r" % sorted(names)
    return seen[0]


def _api_statuses(standin):
    log = standin.api_log()
    assert all(e["auth"] for e in log), "unsigned EFS API request: %r" % log
    assert all("FileSystemId=" + API_ONLY_FS in e["path"] for e in log), log
    return [e["status"] for e in log]


def test_fallback_env_credentials_mounts_own_az(reach, az, dns, standin):
    standin.set(role=None)  # only the environment's keys can sign
    before = dns.queries(API_NAME)
    m = reach.mount(reach.opts(port=az.port), source=API_ONLY_FS, env=ENV_KEYS)
    assert _az_of(m) == "AZ-b"
    assert dns.queried_since(API_NAME, before), "DNS was not tried first"
    assert set(_api_statuses(standin)) == {200}
    assert "/latest/meta-data/placement/availability-zone-id" in standin.imds_paths()
    # data goes to AZ-b's export
    with open(os.path.join(m.mountpoint, "via-api"), "w") as f:
        f.write("b")
    assert os.path.exists(az.b.server_path("via-api"))
    assert not os.path.exists(az.a.server_path("via-api"))
    os.unlink(os.path.join(m.mountpoint, "via-api"))


def test_fallback_follows_instance_az(reach, az, standin):
    standin.set(role=None, az="us-east-1a", az_id="use1-az1")
    m = reach.mount(reach.opts(port=az.port), source=API_ONLY_FS, env=ENV_KEYS)
    assert _az_of(m) == "AZ-a"


def test_fallback_az_option_picks_by_name(reach, az, standin):
    standin.set(role=None, az="us-east-1a", az_id="use1-az1")
    m = reach.mount(reach.opts("az=us-east-1b", port=az.port), source=API_ONLY_FS,
                    env=ENV_KEYS)
    assert _az_of(m) == "AZ-b"


def test_fallback_profile_credentials(reach, az, standin):
    standin.set(role=None)
    aws = os.path.join(reach.home, ".aws")
    os.makedirs(aws)
    with open(os.path.join(aws, "credentials"), "w") as f:
        f.write("[default]\naws_access_key_id = AKIAWRONGDEFAULT0001\n"
                "aws_secret_access_key = wrongwrongwrongwrongwrongwrongwrong00000\n\n"
                "[reachprof]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                % (PROFILE_AKID, PROFILE_SECRET))
    m = reach.mount(reach.opts("awsprofile=reachprof", port=az.port), source=API_ONLY_FS)
    assert _az_of(m) == "AZ-b"
    assert set(_api_statuses(standin)) == {200}


def test_fallback_instance_role_credentials(reach, az, standin):
    # no keys in the environment or files: the instance role (IMDSv2)
    m = reach.mount(reach.opts(port=az.port), source=API_ONLY_FS)
    assert _az_of(m) == "AZ-b"
    assert set(_api_statuses(standin)) == {200}
    assert "/latest/meta-data/iam/security-credentials/efs-fuse-test-role" in \
        standin.imds_paths()


def test_fallback_wrong_credentials_403(reach, az, standin):
    standin.set(role=None)
    env = dict(ENV_KEYS, AWS_SECRET_ACCESS_KEY="notTheSecret/000000000000000000000000000")
    r = reach.fail(reach.opts(port=az.port), source=API_ONLY_FS, env=env)
    line = r.line
    assert line.startswith("efs-fuse: "), r
    assert API_NAME in line, r
    assert "403" in line or "signature" in line.lower(), r
    assert 403 in _api_statuses(standin)
    assert 200 not in _api_statuses(standin)


def test_fallback_throttled_then_mounts(reach, az, standin):
    standin.set(role=None, throttle=2)  # 429 ThrottlingException, 503, then OK
    m = reach.mount(reach.opts(port=az.port), source=API_ONLY_FS, env=ENV_KEYS)
    assert _az_of(m) == "AZ-b"
    st = _api_statuses(standin)
    # (the stand-in answers 429 first, then 503; its log order may interleave)
    assert st.count(429) == 1 and st.count(503) == 1 and set(st) == {200, 429, 503}, st


def test_fallback_asks_the_api_once_per_mount(reach, az, standin):
    """One mount, one DescribeMountTargets (and one IMDS token): resolving
    again for the very first connection doubles the API calls of every
    mount (and the throttling risk of a fleet mounting at boot)."""
    standin.set(role=None)
    m = reach.mount(reach.opts(port=az.port), source=API_ONLY_FS, env=ENV_KEYS)
    assert _az_of(m) == "AZ-b"
    assert _api_statuses(standin) == [200], \
        "DescribeMountTargets called %d times for one mount" % len(_api_statuses(standin))


def test_fallback_disabled_gives_nxdomain(reach, az, standin):
    reach.write_config({"fall_back_to_mount_target_ip_address_enabled": "false"})
    r = reach.fail(reach.opts(port=az.port), source=API_ONLY_FS, env=ENV_KEYS)
    line = r.line
    assert API_NAME in line, r
    assert "mounttargetip" in line and "dnsserver" in line, r
    assert standin.api_log() == [], "fallback disabled: the EFS API must not be asked"


def test_fallback_no_mount_target_in_az(reach, az, standin):
    # fs-0badc0de has a mount target only in use1-az6; the instance is in use1-az2
    r = reach.fail(reach.opts(port=az.port), source="fs-0badc0de", env=ENV_KEYS)
    line = r.line
    assert "use1-az2" in line, r
    assert standin.api_log(), "the EFS API was not asked"


def test_aws_cli_parses_standin(standin):
    """The stand-in's answers are what botocore's EFS model expects: the
    Debian awscli, pointed at it, parses DescribeMountTargets."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent",
           "AWS_ACCESS_KEY_ID": TEST_AKID, "AWS_SECRET_ACCESS_KEY": TEST_SECRET,
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": ""}
    if not os.access("/usr/bin/aws", os.X_OK):
        pytest.fail("/usr/bin/aws missing: apt-get install awscli (scripts/install-deps.sh)")
    p = subprocess.run(["/usr/bin/aws", "efs", "describe-mount-targets",
                        "--endpoint-url", standin.url, "--region", "us-east-1",
                        "--file-system-id", "fs-12345678", "--output", "json"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    got = sorted((t["AvailabilityZoneId"], t["IpAddress"], t["LifeCycleState"])
                 for t in out["MountTargets"])
    assert got == [("use1-az1", "127.0.0.1", "available"),
                   ("use1-az2", "127.0.0.2", "available")]
    assert _api_ok(standin)
    # and a wrong key is refused the way AWS refuses it
    env["AWS_SECRET_ACCESS_KEY"] = "notTheSecret/000000000000000000000000000"
    p = subprocess.run(["/usr/bin/aws", "efs", "describe-mount-targets",
                        "--endpoint-url", standin.url, "--region", "us-east-1",
                        "--file-system-id", "fs-12345678"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "InvalidSignatureException" in p.stderr, p.stderr


def _api_ok(standin):
    return [e["status"] for e in standin.api_log()] == [200]


