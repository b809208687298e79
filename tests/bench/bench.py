#!/usr/bin/python3
"""Benchmarks: efs-fuse against nfs-ganesha in a private network namespace
with EFS-like latency (tc netem on its loopback), next to local ext4.

    sudo tests/bench/bench.py [--delay 0|500us] [--runs 3] [--size-mib 1024]
                              [--files 2000] [--fio] [--out FILE.md]

Workloads (medians of --runs):
  dd write   dd if=/dev/zero bs=1M count=SIZE conv=fsync        MB/s
  dd read    same file after drop_caches and a fresh mount        MB/s
  files      N x 4 KiB files: create / stat / unlink            seconds
  untar      a tarball of /usr/include, then sync               seconds
  fio        4 KiB random read and write, 4 jobs, 15 s (--fio)    IOPS

Not a timed test: it prints a Markdown table for README.md.  Needs root
(network namespace, ganesha FSAL VFS, drop_caches).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from lib import ganesha as ganesha_lib  # noqa: E402
from lib import mounts  # noqa: E402

MiB = 1 << 20


def sh(argv, **kw):
    return subprocess.run(argv, check=True, **kw)


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def timed(fn, *args):
    t0 = time.monotonic()
    fn(*args)
    return time.monotonic() - t0


class Target:
    """A directory to benchmark; remount() empties caches between phases."""

    def __init__(self, name, path, remount=None):
        self.name, self.path, self._remount = name, path, remount

    def remount(self):
        if self._remount:
            self._remount()
        drop_caches()


def bench_dd(t, size_mib, runs):
    w, r = [], []
    for i in range(runs):
        f = os.path.join(t.path, "dd-%d" % i)
        d = timed(sh, ["dd", "if=/dev/zero", "of=" + f, "bs=1M", "count=%d" % size_mib,
                       "conv=fsync", "status=none"])
        w.append(size_mib * MiB / d / 1e6)
        t.remount()
        d = timed(sh, ["dd", "if=" + f, "of=/dev/null", "bs=1M", "status=none"])
        r.append(size_mib * MiB / d / 1e6)
        os.unlink(f)
    return statistics.median(w), statistics.median(r)


def bench_files(t, n, runs):
    data = b"x" * 4096
    c, s, u = [], [], []
    for i in range(runs):
        d = os.path.join(t.path, "files-%d" % i)
        os.mkdir(d)
        names = [os.path.join(d, "f%05d" % k) for k in range(n)]

        def create():
            for p in names:
                with open(p, "wb") as f:
                    f.write(data)

        def stat_all():
            for p in names:
                os.stat(p)

        def unlink_all():
            for p in names:
                os.unlink(p)
        c.append(timed(create))
        t.remount()
        s.append(timed(stat_all))
        u.append(timed(unlink_all))
        os.rmdir(d)
    return statistics.median(c), statistics.median(s), statistics.median(u)


def bench_untar(t, tarball, runs):
    res = []
    for i in range(runs):
        d = os.path.join(t.path, "untar-%d" % i)
        os.mkdir(d)
        res.append(timed(lambda: (sh(["tar", "-xf", tarball, "-C", d]), os.sync())))
        shutil.rmtree(d)
    return statistics.median(res)


def bench_fio(t, runs):
    out = {}
    for rw in ("randread", "randwrite"):
        vals = []
        for i in range(runs):
            p = subprocess.run(
                ["fio", "--name=bench", "--directory=" + t.path, "--rw=" + rw, "--bs=4k",
                 "--size=256M", "--numjobs=4", "--runtime=15", "--time_based",
                 "--ioengine=psync", "--group_reporting", "--output-format=terse",
                 "--terse-version=3"], check=True, capture_output=True, text=True)
            f = p.stdout.strip().splitlines()[-1].split(";")
            vals.append(int(f[7]) if rw == "randread" else int(f[48]))  # read / write IOPS
            for n in os.listdir(t.path):
                if n.startswith("bench."):
                    os.unlink(os.path.join(t.path, n))
        out[rw] = statistics.median(vals)
    return out


def make_tarball(base):
    tb = os.path.join(base, "tree.tar")
    with tarfile.open(tb, "w") as tf:
        tf.add("/usr/include", arcname="include")
    with tarfile.open(tb) as tf:
        n = len(tf.getmembers())
    return tb, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--delay", default="0",
                    help="netem delay per packet on lo, e.g. 500us (needs sch_netem)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--fio", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("-o", dest="opts", default="", help="extra efs-fuse -o options")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: run as root")
    binary = os.environ.get("EFS_FUSE") or os.path.join(REPO, "build", "efs-fuse")
    if not os.access(binary, os.X_OK):
        sys.exit("bench: no efs-fuse at %s (scripts/build.sh)" % binary)

    base = tempfile.mkdtemp(prefix="efs-fuse-bench-")
    ns = "efsbench%d" % os.getpid()
    srv = m = None
    try:
        sh(["ip", "netns", "add", ns])
        sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        # ganesha resolves Bind_addr with AI_ADDRCONFIG, which needs a
        # non-loopback address in the namespace: a ULA on lo will do.
        sh(["ip", "-n", ns, "addr", "add", "fd00::1/128", "dev", "lo"])
        if a.delay not in ("0", "0ms", "0us"):
            p = subprocess.run(["tc", "-n", ns, "qdisc", "add", "dev", "lo", "root", "netem",
                                "delay", a.delay], capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit("bench: tc netem failed (%s); this kernel may lack sch_netem: "
                         "use --delay 0" % p.stderr.strip())
        srv = ganesha_lib.Ganesha(os.path.join(base, "ganesha"), netns=ns).start()
        os.chmod(srv.export_dir, 0o777)
        mp = os.path.join(base, "mnt")
        os.mkdir(mp)
        opts = [o for o in a.opts.split(",") if o]
        m = mounts.EfsMount(binary, "127.0.0.1:/export", mp, options=opts, netns=ns)
        m.mount()

        def remount():
            rc = m.unmount()
            if rc not in (0, None):
                raise RuntimeError("efs-fuse exited %r on unmount" % rc)
            m.mount()
        local = os.path.join(base, "local")
        os.mkdir(local)
        targets = [Target("local ext4", local), Target("efs-fuse", mp, remount)]
        tarball, entries = make_tarball(base)

        rows = {}
        for t in targets:
            print("bench: %s ..." % t.name, file=sys.stderr)
            r = {}
            r["dd_w"], r["dd_r"] = bench_dd(t, a.size_mib, a.runs)
            r["c"], r["s"], r["u"] = bench_files(t, a.files, a.runs)
            r["tar"] = bench_untar(t, tarball, a.runs)
            if a.fio:
                r.update(bench_fio(t, a.runs))
            rows[t.name] = r

        hdr = "| workload | " + " | ".join(t.name for t in targets) + " |"
        lines = [
            "efs-fuse benchmarks: nfs-ganesha on loopback in a network namespace, "
            "%s; medians of %d runs; %s" % (
                "no added latency" if a.delay in ("0", "0ms", "0us")
                else "netem delay %s per packet" % a.delay, a.runs, time.strftime("%Y-%m-%d")),
            "", hdr, "|---" * (len(targets) + 1) + "|"]

        def row(label, key, fmt):
            lines.append("| %s | %s |" % (label, " | ".join(fmt % rows[t.name][key]
                                                          for t in targets)))
        row("dd %d MiB bs=1M conv=fsync, write" % a.size_mib, "dd_w", "%.0f MB/s")
        row("dd %d MiB read, cold cache" % a.size_mib, "dd_r", "%.0f MB/s")
        row("%d x 4 KiB files, create" % a.files, "c", "%.2f s")
        row("%d x 4 KiB files, stat (cold)" % a.files, "s", "%.2f s")
        row("%d x 4 KiB files, unlink" % a.files, "u", "%.2f s")
        row("untar %d entries (/usr/include) + sync" % entries, "tar", "%.2f s")
        if a.fio:
            row("fio 4 KiB randread, 4 jobs", "randread", "%d IOPS")
            row("fio 4 KiB randwrite, 4 jobs", "randwrite", "%d IOPS")
        lines.append("")
        lines.append("command: tests/bench/bench.py " + " ".join(sys.argv[1:]))
        text = "\n".join(lines) + "\n"
        print(text)
        if a.out:
            with open(a.out, "w") as f:
                f.write(text)
    finally:
        if m is not None:
            m.cleanup()
        if srv is not None:
            srv.stop()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        if not mounts.fuse_mounts_under(base):
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
