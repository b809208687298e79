"""Logs you can find (issue 8): -o log=FILE once detached, the default file
when there is no /dev/log, loglevel=, and the SIGUSR1 state dump."""

import os
import re
import signal
import stat

from opslib import read_file, wait_for


def _have_syslog():
    try:
        return stat.S_ISSOCK(os.stat("/dev/log").st_mode)
    except FileNotFoundError:
        return False


def test_log_file_when_detached(ganesha, mount_factory, it_tmp):
    log = os.path.join(it_tmp, "logs", "detached.log")  # the directory is created
    m = mount_factory(ganesha.source, options=["log=" + log])
    assert "(log: %s)" % log in m.mount_output, m.mount_output
    text = wait_for(lambda: read_file(log), 5)
    assert "mounted %s on %s" % (ganesha.source, m.mountpoint) in text, text
    # one line per message: time, pid, level
    first = text.splitlines()[0]
    assert "efs-fuse[%d]: notice: " % m.pid in first, first
    assert m.unmount() == 0
    assert wait_for(lambda: "unmounting %s" % m.mountpoint in read_file(log), 5), read_file(log)


def test_default_log_without_syslog(ganesha, mount_factory):
    m = mount_factory(ganesha.source, own_log=False)
    if _have_syslog():
        assert "(log: syslog)" in m.mount_output, m.mount_output
        return
    name = m.mountpoint.lstrip("/").replace("/", "-")
    want = "/var/log/efs-fuse/%s.log" % name  # we are root
    try:
        assert "(log: %s)" % want in m.mount_output, m.mount_output
        assert wait_for(lambda: "mounted" in read_file(want), 5), read_file(want)
        assert m.unmount() == 0
    finally:
        if os.path.exists(want):
            os.unlink(want)


def test_loglevel_debug_reaches_the_file(ganesha, mount_factory, it_tmp):
    log = os.path.join(it_tmp, "debug.log")
    m = mount_factory(ganesha.source, options=["log=" + log, "loglevel=debug"])
    os.listdir(m.mountpoint)
    assert wait_for(lambda: ": debug: " in read_file(log), 5), read_file(log)[-2000:]
    m.unmount()
    quiet = os.path.join(it_tmp, "quiet.log")
    m = mount_factory(ganesha.source, options=["log=" + quiet, "loglevel=err"])
    os.listdir(m.mountpoint)
    m.unmount()
    assert ": notice: " not in read_file(quiet) and ": debug: " not in read_file(quiet)


def test_sigusr1_state_dump(ganesha, mount_factory, it_tmp):
    log = os.path.join(it_tmp, "dump.log")
    m = mount_factory(ganesha.source, options=["log=" + log])
    d = os.path.join(m.mountpoint, "dump-%d" % os.getpid())
    os.mkdir(d)
    for i in range(3):
        with open(os.path.join(d, "f%d" % i), "w") as f:
            f.write("x")
    # one file held open with cached, unwritten data
    held = open(os.path.join(d, "held"), "w")
    held.write("y" * 5000)
    held.flush()  # no stat: a GETATTR would write it out first
    os.kill(m.pid, signal.SIGUSR1)
    assert wait_for(lambda: "state dump: end" in read_file(log), 5), read_file(log)[-2000:]
    text = read_file(log)
    held.close()
    # session and slots, calls in flight, the open file, its dirty bytes (issue 8)
    assert re.search(r"state dump: session: up, client id [0-9a-f]{16}, generation 1, running, "
                     r"slots \d+ \(target \d+, busy \d+, interrupted 0\)", text), text
    assert re.search(r"state dump: calls in flight: \d+, oldest \d+ ms", text), text
    assert re.search(r"state dump: open: fh [0-9a-f]+(\.\.\.)? uid 0 gid 0, fds r/w/rw 0/1/0, "
                     r"open on the server, locks 0 ranges", text), text
    assert re.search(r"state dump: dirty: file \d+, 5000 bytes, oldest \d+ ms", text), text
    assert "state dump: %s on %s, server 127.0.0.1:%d, hard" % (
        ganesha.source, m.mountpoint, ganesha.port) in text, text
    assert "state dump: proc.OPEN " in text, text
    assert "state dump: fuse.create 4" in text, text  # f0..f2 and held
    # the daemon goes on serving
    assert sorted(os.listdir(d)) == ["f0", "f1", "f2", "held"]
    assert m.unmount() == 0


def test_log_stderr_keeps_callers_stderr(ganesha, mount_factory, it_tmp):
    # log=stderr: the detached daemon keeps the stderr it was started with
    m = mount_factory(ganesha.source, options=["log=stderr"], foreground=True)
    assert "mounted" in m.stderr()
    assert m.unmount() == 0
    assert "unmounting" in m.stderr()
