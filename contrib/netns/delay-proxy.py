#!/usr/bin/python3
"""TCP forwarder that delays every byte by a fixed one-way latency in each
direction: a user-space stand-in for `tc qdisc add dev lo root netem delay D`
on kernels built without sch_netem.

    delay-proxy.py --listen 127.0.0.1:2050 --connect 127.0.0.1:2049 --delay-us 500
    delay-proxy.py --selftest --delay-us 500     # measure the RTT it gives

With --delay-us 500 a request/reply exchange through it takes >= 1 ms, as
with netem delay 500us on a loopback (both directions cross lo).  Data keeps
its order and is pipelined: the delay is a latency, not a throughput cap (up
to what one Python thread per direction can copy).  Stops on SIGTERM/SIGINT.
"""

import argparse
import collections
import os
import signal
import socket
import statistics
import sys
import threading
import time


def _addr(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


class Pipe:
    """One direction: a reader stamps chunks, a writer sends each at stamp+delay."""

    def __init__(self, src, dst, delay):
        self.src, self.dst, self.delay = src, dst, delay
        self.q = collections.deque()
        self.cv = threading.Condition()
        self.eof = False

    def read_loop(self):
        try:
            while True:
                b = self.src.recv(1 << 20)
                now = time.monotonic()
                with self.cv:
                    self.q.append((now + self.delay, b))
                    self.cv.notify()
                if not b:
                    return
        except OSError:
            with self.cv:
                self.q.append((0, b""))
                self.cv.notify()

    def write_loop(self):
        try:
            while True:
                with self.cv:
                    while not self.q:
                        self.cv.wait()
                    due, b = self.q.popleft()
                left = due - time.monotonic()
                if left > 0.0002:
                    time.sleep(left - 0.0001)
                while time.monotonic() < due:  # the last 100 us: spin for accuracy
                    pass
                if not b:
                    self.dst.shutdown(socket.SHUT_WR)
                    return
                self.dst.sendall(b)
        except OSError:
            pass
        finally:
            try:
                self.src.shutdown(socket.SHUT_RD)
            except OSError:
                pass


def serve_conn(c, target, delay):
    try:
        s = socket.create_connection(target)
    except OSError as e:
        print("delay-proxy: connect %s:%d: %s" % (target[0], target[1], e), file=sys.stderr)
        c.close()
        return
    for x in (c, s):
        x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threads = []
    for p in (Pipe(c, s, delay), Pipe(s, c, delay)):
        threads += [threading.Thread(target=p.read_loop, daemon=True),
                    threading.Thread(target=p.write_loop, daemon=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c.close()
    s.close()


def listen(addr):
    fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(addr)
    ls.listen(64)
    return ls


def run(ls, target, delay):
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve_conn, args=(c, target, delay), daemon=True).start()


def selftest(delay, n=300):
    echo = listen(("127.0.0.1", 0))
    prox = listen(("127.0.0.1", 0))

    def echo_loop():
        c, _ = echo.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            b = c.recv(65536)
            if not b:
                return
            c.sendall(b)
    threading.Thread(target=echo_loop, daemon=True).start()
    threading.Thread(target=run, args=(prox, echo.getsockname(), delay), daemon=True).start()
    s = socket.create_connection(prox.getsockname())
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rtts = []
    for _ in range(n):
        t0 = time.monotonic()
        s.sendall(b"x" * 200)
        got = 0
        while got < 200:
            got += len(s.recv(65536))
        rtts.append(time.monotonic() - t0)
    print("rtt median %.3f ms, p90 %.3f ms, min %.3f ms (%d round trips, one-way delay %d us)"
          % (statistics.median(rtts) * 1e3, sorted(rtts)[int(n * 0.9)] * 1e3,
             min(rtts) * 1e3, n, delay * 1e6))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", type=_addr, help="HOST:PORT to accept on")
    ap.add_argument("--connect", type=_addr, help="HOST:PORT to forward to")
    ap.add_argument("--delay-us", type=int, default=500, help="one-way delay (500)")
    ap.add_argument("--pidfile")
    ap.add_argument("--selftest", action="store_true")
    a = ap.parse_args()
    delay = a.delay_us / 1e6
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if a.selftest:
        selftest(delay)
        return
    if not (a.listen and a.connect):
        ap.error("--listen and --connect are required")
    ls = listen(a.listen)
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    try:
        run(ls, a.connect, delay)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
