"""Issue 12, lifecycle: "`fusermount3 -u` (or SIGTERM) on a hard mount whose
server is down never finishes ... When the server comes back, the stuck
daemon sends 4,500-10,000 RPCs per second" and "Unmount or SIGTERM with the
server unreachable exits within 5 s"; "no path can send more than a few RPCs
per second to a server that keeps failing".

The daemon reaches ganesha through the fault proxy, which counts every RPC
call (and every connection attempt).  The server goes down either for real
(ganesha SIGKILLed: connects reach the proxy, which cannot reach upstream and
resets them) or as a blackhole (accepted, never answered)."""

import os
import signal
import subprocess
import time

import pytest

from statelib import wait_gone

EXIT_WITHIN = 5.0
# "a handful per second at most": calls plus connection attempts per second
MAX_PER_SEC = 10


def _activity(proxy, since, until=None):
    calls = proxy.max_rate(since, until, window=1.0)
    ev = proxy.events_between(since, until)
    return calls, len([e for e in ev if e.kind == "call"])


@pytest.mark.parametrize("down", ["killed", "blackhole"])
@pytest.mark.parametrize("how", ["fusermount", "sigterm"])
def test_stop_with_server_down(ganesha_factory, proxy_factory, mount_factory, how, down):
    # issue 12: unmount/SIGTERM with the server down exits within 5 s, no RPC storm
    server = ganesha_factory(lease=10)   # the renewer runs every few seconds
    proxy = proxy_factory(server)
    m = mount_factory(proxy.source)
    pid = m.pid
    d = os.path.join(m.mountpoint, "d")
    os.mkdir(d)
    with open(os.path.join(d, "f"), "wb") as f:
        f.write(b"x" * 1000)
    # the server goes away
    if down == "killed":
        server.kill(signal.SIGKILL)
        proxy.cut()                 # its connections die with it
    else:
        proxy.blackhole()
    acc0, fail0 = proxy.accepted, proxy.upstream_failures
    t_down = time.monotonic()
    # unmount once the daemon is retrying against the dead server (its lease
    # renewer, within a lease): a call into the blackhole, or a connect that
    # the proxy could not forward
    proxy.wait_for(lambda: proxy.calls(since=t_down) > 0 or proxy.upstream_failures > fail0,
                   15, "the daemon to try the dead server")
    time.sleep(1.0)                 # and has been at it for a while (no sync: a duration)
    if how == "fusermount":
        p = subprocess.run(["fusermount3", "-u", m.mountpoint], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0, "fusermount3 -u failed: %s" % p.stderr
    else:
        os.kill(pid, signal.SIGTERM)
    took = wait_gone(pid, EXIT_WITHIN)
    t1 = time.monotonic()
    rate_stopping, n_stopping = _activity(proxy, t_down, t1)
    conn_attempts = proxy.accepted - acc0
    storm = None
    if took is None:
        # still running: the server comes back; the stuck daemon must not flood it
        if down == "killed":
            server.start(keep_log=True)
        proxy.pass_()
        t2 = time.monotonic()
        time.sleep(3)
        storm = _activity(proxy, t2, time.monotonic())
        storm = storm + (sorted(proxy.summary(t2).items(), key=lambda kv: -kv[1])[:4],)
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid, 10)
        m.cleanup()          # reaps it; the mount is already gone
    conn_rate = conn_attempts / max(t1 - t_down, 1.0)
    assert took is not None, (
        "efs-fuse (pid %d) still running %.0f s after %s with the server %s; while stopping "
        "it sent %d calls (max %d/s) and %d connection attempts; after the server came back "
        "it sent %s calls in 3 s (max %s/s; %s)" % (
            pid, EXIT_WITHIN, how, down, n_stopping, rate_stopping, conn_attempts,
            storm[1] if storm else "-", storm[0] if storm else "-", storm[2] if storm else ""))
    assert rate_stopping <= MAX_PER_SEC and conn_rate <= MAX_PER_SEC, (
        "RPC storm while stopping: max %d calls/s, %.1f connection attempts/s" % (
            rate_stopping, conn_rate))
    if how == "sigterm":
        from lib import mounts
        assert not mounts.is_mounted(m.mountpoint), "SIGTERM: daemon exited, mount left behind"


def test_failing_server_no_storm(server, proxy_factory, mount_factory, procs):
    # issue 12: "no path can send more than a few RPCs per second to a server that keeps
    # failing" -- a hard mount with an application waiting while the server is down
    proxy = proxy_factory(server)
    m = mount_factory(proxy.source, options=["timeo=10"])
    d = os.path.join(m.mountpoint, "d")
    os.mkdir(d)
    server.kill(signal.SIGKILL)
    proxy.cut()
    # an application keeps asking (it blocks: hard mount)
    import sys
    p = subprocess.Popen([sys.executable, "-c",
                          "import os,sys\nwhile True:\n  try: os.stat(sys.argv[1]+'/n%d'%os.getpid())\n"
                          "  except OSError: pass\n", d])
    procs.append(p)
    acc0 = proxy.accepted
    t0 = time.monotonic()
    time.sleep(4)
    t1 = time.monotonic()
    attempts = proxy.accepted - acc0
    server.start(keep_log=True)
    assert attempts / (t1 - t0) <= MAX_PER_SEC, (
        "%d connection attempts in %.1f s to a dead server" % (attempts, t1 - t0))
    # and it comes back by itself
    from statelib import py_op
    r = py_op("mkdir", 60, path=os.path.join(d, "after"))
    assert r.ok, "mkdir after the server came back: %r" % r
