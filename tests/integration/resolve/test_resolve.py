"""Resolution paths of resolve_mount_target(), end to end without mounting:
dnsmasq answers the EFS names, the stand-in plays instance metadata and the
EFS API (verifying every SigV4 signature with botocore)."""

import json
import os
import socket
import subprocess

import pytest

from efs_env import (PROFILE_AKID, PROFILE_SECRET, TEST_AKID, TEST_SECRET, PYTHON, free_port)

FS = "fs-12345678"
NAME = "fs-12345678.efs.us-east-1.amazonaws.com"
GOOD_KEYS = {"AWS_ACCESS_KEY_ID": TEST_AKID, "AWS_SECRET_ACCESS_KEY": TEST_SECRET}


def ok(r):
    assert r.rc == 0, r
    return r


def failed(r):
    assert r.rc == 1, r
    assert r.out.startswith("error("), r
    return r.out


# ---- DNS ------------------------------------------------------------------

def test_fs_id_resolves_azless_name(env):
    r = ok(env.run("--fs-id", FS, "--region", "us-east-1"))
    assert r["addr"] == "127.0.0.1"
    assert r["tls_name"] == NAME
    assert r["region"] == "us-east-1"
    assert r["how"] == "dns"
    assert env.standin.api_log() == []


def test_az_option_uses_az_name(env):
    r = ok(env.run("--fs-id", FS, "--region", "us-east-1", "--az", "us-east-1b"))
    assert r["addr"] == "127.0.0.2"
    assert r["tls_name"] == "us-east-1b." + NAME
    r = ok(env.run("--fs-id", FS, "--region", "us-east-1", "--az", "us-east-1a"))
    assert r["addr"] == "127.0.0.1"


def test_nxdomain_names_the_name_and_suggests(env):
    env.write_config({"fall_back_to_mount_target_ip_address_enabled": "false"})
    msg = failed(env.run("--fs-id", "fs-99999999", "--region", "us-east-1"))
    assert "fs-99999999.efs.us-east-1.amazonaws.com" in msg
    assert "no such name" in msg
    assert "-o mounttargetip=" in msg and "-o dnsserver=" in msg
    assert env.dnsmasq.server in msg
    assert env.standin.api_log() == [], "fallback disabled: the API must not be asked"


def test_dns_server_timeout_is_bounded(env):
    # a UDP socket that never answers
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    try:
        env.write_config({"dnsserver": "127.0.0.1:%d" % s.getsockname()[1],
                          "dns_timeout_ms": "600",
                          "fall_back_to_mount_target_ip_address_enabled": "false"})
        r = env.run("--fs-id", FS, "--region", "us-east-1")
        msg = failed(r)
        assert "no answer" in msg and "600 ms" in msg and NAME in msg
        assert r.elapsed < 2.0, r
    finally:
        s.close()


def test_dnsserver_option_beats_config(env, dnsmasq):
    env.write_config({"dnsserver": "127.0.0.1:1",
                      "fall_back_to_mount_target_ip_address_enabled": "false"})
    failed(env.run("--fs-id", FS, "--region", "us-east-1"))
    r = ok(env.run("--fs-id", FS, "--region", "us-east-1", "--dnsserver", dnsmasq.server))
    assert r["addr"] == "127.0.0.1"


def test_bad_dnsserver_is_explained(env):
    msg = failed(env.run("--fs-id", FS, "--region", "us-east-1", "--dnsserver", "not an ip"))
    assert "dnsserver" in msg and "IP[:PORT]" in msg


def test_china_suffix_from_region_section(env):
    env.write_config(extra="[mount.cn-north-1]\ndns_name_suffix = amazonaws.com.cn\n")
    r = ok(env.run("--fs-id", FS, "--region", "cn-north-1"))
    assert r["tls_name"] == "fs-12345678.efs.cn-north-1.amazonaws.com.cn"
    assert r["addr"] == "127.0.0.4"
    # the section does not leak into other regions
    r = ok(env.run("--fs-id", FS, "--region", "us-east-1"))
    assert r["tls_name"] == NAME


def test_custom_dns_name_format(env):
    env.write_config({"dns_name_format": "nfs.example.test"})
    r = ok(env.run("--fs-id", FS, "--region", "us-east-1"))
    assert r["addr"] == "127.0.0.6" and r["tls_name"] == "nfs.example.test"
    env.write_config({"dns_name_format": "{fs_id}.{zone}.example.test"})
    msg = failed(env.run("--fs-id", FS, "--region", "us-east-1"))
    assert "{zone}" in msg


def test_host_source(env):
    r = ok(env.run("--host", "nfs.example.test"))
    assert r["addr"] == "127.0.0.6" and r["tls_name"] == "nfs.example.test"
    assert r["how"] == "dns"
    r = ok(env.run("--host", "127.0.0.7"))
    assert r["addr"] == "127.0.0.7" and r["how"] == "ip"
    r = ok(env.run("--host", "::1"))
    assert r["addr"] == "::1"
    msg = failed(env.run("--host", "nosuch.example.test"))
    assert "nosuch.example.test" in msg and "no such name" in msg


def test_reresolution_sees_dns_change(env, dnsmasq):
    """The same call on reconnect re-resolves: a changed record is picked up."""
    name = "fs-0000aaaa.efs.us-east-1.amazonaws.com"
    dnsmasq.set_hosts([("127.0.0.11", name)])
    r = ok(env.run("--fs-id", "fs-0000aaaa", "--region", "us-east-1"))
    assert r["addr"] == "127.0.0.11"
    dnsmasq.set_hosts([("127.0.0.12", name)])
    r = ok(env.run("--fs-id", "fs-0000aaaa", "--region", "us-east-1"))
    assert r["addr"] == "127.0.0.12"
    dnsmasq.set_hosts([])


# ---- mounttargetip (Direct Connect) ----------------------------------------

def test_mounttargetip_skips_dns(env):
    env.write_config({"dnsserver": "127.0.0.1:1", "imds_endpoint": "http://127.0.0.1:1"})
    r = ok(env.run("--fs-id", FS, "--mounttargetip", "10.0.3.7", "--region", "us-east-1"))
    assert r["addr"] == "10.0.3.7" and r["how"] == "ip"
    assert r["tls_name"] == NAME
    # no region, no tls: still fine, and instance metadata is not even asked
    r = ok(env.run("--fs-id", FS, "--mounttargetip", "10.0.3.7"))
    assert r["addr"] == "10.0.3.7" and r["region"] == "-"
    assert r.elapsed < 1.0
    msg = failed(env.run("--fs-id", FS, "--mounttargetip", "10.0.3"))
    assert "not an IP address" in msg


def test_mounttargetip_tls_needs_region(env):
    env.write_config({"imds_enabled": "false"})
    msg = failed(env.run("--fs-id", FS, "--mounttargetip", "10.0.3.7", "--tls"))
    assert "-o tls" in msg and "region" in msg
    r = ok(env.run("--fs-id", FS, "--mounttargetip", "10.0.3.7", "--tls",
                   env={"AWS_REGION": "us-east-1"}))
    assert r["tls_name"] == NAME
    # with instance metadata on, the region comes from there
    env.write_config()
    r = ok(env.run("--fs-id", FS, "--mounttargetip", "10.0.3.7", "--tls"))
    assert r["tls_name"] == NAME and r["region"] == "us-east-1"


# ---- region ----------------------------------------------------------------

def tls_region(env, *extra, environ=None):
    r = ok(env.run("--fs-id", FS, "--mounttargetip", "10.0.0.1", "--tls", *extra,
                   env=environ))
    return r["region"]


def test_region_precedence(env, standin):
    standin.set(region="sa-east-1")
    # nothing set: instance metadata
    assert tls_region(env) == "sa-east-1"
    # config file beats metadata
    env.write_config({"region": "eu-west-1"})
    assert tls_region(env) == "eu-west-1"
    # AWS_DEFAULT_REGION beats the config file
    assert tls_region(env, environ={"AWS_DEFAULT_REGION": "us-west-2"}) == "us-west-2"
    # AWS_REGION beats AWS_DEFAULT_REGION
    assert tls_region(env, environ={"AWS_DEFAULT_REGION": "us-west-2",
                                    "AWS_REGION": "ap-south-1"}) == "ap-south-1"
    # -o region beats everything
    assert tls_region(env, "--region", "ca-central-1",
                      environ={"AWS_REGION": "ap-south-1"}) == "ca-central-1"


def test_region_from_environment_drives_dns(env):
    r = ok(env.run("--fs-id", "fs-abcdef01", env={"AWS_REGION": "us-west-2"}))
    assert r["addr"] == "127.0.0.3"
    assert r["tls_name"] == "fs-abcdef01.efs.us-west-2.amazonaws.com"


def test_region_from_imds_uses_token(env, standin):
    r = ok(env.run("--fs-id", FS))
    assert r["region"] == "us-east-1" and r["addr"] == "127.0.0.1"
    log = standin.log()
    assert log[0]["method"] == "PUT" and log[0]["path"] == "/latest/api/token"
    assert log[1]["path"] == "/latest/meta-data/placement/region"
    assert log[1]["status"] == 200


def test_imdsv1_fallback(env, standin):
    standin.set(imds_disable_token=True, imds_token_required=False)
    r = ok(env.run("--fs-id", FS))
    assert r["region"] == "us-east-1"


def test_metadata_closed_port_fails_fast(env):
    port = free_port()  # nothing listens there
    env.write_config({"imds_endpoint": "http://127.0.0.1:%d" % port})
    r = env.run("--fs-id", FS)
    msg = failed(r)
    assert "cannot determine the region: set -o region= or AWS_REGION" in msg
    assert "instance metadata at http://127.0.0.1:%d did not answer" % port in msg
    assert r.elapsed < 3.0, r


def test_metadata_black_hole_fails_fast(env):
    """A service that accepts but never answers (the laptop case once the
    connection is made): the 2 s total timeout ends it, once."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(16)  # never accept()ed: the kernel completes the handshake, nobody answers
    try:
        env.write_config({"imds_endpoint": "http://127.0.0.1:%d" % s.getsockname()[1]})
        r = env.run("--fs-id", FS)
        msg = failed(r)
        assert "cannot determine the region" in msg and "did not answer" in msg
        assert "imed out" in msg or "timeout" in msg.lower(), msg
        assert r.elapsed < 3.0, r
    finally:
        s.close()


def test_metadata_disabled(env):
    env.write_config({"imds_enabled": "false"})
    msg = failed(env.run("--fs-id", FS))
    assert "cannot determine the region" in msg and "disabled" in msg
    assert env.standin.log() == []
    env.write_config()
    msg = failed(env.run("--fs-id", FS, env={"AWS_EC2_METADATA_DISABLED": "true"}))
    assert "disabled" in msg


# ---- EFS API fallback --------------------------------------------------------

def test_fallback_picks_target_in_instance_az(env, standin):
    # fs-deadbeef is not in DNS; the instance is in use1-az2 (127.0.0.2)
    r = ok(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1", env=GOOD_KEYS))
    assert r["how"] == "efs-api"
    assert r["addr"] == "127.0.0.2" and r["mount_target"] == "fsmt-00000004"
    assert r["tls_name"] == "fs-deadbeef.efs.us-east-1.amazonaws.com"
    api = standin.api_log()
    assert [e["status"] for e in api] == [200] and api[0]["auth"]
    assert api[0]["path"] == "/2015-02-01/mount-targets?FileSystemId=fs-deadbeef"
    # another instance AZ -> another mount target
    standin.set(az="us-east-1a", az_id="use1-az1")
    r = ok(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1", env=GOOD_KEYS))
    assert r["addr"] == "127.0.0.1" and r["mount_target"] == "fsmt-00000003"


def test_fallback_az_option_matches_az_name(env):
    r = ok(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1", "--az", "us-east-1a",
                   env=GOOD_KEYS))
    assert r["addr"] == "127.0.0.1" and r["how"] == "efs-api"
    assert r["tls_name"] == "us-east-1a.fs-deadbeef.efs.us-east-1.amazonaws.com"


def test_fallback_no_target_in_my_az(env, standin):
    msg = failed(env.run("--fs-id", "fs-0badc0de", "--region", "us-east-1", env=GOOD_KEYS))
    assert "use1-az2" in msg  # what we looked for
    assert "127.0.0.5 in us-east-1d/use1-az6 (available)" in msg  # what exists
    # a target that is still being created is not used
    standin.set(az="us-east-1c", az_id="use1-az4")
    msg = failed(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1", env=GOOD_KEYS))
    assert "use1-az4 (creating)" in msg


def test_fallback_unknown_file_system(env):
    msg = failed(env.run("--fs-id", "fs-99999999", "--region", "us-east-1", env=GOOD_KEYS))
    assert "fs-99999999.efs.us-east-1.amazonaws.com" in msg
    assert "does not know fs-99999999" in msg
    assert "-o mounttargetip=" in msg and "-o dnsserver=" in msg


def test_wrong_secret_is_403(env, standin):
    msg = failed(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1",
                         env={"AWS_ACCESS_KEY_ID": TEST_AKID,
                              "AWS_SECRET_ACCESS_KEY": "not-the-secret"}))
    assert "the EFS API refused the request (403 InvalidSignatureException" in msg
    assert "check the credentials from environment" in msg
    assert [e["status"] for e in standin.api_log()] == [403], "403 is not retried"


def test_unknown_key_is_403(env):
    msg = failed(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1",
                         env={"AWS_ACCESS_KEY_ID": "AKIANOSUCHKEY0000000",
                              "AWS_SECRET_ACCESS_KEY": TEST_SECRET}))
    assert "403 UnrecognizedClientException" in msg


def test_wrong_region_scope_is_403(env, standin):
    # the API endpoint lives in us-east-1; a request scoped to eu-west-1 is refused
    standin.set(region="us-east-1")
    msg = failed(env.run("--fs-id", "fs-deadbeef", "--region", "eu-west-1",
                         env=GOOD_KEYS))
    assert "403" in msg and "eu-west-1" in msg


def test_profile_credentials(env, standin):
    aws = os.path.join(env.home, ".aws")
    os.makedirs(aws)
    with open(os.path.join(aws, "credentials"), "w") as f:
        f.write("[default]\naws_access_key_id = AKIAWRONGDEFAULT0000\n"
                "aws_secret_access_key = nope\n"
                "[efs]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                % (PROFILE_AKID, PROFILE_SECRET))
    with open(os.path.join(aws, "config"), "w") as f:
        f.write("[profile cfgonly]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                % (TEST_AKID, TEST_SECRET))
    r = ok(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1", "--awsprofile", "efs"))
    assert r["addr"] == "127.0.0.2"
    r = ok(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1",
                   env={"AWS_PROFILE": "cfgonly"}))
    assert r["addr"] == "127.0.0.2"
    # -o awsprofile beats the environment's keys
    r = ok(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1", "--awsprofile", "efs",
                   env={"AWS_ACCESS_KEY_ID": "AKIAWRONG", "AWS_SECRET_ACCESS_KEY": "x"}))
    assert r["addr"] == "127.0.0.2"
    # the default profile has the wrong keys: 403
    msg = failed(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1"))
    assert "403" in msg and "profile default" in msg
    msg = failed(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1",
                         "--awsprofile", "nosuch"))
    assert "awsprofile=nosuch" in msg


def test_instance_role_credentials(env, standin):
    """No keys anywhere: the instance role's temporary credentials, with the
    session token signed (the stand-in refuses them without it)."""
    r = ok(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1"))
    assert r["addr"] == "127.0.0.2"
    paths = [e["path"] for e in standin.log()]
    assert "/latest/meta-data/iam/security-credentials/" in paths
    assert "/latest/meta-data/iam/security-credentials/efs-fuse-test-role" in paths
    standin.set(role=None)
    msg = failed(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1"))
    assert "no AWS credentials" in msg and "IAM role" in msg


def test_throttling_is_retried(env, standin):
    standin.set(throttle=3)
    r = ok(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1", env=GOOD_KEYS))
    assert r["addr"] == "127.0.0.2"
    assert [e["status"] for e in standin.api_log()] == [429, 503, 429, 200]


def test_throttling_gives_up_after_four_tries(env, standin):
    standin.set(throttle=10)
    r = env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1", env=GOOD_KEYS)
    msg = failed(r)
    assert "busy" in msg and "after 4 tries" in msg
    assert [e["status"] for e in standin.api_log()] == [429, 503, 429, 503]
    assert r.elapsed < 5.0, r


def test_server_error_is_retried(env, standin):
    standin.set(fail_status=[500])
    r = ok(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1", env=GOOD_KEYS))
    assert r["addr"] == "127.0.0.2"
    assert [e["status"] for e in standin.api_log()] == [500, 200]


def test_fallback_disabled_per_region(env, standin):
    env.write_config(extra="[mount.us-east-1]\n"
                     "fall_back_to_mount_target_ip_address_enabled = false\n")
    msg = failed(env.run("--fs-id", "fs-deadbeef", "--region", "us-east-1", env=GOOD_KEYS))
    assert "no such name" in msg and "fallback" not in msg
    assert standin.api_log() == []


# ---- the stand-in itself -----------------------------------------------------

def aws_cli(standin, *args, secret=TEST_SECRET, fs="fs-12345678"):
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent",
           "AWS_ACCESS_KEY_ID": TEST_AKID, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "1"}
    return subprocess.run(["/usr/bin/aws", "efs", "describe-mount-targets",
                           "--file-system-id", fs, "--endpoint-url", standin.url,
                           "--region", "us-east-1", "--output", "json"] + list(args),
                          env=env, capture_output=True, text=True, timeout=60)


def test_aws_cli_reads_the_standin(standin):
    """Debian's aws CLI (botocore's EFS model and signer) accepts the
    stand-in's answer, and the stand-in accepts the CLI's signature."""
    if not os.access("/usr/bin/aws", os.X_OK):
        pytest.fail("/usr/bin/aws missing: apt-get install awscli")
    p = aws_cli(standin)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    mts = out["MountTargets"]
    assert [m["IpAddress"] for m in mts] == ["127.0.0.1", "127.0.0.2"]
    assert [m["AvailabilityZoneId"] for m in mts] == ["use1-az1", "use1-az2"]
    assert all(m["LifeCycleState"] == "available" for m in mts)
    assert [e["status"] for e in standin.api_log()] == [200]
    p = aws_cli(standin, secret="wrong")
    assert p.returncode != 0 and "InvalidSignatureException" in p.stderr, p.stderr
    p = aws_cli(standin, fs="fs-99999999")
    assert p.returncode != 0 and "FileSystemNotFound" in p.stderr, p.stderr


def test_standin_rejects_a_replayed_signature_on_another_request(standin):
    """Sign a request with botocore, then send it for another file system
    with the same Authorization: the stand-in must notice."""
    code = r"""
import sys, urllib.request, urllib.error
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url = sys.argv[1] + "/2015-02-01/mount-targets?FileSystemId=fs-12345678"
req = AWSRequest(method="GET", url=url)
SigV4Auth(Credentials(sys.argv[2], sys.argv[3]), "elasticfilesystem", "us-east-1").add_auth(req)
h = dict(req.headers.items())
for target in (url, url.replace("fs-12345678", "fs-deadbeef")):
    r = urllib.request.Request(target, headers=h)
    try:
        with urllib.request.urlopen(r, timeout=5) as resp:
            print(resp.status)
    except urllib.error.HTTPError as e:
        print(e.code, e.headers.get("x-amzn-ErrorType"))
"""
    p = subprocess.run([PYTHON, "-c", code, standin.url, TEST_AKID, TEST_SECRET],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:2] == ["200", "403 InvalidSignatureException"], p.stdout


def test_standin_imds_needs_token(standin):
    import urllib.error
    import urllib.request
    try:
        urllib.request.urlopen(standin.url + "/latest/meta-data/placement/region", timeout=5)
        pytest.fail("IMDS answered without a token")
    except urllib.error.HTTPError as e:
        assert e.code == 401


def test_contrib_example_config_parses(env):
    """contrib/efs-fuse.conf is valid and gives the China suffix in China."""
    conf = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))), "contrib", "efs-fuse.conf")
    e = {"EFS_FUSE_CONFIG": conf, "AWS_EC2_METADATA_DISABLED": "true"}
    r = ok(env.run("--fs-id", FS, "--mounttargetip", "10.0.0.1", "--tls",
                   "--region", "cn-north-1", env=e))
    assert r["tls_name"] == "fs-12345678.efs.cn-north-1.amazonaws.com.cn"
    r = ok(env.run("--fs-id", FS, "--mounttargetip", "10.0.0.1", "--tls",
                   "--region", "us-east-1", env=e))
    assert r["tls_name"] == NAME


def test_system_resolver_reads_etc_hosts(env):
    """No dnsserver: c-ares uses the system configuration, /etc/hosts first."""
    with open("/etc/hosts") as f:
        if not any(l.split()[1:2] == ["localhost"] and l.split()[0] == "127.0.0.1"
                   for l in f if l.strip() and not l.startswith("#")):
            pytest.fail("/etc/hosts has no '127.0.0.1 localhost' line")
    env.write_config({"dnsserver": None})
    r = ok(env.run("--host", "localhost"))
    assert r["addr"] == "127.0.0.1" and r["how"] == "dns"
