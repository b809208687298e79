"""One nfs-ganesha instance (NFSv4 only, FSAL VFS) on a loopback address.

The configuration comes from contrib/ganesha/ganesha.conf.in, the same
template scripts/lib/ganesha.sh uses.  Needs root (FSAL VFS uses
open_by_handle_at).  Start waits for the port to accept (polling, with a
deadline) and fails if the log shows a configuration error: ganesha does not
exit on a bad config, it serves no exports.
"""

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
TEMPLATE = os.path.join(REPO, "contrib", "ganesha", "ganesha.conf.in")

_next_port = int(os.environ.get("EFS_IT_PORT_BASE", "20490"))


def _port_free(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _port_bindable(addr, port):
    """Like _port_free, with SO_REUSEADDR as a server sets it (connections
    in TIME_WAIT on the port do not count)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def allocate_port(addr="127.0.0.1"):
    """A TCP port on addr that nothing is bound to, from EFS_IT_PORT_BASE up."""
    global _next_port
    for _ in range(500):
        port = _next_port
        _next_port += 1
        if _port_free(addr, port):
            return port
    raise RuntimeError("no free TCP port on %s from %d" % (addr, _next_port - 500))


def closed_port(addr="127.0.0.1"):
    """A port on addr where a connect() is refused (nothing listens)."""
    port = allocate_port(addr)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        assert s.connect_ex((addr, port)) != 0, "port %d unexpectedly accepts" % port
    finally:
        s.close()
    return port


def plugins_dir():
    hits = glob.glob("/usr/lib/*/ganesha/libfsalvfs.so") + \
        glob.glob("/usr/lib/ganesha/libfsalvfs.so")
    if not hits:
        raise RuntimeError("libfsalvfs.so not found: apt-get install nfs-ganesha-vfs "
                           "(scripts/install-deps.sh)")
    return os.path.dirname(hits[0])


def _accepts(addr, port, netns=None):
    if netns:  # connect from inside the namespace
        code = "import socket,sys;s=socket.socket();s.settimeout(0.5);" \
               "sys.exit(s.connect_ex((%r,%d)))" % (addr, port)
        return subprocess.run(netns_cmd(netns, [sys.executable, "-c", code]),
                              capture_output=True).returncode == 0
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        return s.connect_ex((addr, port)) == 0
    finally:
        s.close()


def netns_cmd(netns, argv):
    """argv run in network namespace netns (made by `ip netns add`), keeping
    the mount namespace (unlike `ip netns exec`) so FUSE mounts stay visible."""
    if not netns:
        return list(argv)
    return ["nsenter", "--net=/run/netns/%s" % netns, "--"] + list(argv)


class Ganesha:
    """nfs-ganesha serving export_dir as /export on addr:port."""

    def __init__(self, state_dir, addr="127.0.0.1", port=None, lease=60,
                 graceless=True, grace=5, export_dir=None, netns=None):
        self.state_dir = state_dir
        self.export_dir = export_dir or os.path.join(state_dir, "export")
        self.addr = addr
        self.port = port or (2049 if netns else allocate_port(addr))
        self.lease = lease
        self.graceless = graceless
        self.grace = grace
        self.netns = netns
        self.proc = None
        self.log_path = os.path.join(state_dir, "ganesha.log")
        self.conf_path = os.path.join(state_dir, "ganesha.conf")

    @property
    def source(self):
        """SOURCE argument for efs-fuse."""
        return "%s:%d:/export" % (self.addr, self.port)

    def render_config(self):
        with open(TEMPLATE) as f:
            text = f.read()
        subst = {
            "ADDR": self.addr, "PORT": str(self.port), "STATE": self.state_dir,
            "EXPORT": self.export_dir, "LEASE": str(self.lease),
            "GRACELESS": "true" if self.graceless else "false",
            "GRACE": str(self.grace), "PLUGINS": plugins_dir(),
        }
        for k, v in subst.items():
            text = text.replace("@%s@" % k, v)
        left = re.findall(r"@[A-Z]+@", text)
        assert not left, "unfilled placeholders in %s: %s" % (TEMPLATE, left)
        return text

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start(self, timeout=20, keep_log=False):
        if not shutil.which("ganesha.nfsd"):
            raise RuntimeError("ganesha.nfsd not installed (scripts/install-deps.sh)")
        os.makedirs(os.path.join(self.state_dir, "recov"), exist_ok=True)
        os.makedirs(self.export_dir, exist_ok=True)
        with open(self.conf_path, "w") as f:
            f.write(self.render_config())
        if not keep_log:
            open(self.log_path, "w").close()
        out = open(os.path.join(self.state_dir, "ganesha.out"), "ab")
        self.proc = subprocess.Popen(netns_cmd(self.netns, [
            "ganesha.nfsd", "-F", "-f", self.conf_path, "-L", self.log_path,
             "-p", os.path.join(self.state_dir, "ganesha.pid"), "-N", "NIV_EVENT"]),
            stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        out.close()
        deadline = time.monotonic() + timeout
        while not _accepts(self.addr, self.port, self.netns):
            if self.proc.poll() is not None:
                raise RuntimeError("ganesha exited (%s) during start-up:\n%s"
                                   % (self.proc.returncode, self.log()[-3000:]))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("ganesha not accepting on %s:%d after %ds:\n%s"
                                   % (self.addr, self.port, timeout, self.log()[-3000:]))
            time.sleep(0.02)
        bad = [l for l in self.log().splitlines() if re.search(r"CRIT.*Config|Config.*CRIT", l)]
        if bad:
            self.stop()
            raise RuntimeError("ganesha configuration errors:\n" + "\n".join(bad))
        return self

    def stop(self, timeout=15):
        """SIGTERM, wait, SIGKILL after timeout.  Returns the exit status."""
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

    def kill(self, sig=signal.SIGKILL, timeout=15):
        """Stop the server with sig (SIGKILL: no clean shutdown, state is
        kept in the recovery directory; SIGTERM: ganesha's own shutdown);
        SIGKILL after timeout.  Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        rc = self.proc.returncode
        self.proc = None
        return rc

    def restart(self, sig=signal.SIGTERM, graceless=None, grace=None, lease=None,
                down=0.0, timeout=20):
        """Stop with sig, stay down for `down` seconds, start again on the
        same port with the same export and recovery directory (so clients can
        reclaim).  graceless/grace/lease change the configuration for the new
        instance.  The log is kept (appended to).  Returns the stop status."""
        rc = self.kill(sig)
        if graceless is not None:
            self.graceless = graceless
        if grace is not None:
            self.grace = grace
        if lease is not None:
            self.lease = lease
        if down:
            time.sleep(down)
        deadline = time.monotonic() + timeout
        while not _port_bindable(self.addr, self.port):  # a dying instance may hold it
            if time.monotonic() > deadline:
                raise RuntimeError("port %d still busy after ganesha stopped" % self.port)
            time.sleep(0.02)
        self.start(timeout=timeout, keep_log=True)
        return rc

    def in_grace(self):
        """True while the newest instance's log says it is in its grace period."""
        log = self.log()
        i, j = log.rfind("Now IN GRACE"), log.rfind("Now NOT IN GRACE")
        return i >= 0 and i > j

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def client_records(self):
        """Names of the confirmed NFSv4 clients the server holds state for.

        ganesha's recovery backend keeps one entry per confirmed client under
        RecoveryRoot/v4recov/<node>/ and removes it when the client is
        destroyed (DESTROY_CLIENTID) or its lease expires, so this counts
        client records without dbus."""
        names = []
        for node in glob.glob(os.path.join(self.state_dir, "recov", "v4recov", "*")):
            names += [os.path.basename(node) + "/" + n for n in os.listdir(node)]
        return sorted(names)

    def server_path(self, *parts):
        """Path of a file inside the exported directory (server side)."""
        return os.path.join(self.export_dir, *parts)

