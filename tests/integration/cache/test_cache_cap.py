"""The write-back cache cap holds: 4 GiB written with cache_size=256M keeps
the daemon's resident set below the cap plus 128 MiB of slack."""

import os
import subprocess
import time

import pytest

from cachelib import MiB, vm_rss

CAP_MIB = 256
SLACK_MIB = 128
TOTAL_MIB = 4096
NEED_FREE = 6 << 30


def test_rss_stays_below_cache_cap_during_4g_write(ganesha, mount_factory):
    st = os.statvfs(ganesha.export_dir)
    free = st.f_bavail * st.f_frsize
    if free < NEED_FREE:
        pytest.fail("the cache-cap test needs %d GiB free on the export's file system (%s), "
                    "only %.1f GiB free" % (NEED_FREE >> 30, ganesha.export_dir, free / 2**30),
                    pytrace=False)
    m = mount_factory(ganesha.source, options=["cache_size=%dM" % CAP_MIB])
    pid = m.pid
    rss0 = vm_rss(pid)
    path = os.path.join(m.mountpoint, "cap-4g")
    spath = ganesha.server_path("cap-4g")
    samples = []
    dd = subprocess.Popen(["dd", "if=/dev/zero", "of=" + path, "bs=1M",
                           "count=%d" % TOTAL_MIB, "conv=fsync", "status=none"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    t0 = time.monotonic()
    try:
        # Sample until dd exits (bounded: a stuck write-back fails the test).
        while dd.poll() is None:
            samples.append((time.monotonic() - t0, vm_rss(pid), os.stat(spath).st_size
                            if os.path.exists(spath) else 0))
            assert time.monotonic() - t0 < 480, "dd of 4 GiB still running after 480 s"
            time.sleep(0.05)
        err = dd.stderr.read().decode(errors="replace")
        assert dd.returncode == 0, "dd exited %d: %s" % (dd.returncode, err.strip())
        elapsed = time.monotonic() - t0
        peak_t, peak, _ = max(samples, key=lambda s: s[1]) if samples else (0, rss0, 0)
        assert os.stat(spath).st_size == TOTAL_MIB * MiB, "server file size after dd"
        limit = (CAP_MIB + SLACK_MIB) * MiB
        print("4 GiB in %.1f s (%.0f MB/s); RSS start %.0f MiB, peak %.0f MiB at %.1f s, "
              "%d samples" % (elapsed, TOTAL_MIB * MiB / elapsed / 1e6, rss0 / MiB,
                               peak / MiB, peak_t, len(samples)))
        assert len(samples) >= 5, "too few RSS samples (%d) to judge" % len(samples)
        assert peak < limit, (
            "daemon RSS peaked at %.0f MiB (at %.1f s of %.1f s), above cache_size=%dM + "
            "%d MiB" % (peak / MiB, peak_t, elapsed, CAP_MIB, SLACK_MIB))
    finally:
        if dd.poll() is None:
            dd.kill()
            dd.wait(30)
        for f in (dd.stdout, dd.stderr):
            f.close()
        for p in (path, spath):  # through the mount; behind its back if that failed
            try:
                os.unlink(p)
            except OSError:
                pass
