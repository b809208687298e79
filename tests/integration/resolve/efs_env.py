"""Reusable pieces for tests that need EFS-like name resolution on loopback:
dnsmasq as the VPC resolver (dnsmasq.conf.in next to this file) and the IMDS +
EFS API stand-in (tests/standin/standin.py).  Used by conftest.py here; the
full-mount tests can import it too (sys.path += this directory):

    from efs_env import Dnsmasq, Standin
    d = Dnsmasq(state_dir); d.start()      # d.server == "127.0.0.1:PORT"
    s = Standin(); s.start()               # s.url == "http://127.0.0.1:PORT"
    ... efs-fuse with EFS_FUSE_CONFIG pointing at a file with
        [mount] dnsserver = d.server, imds_endpoint = s.url, efs_api_endpoint = s.url
    d.stop(); s.stop()

Failures call pytest.fail (loudly), never skip.  Every process is stopped by
its own pid.
"""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
STANDIN = os.path.join(REPO, "tests", "standin", "standin.py")
PYTHON = "/usr/bin/python3"  # Debian's, with python3-botocore
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"

# Keys the stand-in knows (tests/standin/standin.py INITIAL_STATE).
TEST_AKID = "AKIAEFSFUSETEST00001"
TEST_SECRET = "testSecretKeyExample/00000000000000000000"
PROFILE_AKID = "AKIAEFSFUSEPROFILE01"
PROFILE_SECRET = "profileSecretKeyExample/0000000000000000"


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def dns_query_a(port, name, timeout=0.3):
    """One A query to 127.0.0.1:port; the rcode, or None on no answer."""
    qid = 0x4242
    hdr = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    q += struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(hdr + q, ("127.0.0.1", port))
        data, _ = s.recvfrom(512)
    except OSError:
        return None
    finally:
        s.close()
    if len(data) < 12 or struct.unpack(">H", data[:2])[0] != qid:
        return None
    return data[3] & 0x0F


class Dnsmasq:
    def __init__(self, state_dir):
        self.dir = state_dir
        self.port = free_port(socket.SOCK_DGRAM)
        self.hosts = os.path.join(state_dir, "efs.hosts")
        with open(self.hosts, "w") as f:
            f.write("# changed by tests, then SIGHUP\n")
        with open(os.path.join(HERE, "dnsmasq.conf.in")) as f:
            conf = f.read().replace("@STATE@", state_dir).replace("@PORT@", str(self.port))
        self.conf = os.path.join(state_dir, "dnsmasq.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = None

    def start(self):
        if not os.access(DNSMASQ, os.X_OK):
            pytest.fail("dnsmasq not installed (apt-get install dnsmasq-base)")
        self.proc = subprocess.Popen([DNSMASQ, "-k", "-C", self.conf],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace")
                pytest.fail("dnsmasq exited (%s): %s" % (self.proc.returncode, out))
            if dns_query_a(self.port, "fs-12345678.efs.us-east-1.amazonaws.com") == 0:
                return
        self.stop()
        pytest.fail("dnsmasq did not answer on 127.0.0.1:%d within 10 s" % self.port)

    def set_hosts(self, lines):
        """Replace the run-time records and make dnsmasq re-read them (waits
        until the first new name answers)."""
        with open(self.hosts, "w") as f:
            f.write("".join("%s %s\n" % (ip, name) for ip, name in lines))
        self.proc.send_signal(signal.SIGHUP)
        if lines:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if dns_query_a(self.port, lines[0][1]) == 0:
                    return
            pytest.fail("dnsmasq did not pick up %s after SIGHUP" % self.hosts)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port


class Standin:
    def __init__(self):
        self.proc = None
        self.port = None

    def start(self):
        self.proc = subprocess.Popen([PYTHON, STANDIN, "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()  # blocks until it listens or dies
        if not line.startswith("LISTENING "):
            err = self.proc.stderr.read().decode(errors="replace")
            self.stop()
            pytest.fail("stand-in did not start: %r %s" % (line, err))
        self.port = int(line.split(":")[-1])

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def _post(self, path, obj):
        req = urllib.request.Request(self.url + path, data=json.dumps(obj).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200

    def set(self, **kw):
        self._post("/_control/set", kw)

    def reset(self):
        self._post("/_control/reset", {})

    def log(self):
        with urllib.request.urlopen(self.url + "/_control/log", timeout=5) as r:
            return json.loads(r.read())

    def api_log(self):
        return [e for e in self.log() if e["path"].startswith("/2015-02-01/")]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
