#!/usr/bin/python3
"""faultproxy: a fault-injecting TCP proxy for ONC RPC / NFSv4.1 (stdlib only).

    client (efs-fuse) ──► FaultProxy 127.0.0.1:P ──► upstream (nfs-ganesha)

It forwards whole RPC records (RFC 5531 record marking: a 4-byte header per
fragment, top bit = last fragment), decodes enough of each call (xid, program,
procedure, COMPOUND op numbers, SEQUENCE session/slot/seqid, PUTFH handle)
and of each reply (status words) to count, match and rewrite them, and
injects faults on command:

  pass()                       forward everything (default)
  cut(refuse=False)            close both sides of every connection now;
                               refuse=True also closes the listener so new
                               connects get ECONNREFUSED until accept_new()
  stall()                      stop forwarding, keep the sockets open (data
                               is held and delivered once pass() is called)
  blackhole()                  accept, read and drop everything, answer nothing
                               (also for new connections)
  delay(ms)                    forward every record ms milliseconds late
  garble(k, how)               corrupt the next k server->client replies:
                               "corrupt" keeps the record framing and the RPC
                               reply header (so the client matches the xid)
                               and fills the COMPOUND body with garbage;
                               "truncate" sends only half of the body;
                               "mixed" alternates
  cut_before_reply(op, nth)    the server executes the nth call containing
                               op, its reply is dropped and every connection
                               cut; nodrc=True then answers BADSESSION to any
                               later call on that session (as a server without
                               a reply cache across connections, e.g. EFS)
  cut_after_reply(op, nth)     forward the reply to the nth call of op, then cut
  rewrite_status(op, status)   the next reply to a call containing op says
                               `status` for that op (and the COMPOUND)
  replay_reply(op)             the next reply to a call of op (e.g. READ) gets
                               the body of an earlier reply of that op for a
                               *different* file handle (an old/misdelivered reply)
  swap_replies(op)             the next two replies to calls of op for
                               different file handles go out with their xids
                               swapped

Counting: every record is logged as an Event (time, direction, xid, kind,
ops); calls(), rate(), max_rate() and wait_for()/wait_calls() let a test assert
"no RPC storm" or wait for K calls without sleeping blindly.

Usable in-process (FaultProxy) and as a daemon with a line-based control
socket (for shell scripts):

  faultproxy.py serve --upstream 127.0.0.1:2049 [--listen 127.0.0.1:0] \
                      --control /tmp/fp.sock [--port-file F]
  faultproxy.py ctl /tmp/fp.sock cut refuse | pass | stall | blackhole |
                  delay 200 | garble 64 corrupt | stats | quit ...
"""

import argparse
import collections
import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time

# ---------------------------------------------------------------- NFS numbers
NFS_PROG = 100003
NFS_CB_PROG = 0x40000000
PROC_COMPOUND = 1

OPS = {
    3: "ACCESS", 4: "CLOSE", 5: "COMMIT", 6: "CREATE", 7: "DELEGPURGE", 8: "DELEGRETURN",
    9: "GETATTR", 10: "GETFH", 11: "LINK", 12: "LOCK", 13: "LOCKT", 14: "LOCKU",
    15: "LOOKUP", 16: "LOOKUPP", 17: "NVERIFY", 18: "OPEN", 19: "OPENATTR",
    20: "OPEN_CONFIRM", 21: "OPEN_DOWNGRADE", 22: "PUTFH", 23: "PUTPUBFH",
    24: "PUTROOTFH", 25: "READ", 26: "READDIR", 27: "READLINK", 28: "REMOVE",
    29: "RENAME", 30: "RENEW", 31: "RESTOREFH", 32: "SAVEFH", 33: "SECINFO",
    34: "SETATTR", 35: "SETCLIENTID", 36: "SETCLIENTID_CONFIRM", 37: "VERIFY",
    38: "WRITE", 39: "RELEASE_LOCKOWNER", 40: "BACKCHANNEL_CTL",
    41: "BIND_CONN_TO_SESSION", 42: "EXCHANGE_ID", 43: "CREATE_SESSION",
    44: "DESTROY_SESSION", 45: "FREE_STATEID", 46: "GET_DIR_DELEGATION",
    47: "GETDEVICEINFO", 48: "GETDEVICELIST", 49: "LAYOUTCOMMIT", 50: "LAYOUTGET",
    51: "LAYOUTRETURN", 52: "SECINFO_NO_NAME", 53: "SEQUENCE", 54: "SET_SSV",
    55: "TEST_STATEID", 56: "WANT_DELEGATION", 57: "DESTROY_CLIENTID",
    58: "RECLAIM_COMPLETE", 10044: "ILLEGAL",
}
OPNUM = {v: k for k, v in OPS.items()}
NFS4ERR_BADSESSION = 10052

# Ops that only frame the real operation of a compound.
_FRAMING = {"SEQUENCE", "PUTFH", "PUTROOTFH", "PUTPUBFH", "SAVEFH", "RESTOREFH", "GETFH",
            "GETATTR"}


def opnum(op):
    if isinstance(op, int):
        return op
    return OPNUM[op.upper()]


# ---------------------------------------------------------------- XDR reader
class XdrError(Exception):
    pass


class Xdr:
    def __init__(self, buf, pos=0):
        self.buf, self.pos = buf, pos

    def u32(self):
        if self.pos + 4 > len(self.buf):
            raise XdrError("short u32")
        v = struct.unpack_from(">I", self.buf, self.pos)[0]
        self.pos += 4
        return v

    def u64(self):
        if self.pos + 8 > len(self.buf):
            raise XdrError("short u64")
        v = struct.unpack_from(">Q", self.buf, self.pos)[0]
        self.pos += 8
        return v

    def fixed(self, n):
        if self.pos + n > len(self.buf):
            raise XdrError("short fixed(%d)" % n)
        v = bytes(self.buf[self.pos:self.pos + n])
        self.pos += (n + 3) & ~3
        return v

    def opaque(self, cap=1 << 20):
        n = self.u32()
        if n > cap:
            raise XdrError("opaque too long (%d)" % n)
        return self.fixed(n)

    def skip(self, n):
        self.fixed(n)

    def bitmap(self):
        n = self.u32()
        if n > 8:
            raise XdrError("bitmap too long")
        return [self.u32() for _ in range(n)]

    def fattr(self):
        self.bitmap()
        self.opaque()


def _skip_stateid(x):
    x.skip(16)


def _skip_createattrs(x, mode):
    if mode in (0, 1):      # UNCHECKED4, GUARDED4: fattr4
        x.fattr()
    elif mode == 2:         # EXCLUSIVE4: verifier
        x.skip(8)
    elif mode == 3:         # EXCLUSIVE4_1: verifier + fattr4
        x.skip(8)
        x.fattr()
    else:
        raise XdrError("createmode %d" % mode)


def _args_open(x, info):
    x.u32()                  # seqid
    info["share_access"] = x.u32()
    x.u32()                  # share_deny
    x.u64()                  # open_owner clientid
    x.opaque()               # owner
    if x.u32() == 1:         # OPEN4_CREATE
        mode = x.u32()
        info["createmode"] = mode
        _skip_createattrs(x, mode)
    claim = x.u32()
    info["claim"] = claim
    if claim == 0:           # CLAIM_NULL: component
        info["name"] = x.opaque()
    elif claim == 1:         # CLAIM_PREVIOUS: delegation type
        x.u32()
    elif claim == 2:         # CLAIM_DELEGATE_CUR: stateid + component
        _skip_stateid(x)
        info["name"] = x.opaque()
    elif claim == 3:         # CLAIM_DELEGATE_PREV: component
        info["name"] = x.opaque()
    elif claim in (4, 6):    # CLAIM_FH, CLAIM_DELEG_PREV_FH
        pass
    elif claim == 5:         # CLAIM_DELEG_CUR_FH: stateid
        _skip_stateid(x)
    else:
        raise XdrError("open claim %d" % claim)


def _args_lock(x, info):
    info["locktype"] = x.u32()
    info["reclaim"] = bool(x.u32())
    x.u64()
    x.u64()
    if x.u32():              # new lock owner: open_to_lock_owner4
        x.u32()
        _skip_stateid(x)
        x.u32()
        x.u64()
        x.opaque()
    else:                    # exist_lock_owner4
        _skip_stateid(x)
        x.u32()


def _args_create(x, info):
    t = x.u32()
    if t == 5:               # NF4LNK
        x.opaque()
    elif t in (3, 4):        # NF4BLK, NF4CHR
        x.skip(8)
    info["name"] = x.opaque()
    x.fattr()


def _args_sequence(x, info):
    info["session"] = x.fixed(16)
    info["seqid"] = x.u32()
    info["slot"] = x.u32()
    info["highest"] = x.u32()
    info["cachethis"] = bool(x.u32())


def _args_putfh(x, info):
    info["fh"] = x.opaque(128)


def _args_readdir(x, info):
    x.skip(24)
    x.bitmap()


_ARGS = {
    3: lambda x, i: x.u32(),                                # ACCESS
    4: lambda x, i: x.skip(20),                             # CLOSE seqid+stateid
    5: lambda x, i: x.skip(12),                             # COMMIT
    6: _args_create,
    8: lambda x, i: _skip_stateid(x),                       # DELEGRETURN
    9: lambda x, i: x.bitmap(),                             # GETATTR
    10: None, 16: None, 23: None, 24: None, 27: None, 31: None, 32: None,
    11: lambda x, i: i.__setitem__("name", x.opaque()),     # LINK
    12: _args_lock,
    13: lambda x, i: (x.skip(20), x.u64(), x.opaque()),     # LOCKT
    14: lambda x, i: x.skip(40),                            # LOCKU
    15: lambda x, i: i.__setitem__("name", x.opaque()),     # LOOKUP
    17: lambda x, i: x.fattr(),                             # NVERIFY
    18: _args_open,
    21: lambda x, i: x.skip(28),                            # OPEN_DOWNGRADE
    22: _args_putfh,
    25: lambda x, i: (x.skip(16), i.__setitem__("offset", x.u64()),
                     i.__setitem__("count", x.u32())),     # READ
    26: _args_readdir,
    28: lambda x, i: i.__setitem__("name", x.opaque()),     # REMOVE
    29: lambda x, i: (i.__setitem__("name", x.opaque()),
                     i.__setitem__("newname", x.opaque())),  # RENAME
    34: lambda x, i: (_skip_stateid(x), x.fattr()),         # SETATTR
    37: lambda x, i: x.fattr(),                             # VERIFY
    38: lambda x, i: (x.skip(16), i.__setitem__("offset", x.u64()), x.u32(),
                     i.__setitem__("count", len(x.opaque(1 << 24)))),  # WRITE
    39: lambda x, i: (x.u64(), x.opaque()),                 # RELEASE_LOCKOWNER
    41: lambda x, i: x.skip(24),                            # BIND_CONN_TO_SESSION
    44: lambda x, i: i.__setitem__("session", x.fixed(16)),  # DESTROY_SESSION
    45: lambda x, i: _skip_stateid(x),                      # FREE_STATEID
    52: lambda x, i: x.u32(),                               # SECINFO_NO_NAME
    53: _args_sequence,
    55: lambda x, i: [_skip_stateid(x) for _ in range(min(x.u32(), 1024))],
    57: lambda x, i: x.u64(),                               # DESTROY_CLIENTID
    58: lambda x, i: x.u32(),                               # RECLAIM_COMPLETE
}


def _ops_info(x, count):
    """Decode COMPOUND args: [(opnum, info)], stopping at an op we cannot skip."""
    ops = []
    for _ in range(min(count, 64)):
        op = x.u32()
        info = {}
        ops.append((op, info))
        if op not in _ARGS:
            info["undecoded"] = True
            break
        fn = _ARGS[op]
        if fn is not None:
            fn(x, info)
    return ops


class Rec:
    """One decoded RPC record."""
    __slots__ = ("raw", "xid", "mtype", "prog", "vers", "proc", "ops", "tag",
                 "body_off", "status", "accept_stat", "ok")

    def __init__(self, raw):
        self.raw = raw
        self.xid = self.mtype = self.prog = self.vers = self.proc = None
        self.ops = []
        self.tag = b""
        self.body_off = None   # reply: offset of the procedure's results
        self.status = None     # reply: COMPOUND status
        self.accept_stat = None
        self.ok = False

    def opnames(self):
        return [OPS.get(o, str(o)) for o, _ in self.ops]

    def has_op(self, op):
        return any(o == op for o, _ in self.ops)

    def info(self, op):
        for o, i in self.ops:
            if o == op:
                return i
        return None

    def fh(self):
        """The last PUTFH handle before the first non-framing op."""
        fh = None
        for o, i in self.ops:
            if o == 22:
                fh = i.get("fh")
            elif OPS.get(o) not in _FRAMING:
                break
        return fh

    def main_op(self):
        for o, _ in self.ops:
            if OPS.get(o) not in _FRAMING:
                return OPS.get(o, str(o))
        return OPS.get(self.ops[-1][0], "?") if self.ops else ("NULL" if self.proc == 0 else "?")


def parse_record(raw):
    r = Rec(raw)
    try:
        x = Xdr(raw)
        r.xid = x.u32()
        r.mtype = x.u32()
        if r.mtype == 0:       # CALL
            x.u32()            # rpcvers
            r.prog, r.vers, r.proc = x.u32(), x.u32(), x.u32()
            x.u32()
            x.opaque(400)      # cred
            x.u32()
            x.opaque(400)      # verf
            if r.proc == PROC_COMPOUND and r.prog in (NFS_PROG, NFS_CB_PROG):
                r.tag = x.opaque(1024)
                x.u32()        # minorversion
                if r.prog == NFS_CB_PROG:
                    x.u32()    # callback_ident
                r.ops = _ops_info(x, x.u32())
        elif r.mtype == 1:     # REPLY
            if x.u32() == 0:   # MSG_ACCEPTED
                x.u32()
                x.opaque(400)  # verf
                r.accept_stat = x.u32()
                r.body_off = x.pos
                if r.accept_stat == 0 and len(raw) >= x.pos + 4:
                    r.status = x.u32()
        r.ok = True
    except XdrError:
        pass
    return r


# Sizes of successful results of the ops we may need to step over.
def _skip_result(x, op):
    st = x.u32()
    if st != 0:
        if op in (12, 13) and st == 10010:   # LOCK/LOCKT DENIED: lock4denied
            x.skip(20)
            x.u64()
            x.opaque()
        return st
    if op == 53:
        x.skip(16 + 20)
    elif op == 10:
        x.opaque(128)
    elif op == 3:
        x.skip(8)
    elif op in (11, 28):
        x.skip(20)
    elif op == 29:
        x.skip(40)
    elif op in (22, 23, 24, 31, 32, 15, 16):
        pass
    elif op == 9:
        x.fattr()
    else:
        raise XdrError("cannot skip result of op %d" % op)
    return st


def rewrite_reply_status(reply, call, op, status):
    """reply with op's result (and the COMPOUND status) replaced by `status`,
    the results after it dropped.  None if the reply cannot be rewritten."""
    if reply.body_off is None or reply.accept_stat != 0:
        return None
    try:
        x = Xdr(reply.raw, reply.body_off)
        x.u32()                      # status
        x.opaque(1024)               # tag
        tag_end = x.pos
        n = x.u32()
        keep = []
        for i in range(n):
            start = x.pos
            o = x.u32()
            if o == op:
                head = bytearray(reply.raw[:reply.body_off])
                tag = reply.raw[reply.body_off + 4:tag_end]
                out = head + struct.pack(">I", status) + tag + struct.pack(">I", i + 1)
                out += b"".join(keep) + struct.pack(">II", op, status)
                return bytes(out)
            st = _skip_result(x, o)
            keep.append(reply.raw[start:x.pos])
            if st != 0:
                return None
    except XdrError:
        return None
    return None


def badsession_reply(call):
    """A synthetic reply to `call`: SEQUENCE failed with NFS4ERR_BADSESSION."""
    tag = call.tag
    pad = b"\0" * ((4 - len(tag) % 4) % 4)
    return (struct.pack(">IIIIII", call.xid, 1, 0, 0, 0, 0) +
            struct.pack(">I", NFS4ERR_BADSESSION) + struct.pack(">I", len(tag)) + tag + pad +
            struct.pack(">III", 1, 53, NFS4ERR_BADSESSION))


NFS4ERR_RETRY_UNCACHED_REP = 10068


def uncached_reply(call):
    """A synthetic reply to a re-sent call whose first execution was not
    cached (cachethis=false): SEQUENCE succeeds (it is the replay of the
    slot's last seqid), the next op fails with NFS4ERR_RETRY_UNCACHED_REP,
    as RFC 8881 section 2.10.6.1.3 lets a server answer."""
    seq = call.info(53)
    tag = call.tag
    pad = b"\0" * ((4 - len(tag) % 4) % 4)
    nxt = call.ops[1][0] if len(call.ops) > 1 else 53
    return (struct.pack(">IIIIII", call.xid, 1, 0, 0, 0, 0) +
            struct.pack(">I", NFS4ERR_RETRY_UNCACHED_REP) + struct.pack(">I", len(tag)) + tag +
            pad + struct.pack(">III", 2, 53, 0) + seq["session"] +
            struct.pack(">IIIII", seq["seqid"], seq["slot"], seq["highest"], seq["highest"], 0) +
            struct.pack(">II", nxt, NFS4ERR_RETRY_UNCACHED_REP))


def with_xid(raw, xid):
    return struct.pack(">I", xid) + raw[4:]


# ---------------------------------------------------------------- events
Event = collections.namedtuple("Event", "t dir conn xid kind ops slot")
#   dir: "c2s" | "s2c";  kind: "call" | "reply" | "cb" (server->client call) |
#        "cbreply" | "junk" | "dropped" | "synth" | "garbled" | "rewritten"


class _Conn:
    def __init__(self, proxy, cid, csock):
        self.proxy, self.id, self.c = proxy, cid, csock
        self.s = None
        self.closed = False
        self.lock = threading.Lock()
        self.calls = {}        # xid -> Rec of calls in flight (for matching)
        self.s2c_started = False

    def shut(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for sock in (self.c, self.s):
            if sock is None:
                continue
            try:   # RST rather than FIN: the peer learns at once
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                sock.close()
            except OSError:
                pass
        self.proxy._conn_gone(self)


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        b = sock.recv(n - len(buf))
        if not b:
            return None
        buf += b
    return bytes(buf)


def read_record(sock, cap=64 << 20):
    """One RPC record (all fragments joined), or None at EOF."""
    parts, total = [], 0
    while True:
        h = _recv_exact(sock, 4)
        if h is None:
            return None
        (w,) = struct.unpack(">I", h)
        n = w & 0x7FFFFFFF
        total += n
        if total > cap:
            raise OSError("record too large")
        frag = _recv_exact(sock, n) if n else b""
        if frag is None:
            return None
        parts.append(frag)
        if w & 0x80000000:
            return b"".join(parts)


def frame(raw):
    return struct.pack(">I", 0x80000000 | len(raw)) + raw


class FaultProxy:
    """listen on (addr, port) and forward to upstream=(host, port)."""

    def __init__(self, upstream, listen=("127.0.0.1", 0), log_events=True):
        self.upstream = tuple(upstream)
        self.addr = listen[0]
        self._want_port = listen[1]
        self.port = None
        self.lsock = None
        self.cv = threading.Condition()
        self.mode = "pass"
        self.delay_ms = 0
        self.refusing = False
        self.conns = {}
        self.next_cid = 1
        self.accepted = 0
        self.upstream_failures = 0
        self.events = collections.deque(maxlen=500000)
        self.evlock = threading.Lock()   # protects events and counts
        self.log_events = log_events
        self.counts = collections.Counter()
        self.rules = []          # fault rules on replies / calls
        self.dead_sessions = set()
        self.uncached_slots = set()   # (session, slot, seqid) whose reply was not cached
        self.last_replies = {}   # (opnum) -> {fh: raw reply}
        self.garble_left = 0
        self.garble_how = "corrupt"
        self.target = None
        self.target_rewritten_at = None
        self._stop = False
        self._thread = None
        self.rng = random.Random(12345)

    # ------------------------------------------------------------ lifecycle
    def start(self):
        self._listen()
        self._thread = threading.Thread(target=self._accept_loop, name="fp-accept", daemon=True)
        self._thread.start()
        return self

    def _listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.addr, self.port if self.port else self._want_port))
        s.listen(128)
        self.port = s.getsockname()[1]
        self.lsock = s

    def close(self):
        with self.cv:
            self._stop = True
            self.mode = "pass"
            self.cv.notify_all()
        self._close_listener()
        for c in list(self.conns.values()):
            c.shut()
        if self._thread:
            self._thread.join(5)

    stop = close

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.close()

    @property
    def address(self):
        return (self.addr, self.port)

    def _close_listener(self):
        s, self.lsock = self.lsock, None
        if s is not None:
            try:   # shutdown first: the accept thread may be in select() on it,
                s.shutdown(socket.SHUT_RDWR)   # which would keep it listening
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    # ------------------------------------------------------------ modes
    def _set(self, mode):
        with self.cv:
            self.mode = mode
            self.cv.notify_all()

    def pass_(self):
        """Forward everything again (also ends refuse and delay)."""
        with self.cv:
            self.delay_ms = 0
        self.accept_new()
        self._set("pass")

    set_pass = pass_

    def stall(self):
        self._set("stall")

    def blackhole(self):
        self._set("blackhole")

    def delay(self, ms):
        with self.cv:
            self.delay_ms = ms
            self.mode = "pass"
            self.cv.notify_all()

    def cut(self, refuse=False):
        """Close both sides of every connection now; refuse=True: new
        connects are refused (listener closed) until accept_new()/pass_()."""
        if refuse:
            with self.cv:
                self.refusing = True
            self._close_listener()
        for c in list(self.conns.values()):
            c.shut()
        with self.evlock:
            self.counts["cuts"] += 1
        with self.cv:
            self.cv.notify_all()

    def accept_new(self):
        with self.cv:
            if not self.refusing:
                return
            self.refusing = False
        for _ in range(100):
            try:
                self._listen()
                return
            except OSError:
                time.sleep(0.05)
        raise OSError("cannot listen on %s:%d again" % (self.addr, self.port))

    def garble(self, k, how="corrupt"):
        with self.cv:
            self.garble_left = k
            self.garble_how = how

    def garbled_left(self):
        with self.cv:
            return self.garble_left

    def _add_rule(self, **rule):
        rule.setdefault("seen", 0)
        rule.setdefault("fired", 0)
        rule.setdefault("count", 1)
        with self.cv:
            self.rules.append(rule)
        return rule

    def cut_before_reply(self, op, nth=1, nodrc=True, match=None, uncached=False):
        """The nth call containing op (counted from now; match(call) may
        narrow it) reaches the server; its reply is dropped and all
        connections are cut.  nodrc: later calls on that session get
        BADSESSION from the proxy (no reply cache across connections).
        uncached: the re-send of that very call (same session, slot and
        seqid) gets NFS4ERR_RETRY_UNCACHED_REP if it was sent with
        cachethis=false (what a server with a strict slot cache answers)."""
        return self._add_rule(kind="cut_before", op=opnum(op), nth=nth, nodrc=nodrc, match=match,
                              uncached=uncached)

    def cut_after_reply(self, op, nth=1, match=None):
        return self._add_rule(kind="cut_after", op=opnum(op), nth=nth, match=match)

    def rewrite_status(self, op, status, count=1, match=None):
        return self._add_rule(kind="status", op=opnum(op), status=status, count=count,
                              nth=1, match=match)

    def replay_reply(self, op="READ", count=1, match=None):
        return self._add_rule(kind="replay", op=opnum(op), count=count, nth=1, match=match)

    def swap_replies(self, op="READ", count=1, hold=2.0):
        return self._add_rule(kind="swap", op=opnum(op), count=count, nth=1, hold=hold,
                              held=None, match=None)

    def target_slot(self, n):
        """Rewrite sr_target_highest_slotid to n in every successful SEQUENCE
        reply (None: stop).  A client must then stop using slots above n."""
        with self.cv:
            self.target = n

    def clear_rules(self):
        with self.cv:
            self.rules = []
            self.dead_sessions = set()
            self.uncached_slots = set()

    @staticmethod
    def rule_done(rule):
        return rule["fired"] >= rule["count"]

    # ------------------------------------------------------------ counting
    def calls(self, since=None, until=None, op=None, kind="call"):
        """Number of client->server calls (kind) in [since, until)."""
        opn = opnum(op) if op is not None else None
        n = 0
        with self.evlock:
            evs = list(self.events)
        for e in evs:
            if e.kind != kind:
                continue
            if since is not None and e.t < since:
                continue
            if until is not None and e.t >= until:
                continue
            if opn is not None and opn not in e.ops:
                continue
            n += 1
        return n

    def events_between(self, since, until=None):
        with self.evlock:
            return [e for e in self.events
                    if e.t >= since and (until is None or e.t < until)]

    def max_rate(self, since, until=None, window=1.0, kind="call"):
        """The largest number of calls seen in any `window` seconds."""
        ts = [e.t for e in self.events_between(since, until) if e.kind == kind]
        best, j = 0, 0
        for i in range(len(ts)):
            while ts[i] - ts[j] > window:
                j += 1
            best = max(best, i - j + 1)
        return best

    def summary(self, since=None, until=None):
        c = collections.Counter()
        for e in self.events_between(since or 0, until):
            c[e.kind] += 1
            if e.kind == "call":
                c["op:" + "+".join(OPS.get(o, str(o)) for o in e.ops
                                   if OPS.get(o) not in ("SEQUENCE", "PUTFH"))] += 1
        return dict(c)

    def stats(self):
        with self.evlock:
            d = dict(self.counts)
        with self.cv:
            d.update(mode=self.mode, delay_ms=self.delay_ms, refusing=self.refusing,
                     connections=len(self.conns), accepted=self.accepted,
                     upstream_failures=self.upstream_failures,
                     garble_left=self.garble_left, port=self.port)
        return d

    def wait_for(self, cond, timeout, what="condition", interval=0.02):
        deadline = time.monotonic() + timeout
        while True:
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError("faultproxy: timed out after %ss waiting for %s (%r)"
                                   % (timeout, what, self.stats()))
            time.sleep(interval)

    def wait_calls(self, k, op=None, since=None, timeout=30):
        return self.wait_for(lambda: self.calls(since=since, op=op) >= k, timeout,
                             "%d calls%s" % (k, " of %s" % op if op else ""))

    def wait_rule(self, rule, timeout=30):
        return self.wait_for(lambda: self.rule_done(rule), timeout, "rule %s" % rule["kind"])

    def wait_connected(self, timeout=30, since_accepted=0):
        return self.wait_for(lambda: self.accepted > since_accepted and self.conns,
                             timeout, "a client connection")

    # ------------------------------------------------------------ internals
    def _log(self, conn, d, rec, kind):
        with self.evlock:
            self.counts[kind] += 1
            if self.log_events:
                seq = rec.info(53) if rec else None
                self.events.append(Event(time.monotonic(), d, conn.id, rec.xid if rec else None,
                                         kind, tuple(o for o, _ in rec.ops) if rec else (),
                                         seq.get("slot") if seq else None))

    def _conn_gone(self, conn):
        with self.cv:
            self.conns.pop(conn.id, None)
            self.cv.notify_all()

    def _accept_loop(self):
        while not self._stop:
            ls = self.lsock
            if ls is None:
                time.sleep(0.02)
                continue
            try:
                r, _, _ = select.select([ls], [], [], 0.1)
                if not r:
                    continue
                cs, _ = ls.accept()
            except (OSError, ValueError):
                continue
            cs.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.cv:
                cid = self.next_cid
                self.next_cid += 1
                self.accepted += 1
                conn = _Conn(self, cid, cs)
                self.conns[cid] = conn
                mode = self.mode
            if mode != "blackhole" and not self._connect_upstream(conn):
                conn.shut()
                continue
            threading.Thread(target=self._pump_c2s, args=(conn,), daemon=True,
                             name="fp-c2s-%d" % cid).start()

    def _connect_upstream(self, conn):
        try:
            s = socket.create_connection(self.upstream, timeout=5)
            s.settimeout(None)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            with self.cv:
                self.upstream_failures += 1
            return False
        conn.s = s
        if conn.closed:
            try:
                s.close()
            except OSError:
                pass
            return False
        conn.s2c_started = True
        threading.Thread(target=self._pump_s2c, args=(conn,), daemon=True,
                         name="fp-s2c-%d" % conn.id).start()
        return True

    def _gate(self, conn):
        """Wait while stalled; returns the mode to apply to this record."""
        with self.cv:
            while self.mode == "stall" and not conn.closed and not self._stop:
                self.cv.wait(0.1)
            return self.mode, self.delay_ms

    def _send(self, sock, raw):
        sock.sendall(frame(raw))

    def _pump_c2s(self, conn):
        try:
            while not conn.closed:
                raw = read_record(conn.c)
                if raw is None:
                    break
                rec = parse_record(raw)
                mode, delay = self._gate(conn)
                if conn.closed:
                    break
                kind = "call" if rec.mtype == 0 else ("cbreply" if rec.mtype == 1 else "junk")
                self._log(conn, "c2s", rec, kind)
                if mode == "blackhole":
                    self._log(conn, "c2s", rec, "dropped")
                    continue
                if conn.s is None and not self._connect_upstream(conn):
                    break
                if rec.mtype == 0 and self._dead_session_call(conn, rec):
                    continue
                if rec.mtype == 0:
                    with conn.lock:
                        conn.calls[rec.xid] = rec
                        if len(conn.calls) > 4096:
                            conn.calls.pop(next(iter(conn.calls)))
                    self._count_call_rules(rec)
                if delay:
                    time.sleep(delay / 1000.0)
                self._send(conn.s, raw)
        except OSError:
            pass
        finally:
            conn.shut()

    def _dead_session_call(self, conn, rec):
        if not rec.ops or rec.ops[0][0] != 53:
            return False
        seq = rec.ops[0][1]
        if self.uncached_slots and "seqid" in seq:
            key = (seq.get("session"), seq.get("slot"), seq.get("seqid"))
            if key in self.uncached_slots:
                self._log(conn, "c2s", rec, "synth")
                try:
                    self._send(conn.c, uncached_reply(rec))
                except OSError:
                    pass
                return True
        if not self.dead_sessions:
            return False
        if rec.ops[0][1].get("session") not in self.dead_sessions:
            return False
        self._log(conn, "c2s", rec, "synth")
        try:
            self._send(conn.c, badsession_reply(rec))
        except OSError:
            pass
        return True

    def _match(self, rule, call):
        if call is None or not call.has_op(rule["op"]):
            return False
        return rule["match"] is None or rule["match"](call)

    def _count_call_rules(self, call):
        """Count calls for nth-based rules (at call time, in call order)."""
        with self.cv:
            for rule in self.rules:
                if rule["kind"] in ("cut_before", "cut_after") and not self.rule_done(rule):
                    if self._match(rule, call):
                        rule["seen"] += 1
                        if rule["seen"] == rule["nth"]:
                            rule["armed_xid"] = call.xid

    def _pump_s2c(self, conn):
        try:
            while not conn.closed:
                raw = read_record(conn.s)
                if raw is None:
                    break
                rec = parse_record(raw)
                mode, delay = self._gate(conn)
                if conn.closed:
                    break
                if rec.mtype != 1:
                    self._log(conn, "s2c", rec, "cb")
                    if mode != "blackhole":
                        self._send(conn.c, raw)
                    continue
                with conn.lock:
                    call = conn.calls.pop(rec.xid, None)
                if call is not None:
                    rec.ops = call.ops     # for logging: the ops answered
                self._log(conn, "s2c", rec, "reply")
                if mode == "blackhole":
                    self._log(conn, "s2c", rec, "dropped")
                    continue
                if delay:
                    time.sleep(delay / 1000.0)
                out, after = self._apply_reply_rules(conn, call, rec)
                for r in out:
                    self._send(conn.c, r)
                if after == "cut":
                    self.cut()
                    break
        except OSError:
            pass
        finally:
            conn.shut()

    def _apply_reply_rules(self, conn, call, rec):
        """[records to send], then None | "cut"."""
        raw = rec.raw
        if self.target is not None and call is not None and call.ops and \
                call.ops[0][0] == 53 and rec.accept_stat == 0:
            raw = self._set_target(rec, raw)
            rec.raw = raw
        # remember replies (for replay)
        if call is not None and rec.accept_stat == 0 and rec.status == 0:
            fh = call.fh()
            for o, _ in call.ops:
                if o in (25, 9, 3):
                    d = self.last_replies.setdefault(o, collections.OrderedDict())
                    d[fh] = raw
                    d.move_to_end(fh)
                    while len(d) > 16:
                        d.popitem(last=False)
        with self.cv:
            if self.garble_left > 0 and call is not None:
                self.garble_left -= 1
                n = self.garble_left
                how = self.garble_how
                if how == "mixed":
                    how = "corrupt" if n % 2 else "truncate"
                self._log(conn, "s2c", rec, "garbled")
                return [self._garble(rec, how)], None
            rules = list(self.rules)
        for rule in rules:
            if self.rule_done(rule):
                continue
            k = rule["kind"]
            if k in ("cut_before", "cut_after"):
                if call is None or rule.get("armed_xid") != call.xid:
                    continue
                with self.cv:
                    rule["fired"] += 1
                    rule["fired_at"] = time.monotonic()
                    rule["call"] = call
                    rule["reply_status"] = rec.status
                if k == "cut_before":
                    self._log(conn, "s2c", rec, "dropped")
                    seq = call.info(53)
                    if rule.get("uncached") and seq and "seqid" in seq and \
                            not seq.get("cachethis"):
                        with self.cv:
                            self.uncached_slots.add((seq["session"], seq["slot"], seq["seqid"]))
                    if rule["nodrc"]:
                        if seq and "session" in seq:
                            with self.cv:
                                self.dead_sessions.add(seq["session"])
                    return [], "cut"
                return [raw], "cut"
            if not self._match(rule, call):
                continue
            if k == "status":
                new = rewrite_reply_status(rec, call, rule["op"], rule["status"])
                if new is None:
                    continue
                with self.cv:
                    rule["fired"] += 1
                self._log(conn, "s2c", rec, "rewritten")
                return [new], None
            if k == "replay":
                fh = call.fh()
                old = [r for f, r in self.last_replies.get(rule["op"], {}).items()
                       if f != fh and r is not raw]
                if not old:
                    continue
                with self.cv:
                    rule["fired"] += 1
                self._log(conn, "s2c", rec, "rewritten")
                return [with_xid(old[-1], rec.xid)], None
            if k == "swap":
                fh = call.fh()
                with self.cv:
                    held = rule["held"]
                    if held is None or held[0] == fh or time.monotonic() - held[3] > rule["hold"]:
                        prev = held
                        rule["held"] = (fh, rec, conn, time.monotonic())
                        # a stale held reply goes out unmodified
                        out = []
                        if prev is not None:
                            if prev[2] is conn:
                                out.append(prev[1].raw)
                            else:
                                self._send_quiet(prev[2], prev[1].raw)
                        self._arm_swap_timer(rule)
                        return out, None
                    rule["held"] = None
                    rule["fired"] += 1
                hfh, hrec, hconn, _ = held
                a = with_xid(rec.raw, hrec.xid)
                b = with_xid(hrec.raw, rec.xid)
                self._log(conn, "s2c", rec, "rewritten")
                if hconn is conn:
                    return [a, b], None
                self._send_quiet(hconn, a)
                return [b], None
        return [raw], None

    def _set_target(self, rec, raw):
        try:
            x = Xdr(raw, rec.body_off)
            x.u32()
            x.opaque(1024)
            if x.u32() < 1 or x.u32() != 53 or x.u32() != 0:
                return raw
            off = x.pos + 16 + 12       # sessionid, seqid, slotid, highest_slotid
            if off + 4 > len(raw):
                return raw
            b = bytearray(raw)
            struct.pack_into(">I", b, off, self.target)
            if self.target_rewritten_at is None:
                self.target_rewritten_at = time.monotonic()
            return bytes(b)
        except XdrError:
            return raw

    def _send_quiet(self, conn, raw):
        try:
            self._send(conn.c, raw)
        except OSError:
            pass

    def _arm_swap_timer(self, rule):
        def flush():
            with self.cv:
                held = rule["held"]
                if held is None or time.monotonic() - held[3] < rule["hold"]:
                    return
                rule["held"] = None
            self._send_quiet(held[2], held[1].raw)
        t = threading.Timer(rule["hold"] + 0.05, flush)
        t.daemon = True
        t.start()

    def _garble(self, rec, how):
        raw = rec.raw
        off = rec.body_off if rec.body_off is not None else 8
        body_len = len(raw) - off
        if how == "truncate":
            return raw[:off + body_len // 2]
        # keep the RPC reply header, replace the COMPOUND results with noise
        # that cannot decode: a status, a tag length far beyond the record.
        junk = bytes(self.rng.getrandbits(8) for _ in range(max(body_len, 16)))
        return raw[:off] + struct.pack(">II", 0, 0x7FFFFF00) + junk[8:]


# ---------------------------------------------------------------- control
def handle_command(proxy, words):
    """One control command -> answer string (also used by the CLI)."""
    if not words:
        return "err empty"
    c, a = words[0], words[1:]
    if c == "pass":
        proxy.pass_()
    elif c == "cut":
        proxy.cut(refuse="refuse" in a)
    elif c == "accept":
        proxy.accept_new()
    elif c == "stall":
        proxy.stall()
    elif c == "blackhole":
        proxy.blackhole()
    elif c == "delay":
        proxy.delay(int(a[0]))
    elif c == "garble":
        proxy.garble(int(a[0]), a[1] if len(a) > 1 else "corrupt")
    elif c == "cut_before_reply":
        proxy.cut_before_reply(a[0], int(a[1]) if len(a) > 1 else 1)
    elif c == "cut_after_reply":
        proxy.cut_after_reply(a[0], int(a[1]) if len(a) > 1 else 1)
    elif c == "rewrite_status":
        proxy.rewrite_status(a[0], int(a[1]))
    elif c == "clear":
        proxy.clear_rules()
    elif c == "stats":
        return "ok " + json.dumps(proxy.stats())
    elif c == "rate":
        window = float(a[0]) if a else 1.0
        now = time.monotonic()
        return "ok %d" % proxy.calls(since=now - window)
    elif c == "quit":
        return "bye"
    else:
        return "err unknown command %s" % c
    return "ok"


class ControlServer:
    """Unix-socket control: one command per line, one answer line."""

    def __init__(self, proxy, path):
        self.proxy, self.path = proxy, path
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.done = threading.Event()

    def serve(self):
        while not self.done.is_set():
            r, _, _ = select.select([self.sock], [], [], 0.2)
            if not r:
                continue
            c, _ = self.sock.accept()
            threading.Thread(target=self._client, args=(c,), daemon=True).start()
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def _client(self, c):
        with c, c.makefile("rw") as f:
            for line in f:
                try:
                    ans = handle_command(self.proxy, line.split())
                except Exception as e:  # noqa: BLE001 - reported to the client
                    ans = "err %r" % e
                f.write(ans + "\n")
                f.flush()
                if ans == "bye":
                    self.done.set()
                    return


def ctl(path, *words, timeout=10):
    """Send one command to a faultproxy control socket; return the answer."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    with s, s.makefile("rw") as f:
        f.write(" ".join(str(w) for w in words) + "\n")
        f.flush()
        return f.readline().strip()


def _hostport(s):
    h, _, p = s.rpartition(":")
    return (h or "127.0.0.1", int(p))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sv = sub.add_parser("serve")
    sv.add_argument("--upstream", required=True)
    sv.add_argument("--listen", default="127.0.0.1:0")
    sv.add_argument("--control", required=True)
    sv.add_argument("--port-file")
    ct = sub.add_parser("ctl")
    ct.add_argument("control")
    ct.add_argument("words", nargs="+")
    args = ap.parse_args(argv)
    if args.cmd == "ctl":
        ans = ctl(args.control, *args.words)
        print(ans)
        return 0 if ans.startswith(("ok", "bye")) else 1
    proxy = FaultProxy(_hostport(args.upstream), _hostport(args.listen)).start()
    srv = ControlServer(proxy, args.control)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % proxy.port)
        os.rename(args.port_file + ".tmp", args.port_file)
    print("faultproxy: %s:%d -> %s:%d, control %s" % (
        proxy.addr, proxy.port, proxy.upstream[0], proxy.upstream[1], args.control), flush=True)
    try:
        srv.serve()
    except KeyboardInterrupt:
        pass
    proxy.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
