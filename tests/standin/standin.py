#!/usr/bin/python3
"""HTTP stand-in for EC2 instance metadata (IMDSv2) and the EFS API, on loopback.

One server on 127.0.0.1:PORT serves
  PUT  /latest/api/token                         IMDSv2 session token
  GET  /latest/meta-data/...                     needs the token, else 401
  GET  /2015-02-01/mount-targets?FileSystemId=   EFS DescribeMountTargets, SigV4
  POST /_control/set    JSON merged into the state (scripted modes)
  POST /_control/reset  back to the initial state
  GET  /_control/log    the requests seen so far (JSON list)

Every EFS API request's SigV4 signature is recomputed independently with
botocore (botocore.auth.SigV4Auth, using the request's own X-Amz-Date) and
compared with the Authorization header; a mismatch, an unknown access key,
a wrong or missing session token, a bad credential scope or a stale date is
a 403 in the AWS error shape.  Requests are checked against botocore's EFS
service model (input members, patterns) and every response body is checked
against the model's output shape before it is sent: a stand-in that drifts
from the model fails loudly (HTTP 500 and a message on stderr), it does not
quietly teach the client a wrong shape.

Start: /usr/bin/python3 standin.py [--port 0] [--state FILE.json]
It prints "LISTENING 127.0.0.1:PORT" on stdout once it accepts connections.

Scripted modes (POST /_control/set):
  {"throttle": N}           the next N API requests fail, alternating
                            429 ThrottlingException / 503 ServiceUnavailable
  {"fail_status": [500,..]} the next API requests fail with these statuses
  {"imds_token_required": false}  IMDSv1 behaviour
  {"imds_disable_token": true}    PUT /latest/api/token answers 403
  {"region": R, "az": A, "az_id": Z, "role": NAME or null}
  {"role_credentials": {...}}, {"keys": {AKID: SECRET}}, {"filesystems": {...}}
"""

import argparse
import copy
import datetime
import hmac
import json
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import botocore.loaders
import botocore.model
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCOUNT = "123456789012"


def _mt(n, fs_id, ip, az_name, az_id, state="available"):
    return {
        "OwnerId": ACCOUNT,
        "MountTargetId": "fsmt-%08x" % n,
        "FileSystemId": fs_id,
        "SubnetId": "subnet-%08x" % n,
        "LifeCycleState": state,
        "IpAddress": ip,
        "NetworkInterfaceId": "eni-%08x" % n,
        "AvailabilityZoneId": az_id,
        "AvailabilityZoneName": az_name,
        "VpcId": "vpc-0a1b2c3d",
    }


INITIAL_STATE = {
    # instance metadata
    "region": "us-east-1",
    "az": "us-east-1b",
    "az_id": "use1-az2",
    "role": "efs-fuse-test-role",
    "role_credentials": {
        "AccessKeyId": "ASIAROLEEXAMPLE00001",
        "SecretAccessKey": "roleSecretKeyExample/0000000000000000000",
        "Token": "IQoJb3JpZ2luX2VjEXAMPLEROLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==",
    },
    "imds_token_required": True,
    "imds_disable_token": False,
    # EFS API: long-term keys the "account" knows (the role's are added at lookup)
    "keys": {
        "AKIAEFSFUSETEST00001": "testSecretKeyExample/00000000000000000000",
        "AKIAEFSFUSEPROFILE01": "profileSecretKeyExample/0000000000000000",
    },
    "filesystems": {
        "fs-12345678": [
            _mt(1, "fs-12345678", "127.0.0.1", "us-east-1a", "use1-az1"),
            _mt(2, "fs-12345678", "127.0.0.2", "us-east-1b", "use1-az2"),
        ],
        # not in DNS: only the API knows it
        "fs-deadbeef": [
            _mt(3, "fs-deadbeef", "127.0.0.1", "us-east-1a", "use1-az1"),
            _mt(4, "fs-deadbeef", "127.0.0.2", "us-east-1b", "use1-az2"),
            _mt(5, "fs-deadbeef", "127.0.0.3", "us-east-1c", "use1-az4", "creating"),
        ],
        # a mount target only in a zone the instance is not in
        "fs-0badc0de": [
            _mt(6, "fs-0badc0de", "127.0.0.5", "us-east-1d", "use1-az6"),
        ],
    },
    "throttle": 0,
    "_throttled": 0,
    "fail_status": [],
}

_loader = botocore.loaders.Loader()
EFS_MODEL = botocore.model.ServiceModel(_loader.load_service_model("efs", "service-2"), "efs")
DESCRIBE = EFS_MODEL.operation_model("DescribeMountTargets")


class ModelMismatch(Exception):
    pass


def check_shape(value, shape, where="$"):
    """Raise ModelMismatch unless value fits the botocore shape (output side)."""
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            raise ModelMismatch("%s: expected object for %s" % (where, shape.name))
        for k, v in value.items():
            if k not in shape.members:
                raise ModelMismatch("%s: %s is not a member of %s" % (where, k, shape.name))
            if v is not None:
                check_shape(v, shape.members[k], "%s.%s" % (where, k))
        for r in shape.required_members:
            if value.get(r) is None:
                raise ModelMismatch("%s: required %s missing in %s" % (where, r, shape.name))
    elif t == "list":
        if not isinstance(value, list):
            raise ModelMismatch("%s: expected list" % where)
        for i, v in enumerate(value):
            check_shape(v, shape.member, "%s[%d]" % (where, i))
    elif t == "string":
        if not isinstance(value, str):
            raise ModelMismatch("%s: expected string" % where)
        if shape.enum and value not in shape.enum:
            raise ModelMismatch("%s: %r not in %s" % (where, value, shape.enum))
        pattern = shape.metadata.get("pattern")
        if pattern and not re.search(pattern, value):
            raise ModelMismatch("%s: %r does not match %s" % (where, value, pattern))
    elif t in ("integer", "long"):
        if not isinstance(value, int):
            raise ModelMismatch("%s: expected integer" % where)
    elif t == "boolean":
        if not isinstance(value, bool):
            raise ModelMismatch("%s: expected boolean" % where)


def parse_authorization(value):
    """'AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b,
    Signature=hex' -> dict, or None."""
    m = re.match(r"^AWS4-HMAC-SHA256\s+(.*)$", value or "")
    if not m:
        return None
    parts = {}
    for item in m.group(1).split(","):
        k, _, v = item.strip().partition("=")
        parts[k] = v
    try:
        ak, date, region, service, term = parts["Credential"].split("/")
        return {
            "access_key": ak,
            "date": date,
            "region": region,
            "service": service,
            "term": term,
            "signed_headers": parts["SignedHeaders"].split(";"),
            "signature": parts["Signature"],
        }
    except (KeyError, ValueError):
        return None


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, initial):
        super().__init__(addr, Handler)
        self.initial = initial
        self.lock = threading.Lock()
        self.state = copy.deepcopy(initial)
        self.log = []
        self.tokens = set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "efs-fuse-standin/1"

    def log_message(self, fmt, *args):  # quiet: the log endpoint is the record
        pass

    # ---- helpers ----------------------------------------------------------

    def send(self, status, body=b"", ctype="text/plain", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        if self.path.startswith("/_control/"):
            return  # the log records the client's requests only
        with self.server.lock:
            self.server.log.append(
                {"method": self.command, "path": self.path, "status": status,
                 "auth": bool(self.headers.get("Authorization"))})

    def aws_error(self, status, error_type, message, extra=None):
        """restJson error: x-amzn-ErrorType header + JSON body (EFS error shapes use
        ErrorCode/Message; the front end's auth errors use lower-case message)."""
        body = {"message": message} if extra is None else extra
        self.send(status, json.dumps(body), "application/json",
                  {"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # ---- IMDS -------------------------------------------------------------

    def imds_put_token(self):
        st = self.server.state
        if st["imds_disable_token"]:
            return self.send(403, "Forbidden")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.send(400, "Bad Request: X-aws-ec2-metadata-token-ttl-seconds")
        if self.headers.get("X-Forwarded-For"):
            return self.send(403, "Forbidden")
        token = "AQAEA" + uuid.uuid4().hex + "=="
        with self.server.lock:
            self.server.tokens.add(token)
        self.send(200, token, headers={"X-aws-ec2-metadata-token-ttl-seconds": ttl})

    def imds_get(self, path):
        st = self.server.state
        token = self.headers.get("X-aws-ec2-metadata-token")
        if st["imds_token_required"] and token not in self.server.tokens:
            return self.send(401, "Unauthorized")
        if token is not None and token not in self.server.tokens:
            return self.send(401, "Unauthorized")
        item = path[len("/latest/meta-data/"):]
        values = {
            "placement/region": st["region"],
            "placement/availability-zone": st["az"],
            "placement/availability-zone-id": st["az_id"],
            "instance-id": "i-0123456789abcdef0",
        }
        if item in values and values[item] is not None:
            return self.send(200, values[item])
        if item in ("iam/security-credentials/", "iam/security-credentials"):
            if not st["role"]:
                return self.send(404, "Not Found")
            return self.send(200, st["role"])
        if st["role"] and item == "iam/security-credentials/" + st["role"]:
            c = dict(st["role_credentials"])
            now = datetime.datetime.utcnow()
            c.update({
                "Code": "Success",
                "LastUpdated": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Type": "AWS-HMAC",
                "Expiration": (now + datetime.timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            })
            return self.send(200, json.dumps(c, indent=2))
        return self.send(404, "Not Found")

    # ---- EFS API ----------------------------------------------------------

    def known_secret(self, access_key):
        st = self.server.state
        if access_key in st["keys"]:
            return st["keys"][access_key], None
        rc = st["role_credentials"]
        if access_key == rc["AccessKeyId"]:
            return rc["SecretAccessKey"], rc["Token"]
        return None, None

    def verify_sigv4(self, body):
        """None when the signature is good, else (status, type, message)."""
        st = self.server.state
        auth = parse_authorization(self.headers.get("Authorization"))
        if auth is None:
            return (403, "MissingAuthenticationTokenException",
                    "Missing Authentication Token")
        amz_date = self.headers.get("X-Amz-Date")
        if not amz_date or not re.match(r"^\d{8}T\d{6}Z$", amz_date):
            return (403, "IncompleteSignatureException",
                    "Authorization header requires existence of either a 'X-Amz-Date' or "
                    "a 'Date' header.")
        secret, token = self.known_secret(auth["access_key"])
        if secret is None:
            return (403, "UnrecognizedClientException",
                    "The security token included in the request is invalid.")
        if token is not None and self.headers.get("X-Amz-Security-Token") != token:
            return (403, "UnrecognizedClientException",
                    "The security token included in the request is invalid.")
        if (auth["service"] != "elasticfilesystem" or auth["term"] != "aws4_request"
                or auth["date"] != amz_date[:8]):
            return (403, "InvalidSignatureException",
                    "Credential should be scoped to correct service/date: "
                    "'elasticfilesystem' %s" % amz_date[:8])
        if auth["region"] != st["region"]:
            return (403, "InvalidSignatureException",
                    "Credential should be scoped to a valid region, not '%s'."
                    % auth["region"])
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        if abs((datetime.datetime.utcnow() - when).total_seconds()) > 15 * 60:
            return (403, "InvalidSignatureException", "Signature expired: %s" % amz_date)
        signed = auth["signed_headers"]
        present = {k.lower() for k in self.headers.keys()}
        must = {"host", "x-amz-date"} | {h for h in present if h.startswith("x-amz-")}
        missing = sorted(must - set(signed))
        if missing:
            return (403, "InvalidSignatureException",
                    "Signed headers must include %s" % ", ".join(missing))
        headers = {}
        for h in signed:
            if h not in present:
                return (403, "InvalidSignatureException",
                        "Signed header %s is not in the request" % h)
            headers[h] = self.headers.get(h)
        # Recompute independently with botocore, at the request's own time.
        req = AWSRequest(method=self.command,
                         url="http://%s%s" % (self.headers.get("Host"), self.path),
                         headers=headers, data=body)
        req.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(auth["access_key"], secret, token),
                           "elasticfilesystem", auth["region"])
        canonical = signer.canonical_request(req)
        expected = signer.signature(signer.string_to_sign(req, canonical), req)
        if not hmac.compare_digest(expected, auth["signature"]):
            return (403, "InvalidSignatureException",
                    "The request signature we calculated does not match the signature you "
                    "provided. Check your AWS Secret Access Key and signing method. "
                    "Consult the service documentation for details.")
        return None

    def describe_mount_targets(self, query, body):
        st = self.server.state
        bad = self.verify_sigv4(body)
        if bad:
            return self.aws_error(*bad)
        with self.server.lock:
            if st["fail_status"]:
                status = st["fail_status"].pop(0)
            elif st["throttle"] > 0:
                # alternate, starting with 429: 429, 503, 429, ...
                status = 429 if st["_throttled"] % 2 == 0 else 503
                st["_throttled"] += 1
                st["throttle"] -= 1
            else:
                status = 200
        if status == 429:
            return self.aws_error(429, "ThrottlingException", "Rate exceeded")
        if status == 503:
            return self.aws_error(503, "ServiceUnavailableException", "Service Unavailable")
        if status != 200:
            return self.aws_error(status, "InternalServerError",
                                  "scripted failure",
                                  {"ErrorCode": "InternalServerError",
                                   "Message": "scripted failure"})
        # Input: only the model's query members, one value each, patterns honoured.
        inp = DESCRIBE.input_shape
        names = {m.serialization.get("name", n): m for n, m in inp.members.items()}
        for k, v in query.items():
            if k not in names or len(v) != 1:
                return self.aws_error(400, "BadRequest", "bad query parameter %s" % k,
                                      {"ErrorCode": "BadRequest",
                                       "Message": "bad query parameter %s" % k})
            pattern = names[k].metadata.get("pattern")
            if pattern and not re.search(pattern, v[0]):
                return self.aws_error(400, "BadRequest", "invalid %s" % k,
                                      {"ErrorCode": "BadRequest",
                                       "Message": "Invalid %s: %s" % (k, v[0])})
        fs_id = (query.get("FileSystemId") or [None])[0]
        if fs_id is None:
            return self.aws_error(400, "BadRequest", "FileSystemId is required",
                                  {"ErrorCode": "BadRequest",
                                   "Message": "FileSystemId, MountTargetId or AccessPointId "
                                   "is required"})
        fs_id = fs_id.rsplit("/", 1)[-1]  # ARN form
        if fs_id not in st["filesystems"]:
            msg = "File system '%s' does not exist." % fs_id
            return self.aws_error(404, "FileSystemNotFound", msg,
                                  {"ErrorCode": "FileSystemNotFound", "Message": msg})
        out = {"MountTargets": st["filesystems"][fs_id]}
        try:
            check_shape(out, DESCRIBE.output_shape)
        except ModelMismatch as e:
            sys.stderr.write("standin: response does not fit the EFS model: %s\n" % e)
            return self.send(500, "stand-in bug: %s" % e)
        self.send(200, json.dumps(out), "application/json",
                  {"x-amzn-RequestId": str(uuid.uuid4())})

    # ---- control ----------------------------------------------------------

    def control(self, path, body):
        if path == "/_control/reset":
            with self.server.lock:
                self.server.state = copy.deepcopy(self.server.initial)
                self.server.log = []
                self.server.tokens = set()
            return self.send(200, "{}", "application/json")
        if path == "/_control/set":
            try:
                upd = json.loads(body or b"{}")
                if not isinstance(upd, dict):
                    raise ValueError("not an object")
            except ValueError as e:
                return self.send(400, "bad JSON: %s" % e)
            with self.server.lock:
                for k, v in upd.items():
                    if k not in self.server.state:
                        return self.send(400, "unknown state key %s" % k)
                    self.server.state[k] = v
                self.server.state["_throttled"] = 0
            return self.send(200, "{}", "application/json")
        return self.send(404, "no such control")

    # ---- dispatch ---------------------------------------------------------

    def do_PUT(self):
        body = self.body()
        if self.path == "/latest/api/token":
            return self.imds_put_token()
        del body
        return self.send(405, "Method Not Allowed")

    def do_POST(self):
        body = self.body()
        if self.path.startswith("/_control/"):
            return self.control(self.path, body)
        return self.send(405, "Method Not Allowed")

    def do_GET(self):
        body = self.body()
        parts = urlsplit(self.path)
        if parts.path == "/_control/log":
            with self.server.lock:
                data = json.dumps(self.server.log)
            # not logged itself
            raw = data.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
            return None
        if parts.path.startswith("/latest/meta-data/"):
            return self.imds_get(parts.path)
        if parts.path == "/2015-02-01/mount-targets":
            return self.describe_mount_targets(parse_qs(parts.query, keep_blank_values=True),
                                               body)
        return self.send(404, "Not Found")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--state", help="JSON file merged over the initial state")
    args = ap.parse_args()
    if not args.host.startswith("127."):
        ap.error("loopback only")
    initial = copy.deepcopy(INITIAL_STATE)
    if args.state:
        with open(args.state) as f:
            initial.update(json.load(f))
    # self-check: the built-in answers fit the model
    for fs_id, mts in initial["filesystems"].items():
        check_shape({"MountTargets": mts}, DESCRIBE.output_shape)
    srv = Server((args.host, args.port), initial)
    print("LISTENING %s:%d" % srv.server_address, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
