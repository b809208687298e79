"""The write-back cap is fair (issue 10): at cache_size a writer waits only
for data in flight, the flushers take the oldest dirty data of any file, an
idle open file holding dirty data stalls nobody, old dirty data is written
in the background, and a writer waiting for room can be killed."""

import os
import signal
import subprocess
import sys
import time

from datalib import MiB, daemon_stats, srv_dir, wait_for, write_all

WRITER = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
buf = b"w" * (1 << 20)
print("open", flush=True)
for i in range(int(sys.argv[2])):
    os.write(fd, buf)
    print(i, flush=True)
os.close(fd)
print("done", flush=True)
"""

HOLDER = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
for i in range(8):  # the whole cap dirty in partial chunks: nothing streams out
    os.pwrite(fd, b"h" * 500000, i * (1 << 20))
print("held", flush=True)
sys.stdin.readline()
os.close(fd)
print("closed", flush=True)
"""


def test_idle_holder_does_not_stall_other_writers(ganesha, mount_factory):
    """cache_size=4M: an open file holding (almost) the whole cap dirty and
    no activity; 32 MiB to another file must stream (it stalled before)."""
    m = mount_factory(ganesha.source, options=["cache_size=4M"])
    d, srv = srv_dir(ganesha, m, "cap-stall")
    # its own process: no other process inherits (and flushes at exec) its fd
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, os.path.join(d, "idle")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert daemon_stats(m.mountpoint)["wb.used_bytes"] >= 4 * MiB - 2 * 65536
        t0 = time.monotonic()
        w = subprocess.Popen([sys.executable, "-c", WRITER, os.path.join(d, "big"), "32"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = w.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            w.kill()
            out, err = w.communicate()
            raise AssertionError("32 MiB next to an idle holder: not done after 60 s")
        elapsed = time.monotonic() - t0
        assert w.returncode == 0, err
        assert os.stat(os.path.join(srv, "big")).st_size == 32 * MiB
        assert elapsed < 20, "32 MiB next to an idle holder took %.1f s" % elapsed
        # the holder's data was written for room: on the server before its close
        assert os.stat(os.path.join(srv, "idle")).st_size == 7 * MiB + 500000
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "closed"
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(60)


def test_old_dirty_data_written_in_background(ganesha, mount_factory):
    """wb_age=2: dirty data of an open, idle file reaches the server (written
    and committed) within a few seconds, without fsync or close."""
    m = mount_factory(ganesha.source, options=["wb_age=2"])
    d, srv = srv_dir(ganesha, m, "aged")
    fd = os.open(os.path.join(d, "f"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"a" * 10000)
        spath = os.path.join(srv, "f")
        wait_for(lambda: os.stat(spath).st_size == 10000, 15, "aged data on the server")
        wait_for(lambda: daemon_stats(m.mountpoint).get("wb.used_bytes") == 0, 15,
                 "aged data committed (cache empty)")
        assert daemon_stats(m.mountpoint).get("wb.aged", 0) >= 1
    finally:
        os.close(fd)


def test_writer_waiting_at_cap_can_be_killed(ganesha_factory, mount_factory):
    """The server stops answering (SIGSTOP): a writer fills the 4 MiB cache
    and waits for room; SIGKILL ends it at once (not stuck in D state)."""
    srv = ganesha_factory()
    m = mount_factory(srv.source, options=["cache_size=4M"])
    path = os.path.join(m.mountpoint, "stuck")
    w = subprocess.Popen([sys.executable, "-c", WRITER, path, "64"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    stopped = False
    try:
        assert w.stdout.readline().strip() == "open"
        assert w.stdout.readline().strip() == "0"
        os.kill(srv.proc.pid, signal.SIGSTOP)
        stopped = True
        # it fills the cache, then blocks: no progress line for a while
        lines = []
        while True:
            import select
            r, _, _ = select.select([w.stdout], [], [], 3)
            if not r:
                break
            line = w.stdout.readline()
            assert line, "writer ended while the server was stopped: %s" % w.stderr.read()
            lines.append(line)
            assert len(lines) < 64, "all 64 MiB cached with a 4 MiB cap"
        assert daemon_stats(m.mountpoint).get("wb.cap_waits", 0) >= 1
        t0 = time.monotonic()
        w.kill()
        rc = w.wait(20)
        assert rc == -signal.SIGKILL
        assert time.monotonic() - t0 < 5, "killed writer took %.1f s to die" % (
            time.monotonic() - t0)
    finally:
        if stopped:
            os.kill(srv.proc.pid, signal.SIGCONT)
        if w.poll() is None:
            w.kill()
            w.wait(60)
