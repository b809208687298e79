#!/usr/bin/python3
"""Soak for issue 12: server restarts and connection cuts under load.

    sudo tests/soak/soak.py [--restarts 100] [--duration 0] [--cut-every 3]
                            [--efs-fuse build/efs-fuse] [--keep]

Self-contained: starts its own nfs-ganesha (lease 10 s, Graceless alternating
true/false, short grace) on a free port, a fault proxy (tests/tools/
faultproxy.py) in front of it, and one efs-fuse hard mount through the proxy.
Under that mount it runs
  - record writers (tests/integration/state/recwriter.py): fixed-size unique
    records, each fsynced; a record is "written" when fsync returned 0;
  - fsx-style checkers (this file, --fsx N): random writes, truncates and
    reads of one file each, checked against an in-memory model, with fsync
    and close/reopen at random;
while it restarts ganesha (SIGTERM or SIGKILL) every few seconds and cuts
the proxy's connections in between (--cut-every seconds).

At the end every fsynced record must be on the server's export, intact, and
the fsx files must equal their models.  Prints

    restarts survived N, records written N, records lost N, fsx ops N, fsx mismatches N

and exits 1 on any lost record, mismatch, I/O error or hang (a stage that
makes no progress for --stuck seconds), 0 otherwise.  Needs root.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration", "state"))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))

from lib import ganesha as ganesha_lib  # noqa: E402
from lib import mounts  # noqa: E402
import faultproxy  # noqa: E402
import statelib  # noqa: E402

RECSIZE = 256

_FSX = r"""
import os, random, sys, json, time
path, seed, stop, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = random.Random(seed)
MAXLEN = 1 << 20
model = bytearray()
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
ops = mism = errs = 0
report = []
def note(s):
    if len(report) < 20:
        report.append(s)
while not os.path.exists(stop):
    r = rng.random()
    try:
        if r < 0.40:
            off = rng.randrange(0, MAXLEN)
            n = rng.randrange(1, 65536)
            data = bytes([rng.randrange(256)]) * n if rng.random() < 0.5 else os.urandom(n)
            os.pwrite(fd, data, off)
            if len(model) < off:
                model.extend(b"\0" * (off - len(model)))
            model[off:off + n] = data
        elif r < 0.50:
            ln = rng.randrange(0, MAXLEN)
            os.ftruncate(fd, ln)
            if ln < len(model):
                del model[ln:]
            else:
                model.extend(b"\0" * (ln - len(model)))
        elif r < 0.85:
            off = rng.randrange(0, max(1, len(model) + 1000))
            n = rng.randrange(1, 131072)
            got = os.pread(fd, n, off)
            want = bytes(model[off:off + n])
            if got != want:
                mism += 1
                note("read off %d len %d: got %d bytes, want %d" % (off, n, len(got), len(want)))
        elif r < 0.95:
            os.fsync(fd)
        else:
            old, fd = fd, -1
            os.close(old)
            fd = os.open(path, os.O_RDWR)
            st = os.fstat(fd)
            if st.st_size != len(model):
                mism += 1
                note("size after reopen %d, model %d" % (st.st_size, len(model)))
        ops += 1
    except OSError as e:
        errs += 1
        note("op %d: %s" % (ops, e))
        time.sleep(0.1)
        if fd < 0:   # the close/reopen failed half-way: reopen, or stop
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError as e2:
                note("reopen: %s" % e2)
                break
try:
    if fd >= 0:
        os.fsync(fd)
        os.close(fd)
except OSError as e:
    errs += 1
    note("final fsync/close: %s" % e)
with open(out + ".model", "wb") as f:
    f.write(model)
with open(out, "w") as f:
    json.dump({"ops": ops, "mismatches": mism, "errors": errs, "notes": report}, f)
"""


def log(msg):
    print("soak %s: %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def main():
    ap = argparse.ArgumentParser(description="efs-fuse restart/cut soak (issue 12)")
    ap.add_argument("--restarts", type=int, default=100)
    ap.add_argument("--duration", type=float, default=0,
                    help="run at least this many seconds (0: until --restarts are done)")
    ap.add_argument("--interval", type=float, default=3.0, help="seconds between restarts")
    ap.add_argument("--cut-every", type=float, default=2.0, help="seconds between proxy cuts")
    ap.add_argument("--writers", type=int, default=3)
    ap.add_argument("--fsx", type=int, default=2)
    ap.add_argument("--stuck", type=float, default=60,
                    help="fail when the writers make no progress for this long")
    ap.add_argument("--efs-fuse", default=os.environ.get("EFS_FUSE") or
                    os.path.join(REPO, "build", "efs-fuse"))
    ap.add_argument("--options", default="", help="extra -o options for efs-fuse")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("soak: needs root (nfs-ganesha FSAL VFS, /dev/fuse)")
    mounts.become_subreaper()
    base = tempfile.mkdtemp(prefix="efs-fuse-soak-")
    os.chmod(base, 0o755)
    g = proxy = m = None
    children = []
    stop = os.path.join(base, "stop")
    restarts = cuts = 0
    failure = []
    try:
        g = ganesha_lib.Ganesha(os.path.join(base, "ganesha"), lease=10, graceless=True,
                                grace=3)
        os.makedirs(g.state_dir)
        g.start()
        proxy = faultproxy.FaultProxy((g.addr, g.port), log_events=False).start()
        mp = os.path.join(base, "mnt")
        os.mkdir(mp)
        opts = [o for o in args.options.split(",") if o]
        m = mounts.EfsMount(args.efs_fuse, "127.0.0.1:%d:/export" % proxy.port, mp,
                            options=opts)
        m.mount()
        log("ganesha %s, proxy :%d, mount %s (pid %d)" % (g.source, proxy.port, mp, m.pid))
        d = os.path.join(mp, "soak")
        os.mkdir(d)
        wlogs = []
        for w in range(args.writers):
            wl = os.path.join(base, "w%d.log" % w)
            wlogs.append(wl)
            children.append(subprocess.Popen([sys.executable, statelib.RECWRITER,
                                              os.path.join(d, "rec%d" % w), wl, str(w),
                                              str(RECSIZE), stop]))
        fsx_out = []
        for k in range(args.fsx):
            out = os.path.join(base, "fsx%d.json" % k)
            fsx_out.append(out)
            children.append(subprocess.Popen([sys.executable, "-c", _FSX,
                                              os.path.join(d, "fsx%d" % k), str(1000 + k),
                                              stop, out]))

        def fsynced():
            return sum(len(statelib.read_writer_log(wl)[0]) for wl in wlogs
                       if os.path.exists(wl))

        # connection cuts in the background
        cutting = threading.Event()

        def cutter():
            nonlocal cuts
            while not cutting.wait(args.cut_every):
                proxy.cut()
                cuts += 1
        if args.cut_every > 0:
            threading.Thread(target=cutter, daemon=True).start()
        t0 = time.monotonic()
        last_progress, last_n = time.monotonic(), fsynced()
        rng = random.Random(7)
        next_restart = time.monotonic() + args.interval
        while restarts < args.restarts or time.monotonic() - t0 < args.duration:
            time.sleep(0.1)
            n = fsynced()
            if n > last_n:
                last_n, last_progress = n, time.monotonic()
            elif time.monotonic() - last_progress > args.stuck:
                failure.append("no fsynced record for %.0f s after %d restarts, %d cuts" % (
                    args.stuck, restarts, cuts))
                break
            dead = [c.pid for c in children if c.poll() is not None]
            if dead:
                failure.append("load processes died: %r" % dead)
                break
            if time.monotonic() >= next_restart and restarts < args.restarts:
                sig = signal.SIGKILL if rng.random() < 0.5 else signal.SIGTERM
                graceless = rng.random() < 0.5
                g.restart(sig=sig, graceless=graceless, grace=3)
                restarts += 1
                if restarts % 10 == 0:
                    log("%d restarts, %d cuts, %d records fsynced" % (restarts, cuts, n))
                next_restart = time.monotonic() + args.interval
        cutting.set()
        open(stop, "w").close()
        for c in children:
            try:
                c.wait(120)
            except subprocess.TimeoutExpired:
                failure.append("load process %d still running 120 s after stop" % c.pid)
        # verify
        written = lost = 0
        werrs = []
        for w, wl in enumerate(wlogs):
            done, errs, close = statelib.read_writer_log(wl)
            written += len(done)
            werrs += errs[:3]
            if close != "close ok":
                werrs.append("writer %d: %s" % (w, close))
            probs = statelib.check_records(g.server_path("soak", "rec%d" % w), str(w),
                                           RECSIZE, done)
            for p in probs:
                failure.append(p)
                if "missing" in p:
                    lost += int(p.split()[0])
        if werrs:
            failure.append("writer errors: %r" % werrs[:6])
        fops = fmis = 0
        for k, out in enumerate(fsx_out):
            if not os.path.exists(out):
                failure.append("fsx %d left no result" % k)
                continue
            import json
            r = json.load(open(out))
            fops += r["ops"]
            fmis += r["mismatches"]
            with open(out + ".model", "rb") as f:
                model = f.read()
            with open(g.server_path("soak", "fsx%d" % k), "rb") as f:
                if f.read() != model:
                    fmis += 1
                    failure.append("fsx %d: server file differs from the model" % k)
            if r["mismatches"] or r["errors"]:
                failure.append("fsx %d: %d mismatches, %d errors: %r" % (
                    k, r["mismatches"], r["errors"], r["notes"][:5]))
        print("restarts survived %d, records written %d, records lost %d, fsx ops %d, "
              "fsx mismatches %d" % (restarts, written, lost, fops, fmis), flush=True)
        print("connection cuts %d, elapsed %.0f s, failures %d" % (
            cuts, time.monotonic() - t0, len(failure)), flush=True)
    except Exception as e:  # noqa: BLE001 - reported, then cleaned up
        failure.append("soak aborted: %r" % e)
    finally:
        open(stop, "w").close()
        for c in children:
            if c.poll() is None:
                c.kill()
        if proxy is not None:
            proxy.pass_()
        if m is not None:
            probs = m.cleanup()
            if probs:
                failure.append("unmount: %r" % probs)
        for c in children:
            try:
                c.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if proxy is not None:
            proxy.close()
        if g is not None:
            g.stop()
        mounts.reap_orphans()
        if not args.keep and not failure:
            shutil.rmtree(base, ignore_errors=True)
        else:
            log("kept %s" % base)
    for f in failure:
        log("FAIL: %s" % f)
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
