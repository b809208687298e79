"""Read-ahead workers follow the number of sequential readers (issue 10)."""

import os
import threading

from datalib import MiB, daemon_stats, srv_dir


def test_workers_scale_with_sequential_readers(ganesha, mount_factory):
    m = mount_factory(ganesha.source)
    d, srv = srv_dir(ganesha, m, "ra-scale")
    n, size = 8, 24 * MiB
    for i in range(n):  # written on the server: nothing cached by the daemon
        with open(os.path.join(srv, "f%d" % i), "wb") as f:
            f.write(bytes([i]) * size)
    st0 = daemon_stats(m.mountpoint)
    before = st0["ra.workers"]
    errs = []
    barrier = threading.Barrier(n)

    def reader(i):
        try:
            with open(os.path.join(d, "f%d" % i), "rb", buffering=0) as f:
                barrier.wait()
                total = 0
                while True:
                    b = f.read(MiB)
                    if not b:
                        break
                    if b != bytes([i]) * len(b):
                        errs.append("f%d: wrong data at %d" % (i, total))
                        return
                    total += len(b)
                if total != size:
                    errs.append("f%d: %d bytes" % (i, total))
        except Exception as e:  # noqa: BLE001 - reported below
            errs.append("f%d: %r" % (i, e))
    ths = [threading.Thread(target=reader, args=(i,)) for i in range(n)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    assert not errs, errs
    st = daemon_stats(m.mountpoint)
    after = st["ra.workers"]
    assert before == 4, "workers before any reader: %d" % before
    assert after > n, "%d sequential readers, still %d read-ahead workers" % (n, after)
    # zero copy: the replies to FUSE went out from the READ reply records
    zc = st["ra.zero_copy_bytes"] - st0["ra.zero_copy_bytes"]
    copied = st["ra.copied_bytes"] - st0["ra.copied_bytes"]
    assert zc >= n * size, "only %d of %d bytes read without a copy" % (zc, n * size)
    assert copied <= zc // 20, "%d bytes copied, %d not" % (copied, zc)
