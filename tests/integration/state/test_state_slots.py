"""Issue 12, slots: "the server's target_highest_slotid is ignored" /
"highest_slotid follows the server's target".  The proxy rewrites
sr_target_highest_slotid in every SEQUENCE reply to 1; under parallel load
the daemon must stop using slots above 1 (calls already in flight when the
first lowered target arrived are allowed a short grace)."""

import os
import subprocess
import sys
import time

_LOAD = r"""
import os, sys
d, k, stop = sys.argv[1], sys.argv[2], sys.argv[3]
i = 0
while not os.path.exists(stop):
    fd = os.open(os.path.join(d, "f%s" % k), os.O_WRONLY | os.O_CREAT, 0o644)
    os.pwrite(fd, b"x" * 512, (i % 64) * 512)
    os.fsync(fd)
    os.close(fd)
    i += 1
"""


def test_highest_slot_follows_server_target(server, proxy_factory, mount_factory, procs,
                                            tmp_path):
    # issue 12: highest_slotid follows the server's target_highest_slotid
    proxy = proxy_factory(server)
    m = mount_factory(proxy.source)
    d = os.path.join(m.mountpoint, "slots")
    os.mkdir(d)
    stop = str(tmp_path / "stop")
    loads = [subprocess.Popen([sys.executable, "-c", _LOAD, d, str(k), stop]) for k in range(8)]
    procs.extend(loads)
    try:
        t0 = time.monotonic()
        time.sleep(1.5)     # load runs (a duration: we measure what the client does in it)
        before = {e.slot for e in proxy.events_between(t0) if e.kind == "call" and e.slot}
        proxy.target_slot(1)
        proxy.wait_for(lambda: proxy.target_rewritten_at is not None, 10,
                       "a SEQUENCE reply with the lowered target")
        t1 = proxy.target_rewritten_at + 1.0
        time.sleep(3)
        after = [e for e in proxy.events_between(t1) if e.kind == "call" and e.slot is not None]
    finally:
        open(stop, "w").close()
        proxy.target_slot(None)
    assert max(before, default=0) > 1, "the load never used more than 2 slots (%r): the " \
        "test cannot tell" % sorted(before)
    assert after, "no calls at all after the target was lowered"
    high = sorted({e.slot for e in after if e.slot > 1})
    assert not high, "server target_highest_slotid=1, yet %d of %d calls in the next 3 s used " \
        "slots %r" % (len([e for e in after if e.slot > 1]), len(after), high)
    for p in loads:
        p.wait(60)
