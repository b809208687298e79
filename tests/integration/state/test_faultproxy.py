"""The fault-injecting proxy itself (tests/tools/faultproxy.py), against a
tiny scripted RPC server: each mode does what the state tests rely on.
(Issue 12: "A fault-injecting TCP proxy in the test tree".)"""

import os
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from statelib import TOOLS
import faultproxy as fp

SESSION = b"S" * 16


def xdr_opaque(b):
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def build_call(xid, fh=b"fileA", op="READ", seqid=1, slot=0, session=SESSION, name=b"x"):
    cred = struct.pack(">I", 1) + xdr_opaque(struct.pack(">II", 0, 0) + xdr_opaque(b"host") +
                                             struct.pack(">III", 0, 0, 0))
    verf = struct.pack(">I", 0) + xdr_opaque(b"")
    head = struct.pack(">IIIIII", xid, 0, 2, fp.NFS_PROG, 4, 1) + cred + verf
    args = xdr_opaque(b"tag") + struct.pack(">II", 1, 3)
    args += struct.pack(">I", 53) + session + struct.pack(">IIII", seqid, slot, slot, 0)
    args += struct.pack(">I", 22) + xdr_opaque(fh)
    if op == "READ":
        args += struct.pack(">I", 25) + b"\0" * 16 + struct.pack(">QI", 0, 4096)
    elif op == "LOOKUP":
        args += struct.pack(">I", 15) + xdr_opaque(name)
    elif op == "REMOVE":
        args += struct.pack(">I", 28) + xdr_opaque(name)
    return head + args


def build_reply(call):
    """Success: SEQUENCE ok, PUTFH ok, then the op with a READ-like body
    (eof, data = the file handle repeated)."""
    seq = call.info(53) or {}
    body = struct.pack(">I", 0) + xdr_opaque(call.tag) + struct.pack(">I", len(call.ops))
    for o, info in call.ops:
        body += struct.pack(">II", o, 0)
        if o == 53:
            body += seq.get("session", b"\0" * 16) + struct.pack(
                ">IIIII", seq.get("seqid", 0), seq.get("slot", 0), 7, 7, 0)
        elif o in (25, 15, 28):
            body += struct.pack(">I", 1) + xdr_opaque((call.fh() or b"?") * 4)
    return struct.pack(">IIIIII", call.xid, 1, 0, 0, 0, 0) + body


class FakeServer:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.calls = []
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        with c:
            while True:
                try:
                    raw = fp.read_record(c)
                except OSError:
                    return
                if raw is None:
                    return
                call = fp.parse_record(raw)
                self.calls.append(call)
                try:
                    c.sendall(fp.frame(build_reply(call)))
                except OSError:
                    return

    def close(self):
        self.stop = True
        self.sock.close()


@pytest.fixture
def env():
    srv = FakeServer()
    proxy = fp.FaultProxy(("127.0.0.1", srv.port)).start()
    socks = []

    def connect():
        s = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        socks.append(s)
        return s
    yield srv, proxy, connect
    for s in socks:
        s.close()
    proxy.close()
    srv.close()


def rpc(sock, call, timeout=5):
    sock.settimeout(timeout)
    sock.sendall(fp.frame(call))
    return fp.parse_record(fp.read_record(sock))


def no_reply_within(sock, seconds):
    sock.settimeout(seconds)
    try:
        data = sock.recv(4)
        return data == b""  # EOF also means "no reply"
    except socket.timeout:
        return True
    except ConnectionError:
        return True


def test_pass_decodes_and_counts(env):
    srv, proxy, connect = env
    s = connect()
    t0 = time.monotonic()
    for i in range(10):
        r = rpc(s, build_call(100 + i, seqid=i + 1, slot=3))
        assert r.xid == 100 + i and r.mtype == 1 and r.accept_stat == 0 and r.status == 0
    assert proxy.calls(since=t0) == 10
    assert proxy.calls(since=t0, kind="reply") == 10
    assert proxy.calls(since=t0, op="READ") == 10
    c = srv.calls[-1]
    assert [o for o, _ in c.ops] == [53, 22, 25]
    assert c.info(53)["session"] == SESSION and c.info(53)["slot"] == 3
    assert c.info(53)["seqid"] == 10 and c.fh() == b"fileA"
    assert proxy.max_rate(t0) == 10
    proxy.wait_calls(10, op="READ", since=t0, timeout=1)
    with pytest.raises(TimeoutError):
        proxy.wait_calls(11, since=t0, timeout=0.2)


def test_stall_holds_then_delivers(env):
    srv, proxy, connect = env
    s = connect()
    rpc(s, build_call(1))
    proxy.stall()
    s.sendall(fp.frame(build_call(2)))
    assert no_reply_within(s, 0.5), "a reply came through a stalled proxy"
    assert len(srv.calls) == 1, "the server got a call through a stalled proxy"
    proxy.pass_()
    s.settimeout(5)
    r = fp.parse_record(fp.read_record(s))
    assert r.xid == 2


def test_blackhole_drops_and_counts(env):
    srv, proxy, connect = env
    s = connect()
    proxy.blackhole()
    t0 = time.monotonic()
    s.sendall(fp.frame(build_call(7)))
    s2 = connect()           # new connections are accepted, not answered
    s2.sendall(fp.frame(build_call(8)))
    proxy.wait_calls(2, since=t0, timeout=5)
    assert no_reply_within(s, 0.3) and no_reply_within(s2, 0.1)
    assert srv.calls == []
    proxy.pass_()            # healing: the connection made in the blackhole works
    r = rpc(s2, build_call(9))
    assert r.xid == 9


def test_cut_and_refuse(env):
    srv, proxy, connect = env
    s = connect()
    rpc(s, build_call(1))
    proxy.cut(refuse=True)
    s.settimeout(2)
    try:
        got = s.recv(4)
    except ConnectionError:
        got = b""
    assert got == b"", "connection still open after cut"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=2).close()
    proxy.pass_()
    r = rpc(connect(), build_call(2))
    assert r.xid == 2
    assert proxy.stats()["cuts"] == 1


def test_delay(env):
    srv, proxy, connect = env
    s = connect()
    proxy.delay(200)
    t = time.monotonic()
    rpc(s, build_call(1))
    assert time.monotonic() - t >= 0.35   # 200 ms each way
    proxy.pass_()
    t = time.monotonic()
    rpc(s, build_call(2))
    assert time.monotonic() - t < 0.2


@pytest.mark.parametrize("how", ["corrupt", "truncate"])
def test_garble_keeps_framing_and_xid(env, how):
    srv, proxy, connect = env
    s = connect()
    good = rpc(s, build_call(1))
    proxy.garble(2, how)
    for xid in (2, 3):
        r = rpc(s, build_call(xid))
        assert r.xid == xid and r.mtype == 1 and r.accept_stat == 0
        assert r.raw != with_xid_of(good.raw, xid)
        if how == "truncate":
            assert len(r.raw) < len(good.raw)
        else:
            assert len(r.raw) == len(good.raw)
            x = fp.Xdr(r.raw, r.body_off)
            x.u32()
            with pytest.raises(fp.XdrError):
                x.opaque()
    assert proxy.garbled_left() == 0
    assert rpc(s, build_call(4)).raw == with_xid_of(good.raw, 4)


def with_xid_of(raw, xid):
    return fp.with_xid(raw, xid)


def test_rewrite_status(env):
    srv, proxy, connect = env
    s = connect()
    rule = proxy.rewrite_status("LOOKUP", 600)
    r = rpc(s, build_call(1, op="READ"))
    assert r.status == 0          # not a LOOKUP: untouched
    r = rpc(s, build_call(2, op="LOOKUP"))
    assert proxy.rule_done(rule)
    assert r.status == 600
    x = fp.Xdr(r.raw, r.body_off)
    assert x.u32() == 600 and x.opaque() == b"tag" and x.u32() == 3
    assert x.u32() == 53 and x.u32() == 0
    x.skip(36)
    assert (x.u32(), x.u32(), x.u32(), x.u32()) == (22, 0, 15, 600)
    assert x.pos == len(r.raw)
    assert rpc(s, build_call(3, op="LOOKUP")).status == 0   # count=1


def test_cut_before_reply_executes_then_cuts(env):
    srv, proxy, connect = env
    s = connect()
    rule = proxy.cut_before_reply("REMOVE", nth=2)
    rpc(s, build_call(1, op="REMOVE"))         # 1st REMOVE passes
    s.sendall(fp.frame(build_call(2, op="REMOVE", seqid=2)))
    proxy.wait_rule(rule, 5)
    assert srv.calls[-1].xid == 2, "the server did not execute the call"
    assert no_reply_within(s, 0.5)
    assert rule["call"].xid == 2
    # nodrc: the retry on the same session is refused with BADSESSION
    s2 = connect()
    r = rpc(s2, build_call(3, op="REMOVE", seqid=2))
    assert r.status == fp.NFS4ERR_BADSESSION and srv.calls[-1].xid == 2
    # another session is forwarded
    r = rpc(s2, build_call(4, op="REMOVE", session=b"T" * 16))
    assert r.status == 0 and srv.calls[-1].xid == 4


def test_cut_after_reply(env):
    srv, proxy, connect = env
    s = connect()
    rule = proxy.cut_after_reply("READ")
    r = rpc(s, build_call(1))
    assert r.xid == 1 and proxy.rule_done(rule)
    assert no_reply_within(s, 1)
    assert not proxy.conns or all(c.closed for c in proxy.conns.values())


def test_replay_gives_other_files_reply(env):
    srv, proxy, connect = env
    s = connect()
    a = rpc(s, build_call(1, fh=b"fileA"))
    proxy.replay_reply("READ")
    b = rpc(s, build_call(2, fh=b"fileB"))
    assert b.xid == 2 and b.raw[4:] == a.raw[4:], "the reply was not replayed"
    c = rpc(s, build_call(3, fh=b"fileB"))
    assert b"fileB" in c.raw


def test_swap_replies(env):
    srv, proxy, connect = env
    s = connect()
    proxy.swap_replies("READ")
    s.settimeout(5)
    s.sendall(fp.frame(build_call(1, fh=b"fileA")) + fp.frame(build_call(2, fh=b"fileB", slot=1)))
    r1 = fp.parse_record(fp.read_record(s))
    r2 = fp.parse_record(fp.read_record(s))
    got = {r1.xid: r1.raw, r2.xid: r2.raw}
    assert b"fileB" in got[1] and b"fileA" in got[2]


def test_control_socket_cli(tmp_path):
    srv = FakeServer()
    ctlp = str(tmp_path / "fp.sock")
    portf = str(tmp_path / "port")
    tool = os.path.join(TOOLS, "faultproxy.py")
    p = subprocess.Popen([sys.executable, tool, "serve", "--upstream",
                          "127.0.0.1:%d" % srv.port, "--control", ctlp, "--port-file", portf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not (os.path.exists(portf) and os.path.exists(ctlp)):
            assert p.poll() is None, p.stderr.read()
            assert time.monotonic() < deadline, "faultproxy serve did not start"
            time.sleep(0.02)
        port = int(open(portf).read())
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        rpc(s, build_call(1))
        out = subprocess.run([sys.executable, tool, "ctl", ctlp, "stats"], capture_output=True,
                             text=True, timeout=10)
        assert out.returncode == 0 and '"call": 1' in out.stdout, out.stdout + out.stderr
        assert fp.ctl(ctlp, "cut") == "ok"
        s.settimeout(2)
        try:
            assert s.recv(4) == b""
        except ConnectionError:
            pass
        s.close()
        assert fp.ctl(ctlp, "bogus").startswith("err")
        assert fp.ctl(ctlp, "quit") == "bye"
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
        srv.close()


def test_cut_before_reply_uncached_resend(env):
    srv, proxy, connect = env
    s = connect()
    rule = proxy.cut_before_reply("READ", nodrc=False, uncached=True)
    s.sendall(fp.frame(build_call(1, seqid=5, slot=2)))   # cachethis=0 in build_call
    proxy.wait_rule(rule, 5)
    s2 = connect()
    r = rpc(s2, build_call(2, seqid=5, slot=2))             # the re-send: same slot+seqid
    assert r.status == fp.NFS4ERR_RETRY_UNCACHED_REP and len(srv.calls) == 1
    x = fp.Xdr(r.raw, r.body_off)
    x.u32()
    x.opaque()
    assert x.u32() == 2 and x.u32() == 53 and x.u32() == 0
    assert x.fixed(16) == SESSION and x.u32() == 5 and x.u32() == 2
    x.skip(12)
    assert (x.u32(), x.u32()) == (22, fp.NFS4ERR_RETRY_UNCACHED_REP)
    r = rpc(s2, build_call(3, seqid=6, slot=2))             # seqid+1 goes through
    assert r.status == 0 and len(srv.calls) == 2


def test_target_slot_rewrite(env):
    srv, proxy, connect = env
    s = connect()
    proxy.target_slot(1)
    t0 = time.monotonic()
    r = rpc(s, build_call(1, slot=5))
    x = fp.Xdr(r.raw, r.body_off)
    x.u32()
    x.opaque()
    x.skip(12)
    x.skip(16)
    assert (x.u32(), x.u32(), x.u32(), x.u32()) == (1, 5, 7, 1)   # seqid slot highest target
    ev = [e for e in proxy.events_between(t0) if e.kind == "call"]
    assert ev[0].slot == 5
