"""Issue 12, connections and replies:
- "After a reconnect, hard mounts return EIO to read/stat/fsync: idempotent
  compounds go with cachethis=false, the retry gets
  NFS4ERR_RETRY_UNCACHED_REP ... a failed COMMIT also discards the unstable data."
- "A hard mount dies for good after about 64 malformed replies."
- "Replies are not matched against their request ... a misdelivered reply
  gives a reader another file's data."
- "DESTROY_SESSION is sent without SEQUENCE on an unbound connection: after
  16 reconnects it fails ... the client record stays on the server."
- "No duplicate request cache on EFS ... a non-idempotent call re-sent after
  a reconnect (exclusive create, REMOVE, RENAME, LINK, RMDIR) can answer
  EEXIST or ENOENT although it succeeded ... test it by cutting the
  connection right after the server executed the call."
"""

import os
import subprocess
import sys
import time

import pytest

from statelib import ename, py_op

MiB = 1 << 20


def _io_round(d, i, server, sub):
    """stat, read, write+fsync through the mount; every one must succeed."""
    errs = []
    p = os.path.join(d, "f")
    for what, r in (
            ("stat", py_op("stat", 90, path=p)),
            ("read", py_op("read", 90, path=p, off=(i % 8) * MiB, len=4096)),
            ("write+fsync", py_op("write_fsync", 90, path=os.path.join(d, "w%d" % i),
                                  data=("%04d" % i).encode().hex() * 256)),
            ("stat-missing", py_op("lstat_missing", 90, path=os.path.join(d, "no%d" % i)))):
        if r.hung or not r.ok:
            errs.append("%s: %r" % (what, r))
    return errs


def test_hard_mount_io_after_cuts(server, proxy_factory, mount_factory):
    # issue 12: after a reconnect, hard mounts do not return EIO to read/stat/fsync
    proxy = proxy_factory(server)
    m = mount_factory(proxy.source, options=["actimeo=0"])
    d = os.path.join(m.mountpoint, "c")
    os.mkdir(d)
    with open(server.server_path("c", "f"), "wb") as f:
        f.write(os.urandom(8 * MiB))
    errs = []
    for i in range(10):
        proxy.cut()
        errs += ["after cut %d: %s" % (i, e) for e in _io_round(d, i, server, "c")]
    assert not errs, "I/O errors on a hard mount after connection cuts:\n" + "\n".join(errs)
    for i in range(10):
        with open(server.server_path("c", "w%d" % i), "rb") as f:
            assert f.read() == ("%04d" % i).encode() * 256


@pytest.mark.parametrize("slots", ["ganesha", "strict"])
@pytest.mark.parametrize("op,action", [
    ("GETATTR", "stat"), ("READ", "read"), ("WRITE", "write+fsync"), ("COMMIT", "write+fsync"),
    ("LOOKUP", "stat-missing")])
def test_retry_after_cut_before_reply(server, proxy_factory, mount_factory, op, action, slots):
    # issue 12: the retry of an idempotent call after a reconnect must not end in EIO
    # (RETRY_UNCACHED_REP from the server's slot when cachethis was false).  slots=ganesha:
    # whatever ganesha's slot cache answers; strict: the proxy answers the re-send of an
    # uncached call with NFS4ERR_RETRY_UNCACHED_REP, as RFC 8881 2.10.6.1.3 allows
    proxy = proxy_factory(server)
    m = mount_factory(proxy.source, options=["actimeo=0"])
    d = os.path.join(m.mountpoint, "c")
    os.mkdir(d)
    with open(server.server_path("c", "f"), "wb") as f:
        f.write(os.urandom(2 * MiB))
    rule = proxy.cut_before_reply(op, nodrc=False, uncached=(slots == "strict"))
    p = os.path.join(d, "f")
    if action == "stat":
        r = py_op("stat", 90, path=p)
    elif action == "read":
        r = py_op("read", 90, path=p, off=MiB, len=8192)
    elif action == "stat-missing":
        r = py_op("lstat_missing", 90, path=os.path.join(d, "nothing"))
    else:
        r = py_op("write_fsync", 90, path=os.path.join(d, "w"), data="cd" * 5000)
    assert proxy.rule_done(rule), "no %s call was cut (the test did not provoke it)" % op
    assert not r.hung and r.ok, "%s after the reply to %s was lost in a cut: %r" % (
        action, op, r)
    if action == "write+fsync":
        with open(server.server_path("c", "w"), "rb") as f:
            assert f.read() == bytes.fromhex("cd" * 5000)
    elif action == "read":
        with open(server.server_path("c", "f"), "rb") as f:
            f.seek(MiB)
            assert r.data == f.read(8192), "read after the cut returned wrong data"


def test_many_reconnects_then_clean_unmount(server, proxy_factory, mount_factory):
    # issue 12: DESTROY_SESSION/DESTROY_CLIENTID still work after 20 reconnects (no stale
    # client record left on the server, which would delay later grace periods)
    proxy = proxy_factory(server)
    m = mount_factory(proxy.source)
    d = os.path.join(m.mountpoint, "r")
    os.mkdir(d)
    for i in range(20):
        proxy.cut()
        r = py_op("write_fsync", 60, path=os.path.join(d, "f%d" % i), data="ee" * 10)
        assert r.ok, "write after reconnect %d: %r" % (i, r)
    assert server.client_records(), "the server holds no record of the client"
    rc = m.unmount()
    assert rc == 0, "efs-fuse exited %r after 20 reconnects" % rc
    left = server.client_records()
    assert not left, "after unmount the server still holds the client record(s) %r " \
        "(DESTROY_SESSION/DESTROY_CLIENTID failed)" % left


_STATLOOP = r"""
import os, sys, time
d, stop = sys.argv[1], sys.argv[2]
i = 0
errs = 0
while not os.path.exists(stop):
    try:
        os.stat(os.path.join(d, "n-%d-%d" % (os.getpid(), i)))
    except FileNotFoundError:
        pass
    except OSError as e:
        errs += 1
    i += 1
print(i, errs, flush=True)
"""


@pytest.mark.parametrize("how", ["corrupt", "truncate"])
def test_hard_mount_survives_garbled_replies(server, proxy_factory, mount_factory, procs,
                                            tmp_path, how):
    # issue 12: ~64+ malformed replies do not kill a hard mount
    N = 72
    proxy = proxy_factory(server)
    m = mount_factory(proxy.source, options=["timeo=10", "lookupcache=none"])
    d = os.path.join(m.mountpoint, "g")
    os.mkdir(d)
    stop = str(tmp_path / "stop")
    proxy.garble(N, how)
    loops = [subprocess.Popen([sys.executable, "-c", _STATLOOP, d, stop],
                              stdout=subprocess.PIPE, text=True) for _ in range(6)]
    procs.extend(loops)
    try:
        deadline = time.monotonic() + 90
        while N - proxy.garbled_left() < 64 and time.monotonic() < deadline:
            time.sleep(0.1)
        left = proxy.garbled_left()
    finally:
        proxy.garble(0)
        open(stop, "w").close()
    assert N - left >= 64, "only %d replies were garbled in 90 s (the test needs 64+)" % (
        N - left)
    # afterwards the mount works: new I/O, within a reasonable time
    r = py_op("write_fsync", 60, path=os.path.join(d, "after"), data="ab" * 2000)
    assert not r.hung and r.ok, "write+fsync after %d garbled replies: %r" % (N - left, r)
    r = py_op("read", 60, path=os.path.join(d, "after"), off=0, len=4000)
    assert r.ok and r.data == bytes.fromhex("ab" * 2000), "read after garbled replies: %r" % r
    for p in loops:   # the stat loops finish too (no request stuck forever)
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            pytest.fail("a stat loop is still stuck 60 s after the garbling stopped")


@pytest.mark.parametrize("kind", ["replay", "swap"])
def test_misdelivered_reply_never_gives_wrong_data(server, proxy_factory, mount_factory,
                                                   procs, kind):
    # issue 12: replies not matching their request must not give another file's data
    proxy = proxy_factory(server)
    m = mount_factory(proxy.source)
    d = os.path.join(m.mountpoint, "x")
    os.mkdir(d)
    size = 4 * MiB
    for name, byte in (("a", b"A"), ("b", b"B")):
        with open(server.server_path("x", name), "wb") as f:  # behind the daemon's back
            f.write(byte * size)
    reader = r"""
import os, sys
path, want = sys.argv[1], sys.argv[2].encode()
bad = err = 0
fd = os.open(path, os.O_RDONLY)
for off in range(0, %d, 1 << 20):
    try:
        b = os.pread(fd, 1 << 20, off)
    except OSError as e:
        err += 1
        continue
    if b.strip(want):
        bad += 1
print(bad, err, flush=True)
""" % size
    if kind == "replay":
        # a first READ of a, then every READ reply of b gets a's old reply
        first = py_op("read", 30, path=os.path.join(d, "a"), off=0, len=4096)
        assert first.ok and first.data == b"A" * 4096
        rule = proxy.replay_reply("READ", count=4)
        runs = [("b", "B")]
    else:
        rule = proxy.swap_replies("READ", count=2)
        runs = [("a", "A"), ("b", "B")]
    ps = [subprocess.Popen([sys.executable, "-c", reader, os.path.join(d, n), w],
                           stdout=subprocess.PIPE, text=True) for n, w in runs]
    procs.extend(ps)
    results = {}
    for (n, w), p in zip(runs, ps):
        try:
            out, _ = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail("reader of %s hung (a misdelivered reply must give an error or a "
                        "retry, not a hang)" % n)
        results[n] = tuple(int(x) for x in out.split())
    assert rule["fired"] > 0, "no READ reply was %s (the test did not provoke it)" % kind
    wrong = {n: r[0] for n, r in results.items() if r[0]}
    assert not wrong, "%s READ replies: readers got another file's data (MiB chunks " \
        "with wrong bytes per file: %r; all results %r)" % (kind, wrong, results)


NODRC_OPS = {
    # syscall      NFS op    setup
    "create_excl": ("OPEN", "none"),
    "unlink": ("REMOVE", "file"),
    "rmdir": ("REMOVE", "dir"),
    "rename": ("RENAME", "file"),
    "link": ("LINK", "file"),
}


@pytest.mark.parametrize("nodrc", [True, False], ids=["no-drc", "ganesha-drc"])
@pytest.mark.parametrize("syscall", sorted(NODRC_OPS))
def test_non_idempotent_call_resent_after_cut(server, proxy_factory, mount_factory, syscall,
                                              nodrc):
    # issue 12: a non-idempotent call re-sent after a reconnect reports success
    proxy = proxy_factory(server)
    m = mount_factory(proxy.source)
    d = os.path.join(m.mountpoint, "n")
    os.mkdir(d)
    src, dst = os.path.join(d, "obj"), os.path.join(d, "obj2")
    op, setup = NODRC_OPS[syscall]
    if setup == "file":
        with open(src, "wb") as f:
            f.write(b"data")
    elif setup == "dir":
        os.mkdir(src)
    names = {b"obj", b"obj2"}

    def match(call):
        i = call.info(fp_op(op))
        if op == "OPEN":
            return i.get("createmode") is not None and i.get("name") in names
        return i.get("name") in names or i.get("newname") in names
    rule = proxy.cut_before_reply(op, nodrc=nodrc, match=match)
    r = py_op(syscall, 120, path=src, dst=dst)
    assert proxy.rule_done(rule), "no %s call was cut (the test did not provoke it)" % op
    assert not r.hung, "%s hung after the cut" % syscall
    assert r.ok, "%s was executed by the server, its reply lost in a cut; the re-sent " \
        "call made the application see %s (%s)" % (syscall, ename(r.errno),
                                                   "no reply cache" if nodrc else "ganesha DRC")
    srv_src, srv_dst = server.server_path("n", "obj"), server.server_path("n", "obj2")
    exists = {
        "create_excl": (os.path.exists(srv_src), True),
        "unlink": (os.path.exists(srv_src), False),
        "rmdir": (os.path.exists(srv_src), False),
        "rename": ((os.path.exists(srv_src), os.path.exists(srv_dst)), (False, True)),
        "link": ((os.path.exists(srv_src), os.path.exists(srv_dst)), (True, True)),
    }[syscall]
    assert exists[0] == exists[1], "server state after %s: %r, expected %r" % (
        syscall, exists[0], exists[1])


def fp_op(name):
    import faultproxy
    return faultproxy.opnum(name)
