"""Helpers for the NFSv4.1 state tests (issue 12): paths, waiting with a
deadline, child processes run with a deadline and killed by pid, and the
actor (actor.py) that holds files and locks open across faults."""

import errno
import json
import os
import select
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools")
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)
ACTOR = os.path.join(HERE, "actor.py")
RECWRITER = os.path.join(HERE, "recwriter.py")
PY = sys.executable
REFUSED = (errno.EAGAIN, errno.EACCES)


def ename(e):
    if e is None:
        return "ok"
    return errno.errorcode.get(e, str(e))


def wait_for(cond, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def pid_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def wait_gone(pid, timeout):
    """Seconds until pid is gone (zombie counts as gone), None if still there."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if not pid_alive(pid):
            return time.monotonic() - t0
        time.sleep(0.01)
    return None


# Code run by py_op in a child: one syscall (or a few) on the mount, result
# as JSON on stdout, so a hang is a timeout of the child, not of the test.
_OP = r"""
import errno, json, os, sys, time
op, args = sys.argv[1], json.loads(sys.argv[2])
t0 = time.monotonic()
res = {"ok": True, "errno": None}
try:
    if op == "stat":
        os.stat(args["path"])
    elif op == "lstat_missing":
        try:
            os.stat(args["path"])
        except FileNotFoundError:
            pass
    elif op == "listdir":
        res["n"] = len(os.listdir(args["path"]))
    elif op == "read":
        fd = os.open(args["path"], os.O_RDONLY)
        try:
            res["data"] = os.pread(fd, args.get("len", 4096), args.get("off", 0)).hex()
        finally:
            os.close(fd)
    elif op == "write_fsync":
        fd = os.open(args["path"], os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, bytes.fromhex(args["data"]), args.get("off", 0))
            os.fsync(fd)
        finally:
            os.close(fd)
    elif op == "write_close":
        fd = os.open(args["path"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, bytes.fromhex(args["data"]))
        os.close(fd)
    elif op == "create_excl":
        os.close(os.open(args["path"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    elif op == "unlink":
        os.unlink(args["path"])
    elif op == "rmdir":
        os.rmdir(args["path"])
    elif op == "mkdir":
        os.mkdir(args["path"])
    elif op == "rename":
        os.rename(args["path"], args["dst"])
    elif op == "link":
        os.link(args["path"], args["dst"])
    elif op == "setlk":
        import fcntl, struct
        fd = os.open(args["path"], os.O_RDWR)
        try:
            fcntl.fcntl(fd, fcntl.F_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0,
                        args.get("start", 0), args.get("len", 0), 0))
        finally:
            os.close(fd)
    else:
        raise SystemExit("unknown op " + op)
except OSError as e:
    res = {"ok": False, "errno": e.errno}
res["secs"] = time.monotonic() - t0
print(json.dumps(res), flush=True)
"""


class OpResult:
    def __init__(self, ok, err, secs, hung=False, data=None, extra=None):
        self.ok, self.errno, self.secs, self.hung, self.data = ok, err, secs, hung, data
        self.extra = extra or {}

    def __repr__(self):
        if self.hung:
            return "<hung after %.1fs>" % self.secs
        return "<%s in %.2fs>" % ("ok" if self.ok else ename(self.errno), self.secs)


def py_op(op, timeout, **args):
    """Run one file-system operation in a child with a deadline.  A child
    that does not finish is SIGKILLed (it may stay in D state until the
    mount goes away; it is reaped later by reap_later)."""
    t0 = time.monotonic()
    p = subprocess.Popen([PY, "-c", _OP, op, json.dumps(args)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        _stuck.append(p)
        return OpResult(False, None, time.monotonic() - t0, hung=True)
    if p.returncode != 0 or not out.strip():
        raise AssertionError("op child %s failed (%s): %s" % (op, p.returncode, err))
    r = json.loads(out.strip().splitlines()[-1])
    data = bytes.fromhex(r["data"]) if "data" in r else None
    return OpResult(r["ok"], r["errno"], r["secs"], data=data, extra=r)


_stuck = []


def stuck_children(wait=3):
    """Pids of py_op children that were abandoned and are still not gone."""
    end = time.monotonic() + wait
    left = [p for p in _stuck if p.poll() is None]
    while left and time.monotonic() < end:
        time.sleep(0.05)
        left = [p for p in left if p.poll() is None]
    return [p.pid for p in left]


def reap_stuck(timeout=10):
    """Wait for children that py_op had to abandon (after the mount is gone)."""
    left = []
    for p in _stuck:
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            left.append(p.pid)
    del _stuck[:]
    return left


class Actor:
    """A child process (actor.py) that keeps files and locks open and obeys
    one command per line; see actor.py for the commands."""

    def __init__(self, procs, *argv):
        self.proc = subprocess.Popen([PY, ACTOR] + list(argv), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        procs.append(self.proc)
        self.pid = self.proc.pid
        ready = self.reply(30)
        assert ready and ready.startswith("ok"), "actor did not start: %r %s" % (
            ready, self.proc.stderr.read() if self.proc.poll() is not None else "")

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def reply(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return None
        line = self.proc.stdout.readline()
        if not line:
            return "exited %r" % self.proc.poll()
        return line.strip()

    def cmd(self, line, timeout=30):
        self.send(line)
        ans = self.reply(timeout)
        assert ans is not None, "actor %d: no answer to %r within %ss" % (
            self.pid, line, timeout)
        return ans


class Procs(list):
    """Child processes of a test: all SIGKILLed (by pid) and reaped at teardown."""

    def kill_all(self, wait=15):
        """SIGKILL all; returns the pids still not gone after `wait` s each
        (stuck in a hung FUSE request)."""
        for p in self:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        stuck = []
        for p in self:
            try:
                p.wait(wait)
            except subprocess.TimeoutExpired:
                stuck.append(p.pid)
                continue
            for f in (p.stdin, p.stdout, p.stderr):
                if f is not None:
                    try:
                        f.close()
                    except OSError:
                        pass
        return stuck


def record(wid, n, size):
    import hashlib
    head = ("W%s:%d:" % (wid, n)).encode()
    body = hashlib.sha256(head).hexdigest().encode()
    pay = (body * (size // len(body) + 1))[:size - len(head) - 1]
    return head + pay + b"\n"


def read_writer_log(log):
    """(fsynced record numbers, error lines, close status)."""
    done, errs, close = [], [], None
    if not os.path.exists(log):
        return done, errs, close
    with open(log) as f:
        for line in f:
            line = line.strip()
            if line.isdigit():
                done.append(int(line))
            elif line.startswith("err"):
                errs.append(line)
            elif line.startswith("close"):
                close = line
    return done, errs, close


def check_records(path, wid, size, fsynced):
    """Problems with the server-side file of writer wid: fsynced records
    missing, records corrupted, bytes that are no record at all."""
    problems = []
    with open(path, "rb") as f:
        data = f.read()
    seen = {}
    off = 0
    while off < len(data):
        chunk = data[off:off + size]
        try:
            n = int(chunk.split(b":")[1])
            ok = chunk == record(wid, n, size)
        except (IndexError, ValueError):
            ok, n = False, None
        if not ok:
            problems.append("bytes at offset %d are not a record of writer %s: %r" % (
                off, wid, chunk[:40]))
            if len(problems) > 5:
                break
        else:
            seen[n] = seen.get(n, 0) + 1
        off += size
    missing = [n for n in fsynced if n not in seen]
    if missing:
        problems.append("%d fsynced records of writer %s missing on the server (first %r)" % (
            len(missing), wid, missing[:10]))
    return problems
