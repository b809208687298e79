"""Constants and helpers of the IAM / access point tests (see conftest.py)."""


import json
import os
import signal
import subprocess
import time


from lib import ganesha as ganesha_lib
from lib import mounts

REPO = ganesha_lib.REPO
STANDIN = os.path.join(REPO, "tests", "standin")
GEN_CERTS = os.path.join(REPO, "contrib", "tls", "gen-certs.sh")
FS_ID = "fs-12345678"
REGION = "us-east-1"
AP_ID = "fsap-0123456789abcdef0"
AP_OTHER_FS = "fsap-0fedcba9876543210"
AP_UID, AP_GID = 1001, 1002
AP_ROOT = "ap-root"

# Keys the "account" knows, and who hands them out.
ENV_KEY = ("AKIAENVEXAMPLE000001", "envSecretKeyExample/000000000000000000000")
PROFILE_KEY = ("AKIAPROFILEEXAMPLE01", "profileSecret+Example/0000000000000000000")
PROCESS_KEY = ("ASIAPROCESSEXAMPLE01", "processSecretExample/00000000000000000000",
               "IQoJprocessTOKEN/+=example")
SOURCE_KEY = ("AKIASOURCEEXAMPLE001", "sourceSecretExample/000000000000000000000")
ECS_KEY = ("ASIAECSEXAMPLE000001", "ecsSecretExample/0000000000000000000000000",
           "IQoJecsTOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==")
POD_KEY = ("ASIAPODEXAMPLE000001", "podSecretExample/0000000000000000000000000",
           "IQoJpodTOKEN+example=/==")
WEBID_KEY = ("ASIAWEBIDEXAMPLE0001", "webidSecretExample/00000000000000000000000",
             "IQoJwebidTOKEN/example+==")
ROLE_KEY = ("ASIAROLEEXAMPLE00001", "roleSecretKeyExample/0000000000000000000",
            "IQoJb3JpZ2luX2VjEXAMPLEROLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==")
ASSUMED_KEY = ("ASIAASSUMEDEXAMPLE01", "assumedSecretExample/00000000000000000000",
               "IQoJassumedTOKEN/abc+def==")
ECS_URI = "/v2/credentials/0e9b5e8c-ffff-4aaa-9bbb-0123456789ab"
POD_TOKEN = "pod-identity-token-abcdef0123456789"
WEBID_ROLE = "arn:aws:iam::123456789012:role/efs-irsa-role"
ASSUME_ROLE = "arn:aws:iam::123456789012:role/efs-assumed-role"
JWT = ("eyJhbGciOiJSUzI1NiIsImtpZCI6ImVmcyJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVm"
       "YXVsdDplZnMiLCJhdWQiOiJzdHMuYW1hem9uYXdzLmNvbSJ9.c2lnbmF0dXJl")

ALL_ACTIONS = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite",
               "elasticfilesystem:ClientRootAccess"]


def _keys():
    keys = {}
    for k in (ENV_KEY, PROFILE_KEY, PROCESS_KEY, SOURCE_KEY, ECS_KEY, POD_KEY, WEBID_KEY,
              ROLE_KEY, ASSUMED_KEY):
        keys[k[0]] = {"secret": k[1], "token": k[2] if len(k) > 2 else None,
                      "expiration": None}
    return keys


class PseudoRootGanesha(ganesha_lib.Ganesha):
    """ganesha exporting export_dir at the pseudo root, optionally read-only or
    squashing everyone to one uid/gid (an access point's enforced identity)."""

    def __init__(self, state_dir, export_dir, ro=False, squash_to=None, deny=False):
        super().__init__(state_dir, export_dir=export_dir)
        self.ro, self.squash_to, self.deny = ro, squash_to, deny

    def render_config(self):
        text = super().render_config()
        text = text.replace("Pseudo = /export;", "Pseudo = /;")
        if self.ro:
            text = text.replace("Access_Type = RW;", "Access_Type = RO;")
        if self.deny:
            text = text.replace("Access_Type = RW;", "Access_Type = None;")
        if self.squash_to:
            text = text.replace("Squash = No_Root_Squash;",
                                "Squash = All; Anonymous_Uid = %d; Anonymous_Gid = %d;"
                                % self.squash_to)
        for want in ("Pseudo = /;",) + (("Access_Type = RO;",) if self.ro else ()) + \
                (("Squash = All;",) if self.squash_to else ()) + \
                (("Access_Type = None;",) if self.deny else ()):
            assert want in text, "ganesha template changed: %s not applied" % want
        return text


class FileSystem:
    def __init__(self, base):
        self.root = os.path.join(base, "fsroot")
        self.ap_root = os.path.join(self.root, AP_ROOT)
        os.makedirs(self.ap_root)
        os.chmod(self.root, 0o777)
        os.chown(self.ap_root, AP_UID, AP_GID)  # EFS creates it with the AP's owner
        self.servers = []

    def start(self, base):
        def one(name, export, **kw):
            d = os.path.join(base, "ganesha-" + name)
            os.makedirs(d)
            s = PseudoRootGanesha(d, export, **kw)
            self.servers.append(s)
            s.start()
            return s
        self.rw = one("rw", self.root)
        self.ro = one("ro", self.root, ro=True)
        self.ap = one("ap", self.ap_root, squash_to=(AP_UID, AP_GID))
        self.deny = one("deny", self.root, deny=True)
        return self

    def stop(self):
        for s in self.servers:
            s.stop()




def _start(argv, what, lines=1):
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=None, text=True)
    got = []
    for _ in range(lines):
        line = proc.stdout.readline()  # the stand-ins print these once listening
        if not line:
            proc.wait(10)
            raise RuntimeError("%s exited (%s) during start-up" % (what, proc.returncode))
        got.append(line.split()[1].rsplit(":", 1))
    return proc, [(h, int(p)) for h, p in got]


def _stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class IamTarget:
    def __init__(self, base, certs, fs):
        self.path = os.path.join(base, "iam-target.json")
        self.base_config = {
            "cert": os.path.join(certs, "server.crt"),
            "key": os.path.join(certs, "server.key"),
            "fs_id": FS_ID, "region": REGION, "keys": _keys(), "policy": None,
            "backends": {"rw": [fs.rw.addr, fs.rw.port], "ro": [fs.ro.addr, fs.ro.port],
                         "deny": [fs.deny.addr, fs.deny.port]},
            "access_points": {
                AP_ID: {"fs_id": FS_ID, "backend": [fs.ap.addr, fs.ap.port]},
                AP_OTHER_FS: {"fs_id": "fs-87654321", "backend": [fs.ap.addr, fs.ap.port]},
            },
        }
        self.cafile = os.path.join(certs, "ca.crt")
        self.reset()

    def reset(self):
        self.config = json.loads(json.dumps(self.base_config))
        self._write()

    def set(self, **kw):
        self.config.update(kw)
        self._write()

    def _write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.config, f)
        os.rename(tmp, self.path)

    def start(self):
        self.proc, addrs = _start(["/usr/bin/python3", os.path.join(STANDIN, "iam_target.py"),
                                   "--config", self.path], "iam_target.py", 2)
        (_, self.port), (_, self.control_port) = addrs
        return self

    def _control(self, cmd):
        import socket
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=10) as s:
            s.sendall(cmd.encode() + b"\n")
            return s.makefile("r").readline().strip()

    def log(self):
        return json.loads(self._control("log"))

    def drop(self):
        return self._control("drop")

    @property
    def running(self):
        return self.proc.poll() is None


def new_verdicts(target):
    return target.log()[target.since:]


class HttpStandin:
    def __init__(self, proc, port):
        self.proc, self.port = proc, port
        self.url = "http://127.0.0.1:%d" % port

    def log(self):
        import urllib.request
        with urllib.request.urlopen(self.url + "/_control/log", timeout=10) as r:
            return json.loads(r.read())


def mount_fails(bin_path, source, opts, mountpoint, timeout=90):
    """Run a mount that must fail; return its one-line error."""
    try:
        p = subprocess.run([bin_path, source, mountpoint, "-o", ",".join(opts)],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
    finally:
        mounts.EfsMount(bin_path, source, mountpoint).cleanup_stray()
    assert p.returncode != 0, "exit 0 for %s -o %s" % (source, opts)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, "want a one-line error, got:\n%s" % p.stderr
    print("efs-fuse said: " + lines[0])
    assert not mounts.is_mounted(mountpoint)
    assert not mounts.find_daemon(bin_path, mountpoint), "a daemon is left for " + mountpoint
    return lines[0]


class IamEnv:
    """One mount's environment: set with monkeypatch, so it is undone after the test."""

    def __init__(self, base, monkeypatch, target, efs_fuse_bin, mount_factory):
        self.dir = base
        self.home = os.path.join(base, "home")
        os.makedirs(os.path.join(self.home, ".aws"))
        self.mp, self.target, self.bin = monkeypatch, target, efs_fuse_bin
        self.mount_factory = mount_factory
        for k in list(os.environ):
            if k.startswith("AWS_") or k.startswith("EFS_FUSE_"):
                monkeypatch.delenv(k)
        monkeypatch.setenv("HOME", self.home)
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
        self.conf = {"imds_enabled": "false"}
        self.config_path = os.path.join(base, "efs-fuse.conf")
        self.write_config()
        monkeypatch.setenv("EFS_FUSE_CONFIG", self.config_path)

    def write_config(self, **kw):
        self.conf.update(kw)
        with open(self.config_path, "w") as f:
            f.write("[mount]\n")
            for k, v in self.conf.items():
                f.write("%s = %s\n" % (k, v))

    def setenv(self, **kw):
        for k, v in kw.items():
            self.mp.setenv(k, v)

    def aws_file(self, name, text):
        with open(os.path.join(self.home, ".aws", name), "w") as f:
            f.write(text)

    def opts(self, extra=("iam",)):
        return ["tls", "mounttargetip=127.0.0.1", "port=%d" % self.target.port,
                "region=" + REGION, "cafile=" + self.target.cafile] + list(extra)

    def mount(self, extra=("iam",), **kw):
        return self.mount_factory(FS_ID, options=self.opts(extra), **kw)

    def mount_fails(self, extra=("iam",)):
        mp = os.path.join(self.dir, "mnt-fail")
        os.makedirs(mp, exist_ok=True)
        return mount_fails(self.bin, FS_ID, self.opts(extra), mp)


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.1)
