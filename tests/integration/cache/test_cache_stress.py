"""Stress: 8 worker processes (stress_worker.py) mix writes, appends, reads,
renames and truncates on two mounts of the same export for ~30 s; every
read is checked as it happens, and at the end every file is compared by
sha256 through mount 1, mount 2 and the server's export directory against
the workers' journals."""

import json
import os
import subprocess
import sys
import time

from cachelib import HERE, sha256_file

WORKERS = 8
DURATION = 30


def test_stress_two_mounts_data_verified(pair, it_tmp):
    worker = os.path.join(HERE, "stress_worker.py")
    jdir = os.path.join(it_tmp, "stress-journal-%s" % pair.name)
    os.makedirs(jdir, exist_ok=True)
    procs = []
    try:
        for i in range(WORKERS):
            # Workers 0-3 and 4-7 list the mounts in opposite order: each
            # picks a random one per operation anyway.
            m1, m2 = (pair.mount1, pair.mount2) if i < 4 else (pair.mount2, pair.mount1)
            j = os.path.join(jdir, "w%d.json" % i)
            procs.append((j, subprocess.Popen(
                [sys.executable, worker, m1.mountpoint, m2.mountpoint, pair.name,
                 str(1000 + i), str(DURATION), j],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
        deadline = time.monotonic() + DURATION + 120
        for j, p in procs:
            try:
                p.wait(max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise AssertionError("stress worker %s still running %d s after its %d s "
                                     "budget (hung I/O?)" % (j, 120, DURATION))
    finally:
        for _, p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(30)
    expected, errors, ops = {}, [], {}
    for j, p in procs:
        err = p.stderr.read().decode(errors="replace")
        p.stdout.close()
        p.stderr.close()
        assert p.returncode == 0, "worker %s exited %d: %s" % (j, p.returncode, err[-2000:])
        with open(j) as f:
            jr = json.load(f)
        expected.update(jr["files"])
        errors += ["%s: %s" % (os.path.basename(j), e) for e in jr["errors"]]
        for k, v in jr["ops"].items():
            ops[k] = ops.get(k, 0) + v
    print("stress ops: %r" % ops)
    assert not errors, "workers saw wrong data or errors:\n" + "\n".join(errors[:20])
    assert sum(ops.values()) > 500, "too few operations in %d s: %r" % (DURATION, ops)
    for k in ("write", "read", "rename", "truncate"):
        assert ops.get(k, 0) > 0, "no %s in the stress run: %r" % (k, ops)

    where = {"mount 1": pair.d1, "mount 2": pair.d2, "server": pair.srv}
    for label, d in where.items():
        names = set(os.listdir(d))
        assert names == set(expected), "%s lists %d names, journals expect %d: extra %r, " \
            "missing %r" % (label, len(names), len(expected), sorted(names - set(expected))[:5],
                            sorted(set(expected) - names)[:5])
    bad = []
    for name, want in sorted(expected.items()):
        for label, d in where.items():
            p = os.path.join(d, name)
            size = os.stat(p).st_size
            if size != want["size"] or sha256_file(p) != want["sha256"]:
                bad.append("%s via %s: size %d (expected %d), sha256 %s" % (
                    name, label, size, want["size"],
                    "differs" if size == want["size"] else "n/a"))
    assert not bad, "%d mismatches after the stress run:\n%s" % (len(bad), "\n".join(bad[:20]))
