"""Fixtures for the resolution tests: dnsmasq (the VPC resolver) on a high
loopback port, the IMDS + EFS API stand-in (tests/standin/standin.py), and a
runner for tests/tools/resolve_cli, the driver that calls
resolve_mount_target() and prints the result or the error.

Run:  /usr/bin/python3 -m pytest tests/integration/resolve
      (EFS_FUSE_BUILDDIR=<build dir with `make check` done>, default the
      source tree; RESOLVE_CLI=<path> overrides the driver's location).
Everything listens on 127.0.0.1 only; every process started here is stopped
by its pid at the end, also on failure.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from efs_env import REPO, Dnsmasq, Standin  # noqa: E402


def resolve_cli_path():
    p = os.environ.get("RESOLVE_CLI")
    if not p:
        build = os.environ.get("EFS_FUSE_BUILDDIR", REPO)
        p = os.path.join(build, "tests", "tools", "resolve_cli")
    if not os.access(p, os.X_OK):
        pytest.fail("resolve_cli not found at %s: run `make check` (or make "
                    "tests/tools/resolve_cli) in the build directory and set "
                    "EFS_FUSE_BUILDDIR" % p)
    return p


@pytest.fixture(scope="session")
def state_dir():
    d = tempfile.mkdtemp(prefix="efs-resolve-it.")
    os.chmod(d, 0o755)  # dnsmasq started as root reads efs.hosts as user nobody after SIGHUP
    yield d
    if not os.environ.get("KEEP_STATE"):  # KEEP_STATE=1 keeps dnsmasq.log for debugging
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def dnsmasq(state_dir):
    d = Dnsmasq(state_dir)
    d.start()
    yield d
    d.stop()


@pytest.fixture(scope="session")
def standin_server():
    s = Standin()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def standin(standin_server):
    standin_server.reset()
    return standin_server


class Env:
    """A clean environment and config file for one resolve_cli run."""

    def __init__(self, tmp, dnsmasq, standin):
        self.tmp = str(tmp)
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home)
        self.conf = os.path.join(self.tmp, "efs-fuse.conf")
        self.dnsmasq = dnsmasq
        self.standin = standin
        self.write_config()

    def write_config(self, mount=None, extra=""):
        """[mount] points at the stand-ins; mount={} adds/overrides keys."""
        keys = {
            "dnsserver": self.dnsmasq.server,
            "imds_endpoint": self.standin.url,
            "efs_api_endpoint": self.standin.url,
            "dns_timeout_ms": "2000",
        }
        keys.update(mount or {})
        with open(self.conf, "w") as f:
            f.write("[mount]\n")
            for k, v in keys.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, v))
            f.write(extra)

    def run(self, *args, env=None, timeout=30):
        e = {
            "PATH": "/usr/bin:/bin",
            "HOME": self.home,
            "EFS_FUSE_CONFIG": self.conf,
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.home, ".aws", "credentials"),
            "AWS_CONFIG_FILE": os.path.join(self.home, ".aws", "config"),
        }
        e.update(env or {})
        e = {k: v for k, v in e.items() if v is not None}
        t0 = time.monotonic()
        p = subprocess.run([resolve_cli_path()] + list(args), env=e, capture_output=True,
                           text=True, timeout=timeout)
        elapsed = time.monotonic() - t0
        return Result(p.returncode, p.stdout.strip(), p.stderr, elapsed)


class Result:
    def __init__(self, rc, out, err, elapsed):
        self.rc, self.out, self.stderr, self.elapsed = rc, out, err, elapsed
        self.fields = {}
        if rc == 0:
            for item in out.split():
                k, _, v = item.partition("=")
                self.fields[k] = v

    def __getitem__(self, k):
        return self.fields[k]

    def __repr__(self):
        return "rc=%d out=%r stderr=%r (%.2fs)" % (self.rc, self.out, self.stderr, self.elapsed)


@pytest.fixture
def env(tmp_path, dnsmasq, standin):
    resolve_cli_path()
    return Env(tmp_path, dnsmasq, standin)
