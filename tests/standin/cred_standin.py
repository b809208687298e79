#!/usr/bin/python3
"""HTTP stand-in for the credential endpoints efs-fuse -o iam asks, on
loopback: AWS STS, the ECS task role endpoint and the EKS Pod Identity agent.

  POST /                       STS query API (form body), answers JSON when
                               asked (Accept: application/json), as STS does
      Action=AssumeRoleWithWebIdentity   unsigned; the WebIdentityToken must
                               be the configured JWT, RoleArn a configured role
      Action=AssumeRole        SigV4 (service sts) recomputed with botocore
                               from the caller's known key; RoleArn configured
  GET  /v2/credentials/<id>    ECS: <id> must be configured
  GET  /v1/credentials         Pod Identity: Authorization must be the token
  GET  /_control/log           the requests seen (JSON list)

Requests are checked against botocore's STS service model (required members,
lengths, patterns) and responses against its output shapes.

State (--state FILE.json, read at start):
  region
  keys: {AKID: SECRET}                         callers AssumeRole accepts
  roles: {ROLE_ARN: {"AccessKeyId", "SecretAccessKey", "SessionToken"}}
  web_identity_token: JWT text
  ecs: {"/v2/credentials/ID": {creds with Token}}
  pod_identity: {"token": T, "credentials": {creds with Token}}
  expiration_s: lifetime of every answer (default 3600)

Prints "LISTENING 127.0.0.1:PORT" once it accepts connections.
"""

import argparse
import datetime
import hmac
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import botocore.loaders
import botocore.model
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from standin import check_shape, parse_authorization, ModelMismatch  # noqa: E402

_loader = botocore.loaders.Loader()
STS = botocore.model.ServiceModel(_loader.load_service_model("sts", "service-2"), "sts")


def check_input(op, params):
    """None, or why params do not fit the operation's input shape."""
    shape = STS.operation_model(op).input_shape
    for k in params:
        if k not in shape.members:
            return "unknown parameter %s" % k
    for r in shape.required_members:
        if r not in params:
            return "missing required parameter %s" % r
    for k, v in params.items():
        m = shape.members[k].metadata
        if "min" in m and len(v) < m["min"]:
            return "%s shorter than %d" % (k, m["min"])
        if "max" in m and len(v) > m["max"]:
            return "%s longer than %d" % (k, m["max"])
        if "pattern" in m and not re.fullmatch(m["pattern"], v):
            return "%s does not match %s" % (k, m["pattern"])
    return None


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, state):
        super().__init__(addr, Handler)
        self.state = state
        self.lock = threading.Lock()
        self.log = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, ctype="application/json", note=""):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode() if ctype == "application/json" else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(body)
        if not self.path.startswith("/_control/"):
            with self.server.lock:
                self.server.log.append({"method": self.command, "path": self.path,
                                        "status": status, "note": note,
                                        "action": getattr(self, "action", None)})

    def sts_error(self, status, code, message):
        body = {"Error": {"Type": "Sender", "Code": code, "Message": message},
                "RequestId": str(uuid.uuid4())}
        self.send(status, body, note="%s: %s" % (code, message))

    def creds(self, c):
        exp = datetime.datetime.utcnow() + datetime.timedelta(
            seconds=self.server.state.get("expiration_s", 3600))
        return dict(c, Expiration=exp.strftime("%Y-%m-%dT%H:%M:%SZ"))

    # ---- container endpoints ----------------------------------------------

    def do_GET(self):
        self.action = None
        st = self.server.state
        path = urlsplit(self.path).path
        if path == "/_control/log":
            with self.server.lock:
                return self.send(200, self.server.log)
        if path.startswith("/v2/credentials/"):
            c = (st.get("ecs") or {}).get(path)
            if c is None:
                return self.send(404, {"message": "no such task role"}, note="unknown")
            if self.headers.get("Authorization"):
                return self.send(400, {"message": "unexpected Authorization"})
            return self.send(200, self.creds(c))
        if path == "/v1/credentials":
            pod = st.get("pod_identity") or {}
            if self.headers.get("Authorization") != pod.get("token"):
                return self.send(401, {"message": "bad authorization token"},
                                 note="bad token")
            return self.send(200, self.creds(pod["credentials"]))
        return self.send(404, {"message": "not found"})

    # ---- STS ---------------------------------------------------------------

    def do_POST(self):
        self.action = None
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if urlsplit(self.path).path != "/" or urlsplit(self.path).query:
            return self.send(404, {"message": "not found"})
        if not (self.headers.get("Content-Type") or "").startswith(
                "application/x-www-form-urlencoded"):
            return self.sts_error(400, "InvalidParameterValue", "not a form")
        form = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=True)
        if any(len(v) != 1 for v in form.values()):
            return self.sts_error(400, "InvalidParameterValue", "repeated parameter")
        params = {k: v[0] for k, v in form.items()}
        self.action = params.pop("Action", None)
        if params.pop("Version", None) != "2011-06-15":
            return self.sts_error(400, "InvalidParameterValue", "bad Version")
        if self.headers.get("Accept") != "application/json":
            return self.sts_error(400, "InvalidParameterValue", "the stand-in answers JSON only")
        if self.action not in ("AssumeRoleWithWebIdentity", "AssumeRole"):
            return self.sts_error(400, "InvalidAction", "unknown action %s" % self.action)
        why = check_input(self.action, params)
        if why:
            return self.sts_error(400, "ValidationError", why)
        st = self.server.state
        role = (st.get("roles") or {}).get(params["RoleArn"])
        if self.action == "AssumeRoleWithWebIdentity":
            if self.headers.get("Authorization"):
                return self.sts_error(400, "InvalidParameterValue", "must not be signed")
            if params["WebIdentityToken"] != st.get("web_identity_token"):
                return self.sts_error(400, "InvalidIdentityToken",
                                      "Couldn't retrieve verification key from your "
                                      "identity provider")
        else:
            bad = self.verify_sigv4(body)
            if bad:
                return self.sts_error(403, bad[0], bad[1])
        if role is None:
            return self.sts_error(403, "AccessDenied", "Not authorized to perform "
                                  "sts:%s" % self.action)
        result = {"Credentials": self.creds(role),
                  "AssumedRoleUser": {"Arn": params["RoleArn"] + "/" +
                                      params["RoleSessionName"],
                                      "AssumedRoleId": "AROAEXAMPLE:" +
                                      params["RoleSessionName"]}}
        try:
            out = STS.operation_model(self.action).output_shape
            check_shape(result, out)
        except ModelMismatch as e:
            return self.send(500, {"message": "stand-in bug: %s" % e})
        # JSON protocol of the query API: timestamps as epoch seconds
        result["Credentials"]["Expiration"] = float(time.time() + st.get("expiration_s", 3600))
        self.send(200, {"%sResponse" % self.action: {
            "%sResult" % self.action: result,
            "ResponseMetadata": {"RequestId": str(uuid.uuid4())}}}, note=params["RoleArn"])

    def verify_sigv4(self, body):
        st = self.server.state
        auth = parse_authorization(self.headers.get("Authorization"))
        if auth is None:
            return ("MissingAuthenticationToken", "Request is missing Authentication Token")
        amz_date = self.headers.get("X-Amz-Date") or ""
        secret = (st.get("keys") or {}).get(auth["access_key"])
        if secret is None:
            return ("InvalidClientTokenId", "The security token included in the request is "
                    "invalid.")
        if (auth["service"] != "sts" or auth["region"] != st["region"]
                or auth["date"] != amz_date[:8]):
            return ("SignatureDoesNotMatch", "Credential should be scoped to a valid region "
                    "and service sts")
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        if abs((datetime.datetime.utcnow() - when).total_seconds()) > 15 * 60:
            return ("SignatureDoesNotMatch", "Signature expired")
        present = {k.lower() for k in self.headers.keys()}
        if not {"host", "x-amz-date"} <= set(auth["signed_headers"]):
            return ("SignatureDoesNotMatch", "host and x-amz-date must be signed")
        headers = {h: self.headers.get(h) for h in auth["signed_headers"] if h in present}
        req = AWSRequest(method="POST", url="http://%s/" % self.headers.get("Host"),
                         headers=headers, data=body)
        req.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(auth["access_key"], secret, None), "sts",
                           auth["region"])
        want = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
        if not hmac.compare_digest(want, auth["signature"]):
            return ("SignatureDoesNotMatch", "The request signature we calculated does not "
                    "match the signature you provided.")
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--state", required=True)
    args = ap.parse_args()
    if not args.host.startswith("127."):
        ap.error("loopback only")
    with open(args.state) as f:
        state = json.load(f)
    srv = Server((args.host, args.port), state)
    print("LISTENING %s:%d" % srv.server_address, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
