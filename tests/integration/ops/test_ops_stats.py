"""`efs-fuse stats` (issue 8): --json figures match a known workload, the live
view shows rates per NFS and FUSE operation, and a directory that is not an
efs-fuse mount gets a clear error."""

import os
import subprocess

from opslib import stats, stats_json


def test_json_counts_match_a_workload(ganesha, mount_factory):
    m = mount_factory(ganesha.source)
    d = os.path.join(m.mountpoint, "creates")
    os.mkdir(d)
    before = stats_json(m.binary, m.mountpoint)
    assert before["mountpoint"] == m.mountpoint
    assert "rates" not in before  # no INTERVAL: one sample of the counters
    for i in range(100):
        fd = os.open(os.path.join(d, "f%03d" % i), os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644)
        os.close(fd)
    after = stats_json(m.binary, m.mountpoint)
    delta = {k: after["counters"][k] - before["counters"].get(k, 0) for k in after["counters"]}
    assert delta["fuse.create"] == 100, delta
    assert delta["proc.OPEN"] == 100, delta  # one OPEN(create) per file
    assert delta["proc.CLOSE"] == 100, delta
    # the xattr is the same machine interface
    assert stats(m.mountpoint)["fuse.create"] == after["counters"]["fuse.create"]
    assert m.unmount() == 0


def test_json_rates_over_an_interval(ganesha, mount_factory):
    m = mount_factory(ganesha.source)
    proc = subprocess.Popen([m.binary, "stats", m.mountpoint, "1", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # keep the mount busy while the viewer samples
    for i in range(200):
        os.stat(m.mountpoint)
        os.listdir(m.mountpoint)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    import json
    j = json.loads(out)
    assert 0.9 <= j["interval_s"] <= 5, j["interval_s"]
    assert "rates" in j and "fuse.getattr" in j["rates"], j
    assert all(v >= 0 for v in j["rates"].values())
    assert "wb.used_bytes" not in j["rates"]  # a gauge, not a counter
    assert m.unmount() == 0


def test_live_view(ganesha, mount_factory):
    m = mount_factory(ganesha.source)
    d = os.path.join(m.mountpoint, "live")
    os.mkdir(d)
    for i in range(10):
        with open(os.path.join(d, "f%d" % i), "w") as f:
            f.write("y" * 1000)
    p = subprocess.run([m.binary, "stats", m.mountpoint, "0.2", "--count", "2"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.count("efs-fuse stats %s" % m.mountpoint) == 2, out
    assert "\033[H" not in out  # not a terminal: no screen control
    for want in ("network: in ", "write-back: ", "NFS operations", "FUSE operations",
                 "ops/s", "p99_ms"):
        assert want in out, "%r not in:\n%s" % (want, out)
    # totals of this workload appear in the rows
    rows = {l.split()[0]: l.split() for l in out.splitlines() if l.startswith("  ")}
    assert int(rows["OPEN"][2]) >= 10, out
    assert int(rows["create"][2]) >= 10, out
    assert m.unmount() == 0


def test_not_an_efs_fuse_mount(efs_fuse_bin, it_tmp):
    p = subprocess.run([efs_fuse_bin, "stats", it_tmp, "--json"], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 2
    assert "is it an efs-fuse mount?" in p.stderr, p.stderr
    p = subprocess.run([efs_fuse_bin, "stats"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 1 and "usage: efs-fuse stats MOUNTPOINT" in p.stderr
