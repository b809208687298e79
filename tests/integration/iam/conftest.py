"""Fixtures for the IAM / access point tests (issue 9).

  iam_fs        the "file system": a directory served by three nfs-ganesha
                instances with Pseudo = / (so SOURCE is a bare fs-12345678):
                .rw (No_Root_Squash), .ro (Access_Type = RO, for identities
                the policy grants ClientMount only), .ap (the access point's
                root directory AP_ROOT inside it, Squash = All to AP_UID:AP_GID)
  iam_target    tests/standin/iam_target.py in front of them: TLS that requires
                and judges the EFS client certificate (efs_iam.py); .set(**kw)
                rewrites its config for the next handshake, .log() the verdicts,
                .drop() closes the forwarded connections; reset for every test
  cred_standin  tests/standin/cred_standin.py: STS, ECS and Pod Identity
  imds_standin  tests/standin/standin.py: instance metadata (the instance role)
  iam_env       a clean environment for one mount: no AWS_* variables, HOME and
                EFS_FUSE_CONFIG of its own (instance metadata off unless asked);
                .mount(opts) / .mount_fails(opts)
"""

import json
import os
import shutil
import subprocess

import pytest

from iamlib import (ASSUME_ROLE, ASSUMED_KEY, ECS_KEY, ECS_URI, GEN_CERTS, JWT, POD_KEY,
                    POD_TOKEN, REGION, SOURCE_KEY, STANDIN, WEBID_KEY, WEBID_ROLE, FileSystem,
                    HttpStandin, IamEnv, IamTarget, _start, _stop)


@pytest.fixture(scope="session")
def iam_fs(it_tmp):
    fs = FileSystem(os.path.join(it_tmp, "iam"))
    try:
        yield fs.start(os.path.join(it_tmp, "iam"))
    finally:
        fs.stop()


@pytest.fixture(scope="session")
def iam_certs(it_tmp):
    d = os.path.join(it_tmp, "iam", "certs")
    p = subprocess.run([GEN_CERTS, d], capture_output=True, text=True)
    assert p.returncode == 0, "gen-certs.sh failed: %s" % p.stderr
    return d


@pytest.fixture(scope="session")
def iam_target_session(it_tmp, iam_certs, iam_fs):
    t = IamTarget(os.path.join(it_tmp, "iam"), iam_certs, iam_fs).start()
    yield t
    _stop(t.proc)


@pytest.fixture
def iam_target(iam_target_session):
    iam_target_session.reset()
    n = len(iam_target_session.log())
    iam_target_session.since = n
    yield iam_target_session
    assert iam_target_session.running, "iam_target.py died during the test"


@pytest.fixture(scope="session")
def cred_standin(it_tmp):
    state = {
        "region": REGION,
        "keys": {SOURCE_KEY[0]: SOURCE_KEY[1]},
        "roles": {
            WEBID_ROLE: dict(zip(("AccessKeyId", "SecretAccessKey", "SessionToken"),
                                 WEBID_KEY)),
            ASSUME_ROLE: dict(zip(("AccessKeyId", "SecretAccessKey", "SessionToken"),
                                  ASSUMED_KEY)),
        },
        "web_identity_token": JWT,
        "ecs": {ECS_URI: dict(zip(("AccessKeyId", "SecretAccessKey", "Token"), ECS_KEY),
                              RoleArn="arn:aws:iam::123456789012:role/ecs-task")},
        "pod_identity": {"token": POD_TOKEN, "credentials": dict(
            zip(("AccessKeyId", "SecretAccessKey", "Token"), POD_KEY))},
    }
    os.makedirs(os.path.join(it_tmp, "iam"), exist_ok=True)
    path = os.path.join(it_tmp, "iam", "cred-standin.json")
    with open(path, "w") as f:
        json.dump(state, f)
    proc, [(_, port)] = _start(["/usr/bin/python3", os.path.join(STANDIN, "cred_standin.py"),
                                "--state", path], "cred_standin.py")
    yield HttpStandin(proc, port)
    _stop(proc)


@pytest.fixture(scope="session")
def imds_standin(it_tmp):
    proc, [(_, port)] = _start(["/usr/bin/python3", os.path.join(STANDIN, "standin.py")],
                               "standin.py")
    yield HttpStandin(proc, port)
    _stop(proc)


@pytest.fixture
def iam_env(tmp_path_factory, monkeypatch, iam_target, efs_fuse_bin, mount_factory, it_tmp):
    base = tmp_path_factory.mktemp("iam-env", numbered=True)
    os.chmod(base, 0o755)
    return IamEnv(str(base), monkeypatch, iam_target, efs_fuse_bin, mount_factory)


@pytest.fixture(scope="session", autouse=True)
def _iam_facilities():
    for mod in ("OpenSSL", "cryptography", "botocore"):
        try:
            __import__(mod)
        except ImportError:
            pytest.fail("python3 module %s missing: run scripts/install-deps.sh" % mod,
                        pytrace=False)
    if not shutil.which("ganesha.nfsd"):
        pytest.fail("ganesha.nfsd missing: run scripts/install-deps.sh", pytrace=False)
