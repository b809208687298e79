#!/usr/bin/python3
"""An EFS mount target stand-in for IAM and access point mounts: TLS on
127.0.0.1:PORT that requires a client certificate, judges it the way EFS
does (efs_iam.judge: extensions, validity window, public-key binding, SigV4
signature recomputed with botocore, file system policy), and either refuses
it with a TLS alert or forwards the bytes to an NFS server (nfs-ganesha).

  /usr/bin/python3 iam_target.py --config FILE.json

FILE.json (re-read at every handshake, so a test can change it between
connections):
  cert, key              the server certificate and key (PEM)
  fs_id, region, keys, policy, access_points, max_skew_s   see efs_iam.py
  backends: {"rw": [host, port], "ro": [host, port]?, "deny": [host, port]?}
      "ro" serves identities the policy grants ClientMount but not ClientWrite
  deny_mode: "alert" (default): a policy refusal is the access_denied alert;
      "nfs": the handshake completes and the connection goes to the "deny"
      backend (an export with Access_Type = None), which answers
      NFS4ERR_ACCESS -- how EFS is publicly reported to refuse a mount the
      policy denies ("mount.nfs4: access denied by server")
  access_points: {"fsap-...": {"fs_id": F, "backend": [host, port]}}
      an access point mount goes to its own backend (a ganesha export with
      the access point's root directory and Squash = All to its uid/gid)

Prints "LISTENING 127.0.0.1:PORT" and "CONTROL 127.0.0.1:PORT" on stdout.
The control port takes one line per connection and answers one line:
  log     JSON list of every verdict so far (see efs_iam.Verdict.as_dict)
  drop    close every forwarded connection ("dropped N"), as a mount target
          restart would
How the refusal is sent: the handshake is TLS 1.2 only; the server judges
the client's Certificate flight and, instead of its own ChangeCipherSpec and
Finished, sends a fatal alert record in the clear (the client's read side is
still unencrypted at that point), so the alert description is the one chosen.
"""

import argparse
import json
import os
import socket
import sys
import threading

from OpenSSL import SSL

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import efs_iam  # noqa: E402


class Target:
    def __init__(self, config_path):
        self.config_path = config_path
        self.lock = threading.Lock()
        self.log = []
        self.conns = set()

    def config(self):
        with open(self.config_path) as f:
            return json.load(f)

    def record(self, entry):
        with self.lock:
            self.log.append(entry)

    # ---- one client --------------------------------------------------------

    def serve(self, sock, peer):
        try:
            self._serve(sock, peer)
        except Exception as e:  # noqa: BLE001 - a stand-in must not die of one client
            self.record({"ok": False, "alert": None, "reason": "stand-in error: %r" % e})
        finally:
            sock.close()

    def _serve(self, sock, peer):
        cfg = self.config()
        ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
        ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
        ctx.use_certificate_file(cfg["cert"])
        ctx.use_privatekey_file(cfg["key"])
        # Any certificate is taken into the handshake; judge() decides.
        ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT,
                       lambda conn, cert, errno, depth, ok: True)
        conn = SSL.Connection(ctx, None)  # memory BIOs: we hold the bytes
        conn.set_accept_state()
        verdict = None
        sock.settimeout(30)
        while True:
            data = sock.recv(65536)
            if not data:
                return
            conn.bio_write(data)
            done = False
            try:
                conn.do_handshake()
                done = True
            except SSL.WantReadError:
                pass
            except SSL.Error as e:
                self.record({"ok": False, "alert": None, "reason": "handshake: %s" % e})
                self._flush(conn, sock)
                return
            out = self._pending(conn)
            peer_cert = conn.get_peer_certificate()
            if peer_cert is not None and verdict is None:
                verdict = efs_iam.judge(peer_cert.to_cryptography(), cfg)
                entry = verdict.as_dict()
                entry["peer"] = "%s:%d" % peer
                self.record(entry)
                if (not verdict.ok and verdict.alert == efs_iam.ACCESS_DENIED
                        and cfg.get("deny_mode") == "nfs"):
                    pass  # finish the handshake; _backend() picks "deny"
                elif not verdict.ok:
                    # our Finished is not sent: the alert replaces it, in the clear
                    sock.sendall(bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, verdict.alert]))
                    return
            if out:
                sock.sendall(out)
            if done:
                break
        backend = self._backend(cfg, verdict)
        up = socket.create_connection(tuple(backend), timeout=10)
        up.settimeout(None)
        sock.settimeout(None)
        with self.lock:
            self.conns.add(sock)
        lock = threading.Lock()
        t = threading.Thread(target=self._down, args=(conn, lock, up, sock), daemon=True)
        t.start()
        try:
            self._up(conn, lock, sock, up)
        finally:
            with self.lock:
                self.conns.discard(sock)
            for s in (up, sock):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            t.join(10)
            up.close()

    @staticmethod
    def _pending(conn):
        out = b""
        while True:
            try:
                chunk = conn.bio_read(65536)
            except SSL.WantReadError:
                break
            if not chunk:
                break
            out += chunk
        return out

    def _flush(self, conn, sock):
        out = self._pending(conn)
        if out:
            try:
                sock.sendall(out)
            except OSError:
                pass

    @staticmethod
    def _backend(cfg, verdict):
        if not verdict.ok:
            return cfg["backends"]["deny"]
        ap = verdict.info.get("access_point")
        if ap:
            return cfg["access_points"][ap]["backend"]
        if ("elasticfilesystem:ClientWrite" not in verdict.actions
                and cfg["backends"].get("ro")):
            return cfg["backends"]["ro"]
        return cfg["backends"]["rw"]

    def _up(self, conn, lock, sock, up):
        """client -> TLS -> plaintext -> NFS server."""
        while True:
            try:
                data = sock.recv(262144)
            except OSError:
                return
            if not data:
                return
            plain = b""
            with lock:
                conn.bio_write(data)
                while True:
                    try:
                        plain += conn.recv(262144)
                    except (SSL.WantReadError, SSL.ZeroReturnError):
                        break
                out = self._pending(conn)
            if out:
                sock.sendall(out)
            if plain:
                up.sendall(plain)

    def _down(self, conn, lock, up, sock):
        """NFS server -> TLS -> client."""
        try:
            while True:
                data = up.recv(262144)
                if not data:
                    break
                with lock:
                    conn.sendall(data)
                    out = self._pending(conn)
                sock.sendall(out)
        except (OSError, SSL.Error):
            pass
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ---- control ---------------------------------------------------------

    def control(self, c):
        with c:
            line = c.makefile("r").readline().strip()
            if line == "log":
                with self.lock:
                    reply = json.dumps(self.log)
            elif line == "drop":
                with self.lock:
                    conns = list(self.conns)
                for s in conns:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                reply = "dropped %d" % len(conns)
            else:
                reply = "error: unknown command %r" % line
            c.sendall(reply.encode() + b"\n")


def accept_loop(lsock, handler):
    while True:
        c, peer = lsock.accept()
        threading.Thread(target=handler, args=(c, peer), daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    if not args.host.startswith("127."):
        ap.error("loopback only")
    target = Target(args.config)
    target.config()  # fail now on a bad file
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.host, args.port))
    lsock.listen(64)
    csock = socket.socket()
    csock.bind((args.host, 0))
    csock.listen(8)
    threading.Thread(target=accept_loop, args=(csock, lambda c, p: target.control(c)),
                     daemon=True).start()
    print("LISTENING %s:%d" % lsock.getsockname(), flush=True)
    print("CONTROL %s:%d" % csock.getsockname(), flush=True)
    try:
        accept_loop(lsock, target.serve)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
