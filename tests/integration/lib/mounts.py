"""efs-fuse mounts for tests: mount (as root or as a test user), wait for
the mount in /proc/self/mountinfo, unmount with fusermount3 and reap the
daemon, and clean up whatever is left even after a failure."""

import ctypes
import os
import re
import signal
import subprocess
import time

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Make this process the reaper of orphaned descendants, so a daemon that
    detached from us can still be waited for (and its exit status read)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap_orphans():
    """Reap exited children (orphans re-parented to us as subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _unescape(field):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mountinfo():
    """[(mountpoint, fstype, source)] from /proc/self/mountinfo."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.rstrip("\n").partition(" - ")
            fields, rfields = left.split(" "), right.split(" ")
            out.append((_unescape(fields[4]), rfields[0], _unescape(rfields[1])))
    return out


def fuse_mounts_under(prefix):
    prefix = os.path.realpath(prefix).rstrip("/") + "/"
    return [m for m in mountinfo()
            if m[1].startswith("fuse") and (m[0] + "/").startswith(prefix)]


def is_mounted(path):
    path = os.path.realpath(path)
    return any(m[0] == path and m[1].startswith("fuse") for m in mountinfo())


class MountError(Exception):
    pass


def _pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _wait_pid(pid, timeout):
    """Wait for pid to exit; return its exit status when it is our child
    (or orphaned to us as subreaper), None when it is gone but not ours.
    Raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
            if got == pid:
                return os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            if not _pid_alive(pid):
                return None
        if time.monotonic() > deadline:
            raise TimeoutError("pid %d still running after %ss" % (pid, timeout))
        time.sleep(0.02)


def find_daemon(binary, mountpoint):
    """Pids of running processes of binary whose argv names mountpoint."""
    exe = os.path.realpath(binary)
    mp = os.path.realpath(mountpoint)
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/exe" % d) != exe:
                continue
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0")]
        except OSError:
            continue
        if any(a and os.path.realpath(a) == mp for a in argv[1:]) and _pid_alive(int(d)):
            pids.append(int(d))
    return pids


class EfsMount:
    """One efs-fuse mount.

    foreground=False runs `efs-fuse SOURCE MNT -o ...`, which must return 0
    only once the mount is usable; foreground=True adds -f, keeps the daemon
    as our child and captures its stderr in stderr_path.
    """

    def __init__(self, binary, source, mountpoint, options=(), user=None,
                 foreground=False, debug=False, extra_args=(), stderr_path=None,
                 netns=None, own_log=True):
        self.binary = binary
        self.source = source
        self.mountpoint = os.path.realpath(mountpoint)
        self.options = list(options)
        self.user = user
        self.foreground = foreground
        self.debug = debug
        self.extra_args = list(extra_args)
        self.netns = netns  # network namespace to run the daemon in
        self.own_log = own_log  # a root daemon logs to stderr_path (log=)
        self.stderr_path = stderr_path or (self.mountpoint.rstrip("/") + ".stderr")
        self.proc = None       # foreground: the daemon
        self.pid = None        # the daemon's pid
        self.exit_status = None
        self.mount_output = ""  # background: what the mount command printed

    def argv(self):
        a = [self.binary, self.source, self.mountpoint]
        opts = list(self.options)
        # A root daemon logs next to its mount point (m.stderr() reads it), not
        # to the default log file of a machine without /dev/log.
        if self.own_log and not self.foreground and not self.user and \
                not any(o.startswith("log=") for o in opts):
            opts.append("log=" + self.stderr_path)
        if opts:
            a += ["-o", ",".join(opts)]
        if self.foreground:
            a.append("-f")
        if self.debug:
            a.append("-d")
        a += self.extra_args
        if self.user:
            a = self.user.cmd(a)
        if self.netns:
            a = ["nsenter", "--net=/run/netns/%s" % self.netns, "--"] + a
        return a

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def mount(self, timeout=60):
        assert not is_mounted(self.mountpoint), "%s already mounted" % self.mountpoint
        if self.foreground:
            return self._mount_foreground(timeout)
        try:
            p = subprocess.run(self.argv(), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=timeout)
        except subprocess.TimeoutExpired as e:
            self.pid = (find_daemon(self.binary, self.mountpoint) or [None])[0]
            self.cleanup()
            raise MountError("efs-fuse did not return within %ss: %r" % (timeout, e.output))
        self.mount_output = p.stdout.decode(errors="replace")
        if p.returncode != 0:
            self.cleanup()
            raise MountError("efs-fuse %s %s exited %d: %s" % (
                self.source, self.mountpoint, p.returncode, self.mount_output.strip()))
        # The contract: it detaches only once the mount is usable.
        if not is_mounted(self.mountpoint):
            self.cleanup()
            raise MountError("efs-fuse returned 0 but %s is not in /proc/self/mountinfo"
                             % self.mountpoint)
        pids = find_daemon(self.binary, self.mountpoint)
        if len(pids) != 1:
            self.cleanup()
            raise MountError("expected one efs-fuse daemon for %s, found %r"
                             % (self.mountpoint, pids))
        self.pid = pids[0]
        return self

    def _mount_foreground(self, timeout):
        err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=err, stderr=err)
        err.close()
        self.pid = self.proc.pid
        deadline = time.monotonic() + timeout
        while not is_mounted(self.mountpoint):
            if self.proc.poll() is not None:
                self.exit_status = self.proc.returncode
                self.proc = None
                raise MountError("efs-fuse -f exited %d before mounting: %s" % (
                    self.exit_status, self.stderr().strip()[-2000:]))
            if time.monotonic() > deadline:
                self.cleanup()
                raise MountError("%s not mounted after %ss: %s" % (
                    self.mountpoint, timeout, self.stderr().strip()[-2000:]))
            time.sleep(0.02)
        return self

    def unmount(self, timeout=30, as_user=False):
        """fusermount3 -u; wait for the daemon; return its exit status
        (None if it could not be read).  Raises on failure."""
        cmd = ["fusermount3", "-u", self.mountpoint]
        if as_user and self.user:
            cmd = self.user.cmd(cmd)
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        if p.returncode != 0:
            raise MountError("fusermount3 -u %s failed (%d): %s" % (
                self.mountpoint, p.returncode, p.stderr.strip()))
        assert not is_mounted(self.mountpoint), "still mounted after fusermount3 -u"
        return self._reap(timeout)

    def _reap(self, timeout):
        if self.proc is not None:
            try:
                self.exit_status = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                raise TimeoutError("efs-fuse (pid %d) still running %ss after unmount"
                                   % (self.proc.pid, timeout))
            self.proc = None
        elif self.pid is not None:
            self.exit_status = _wait_pid(self.pid, timeout)
        self.pid = None
        return self.exit_status

    def cleanup_stray(self):
        """cleanup() for a mount this object did not start: adopt whatever
        efs-fuse daemon serves the mount point first."""
        pids = find_daemon(self.binary, self.mountpoint)
        if pids and self.pid is None and self.proc is None:
            self.pid = pids[0]
        return self.cleanup()

    def cleanup(self):
        """Best effort, never raises: unmount (lazily as a last resort) and
        stop the daemon we started (SIGTERM, then SIGKILL)."""
        problems = []
        if is_mounted(self.mountpoint):
            p = subprocess.run(["fusermount3", "-u", self.mountpoint],
                               stdin=subprocess.DEVNULL, capture_output=True)
            if p.returncode != 0 and is_mounted(self.mountpoint):
                problems.append("fusermount3 -u failed: %s" % p.stderr.decode().strip())
                subprocess.run(["fusermount3", "-uz", self.mountpoint],
                               stdin=subprocess.DEVNULL, capture_output=True)
        pid = self.proc.pid if self.proc is not None else self.pid
        if pid is not None:
            for sig, wait in ((None, 10), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                if sig is not None:
                    problems.append("daemon %d needed %s" % (pid, sig.name))
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
                try:
                    self._reap(wait)
                    break
                except (TimeoutError, ChildProcessError):
                    continue
        self.proc = None
        self.pid = None
        return problems
