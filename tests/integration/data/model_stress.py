#!/usr/bin/env python3
"""Reference-model stress of the data path (issue 10).

Many threads on two mounts of one export do write / pwrite / O_APPEND /
ftruncate / fsync / close / read / mmap on a few files; every result is
checked against an in-memory model of what POSIX plus close-to-open allows:

  region files  every thread owns one 64 KiB, page-aligned region of each
                file (pre-sized, nobody changes the size).  Inside a session
                (open .. close on its own mount) reads of its region through
                the fd and through a MAP_SHARED mapping must equal the model
                (read-your-writes), and fstat the fixed size; after close, a
                fresh open on the *other* mount must read exactly the model
                (close-to-open).
  trunc file    owned by thread 0: writes, appends, truncates, mmap reads,
                sessions alternating between the mounts; content and size
                exact inside the session and after it through the other mount.
  LOG           records appended by every thread on both mounts, each under
                an fcntl write lock (revalidates the size, as on Linux NFS).
  LOGA          records appended without locks by the threads of mount A
                only (one client: appenders interleave whole writes).
                At the end both logs must hold every record exactly once,
                whole, in each thread's order.

Directory listings and stats are mixed in (attribute refreshes must not
shrink the local size).  A region mismatch is checked again with O_DIRECT:
when the daemon has the right bytes and only the kernel's page cache is
stale (seen with concurrent MAP_SHARED use on this kernel, on main before
issue 10 too), it is reported but fails only with EFS_MODEL_STRICT=1 (the
soak sets it); wrong bytes in the daemon or on the server always fail.  Deterministic per thread for a seed; the
interleaving is not.  As a script (soak):

    model_stress.py DIR_ON_MOUNT_A DIR_ON_MOUNT_B [--seed N] [--ops N] [--threads N]
"""

import argparse
import fcntl
import mmap
import os
import random
import sys
import threading

REG = 64 * 1024
TRUNC_MAX = 300 * 1024


class Run:
    def __init__(self, da, db, seed, ops, threads, srv=None):
        self.d = (da, db)
        self.srv = srv  # the export's directory, for diagnostics
        self.seed, self.ops, self.n = seed, ops, threads
        self.fail = []
        self.lock = threading.Lock()
        self.nregion = 2
        # to isolate a finding: no mmap at all / mmap reads only
        self.no_mmap = bool(os.environ.get("EFS_MODEL_NO_MMAP"))
        self.mmap_write = not os.environ.get("EFS_MODEL_NO_MMAP_WRITE")
        self.strict = bool(os.environ.get("EFS_MODEL_STRICT"))
        self.stale = []
        # POSIX locks belong to the process: its threads do not exclude each
        # other, so the threads of one mount take turns here first.
        self.mount_lock = (threading.Lock(), threading.Lock())

    def p(self, mount, name):
        return os.path.join(self.d[mount], name)

    def bad(self, t, what):
        with self.lock:
            if len(self.fail) < 50:
                self.fail.append("thread %d: %s" % (t, what))

    def stale_page(self, t, what):
        """The kernel's page cache held stale bytes although the daemon (an
        O_DIRECT read) has the right ones: a failure with EFS_MODEL_STRICT=1
        (the soak); otherwise counted and reported (see the issue 10 notes:
        seen with concurrent mmap on this kernel, before and after issue 10)."""
        if self.strict:
            self.bad(t, what)
        else:
            with self.lock:
                self.stale.append("thread %d: %s" % (t, what))

    # ---- setup / final checks ----

    def setup(self):
        for i in range(self.nregion):
            with open(self.p(0, "region%d" % i), "wb") as f:
                f.write(bytes(REG * self.n))
        for name in ("trunc", "LOG", "LOGA"):
            open(self.p(0, name), "wb").close()

    def check_log(self, name, mount, who):
        with open(self.p(mount, name), "rb") as f:
            data = f.read()
        seen = {}
        for ln in data.split(b"\n")[:-1]:
            try:
                t, i, n = int(ln[0:2]), int(ln[3:9]), int(ln[10:14])
                body = ln[15:]
            except ValueError:
                self.bad(-1, "%s: torn record %r" % (name, ln[:40]))
                continue
            if body != bytes([97 + t % 26]) * n:
                self.bad(t, "%s: record %d damaged" % (name, i))
            if (t, i) in seen:
                self.bad(t, "%s: record %d twice" % (name, i))
            if i and (t, i - 1) not in seen:
                self.bad(t, "%s: record %d before %d" % (name, i, i - 1))
            seen[(t, i)] = True
        if not data.endswith(b"\n") and data:
            self.bad(-1, "%s: ends inside a record" % name)
        for t, count in who.items():
            got = sum(1 for k in seen if k[0] == t)
            if got != count:
                self.bad(t, "%s: %d records of %d" % (name, got, count))

    # ---- one thread ----

    def diagnose(self, path, off, want, got):
        """Where a region read went wrong: the first differing byte, and what
        an O_DIRECT read (the daemon, no kernel page cache) says."""
        i = next((k for k in range(len(want)) if got[k:k + 1] != want[k:k + 1]), -1)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
            try:
                buf = mmap.mmap(-1, REG)
                os.preadv(fd, [buf], off)
                direct = bytes(buf)
            finally:
                os.close(fd)
        except OSError as e:
            direct = b""
            return "first difference at +%d; O_DIRECT failed: %s" % (i, e)
        return "first difference at +%d (len %d/%d); O_DIRECT read %s" % (
            i, len(got), len(want),
            "matches the model" if direct == want else "also differs from the model")

    def region_mismatch(self, t, path, off, want, got, what):
        msg = "%s differs: %s" % (what, self.diagnose(path, off, want, got))
        if msg.endswith("matches the model"):
            self.stale_page(t, msg)  # the daemon is right, the kernel's pages are not
        else:
            self.bad(t, msg)

    def region_session(self, t, rnd, model, fi):
        mount = t % 2
        path = self.p(mount, "region%d" % fi)
        base = t * REG
        m = model[fi]
        fd = os.open(path, os.O_RDWR)
        try:
            for _ in range(rnd.randint(1, 12)):
                op = rnd.random()
                if op < 0.3:
                    off = rnd.randrange(REG)
                    n = rnd.randint(1, min(REG - off, 9000))
                    data = rnd.randbytes(n)
                    if os.pwrite(fd, data, base + off) != n:
                        self.bad(t, "short pwrite")
                    m[off:off + n] = data
                elif op < 0.4:
                    off = rnd.randrange(REG)
                    n = rnd.randint(1, REG - off)
                    data = rnd.randbytes(n)
                    os.lseek(fd, base + off, os.SEEK_SET)
                    if os.write(fd, data) != n:
                        self.bad(t, "short write")
                    m[off:off + n] = data
                elif op < 0.55:
                    got = os.pread(fd, REG, base)
                    if got != bytes(m):
                        self.region_mismatch(t, path, base, bytes(m), got,
                                             "region%d: read-your-writes through the fd" % fi)
                elif op < 0.7 and not self.no_mmap:
                    with mmap.mmap(fd, REG * self.n, mmap.MAP_SHARED,
                                   mmap.PROT_READ | mmap.PROT_WRITE) as mm:
                        if rnd.random() < 0.5 and self.mmap_write:
                            off = rnd.randrange(REG)
                            n = rnd.randint(1, min(REG - off, 5000))
                            data = rnd.randbytes(n)
                            mm[base + off:base + off + n] = data
                            m[off:off + n] = data
                            mm.flush()
                        elif mm[base:base + REG] != bytes(m):
                            self.region_mismatch(t, path, base, bytes(m), mm[base:base + REG],
                                                 "region%d: mmap read" % fi)
                elif op < 0.8:
                    os.fsync(fd)
                elif op < 0.9:
                    st = os.fstat(fd)
                    if st.st_size != REG * self.n:
                        self.bad(t, "region%d: fstat size %d != %d" % (fi, st.st_size,
                                                                      REG * self.n))
                else:
                    os.listdir(self.d[mount])
        finally:
            os.close(fd)
        # close-to-open through the other mount
        fd = os.open(self.p(1 - mount, "region%d" % fi), os.O_RDONLY)
        try:
            got = os.pread(fd, REG, base)
            if got != bytes(m):
                self.region_mismatch(t, self.p(1 - mount, "region%d" % fi), base, bytes(m),
                                     got, "region%d: other mount after close" % fi)
        finally:
            os.close(fd)

    def trunc_session(self, t, rnd, model, session):
        mount = session % 2
        path = self.p(mount, "trunc")
        fd = os.open(path, os.O_RDWR)
        afd = os.open(path, os.O_WRONLY | os.O_APPEND)
        m = model
        hist = self.hist = getattr(self, "hist", [])
        hist.append("session on mount %d, size %d" % (mount, len(m)))
        del hist[:-30]
        try:
            for _ in range(rnd.randint(1, 10)):
                op = rnd.random()
                if op < 0.3:
                    off = rnd.randrange(TRUNC_MAX)
                    data = rnd.randbytes(rnd.randint(1, 20000))
                    os.pwrite(fd, data, off)
                    hist.append("pwrite %d+%d" % (off, len(data)))
                    if off > len(m):
                        m.extend(bytes(off - len(m)))
                    m[off:off + len(data)] = data
                elif op < 0.45:
                    data = rnd.randbytes(rnd.randint(1, 5000))
                    os.write(afd, data)
                    hist.append("append %d at %d" % (len(data), len(m)))
                    m.extend(data)
                elif op < 0.55:
                    size = rnd.randrange(TRUNC_MAX)
                    os.ftruncate(fd, size)
                    hist.append("truncate %d" % size)
                    if size < len(m):
                        del m[size:]
                    else:
                        m.extend(bytes(size - len(m)))
                elif op < 0.65:
                    os.fsync(fd if rnd.random() < 0.5 else afd)
                    hist.append("fsync")
                elif op < 0.75:
                    if os.fstat(fd).st_size != len(m):
                        self.bad(t, "trunc: fstat %d != %d after %s" % (
                            os.fstat(fd).st_size, len(m), " | ".join(hist[-12:])))
                    if os.stat(path).st_size != len(m):
                        self.bad(t, "trunc: stat %d != %d" % (os.stat(path).st_size, len(m)))
                elif op < 0.85:
                    got = os.pread(fd, len(m) + 100, 0)
                    if got != bytes(m):
                        self.bad(t, "trunc: pread %d bytes differs from the model (%d) after %s"
                                 % (len(got), len(m), " | ".join(hist[-12:])))
                elif op < 0.92 and len(m):
                    if os.fstat(fd).st_size != len(m):
                        # mapping past the real end of file would be SIGBUS
                        self.bad(t, "trunc: size %d before mmap, model %d after %s" % (
                            os.fstat(fd).st_size, len(m), " | ".join(hist[-12:])))
                        continue
                    with mmap.mmap(fd, len(m), mmap.MAP_SHARED, mmap.PROT_READ) as mm:
                        if mm[:] != bytes(m):
                            self.bad(t, "trunc: mmap read differs from the model")
                else:
                    os.listdir(self.d[mount])
                    hist.append("listdir")
        finally:
            os.close(afd)
            os.close(fd)
        with open(self.p(1 - mount, "trunc"), "rb") as f:
            got = f.read()
        if got != bytes(m):
            extra = ""
            if self.srv:
                with open(os.path.join(self.srv, "trunc"), "rb") as f:
                    s = f.read()
                extra = "; the server has %d bytes%s" % (
                    len(s), " (= model)" if s == bytes(m) else "")
            self.bad(t, "trunc: other mount after close: %d bytes, model %d%s" % (
                len(got), len(m), extra))

    def append(self, t, rnd, name, mount, locked, seq):
        n = rnd.randint(1, 3000)
        rec = b"%02d:%06d:%04d:" % (t, seq, n) + bytes([97 + t % 26]) * n + b"\n"
        if locked:
            self.mount_lock[mount].acquire()
        fd = os.open(self.p(mount, name), os.O_WRONLY | os.O_APPEND)
        try:
            if locked:
                fcntl.lockf(fd, fcntl.LOCK_EX)
            if os.write(fd, rec) != len(rec):
                self.bad(t, "%s: short append" % name)
            if locked:
                fcntl.lockf(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
            if locked:
                self.mount_lock[mount].release()

    def thread(self, t, counts):
        rnd = random.Random(self.seed * 1000 + t)
        model = [bytearray(REG) for _ in range(self.nregion)]
        tmodel = bytearray()
        log = loga = sessions = 0
        try:
            for _ in range(self.ops):
                op = rnd.random()
                if t == 0 and op < 0.3:
                    self.trunc_session(t, rnd, tmodel, sessions)
                    sessions += 1
                elif op < 0.65:
                    self.region_session(t, rnd, model, rnd.randrange(self.nregion))
                elif op < 0.85:
                    self.append(t, rnd, "LOG", t % 2, True, log)
                    log += 1
                elif t % 2 == 0:
                    self.append(t, rnd, "LOGA", 0, False, loga)
                    loga += 1
                else:
                    os.stat(self.p(t % 2, "LOG"))
        except OSError as e:
            self.bad(t, "unexpected %s" % e)
        counts[t] = (log, loga)

    def run(self):
        self.setup()
        counts = {}
        ths = [threading.Thread(target=self.thread, args=(t, counts)) for t in range(self.n)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        self.check_log("LOG", 1, {t: c[0] for t, c in counts.items()})
        self.check_log("LOGA", 0, {t: c[1] for t, c in counts.items() if t % 2 == 0})
        for w in self.stale[:10]:
            print("STALE PAGE (not a failure without EFS_MODEL_STRICT)", w)
        return self.fail


def run(dir_a, dir_b, seed, ops, threads=6, srv=None):
    return Run(dir_a, dir_b, seed, ops, threads, srv).run()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir_a")
    ap.add_argument("dir_b")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ops", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    a = ap.parse_args()
    fail = run(a.dir_a, a.dir_b, a.seed, a.ops, a.threads)
    for f in fail:
        print("FAIL", f)
    print("seed %d ops %d threads %d: %s" % (a.seed, a.ops, a.threads,
                                            "PASS" if not fail else "%d failures" % len(fail)))
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
