"""Fixtures for the end-to-end tests of issue 4 (reach the mount target the
way EFS users expect), through the real efs-fuse binary and real FUSE mounts.

  az          two nfs-ganesha "mount targets" of one file system on the same
              port: az.a on 127.0.0.1 (the instance's own AZ, us-east-1a /
              use1-az1) and az.b on 127.0.0.2 (us-east-1b / use1-az2).  Each
              exports its own directory holding a marker file ("AZ-a",
              "AZ-b"), so a test sees which one it mounted.
  dns         dnsmasq on 127.0.0.1:<udp port> (dnsmasq.conf.in): the VPC resolver
  standin     the IMDSv2 + EFS API stand-in (tests/standin/standin.py), reset
              for each test; verifies every SigV4 signature with botocore
  reach       per test: a config file (EFS_FUSE_CONFIG) pointing instance
              metadata and the EFS API at the stand-in, a HOME of its own,
              reach.mount(...) / reach.fail(...) running efs-fuse under
              `env -i` with exactly that environment; every mount is
              unmounted (and its daemon reaped) at the end, also on failure

Parent fixtures used: it_tmp, efs_fuse_bin (tests/integration/conftest.py).
Run:  EFS_FUSE=<build>/efs-fuse /usr/bin/python3 -m pytest tests/integration/reach
"""

import os
import subprocess
import time

import pytest

from lib import mounts

import reachlib
from reachlib import FS, REGION


class AZs:
    def __init__(self, a, b):
        self.a, self.b = a, b
        self.port = a.port


@pytest.fixture(scope="session")
def reach_base(it_tmp):
    d = os.path.join(it_tmp, "reach")
    os.makedirs(d)
    os.chmod(d, 0o755)
    return d


@pytest.fixture(scope="session")
def az(reach_base):
    port = reachlib.port_pair()
    started = []
    try:
        for name, addr in (("AZ-a", "127.0.0.1"), ("AZ-b", "127.0.0.2")):
            started.append(reachlib.start_az(reach_base, name, addr, port))
        yield AZs(*started)
    finally:
        for g in started:
            g.stop()
        assert not any(g.running for g in started)


@pytest.fixture(scope="session")
def dns(reach_base):
    d = reachlib.Dnsmasq(os.path.join(reach_base, "dnsmasq"))
    try:
        d.start()
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="session")
def standin_srv():
    s = reachlib.Standin()
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture
def standin(standin_srv):
    standin_srv.reset()
    return standin_srv


class Failure:
    def __init__(self, rc, out, elapsed):
        self.rc, self.out, self.elapsed = rc, out, elapsed
        self.lines = [l for l in out.splitlines() if l.strip()]

    @property
    def line(self):
        assert len(self.lines) == 1, "expected one line of error, got %r" % self.out
        return self.lines[0]

    def __repr__(self):
        return "rc=%d (%.2fs) %r" % (self.rc, self.elapsed, self.out)


class Reach:
    def __init__(self, base, binary, it_tmp, dns, standin):
        self.base = base
        self.binary = binary
        self.it_tmp = it_tmp
        self.dns = dns
        self.standin = standin
        self.home = os.path.join(base, "home")
        os.makedirs(self.home)
        self.conf = os.path.join(base, "efs-fuse.conf")
        self.mounts = []
        self.write_config()

    def write_config(self, mount=None, extra=""):
        """[mount]: instance metadata and EFS API at the stand-in (never the
        real 169.254.169.254), plus `mount` keys (None drops a key)."""
        keys = {
            "imds_endpoint": self.standin.url,
            "efs_api_endpoint": self.standin.url,
            "dns_timeout_ms": "2000",
        }
        keys.update(mount or {})
        with open(self.conf, "w") as f:
            f.write("# written by tests/integration/reach/conftest.py\n[mount]\n")
            for k, v in keys.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, v))
            f.write(extra)

    def env(self, extra=None):
        e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": self.home,
             "EFS_FUSE_CONFIG": self.conf}
        e.update(extra or {})
        return {k: v for k, v in e.items() if v is not None}

    def opts(self, *extra, region=REGION, dnsserver=True, port=None):
        """-o list: region, dnsserver (the test dnsmasq), port, then extra."""
        o = []
        if region:
            o.append("region=" + region)
        if dnsserver is True:
            o.append("dnsserver=" + self.dns.server)
        elif dnsserver:
            o.append("dnsserver=" + dnsserver)
        if port:
            o.append("port=%d" % port)
        return o + list(extra)

    def _new_mount(self, source, options, env):
        mp = os.path.join(self.it_tmp, "reach-mnt-%d-%d" % (os.getpid(), len(self.mounts)))
        n = 0
        while os.path.exists(mp + "-%d" % n):
            n += 1
        mp = mp + "-%d" % n
        os.mkdir(mp)
        m = reachlib.ReachMount(self.binary, source, mp, options=options, env=self.env(env))
        self.mounts.append(m)
        return m

    def mount(self, options, source=FS, env=None, timeout=60):
        m = self._new_mount(source, options, env)
        try:
            m.mount(timeout=timeout)
        except mounts.MountError as e:
            pytest.fail("mount failed: %s" % e, pytrace=False)
        return m

    def fail(self, options, source=FS, env=None, timeout=30):
        """Run efs-fuse expecting failure: non-zero exit, nothing mounted, no
        daemon left.  Returns a Failure (rc, out, elapsed, .line)."""
        m = self._new_mount(source, options, env)
        t0 = time.monotonic()
        try:
            p = subprocess.run(m.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            m.cleanup_stray()
            pytest.fail("efs-fuse did not fail within %ss" % timeout, pytrace=False)
        elapsed = time.monotonic() - t0
        out = p.stdout.decode(errors="replace")
        mounted = mounts.is_mounted(m.mountpoint)
        daemons = mounts.find_daemon(self.binary, m.mountpoint)
        if mounted or daemons:
            m.cleanup_stray()
        assert p.returncode != 0, "efs-fuse succeeded but should have failed: %r" % out
        assert not mounted, "failed mount left %s mounted" % m.mountpoint
        assert not daemons, "failed mount left daemons %r" % daemons
        return Failure(p.returncode, out, elapsed)

    def close(self):
        problems = []
        for m in self.mounts:
            if m.pid is not None or m.proc is not None or mounts.is_mounted(m.mountpoint):
                try:
                    rc = m.unmount()
                    if rc not in (0, None):
                        problems.append("efs-fuse for %s exited %r after unmount"
                                        % (m.mountpoint, rc))
                except Exception as e:  # noqa: BLE001 - collected, reported below
                    problems.append("unmount %s: %s" % (m.mountpoint, e))
            problems += m.cleanup()
        for m in self.mounts:
            try:
                os.rmdir(m.mountpoint)
            except OSError:
                pass
        return problems


@pytest.fixture
def reach(tmp_path, efs_fuse_bin, it_tmp, dns, standin):
    r = Reach(str(tmp_path), efs_fuse_bin, it_tmp, dns, standin)
    yield r
    problems = r.close()
    assert not problems, problems
