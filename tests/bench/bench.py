#!/usr/bin/python3
"""efs-fuse benchmark: the same workloads on the export directory directly
(local disk) and through efs-fuse -> nfs-ganesha on loopback, side by side
with the ratio, then the small-file workloads again at 1 ms RTT.

    sudo tests/bench/bench.py [--runs 3] [--size-mib 1024] [--files 2000]
                              [--delay-us 500 | --delay 500us] [--no-latency]
                              [--only LIST] [--fio]
                              [-o EFS_FUSE_OPTS] [--out FILE.md]

Workloads (medians of --runs):
  dd       dd if=/dev/zero bs=1M count=SIZE conv=fsync, MB/s; read back with
           dd bs=1M after `echo 3 > /proc/sys/vm/drop_caches` (efs-fuse is
           also remounted, so neither the kernel nor the daemon has it cached)
  fio      fio --rw=randread --bs=4k --size=256M --runtime=10 --time_based
           --direct=0 --ioengine=psync, IOPS (cold caches at the start)
  files    N x 4 KiB files: create (open+write+close), stat (after
           drop_caches), unlink; seconds for each phase
  untar    tar -xf of /usr/include without node/ and llvm-14/ (~4,000
           entries of real headers, built once into /tmp), then sync; seconds
  passthrough (with dd)  the same dd through libfuse's example passthrough_ll
           over the export directory, in the same run: efs-fuse's dd figures
           as a ratio to plain FUSE.  Built at bench time from the installed
           libfuse3 example (libfuse3-dev: /usr/share/doc/libfuse3-dev/examples)
           or --passthrough-src DIR (e.g. a libfuse checkout's example/); its
           source is not part of this tree.  --no-passthrough skips it.
  latency  files and untar again through efs-fuse with ganesha in a network
           namespace whose loopback delays each packet by --delay-us (tc netem,
           or contrib/netns/delay-proxy.py where the kernel lacks sch_netem)

Round trips come from the daemon's counters, the `user.efs-fuse.stats`
extended attribute on the mount root (`compounds N` lines); "n/a" when the
daemon does not expose them.  Run by hand as root; not part of the test suite.
Everything it starts (ganesha, namespaces, mounts, the proxy) is stopped at
the end, also on failure or Ctrl-C.
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
NETNS_GANESHA = os.path.join(REPO, "contrib", "netns", "netns-ganesha.sh")

from lib import mounts  # noqa: E402

MiB = 1 << 20
TARBALL = "/tmp/efs-fuse-bench-usr-include.tar"
STATS_XATTR = "user.efs-fuse.stats"

TARGETS = {  # issue 3
    "dd_w": ("efs-fuse >= 600 MB/s", lambda f, l: f >= 600),
    "dd_r": ("efs-fuse >= 1100 MB/s", lambda f, l: f >= 1100),
    "create": ("<= 0.5 s", lambda f, l: f <= 0.5),
    "untar": ("<= 5x local", lambda f, l: f <= 5 * l),
}


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def sh(argv, **kw):
    return subprocess.run(argv, check=True, **kw)


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


# -- servers and mounts --------------------------------------------------------

class NsServer:
    """contrib/netns/netns-ganesha.sh: ganesha in its own network namespace."""

    def __init__(self, name, state, delay_us):
        self.name, self.state, self.delay_us = name, state, delay_us
        self.export = os.path.join(state, "export")
        self.port = None
        self.mode = None
        self.started = False

    def start(self):
        os.makedirs(self.state, exist_ok=True)
        self.started = True
        p = subprocess.run([NETNS_GANESHA, "start", self.name, self.state, self.export,
                            str(self.delay_us)], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("netns-ganesha.sh start failed: %s" % p.stderr.strip())
        kv = dict(line.split("=", 1) for line in p.stdout.split() if "=" in line)
        self.port, self.mode = int(kv["PORT"]), kv["DELAY"]
        os.chmod(self.export, 0o777)
        return self

    def stop(self):
        if self.started:
            subprocess.run([NETNS_GANESHA, "stop", self.name, self.state], capture_output=True)
            self.started = False


class NsMount(mounts.EfsMount):
    """An efs-fuse daemon started inside a network namespace with nsenter
    (the mount itself stays in the host's mount namespace)."""

    def __init__(self, binary, source, mountpoint, netns, options=()):
        super().__init__(binary, source, mountpoint, options=options)
        self.ns = netns

    def argv(self):
        return ["nsenter", "--net=/run/netns/%s" % self.ns, "--"] + super().argv()

    def remount(self):
        rc = self.unmount()
        if rc not in (0, None):
            raise RuntimeError("efs-fuse exited %r on unmount" % rc)
        self.mount()


def read_stats(mnt):
    """The daemon's counters as {key: int}, or None without the xattr."""
    try:
        raw = os.getxattr(mnt, STATS_XATTR)
    except OSError:
        return None
    out = {}
    for line in raw.decode(errors="replace").splitlines():
        w = line.split()
        if len(w) == 2:
            try:
                out[w[0]] = int(w[1])
            except ValueError:
                pass
    return out


class Target:
    def __init__(self, name, path, mount=None):
        self.name, self.path, self.mount = name, path, mount

    def cold(self, remount=False):
        """Empty the caches: kernel always, the daemon too with remount."""
        if remount and self.mount is not None:
            self.mount.remount()
        drop_caches()

    def stats(self):
        if self.mount is None:
            return None
        return read_stats(self.mount.mountpoint)


def rtt_delta(before, after, n):
    if before is None or after is None or "compounds" not in after:
        return None
    return (after["compounds"] - before.get("compounds", 0)) / n


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


# -- FUSE passthrough (libfuse's example/passthrough_ll.c) -----------------------

PT_SRC_DEFAULT = "/usr/share/doc/libfuse3-dev/examples"


def build_passthrough(src_dir, out_dir):
    """Compile passthrough_ll.c from src_dir against the installed libfuse3."""
    src = os.path.join(src_dir, "passthrough_ll.c")
    if not os.path.isfile(src):
        sys.exit("bench: no %s (install libfuse3-dev, or --passthrough-src DIR with "
                 "passthrough_ll.c and passthrough_helpers.h, e.g. libfuse's example/)" % src)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"], capture_output=True,
                           text=True, check=True).stdout.split()
    exe = os.path.join(out_dir, "passthrough_ll")
    sh(["cc", "-O2", "-I", src_dir, "-o", exe, src] + flags)
    return exe


class PassthroughMount:
    """passthrough_ll -f -o source=DIR MNT, stopped with fusermount3 -u."""

    def __init__(self, exe, source, mountpoint):
        self.exe, self.source, self.mountpoint = exe, source, mountpoint
        self.proc = None

    def mount(self):
        self.proc = subprocess.Popen([self.exe, "-f", "-o", "source=" + self.source,
                                      self.mountpoint], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while not mounts.is_mounted(self.mountpoint):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("passthrough_ll did not mount: %s" %
                                   self.proc.stderr.read().decode(errors="replace"))
            time.sleep(0.05)

    def remount(self):
        self.unmount()
        self.mount()

    def unmount(self):
        if self.proc is None:
            return
        subprocess.run(["fusermount3", "-u", self.mountpoint], capture_output=True)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
        self.proc = None

    def cleanup(self):
        self.unmount()
        if mounts.is_mounted(self.mountpoint):
            subprocess.run(["fusermount3", "-uz", self.mountpoint], capture_output=True)


# -- workloads -----------------------------------------------------------------

def bench_dd(t, size_mib, runs):
    w, r = [], []
    for i in range(runs):
        f = os.path.join(t.path, "dd-%d" % i)
        t.cold()
        d = timed(lambda: sh(["dd", "if=/dev/zero", "of=" + f, "bs=1M",
                              "count=%d" % size_mib, "conv=fsync", "status=none"]))
        w.append(size_mib * MiB / d / 1e6)
        t.cold(remount=True)
        d = timed(lambda: sh(["dd", "if=" + f, "of=/dev/null", "bs=1M", "status=none"]))
        r.append(size_mib * MiB / d / 1e6)
        os.unlink(f)
    return {"dd_w": med(w), "dd_r": med(r)}


def bench_fio(t, runs):
    d = os.path.join(t.path, "fio")
    os.makedirs(d, exist_ok=True)
    common = ["fio", "--name=randread", "--directory=" + d, "--bs=4k", "--size=256M",
              "--ioengine=psync", "--direct=0", "--output-format=json"]
    # Lay the file out once (sequential 1 MiB writes), then time the reads.
    sh(["fio", "--name=randread", "--directory=" + d, "--size=256M", "--bs=1M",
        "--rw=write", "--ioengine=psync", "--end_fsync=1", "--output-format=json"],
       capture_output=True)
    vals = []
    for _ in range(runs):
        t.cold(remount=True)
        p = sh(common + ["--rw=randread", "--runtime=10", "--time_based"],
               capture_output=True, text=True)
        vals.append(json.loads(p.stdout)["jobs"][0]["read"]["iops"])
    shutil.rmtree(d)
    return {"fio": med(vals)}


def bench_files(t, n, runs):
    data = b"x" * 4096
    res = {k: [] for k in ("create", "stat", "unlink", "rt_create", "rt_stat", "rt_unlink")}
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
        for phase, fn in (("create", create), ("stat", stat_all), ("unlink", unlink_all)):
            if phase == "stat":
                drop_caches()
            s0 = t.stats()
            res[phase].append(timed(fn))
            res["rt_" + phase].append(rtt_delta(s0, t.stats(), n))
        os.rmdir(d)
    return {k: med(v) for k, v in res.items()}


def make_tarball():
    if not os.path.exists(TARBALL):
        log("building %s from /usr/include (once)" % TARBALL)
        sh(["tar", "-cf", TARBALL + ".tmp", "-C", "/usr", "--exclude=include/node",
            "--exclude=include/llvm-14", "include"])
        os.rename(TARBALL + ".tmp", TARBALL)
    p = sh(["tar", "-tf", TARBALL], capture_output=True)
    return len(p.stdout.splitlines())


def bench_untar(t, entries, runs):
    res, rts = [], []
    for i in range(runs):
        d = os.path.join(t.path, "untar-%d" % i)
        os.mkdir(d)
        drop_caches()
        s0 = t.stats()
        res.append(timed(lambda: (sh(["tar", "-xf", TARBALL, "-C", d]), sh(["sync"]))))
        rts.append(rtt_delta(s0, t.stats(), entries))
        shutil.rmtree(d)
    return {"untar": med(res), "rt_untar": med(rts)}


# -- report --------------------------------------------------------------------

def fmt(v, f):
    return "n/a" if v is None else f % v


def report(a, rows, lat, entries, meta):
    L = rows.get("local", {})
    F = rows.get("efs-fuse", {})
    out = ["efs-fuse benchmark, %s; daemon %s; medians of %d runs; local = the export "
           "directory on %s; efs-fuse = nfs-ganesha on loopback in a network namespace"
           % (time.strftime("%Y-%m-%d"), meta["version"], a.runs, meta["fs"]), "",
           "| workload | local | efs-fuse | efs-fuse / local | round trips / file | target |",
           "|---|---|---|---|---|---|"]

    def row(label, key, f, rt=None, lkey=None, src=F, lsrc=L):
        lv, fv = lsrc.get(lkey or key), src.get(key)
        ratio = fmt(fv / lv if lv and fv is not None else None, "%.2f")
        tgt = ""
        if key in TARGETS and fv is not None and (lv is not None or key != "untar"):
            desc, ok = TARGETS[key]
            tgt = "%s: %s" % (desc, "met" if ok(fv, lv) else "**not met**")
        rts = fmt(src.get(rt), "%.2f") if rt else ""
        if rt and src.get(rt) is None and src is lat and meta.get("rtt_s") and \
                src.get(key) is not None:
            n = a.files if key != "untar" else entries
            rts = "~%.1f (time / RTT)" % (src[key] / n / meta["rtt_s"])
        out.append("| %s | %s | %s | %s | %s | %s |" % (label, fmt(lv, f), fmt(fv, f), ratio,
                                                        rts, tgt))
    if "dd_w" in F or "dd_w" in L:
        row("dd %d MiB bs=1M conv=fsync, write" % a.size_mib, "dd_w", "%.0f MB/s")
        row("dd %d MiB bs=1M, read after drop_caches" % a.size_mib, "dd_r", "%.0f MB/s")
    P = rows.get("passthrough", {})
    if P:
        for key, what in (("dd_w", "write"), ("dd_r", "read")):
            fv, pv = F.get(key), P.get(key)
            out.append("| dd %s: FUSE passthrough_ll (same run) | %s | %s | efs-fuse / "
                       "passthrough %s | | |" % (what, fmt(pv, "%.0f MB/s"),
                                                 fmt(fv, "%.0f MB/s"),
                                                 fmt(fv / pv if fv and pv else None, "%.2f")))
    if "fio" in F or "fio" in L:
        row("fio 4 KiB randread, psync, 256 MiB, 10 s", "fio", "%.0f IOPS")
    if "create" in F or "create" in L:
        row("%d x 4 KiB files: create" % a.files, "create", "%.3f s", "rt_create")
        row("%d x 4 KiB files: stat (cold)" % a.files, "stat", "%.3f s", "rt_stat")
        row("%d x 4 KiB files: unlink" % a.files, "unlink", "%.3f s", "rt_unlink")
    if "untar" in F or "untar" in L:
        row("untar %d entries (/usr/include) + sync" % entries, "untar", "%.2f s", "rt_untar")
    if lat:
        rtt = "%g ms RTT" % (2 * a.delay_us / 1000)
        if "create" in lat:
            row("at %s: %d files create" % (rtt, a.files), "create", "%.3f s", "rt_create",
                src=lat)
            out[-1] = out[-1].rsplit("|", 2)[0] + "| <= 2.5 round trips/file: %s |" % (
                "n/a" if lat.get("rt_create") is None else
                ("met" if lat["rt_create"] <= 2.5 else "**not met**"))
            row("at %s: %d files stat (cold)" % (rtt, a.files), "stat", "%.3f s", "rt_stat",
                src=lat)
            row("at %s: %d files unlink" % (rtt, a.files), "unlink", "%.3f s", "rt_unlink",
                src=lat)
        if "untar" in lat:
            row("at %s: untar %d entries + sync" % (rtt, entries), "untar", "%.2f s",
                "rt_untar", src=lat)
    out += ["", "Command: `%s`" % meta["cmd"], ""]
    if meta.get("passthrough"):
        out.append("Passthrough: %s, built at bench time, over a directory of the same "
                   "export file system (its local column is passthrough's figure)."
                   % meta["passthrough"])
    if lat:
        out.append("Latency: %d us one-way delay, %s." % (a.delay_us, meta["delay_mode"]))
    if meta.get("rtt"):
        out.append("Latency path: %s" % meta["rtt"])
    if lat and meta.get("rtt_s") and not meta.get("stats"):
        out.append("\"~N (time / RTT)\": seconds per file divided by the measured RTT, an "
                   "upper bound on sequential round trips per file (no counters).")
    if not meta.get("stats"):
        out.append("Round trips: n/a -- the daemon has no `%s` xattr (counters not exposed)."
                   % STATS_XATTR)
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--delay-us", type=int, default=500,
                    help="one-way delay for the latency run (500 us = 1 ms RTT)")
    ap.add_argument("--delay", help="the same as --delay-us, written 500us / 1ms / 0 "
                    "(0: no latency run)")
    ap.add_argument("--no-latency", action="store_true", help="skip the latency run")
    ap.add_argument("--fio", action="store_true", help="accepted: fio always runs "
                    "(leave it out with --only)")
    ap.add_argument("--only", default="dd,fio,files,untar",
                    help="comma list of workloads (dd,fio,files,untar)")
    ap.add_argument("-o", dest="opts", default="", help="extra efs-fuse -o options")
    ap.add_argument("--passthrough-src", default=PT_SRC_DEFAULT,
                    help="directory with libfuse's passthrough_ll.c (default: the "
                    "installed libfuse3 examples)")
    ap.add_argument("--no-passthrough", action="store_true",
                    help="no dd through libfuse's passthrough_ll")
    ap.add_argument("--out", help="also write the table to this file")
    a = ap.parse_args()
    only = set(a.only.split(","))
    if a.delay is not None:
        import re
        mt = re.fullmatch(r"(\d+(?:\.\d+)?)(us|ms|s)?", a.delay.strip())
        if not mt:
            ap.error("--delay: expected e.g. 500us, 1ms or 0")
        a.delay_us = int(float(mt.group(1)) * {"us": 1, "ms": 1000, "s": 1000000,
                                               None: 1}[mt.group(2)])
        a.no_latency = a.no_latency or a.delay_us == 0
    if os.geteuid() != 0:
        sys.exit("bench: run as root (namespaces, ganesha FSAL VFS, drop_caches)")
    binary = os.environ.get("EFS_FUSE") or os.path.join(REPO, "build", "efs-fuse")
    if not os.access(binary, os.X_OK):
        sys.exit("bench: no efs-fuse at %s (scripts/build.sh, or set EFS_FUSE)" % binary)
    for tool in ("dd", "fio", "tar", "nsenter", "ip", "fusermount3", "ganesha.nfsd"):
        if not shutil.which(tool):
            sys.exit("bench: %s not installed" % tool)
    mounts.become_subreaper()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    ver = subprocess.run([binary, "-V"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip()
    # EFS_FUSE_COMMIT names the commit a binary from elsewhere was built from.
    commit = os.environ.get("EFS_FUSE_COMMIT") or (
        commit if os.path.realpath(binary).startswith(REPO + "/") else None)
    meta = {"version": "%s (%s)" % (ver.splitlines()[0] if ver else binary,
                                    commit or "built outside the tree: " + binary),
            "cmd": " ".join(shlex.quote(x) for x in ["tests/bench/bench.py"] + sys.argv[1:])}
    base = tempfile.mkdtemp(prefix="efs-fuse-bench-", dir=os.environ.get("TMPDIR", "/var/tmp"))
    os.chmod(base, 0o755)
    tag = "efsb%d" % os.getpid()
    servers, mnts = [], []
    opts = [o for o in a.opts.split(",") if o]
    try:
        entries = make_tarball() if "untar" in only else 0
        srv = NsServer(tag + "a", os.path.join(base, "srv"), 0)
        servers.append(srv)
        srv.start()
        meta["fs"] = subprocess.run(["findmnt", "-no", "FSTYPE,SOURCE", "-T", srv.export],
                                    capture_output=True, text=True).stdout.split()
        meta["fs"] = " ".join(meta["fs"])
        mp = os.path.join(base, "mnt")
        os.mkdir(mp)
        m = NsMount(binary, "127.0.0.1:%d:/export" % srv.port, mp, srv.name, opts)
        mnts.append(m)
        m.mount()
        meta["stats"] = read_stats(mp) is not None
        local = os.path.join(srv.export, "local")
        os.mkdir(local)
        fuse_dir = os.path.join(mp, "fuse")
        os.mkdir(fuse_dir)
        targets = [Target("local", local), Target("efs-fuse", fuse_dir, m)]
        if "dd" in only and not a.no_passthrough:
            exe = build_passthrough(a.passthrough_src, base)
            pt_src = os.path.join(srv.export, "pt")
            os.mkdir(pt_src)
            pt_mp = os.path.join(base, "mnt-pt")
            os.mkdir(pt_mp)
            pt = PassthroughMount(exe, pt_src, pt_mp)
            mnts.append(pt)
            pt.mount()
            meta["passthrough"] = "libfuse %s example/passthrough_ll.c from %s" % (
                subprocess.run(["pkg-config", "--modversion", "fuse3"], capture_output=True,
                               text=True).stdout.strip(), a.passthrough_src)
            targets.append(Target("passthrough", pt_mp, pt))
        rows = {}
        for t in targets:
            r = rows[t.name] = {}
            if "dd" in only:
                log("%s: dd %d MiB x %d" % (t.name, a.size_mib, a.runs))
                r.update(bench_dd(t, a.size_mib, a.runs))
            if t.name == "passthrough":
                continue
            if "fio" in only:
                log("%s: fio randread x %d" % (t.name, a.runs))
                r.update(bench_fio(t, a.runs))
            if "files" in only:
                log("%s: %d files x %d" % (t.name, a.files, a.runs))
                r.update(bench_files(t, a.files, a.runs))
            if "untar" in only:
                log("%s: untar %d entries x %d" % (t.name, entries, a.runs))
                r.update(bench_untar(t, entries, a.runs))
        m.unmount()
        srv.stop()

        lat = {}
        meta["delay_mode"] = "none"
        if not a.no_latency and only & {"files", "untar"}:
            srv = NsServer(tag + "b", os.path.join(base, "srv-lat"), a.delay_us)
            servers.append(srv)
            srv.start()
            meta["delay_mode"] = {"netem": "tc netem on the namespace's lo",
                                  "proxy": "contrib/netns/delay-proxy.py: no sch_netem "
                                  "in this kernel"}.get(srv.mode, srv.mode)
            if srv.mode == "proxy":
                p = subprocess.run([sys.executable, os.path.join(
                    REPO, "contrib", "netns", "delay-proxy.py"), "--selftest", "--delay-us",
                    str(a.delay_us)], capture_output=True, text=True)
                meta["rtt"] = "delay-proxy self-test: " + p.stdout.strip()
                w = p.stdout.split()
                if len(w) > 3 and w[0] == "rtt" and w[1] == "median":
                    meta["rtt_s"] = float(w[2]) / 1e3
            else:
                meta["rtt_s"] = 2 * a.delay_us / 1e6
            mp2 = os.path.join(base, "mnt-lat")
            os.mkdir(mp2)
            m2 = NsMount(binary, "127.0.0.1:%d:/export" % srv.port, mp2, srv.name, opts)
            mnts.append(m2)
            m2.mount()
            meta["stats"] = meta["stats"] or read_stats(mp2) is not None
            d = os.path.join(mp2, "fuse")
            os.mkdir(d)
            t = Target("efs-fuse @%dus" % a.delay_us, d, m2)
            if "files" in only:
                log("%s: %d files x %d" % (t.name, a.files, a.runs))
                lat.update(bench_files(t, a.files, a.runs))
            if "untar" in only:
                log("%s: untar x %d" % (t.name, a.runs))
                lat.update(bench_untar(t, entries, a.runs))
            m2.unmount()
            srv.stop()
        text = report(a, rows, lat, entries, meta)
        print(text)
        if a.out:
            with open(a.out, "w") as f:
                f.write(text)
    finally:
        for m in mnts:
            m.cleanup()
        for s in servers:
            s.stop()
        mounts.reap_orphans()
        if not mounts.fuse_mounts_under(base):
            shutil.rmtree(base, ignore_errors=True)
        else:
            log("mounts left under %s: %r" % (base, mounts.fuse_mounts_under(base)))


if __name__ == "__main__":
    main()
