"""Fixtures for the TLS tests: stunnel4 in server mode in front of the
session nfs-ganesha (the parent conftest's `ganesha`), as EFS takes TLS on its
NFS port.

  tls_certs     two throw-away CAs made by contrib/tls/gen-certs.sh: .a signed
                the server certificate, .b did not (the "wrong CA")
  tls_front     stunnel4 accepting TLS on 127.0.0.1:<own port> -> ganesha
  tls_probe     run tests/tools/tls_probe (built by `make check`): one NFS NULL
                call through transport_connect(); returns CompletedProcess
"""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from lib import ganesha as ganesha_lib

REPO = ganesha_lib.REPO
GEN_CERTS = os.path.join(REPO, "contrib", "tls", "gen-certs.sh")
STUNNEL_TEMPLATE = os.path.join(REPO, "contrib", "tls", "stunnel-server.conf.in")
FS_NAME = "fs-12345678.efs.us-east-1.amazonaws.com"


class CA:
    def __init__(self, d):
        self.dir = d
        self.ca = os.path.join(d, "ca.crt")
        self.cert = os.path.join(d, "server.crt")
        self.key = os.path.join(d, "server.key")


class Certs:
    def __init__(self, base):
        self.a = CA(os.path.join(base, "a"))
        self.b = CA(os.path.join(base, "b"))


def _accepts(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        return s.connect_ex((addr, port)) == 0
    finally:
        s.close()


class Stunnel:
    """stunnel4 server: TLS on addr:port, plaintext to connect=(addr, port)."""

    def __init__(self, state_dir, ca, connect, addr="127.0.0.1", port=None,
                 minver="TLSv1.2"):
        self.state_dir = state_dir
        self.addr = addr
        self.port = port or ganesha_lib.allocate_port(addr)
        self.connect = connect
        self.ca = ca
        self.minver = minver
        self.proc = None
        self.conf_path = os.path.join(state_dir, "stunnel.conf")
        self.log_path = os.path.join(state_dir, "stunnel.log")

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start(self, timeout=15):
        if not shutil.which("stunnel4"):
            raise RuntimeError("stunnel4 not installed (scripts/install-deps.sh)")
        with open(STUNNEL_TEMPLATE) as f:
            text = f.read()
        subst = {"STATE": self.state_dir, "ACCEPT": "%s:%d" % (self.addr, self.port),
                 "CONNECT": "%s:%d" % self.connect, "CERT": self.ca.cert,
                 "KEY": self.ca.key, "MINVER": self.minver}
        for k, v in subst.items():
            text = text.replace("@%s@" % k, v)
        left = [w for w in text.split() if w.startswith("@") and w.endswith("@")]
        assert not left, "unfilled placeholders in %s: %s" % (STUNNEL_TEMPLATE, left)
        with open(self.conf_path, "w") as f:
            f.write(text)
        out = open(os.path.join(self.state_dir, "stunnel.out"), "ab")
        self.proc = subprocess.Popen(["stunnel4", self.conf_path], stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=out)
        out.close()
        deadline = time.monotonic() + timeout
        while not _accepts(self.addr, self.port):
            if self.proc.poll() is not None:
                raise RuntimeError("stunnel4 exited (%s) during start-up:\n%s"
                                   % (self.proc.returncode, self.log()[-3000:]))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("stunnel4 not accepting on %s:%d after %ds:\n%s"
                                   % (self.addr, self.port, timeout, self.log()[-3000:]))
            time.sleep(0.02)
        return self

    def stop(self, timeout=10):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        rc = self.proc.returncode
        self.proc = None
        return rc

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture(scope="session")
def tls_certs(it_tmp):
    base = os.path.join(it_tmp, "tls-certs")
    os.makedirs(base)
    os.chmod(base, 0o755)
    for sub in ("a", "b"):
        p = subprocess.run([GEN_CERTS, os.path.join(base, sub)], capture_output=True, text=True)
        assert p.returncode == 0, "gen-certs.sh failed: %s" % p.stderr
    return Certs(base)


@pytest.fixture(scope="session")
def tls_front(it_tmp, tls_certs, ganesha):
    state = os.path.join(it_tmp, "stunnel")
    os.makedirs(state)
    s = Stunnel(state, tls_certs.a, (ganesha.addr, ganesha.port))
    try:
        s.start()
        yield s
    finally:
        s.stop()
        assert not s.running


@pytest.fixture(scope="session")
def tls_probe_bin():
    build = os.environ.get("BUILD_DIR")
    if not build and os.environ.get("EFS_FUSE"):
        build = os.path.dirname(os.environ["EFS_FUSE"])
    path = os.environ.get("TLS_PROBE") or os.path.join(build or os.path.join(REPO, "build"),
                                                       "tests", "tools", "tls_probe")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail("tls_probe not found at %s: run `make check` (or make "
                    "tests/tools/tls_probe) in the build dir, or set TLS_PROBE" % path,
                    pytrace=False)
    return path


@pytest.fixture
def tls_probe(tls_probe_bin):
    def run(host, port, name="-", cafile="-", plain=False, timeout_ms=None):
        argv = [tls_probe_bin]
        if plain:
            argv.append("--plain")
        if timeout_ms is not None:
            argv += ["--timeout", str(timeout_ms)]
        argv += [host, str(port), name or "-", cafile or "-"]
        t0 = time.monotonic()
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=60)
        p.elapsed = time.monotonic() - t0
        return p
    return run
