"""-o iam with every credential source of the chain, each through a stand-in
that checks the request the way AWS does (STS: botocore's model and SigV4
signer; ECS / Pod Identity: the URI and the authorization token; IMDSv2:
the session token), and the chain's order when several are configured.
The mount target stand-in then shows which access key signed the
certificate -- the proof that the credentials came from that source."""

import os
import stat

from iamlib import (ASSUME_ROLE, ASSUMED_KEY, ECS_KEY, ECS_URI, ENV_KEY, JWT, POD_KEY,
                    POD_TOKEN, PROCESS_KEY, PROFILE_KEY, ROLE_KEY, SOURCE_KEY, WEBID_KEY,
                    WEBID_ROLE, new_verdicts)


def _mount_signed_by(env, target, key, extra=("iam",)):
    """Mount, write a file, and return the verdict: it must be key's signature."""
    n0 = len(target.log())
    m = env.mount(extra=extra)
    with open(os.path.join(m.mountpoint, "cred-%d" % os.getpid()), "w") as f:
        f.write("ok")
    os.unlink(os.path.join(m.mountpoint, "cred-%d" % os.getpid()))
    ok = [v for v in target.log()[n0:] if v["ok"]]
    assert len(ok) == 1, target.log()[n0:]
    assert ok[0]["access_key"] == key[0], "signed by %s, not %s" % (ok[0]["access_key"],
                                                                     key[0])
    assert ok[0]["has_token"] == (len(key) > 2)
    assert m.unmount() == 0
    return ok[0]


def _requests(standin, since=0):
    return standin.log()[since:]


def test_ecs_relative_uri_from_environment(iam_env, iam_target, cred_standin):
    iam_env.write_config(container_credentials_endpoint=cred_standin.url)
    iam_env.setenv(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=ECS_URI)
    n = len(cred_standin.log())
    _mount_signed_by(iam_env, iam_target, ECS_KEY)
    assert [(r["path"], r["status"]) for r in _requests(cred_standin, n)] == [(ECS_URI, 200)]


def test_awscredsuri_option(iam_env, iam_target, cred_standin):
    iam_env.write_config(container_credentials_endpoint=cred_standin.url)
    iam_env.setenv(AWS_ACCESS_KEY_ID=ENV_KEY[0], AWS_SECRET_ACCESS_KEY=ENV_KEY[1])
    _mount_signed_by(iam_env, iam_target, ECS_KEY, extra=("iam", "awscredsuri=" + ECS_URI))


def test_awscredsuri_is_exclusive(iam_env, iam_target, cred_standin):
    iam_env.write_config(container_credentials_endpoint=cred_standin.url)
    iam_env.setenv(AWS_ACCESS_KEY_ID=ENV_KEY[0], AWS_SECRET_ACCESS_KEY=ENV_KEY[1])
    line = iam_env.mount_fails(extra=("iam", "awscredsuri=/v2/credentials/unknown"))
    assert "no AWS credentials for -o iam from ECS task role" in line
    assert "HTTP 404" in line
    assert new_verdicts(iam_target) == []


def test_pod_identity(iam_env, iam_target, cred_standin):
    tok = os.path.join(iam_env.dir, "pod-token")
    with open(tok, "w") as f:
        f.write(POD_TOKEN + "\n")
    iam_env.setenv(AWS_CONTAINER_CREDENTIALS_FULL_URI=cred_standin.url + "/v1/credentials",
                   AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=tok)
    n = len(cred_standin.log())
    _mount_signed_by(iam_env, iam_target, POD_KEY)
    assert [(r["path"], r["status"]) for r in _requests(cred_standin, n)] == [
        ("/v1/credentials", 200)]


def test_pod_identity_wrong_token_falls_through(iam_env, iam_target, cred_standin):
    """efs-utils' chain: a configured source that fails is skipped."""
    tok = os.path.join(iam_env.dir, "pod-token")
    with open(tok, "w") as f:
        f.write("not-the-token")
    iam_env.setenv(AWS_CONTAINER_CREDENTIALS_FULL_URI=cred_standin.url + "/v1/credentials",
                   AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=tok,
                   AWS_ACCESS_KEY_ID=ENV_KEY[0], AWS_SECRET_ACCESS_KEY=ENV_KEY[1])
    n = len(cred_standin.log())
    _mount_signed_by(iam_env, iam_target, ENV_KEY)
    assert [(r["path"], r["status"]) for r in _requests(cred_standin, n)] == [
        ("/v1/credentials", 401)]


def _jwt_file(env):
    p = os.path.join(env.dir, "token.jwt")
    with open(p, "w") as f:
        f.write(JWT)
    return p


def test_web_identity_from_environment(iam_env, iam_target, cred_standin):
    iam_env.setenv(AWS_ROLE_ARN=WEBID_ROLE, AWS_WEB_IDENTITY_TOKEN_FILE=_jwt_file(iam_env),
                   AWS_ENDPOINT_URL_STS=cred_standin.url + "/")
    n = len(cred_standin.log())
    _mount_signed_by(iam_env, iam_target, WEBID_KEY)
    reqs = _requests(cred_standin, n)
    assert [(r["action"], r["status"], r["note"]) for r in reqs] == [
        ("AssumeRoleWithWebIdentity", 200, WEBID_ROLE)]


def test_rolearn_jwtpath_options(iam_env, iam_target, cred_standin):
    iam_env.write_config(sts_endpoint=cred_standin.url + "/")
    _mount_signed_by(iam_env, iam_target, WEBID_KEY,
                     extra=("iam", "rolearn=" + WEBID_ROLE, "jwtpath=" + _jwt_file(iam_env)))


def test_web_identity_refused_by_sts(iam_env, iam_target, cred_standin):
    bad = os.path.join(iam_env.dir, "bad.jwt")
    with open(bad, "w") as f:
        f.write("eyJub3QiOiJ0aGUgdG9rZW4ifQ.e30.c2ln")
    iam_env.write_config(sts_endpoint=cred_standin.url + "/")
    line = iam_env.mount_fails(extra=("iam", "rolearn=" + WEBID_ROLE, "jwtpath=" + bad))
    assert "STS AssumeRoleWithWebIdentity" in line and "InvalidIdentityToken" in line


def test_profile_static_keys(iam_env, iam_target):
    iam_env.aws_file("credentials", "[default]\naws_access_key_id = %s\n"
                     "aws_secret_access_key = %s\n" % PROFILE_KEY)
    _mount_signed_by(iam_env, iam_target, PROFILE_KEY)


def test_awsprofile_option_and_config_file(iam_env, iam_target):
    iam_env.aws_file("credentials", "[default]\naws_access_key_id = %s\n"
                     "aws_secret_access_key = %s\n" % ENV_KEY)
    iam_env.aws_file("config", "[profile dev]\naws_access_key_id = %s\n"
                     "aws_secret_access_key = %s\n" % PROFILE_KEY)
    _mount_signed_by(iam_env, iam_target, PROFILE_KEY, extra=("iam", "awsprofile=dev"))
    # the same from efs-fuse.conf, with iam there too
    iam_env.write_config(awsprofile="dev", iam="true")
    _mount_signed_by(iam_env, iam_target, PROFILE_KEY, extra=())


def test_profile_credential_process(iam_env, iam_target):
    script = os.path.join(iam_env.dir, "creds.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\n[ \"$1\" = --profile ] || exit 3\n"
                "printf '{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": "
                "\"%s\", \"SessionToken\": \"%s\", \"Expiration\": "
                "\"2099-01-01T00:00:00Z\"}'\n" % PROCESS_KEY)
    os.chmod(script, stat.S_IRWXU)
    iam_env.aws_file("config", "[profile proc]\ncredential_process = %s --profile proc\n"
                     % script)
    iam_env.setenv(AWS_PROFILE="proc")
    _mount_signed_by(iam_env, iam_target, PROCESS_KEY)


def test_profile_role_arn_source_profile(iam_env, iam_target, cred_standin):
    iam_env.aws_file("credentials", "[base]\naws_access_key_id = %s\n"
                     "aws_secret_access_key = %s\n" % SOURCE_KEY)
    iam_env.aws_file("config", "[profile app]\nrole_arn = %s\nsource_profile = base\n"
                     "role_session_name = efs-test\n" % ASSUME_ROLE)
    iam_env.write_config(sts_endpoint=cred_standin.url + "/")
    n = len(cred_standin.log())
    _mount_signed_by(iam_env, iam_target, ASSUMED_KEY, extra=("iam", "awsprofile=app"))
    assert [(r["action"], r["status"]) for r in _requests(cred_standin, n)] == [
        ("AssumeRole", 200)], "AssumeRole was not signed right (SigV4 checked by botocore)"


def test_instance_role_imdsv2(iam_env, iam_target, imds_standin):
    iam_env.write_config(imds_enabled="true", imds_endpoint=imds_standin.url)
    n = len(imds_standin.log())
    _mount_signed_by(iam_env, iam_target, ROLE_KEY)
    paths = [r["path"] for r in _requests(imds_standin, n)]
    assert paths[0] == "/latest/api/token"
    assert "/latest/meta-data/iam/security-credentials/efs-fuse-test-role" in paths


def test_chain_order_container_before_environment(iam_env, iam_target, cred_standin):
    """ECS relative URI, then the environment (efs-utils' order)."""
    iam_env.write_config(container_credentials_endpoint=cred_standin.url)
    iam_env.setenv(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=ECS_URI,
                   AWS_ACCESS_KEY_ID=ENV_KEY[0], AWS_SECRET_ACCESS_KEY=ENV_KEY[1])
    iam_env.aws_file("credentials", "[default]\naws_access_key_id = %s\n"
                     "aws_secret_access_key = %s\n" % PROFILE_KEY)
    _mount_signed_by(iam_env, iam_target, ECS_KEY)


def test_chain_order_environment_before_profile(iam_env, iam_target):
    iam_env.setenv(AWS_ACCESS_KEY_ID=ENV_KEY[0], AWS_SECRET_ACCESS_KEY=ENV_KEY[1])
    iam_env.aws_file("credentials", "[default]\naws_access_key_id = %s\n"
                     "aws_secret_access_key = %s\n" % PROFILE_KEY)
    _mount_signed_by(iam_env, iam_target, ENV_KEY)
