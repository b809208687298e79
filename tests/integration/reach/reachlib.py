"""Helpers for the end-to-end "reach the mount target" tests (issue 4):
two nfs-ganesha "AZ mount targets" on 127.0.0.1 and 127.0.0.2 (same port),
dnsmasq as the VPC resolver, the IMDS + EFS API stand-in
(tests/standin/standin.py), stunnel4 as the TLS front, and efs-fuse run with
a clean, fully controlled environment (no AWS_* leaking in from the caller,
HOME in a temp dir, EFS_FUSE_CONFIG pointing at a per-test config file whose
instance metadata and EFS API endpoints are the stand-in: nothing ever leaves
loopback).

Every process is started with Popen and stopped by its pid."""

import hashlib
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.request

from lib import ganesha as ganesha_lib
from lib import mounts

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = ganesha_lib.REPO
STANDIN = os.path.join(REPO, "tests", "standin", "standin.py")
GEN_CERTS = os.path.join(REPO, "contrib", "tls", "gen-certs.sh")
STUNNEL_TEMPLATE = os.path.join(REPO, "contrib", "tls", "stunnel-server.conf.in")
PYTHON = "/usr/bin/python3"  # Debian's, with python3-botocore (the stand-in needs it)
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"

FS = "fs-12345678"
REGION = "us-east-1"
NAME = "fs-12345678.efs.us-east-1.amazonaws.com"
AZB_NAME = "us-east-1b." + NAME
API_ONLY_FS = "fs-deadbeef"  # NXDOMAIN in dnsmasq; the stand-in's API knows it
SWITCH_FS = "fs-0a0b0c0d"    # answered from dnsmasq's addn-hosts file (changed at run time)
SWITCH_NAME = "fs-0a0b0c0d.efs.us-east-1.amazonaws.com"

# Keys the stand-in knows (tests/standin/standin.py INITIAL_STATE).
TEST_AKID = "AKIAEFSFUSETEST00001"
TEST_SECRET = "testSecretKeyExample/00000000000000000000"
PROFILE_AKID = "AKIAEFSFUSEPROFILE01"
PROFILE_SECRET = "profileSecretKeyExample/0000000000000000"

MiB = 1 << 20


def wait_for(cond, timeout, what, interval=0.02):
    """Poll cond() until true; AssertionError naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(MiB)
            if not b:
                return h.hexdigest()
            h.update(b)


def port_pair():
    """A TCP port free on both 127.0.0.1 and 127.0.0.2 (the two AZs)."""
    rnd = random.Random(os.getpid() ^ int(time.time() * 1000))
    for _ in range(500):
        p = rnd.randrange(30000, 45000)
        if ganesha_lib._port_free("127.0.0.1", p) and ganesha_lib._port_free("127.0.0.2", p):
            return p
    raise RuntimeError("no TCP port free on both 127.0.0.1 and 127.0.0.2")


def udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def closed_tcp_port():
    """A loopback port where connect() is refused."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # bound, never listened: nothing accepts there now
    return port


# ---- the two AZ mount targets ------------------------------------------------

class AzGanesha(ganesha_lib.Ganesha):
    """Ganesha exporting its directory as the pseudo root "/" (as EFS does),
    so `efs-fuse fs-12345678 MNT` mounts the export itself."""

    def render_config(self):
        text = super().render_config()
        assert "Pseudo = /export;" in text, "ganesha template changed: Pseudo line not found"
        return text.replace("Pseudo = /export;", "Pseudo = /;")


def start_az(base, name, addr, port, export_dir=None, marker=True):
    state = os.path.join(base, "ganesha-%s" % name)
    os.makedirs(state)
    g = AzGanesha(state, addr=addr, port=port, export_dir=export_dir)
    g.az = name
    os.makedirs(g.export_dir, exist_ok=True)
    if marker:
        with open(g.server_path(name), "w") as f:
            f.write("%s\n" % name)
    g.start()
    return g


# ---- dnsmasq ---------------------------------------------------------------

def dns_query_a(port, name, timeout=0.3):
    """One A query to 127.0.0.1:port: (rcode, [addresses]) or None on no answer."""
    qid = random.randrange(1, 0xffff)
    hdr = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    q += struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(hdr + q, ("127.0.0.1", port))
        data, _ = s.recvfrom(2048)
    except OSError:
        return None
    finally:
        s.close()
    if len(data) < 12 or struct.unpack(">H", data[:2])[0] != qid:
        return None
    rcode = data[3] & 0x0F
    ancount = struct.unpack(">H", data[6:8])[0]
    # skip the question (we know its length), then read A answers
    off = 12 + len(q)
    addrs = []
    for _ in range(ancount):
        if off < len(data) and data[off] & 0xC0 == 0xC0:
            off += 2
        else:
            while off < len(data) and data[off]:
                off += data[off] + 1
            off += 1
        typ, _cls, _ttl, rdlen = struct.unpack(">HHIH", data[off:off + 10])
        off += 10
        if typ == 1 and rdlen == 4:
            addrs.append(socket.inet_ntoa(data[off:off + 4]))
        off += rdlen
    return rcode, addrs


class Dnsmasq:
    def __init__(self, state_dir):
        self.dir = state_dir
        os.makedirs(state_dir, exist_ok=True)
        os.chmod(state_dir, 0o755)  # after SIGHUP dnsmasq re-reads efs.hosts as nobody
        self.port = udp_port()
        self.hosts = os.path.join(state_dir, "efs.hosts")
        self.log_path = os.path.join(state_dir, "dnsmasq.log")
        self.conf = os.path.join(state_dir, "dnsmasq.conf")
        self.proc = None

    def start(self, switch_addr="127.0.0.1"):
        if not os.access(DNSMASQ, os.X_OK):
            raise RuntimeError("dnsmasq not installed (apt-get install dnsmasq-base)")
        with open(os.path.join(HERE, "dnsmasq.conf.in")) as f:
            conf = f.read().replace("@STATE@", self.dir).replace("@PORT@", str(self.port))
        with open(self.conf, "w") as f:
            f.write(conf)
        self._write_hosts(switch_addr)
        os.chmod(self.hosts, 0o644)
        self.proc = subprocess.Popen([DNSMASQ, "-k", "-C", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace")
                raise RuntimeError("dnsmasq exited (%s): %s" % (self.proc.returncode, out))
            if self.answer(NAME) == (0, ["127.0.0.1"]):
                break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("dnsmasq not answering on 127.0.0.1:%d" % self.port)
        return self

    def _write_hosts(self, addr):
        tmp = self.hosts + ".tmp"
        with open(tmp, "w") as f:
            f.write("%s %s\n" % (addr, SWITCH_NAME))
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.hosts)

    def answer(self, name):
        return dns_query_a(self.port, name)

    def switch(self, addr):
        """Point SWITCH_NAME at addr (addn-hosts + SIGHUP by pid); waits until
        dnsmasq answers the new address."""
        self._write_hosts(addr)
        self.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.answer(SWITCH_NAME) == (0, [addr]), 5,
                 "dnsmasq to answer %s -> %s after SIGHUP" % (SWITCH_NAME, addr))

    def forget(self):
        """Make SWITCH_NAME NXDOMAIN (empty addn-hosts + SIGHUP by pid)."""
        tmp = self.hosts + ".tmp"
        with open(tmp, "w") as f:
            f.write("# nothing\n")
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.hosts)
        self.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: (self.answer(SWITCH_NAME) or (None,))[0] == 3, 5,
                 "dnsmasq to answer NXDOMAIN for %s after SIGHUP" % SWITCH_NAME)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def queries(self, name):
        """How many queries for name dnsmasq has logged so far."""
        return sum(1 for l in self.log().splitlines()
                   if "query[" in l and (" %s from " % name) in l)

    def queried_since(self, name, before, timeout=3):
        """True once dnsmasq's log shows more than `before` queries for name
        (the log is written asynchronously)."""
        try:
            wait_for(lambda: self.queries(name) > before, timeout, "a query for " + name)
            return True
        except AssertionError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port


# ---- the IMDS + EFS API stand-in --------------------------------------------

class Standin:
    def __init__(self):
        self.proc = None
        self.port = None

    def start(self):
        self.proc = subprocess.Popen([PYTHON, STANDIN, "--port", "0"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()  # blocks until it listens or dies
        if not line.startswith("LISTENING "):
            err = self.proc.stderr.read().decode(errors="replace")
            self.stop()
            raise RuntimeError("stand-in did not start: %r %s" % (line, err))
        self.port = int(line.split(":")[-1])
        return self

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

    def imds_paths(self):
        return [e["path"] for e in self.log() if e["path"].startswith("/latest/")]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


# ---- stunnel4 --------------------------------------------------------------

class Stunnel:
    """stunnel4 server mode: TLS on addr:port -> plaintext connect (addr, port)."""

    def __init__(self, state_dir, cert, key, accept, connect):
        self.dir = state_dir
        os.makedirs(state_dir, exist_ok=True)
        self.accept = accept
        self.connect = connect
        self.cert, self.key = cert, key
        self.conf = os.path.join(state_dir, "stunnel.conf")
        self.log_path = os.path.join(state_dir, "stunnel.log")
        self.proc = None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start(self):
        if not shutil.which("stunnel4"):
            raise RuntimeError("stunnel4 not installed (scripts/install-deps.sh)")
        with open(STUNNEL_TEMPLATE) as f:
            text = f.read()
        subst = {"STATE": self.dir, "ACCEPT": "%s:%d" % self.accept,
                 "CONNECT": "%s:%d" % self.connect, "CERT": self.cert, "KEY": self.key,
                 "MINVER": "TLSv1.2"}
        for k, v in subst.items():
            text = text.replace("@%s@" % k, v)
        with open(self.conf, "w") as f:
            f.write(text)
        out = open(os.path.join(self.dir, "stunnel.out"), "ab")
        self.proc = subprocess.Popen(["stunnel4", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=out)
        out.close()
        try:
            wait_for(lambda: self.proc.poll() is not None or ganesha_lib._accepts(*self.accept),
                     15, "stunnel4 to accept on %s:%d" % self.accept)
        except AssertionError:
            self.stop()
            raise
        if self.proc.poll() is not None:
            raise RuntimeError("stunnel4 exited (%s): %s" % (self.proc.returncode,
                                                             self.log()[-2000:]))
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


# ---- efs-fuse with a controlled environment ---------------------------------

class ReachMount(mounts.EfsMount):
    """EfsMount whose daemon runs under `env -i` with exactly self.env."""

    def __init__(self, *a, env=None, **kw):
        super().__init__(*a, **kw)
        self.env = dict(env or {})

    def argv(self):
        return (["/usr/bin/env", "-i"] + ["%s=%s" % kv for kv in sorted(self.env.items())]
                + super().argv())


def daemon_peers(pid):
    """Remote 'addr:port' of the TCP connections the process pid holds (ss -tnp)."""
    p = subprocess.run(["ss", "-Htnp", "state", "established"], capture_output=True,
                       text=True)
    peers = []
    for line in p.stdout.splitlines():
        if "pid=%d," % pid in line:
            f = line.split()
            peers.append(f[3].replace("[::ffff:", "").replace("]", ""))
    return peers
