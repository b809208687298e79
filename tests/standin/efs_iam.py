"""What an EFS mount target checks in the client certificate of an IAM or
access point mount -- an implementation independent of efs-fuse's C code:
the certificate is parsed with python3-cryptography, the extensions with the
small DER reader below, and the SigV4 signature is recomputed with botocore's
signer (botocore.auth.SigV4Auth: string to sign and key derivation) over the
canonical request efs-utils defines (certificate_utils.py), written here
from that definition with urllib's quote_plus.

  judge(cert_der_or_obj, config, now) -> Verdict(ok, alert, reason, info)

config (a dict, as the stand-in's JSON):
  fs_id, region
  keys:          {AKID: {"secret": S, "token": T or None,
                         "expiration": epoch or None}}
  policy:        null (no file system policy: anonymous mounts allowed) or
                 {AKID: [actions...]} -- elasticfilesystem:ClientMount,
                 ClientWrite, ClientRootAccess; a key not listed is denied
  access_points: {"fsap-...": {"fs_id": F}}
  max_skew_s:    how far the signing time may be from now (default 900)

Alerts (the TLS alert description the stand-in sends; EFS's own choice is
not documented -- these are the stand-in's convention, mirrored by the
messages in src/net/tls.c):
  access_denied(49)        the policy does not grant ClientMount (or IAM is
                           required and the certificate carries none)
  certificate_expired(45)  outside notBefore/notAfter, credentials expired,
                           signing time too far from now
  bad_certificate(42)      malformed, unknown access key, wrong token,
                           signature mismatch, key hash mismatch
  certificate_unknown(46)  access point unknown or of another file system,
                           certificate for another file system
"""

import datetime
import hashlib
import hmac
from urllib.parse import quote_plus

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding

OID_AP = "1.3.6.1.4.1.4843.7.1"
OID_AUTH = "1.3.6.1.4.1.4843.7.2"
OID_FS = "1.3.6.1.4.1.4843.7.3"
OID_CLIENT = "1.3.6.1.4.1.4843.7.4"
SERVICE = "elasticfilesystem"

ACCESS_DENIED, CERT_EXPIRED, BAD_CERT, CERT_UNKNOWN = 49, 45, 42, 46
ALERT_NAMES = {49: "access_denied", 45: "certificate_expired", 42: "bad_certificate",
               46: "certificate_unknown"}


class DerError(Exception):
    pass


def der_items(data):
    """[(tag, value_bytes)] of a concatenation of DER TLVs (definite lengths)."""
    out, i = [], 0
    while i < len(data):
        if i + 2 > len(data):
            raise DerError("truncated header")
        tag, ln = data[i], data[i + 1]
        i += 2
        if ln & 0x80:
            n = ln & 0x7f
            if n == 0 or n > 3 or i + n > len(data):
                raise DerError("bad length")
            ln = int.from_bytes(data[i:i + n], "big")
            i += n
        if i + ln > len(data):
            raise DerError("truncated value")
        out.append((tag, data[i:i + ln]))
        i += ln
    return out


def der_one(data, tag):
    items = der_items(data)
    if len(items) != 1 or items[0][0] != tag:
        raise DerError("expected one element with tag 0x%02x" % tag)
    return items[0][1]


def pubkey_hash(cert):
    """SHA-1 of the subjectPublicKey bits (efs-utils' PublicKeyHash)."""
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    seq = der_one(spki, 0x30)
    items = der_items(seq)
    if len(items) != 2 or items[1][0] != 0x03:
        raise DerError("SubjectPublicKeyInfo without a BIT STRING")
    return hashlib.sha1(items[1][1][1:]).hexdigest()  # drop the unused-bits octet


def canonical_request(key_hash, fs_id, region, access_key, token, when):
    """efs-utils' create_canonical_request(), from its definition."""
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    scope = "/".join([when.strftime("%Y%m%d"), region, SERVICE, "aws4_request"])
    params = {
        "Action": "Connect",
        "PublicKeyHash": quote_plus(key_hash),
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": quote_plus(access_key + "/" + scope),
        "X-Amz-Date": quote_plus(stamp),
        "X-Amz-Expires": 86400,
        "X-Amz-SignedHeaders": "host",
    }
    if token:
        params["X-Amz-Security-Token"] = quote_plus(token)
    query = "&".join("%s=%s" % (k, v) for k, v in sorted(params.items()))
    return "\n".join(["GET", "/", query, "host:%s" % fs_id, "host",
                      hashlib.sha256(b"").hexdigest()])


def signature(canonical, region, access_key, secret, token, when):
    """botocore's SigV4 string to sign and signing key over a canonical request."""
    req = AWSRequest(method="GET", url="https://efs.invalid/")
    req.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
    signer = SigV4Auth(Credentials(access_key, secret, token), SERVICE, region)
    return signer.signature(signer.string_to_sign(req, canonical), req)


def parse(cert):
    """The EFS fields of a certificate (raises DerError/ValueError when malformed)."""
    info = {"serial": cert.serial_number,
            "not_before": cert.not_valid_before.replace(tzinfo=datetime.timezone.utc),
            "not_after": cert.not_valid_after.replace(tzinfo=datetime.timezone.utc),
            "subject": cert.subject.rfc4514_string(),
            "ext_order": [e.oid.dotted_string for e in cert.extensions]}
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    info["ski"] = ski.hex()
    for e in cert.extensions:
        oid, raw = e.oid.dotted_string, getattr(e.value, "value", None)
        if oid == OID_AP:
            info["access_point"] = der_one(raw, 0x0c).decode()
        elif oid == OID_FS:
            info["fs_id"] = der_one(raw, 0x0c).decode()
        elif oid == OID_CLIENT:
            info["client_info"] = [v.decode() for t, v in der_items(der_one(raw, 0x30))]
        elif oid == OID_AUTH:
            items = der_items(der_one(raw, 0x30))
            if len(items) not in (3, 4) or [t for t, _ in items[:3]] != [0x0c, 0x04, 0x17]:
                raise DerError("7.2 is not {UTF8String, OCTET STRING, UTCTime[, [0]]}")
            auth = {"access_key": items[0][1].decode(), "signature": items[1][1].decode(),
                    "utctime": items[2][1].decode(), "token": None}
            if len(items) == 4:
                if items[3][0] != 0xa0:
                    raise DerError("session token not [0] EXPLICIT")
                auth["token"] = der_one(items[3][1], 0x0c).decode()
            auth["when"] = datetime.datetime.strptime(
                auth["utctime"], "%y%m%d%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
            info["auth"] = auth
    return info


class Verdict:
    def __init__(self, alert, reason, info=None, actions=()):
        self.alert, self.reason, self.info, self.actions = alert, reason, info or {}, actions

    @property
    def ok(self):
        return self.alert is None

    def as_dict(self):
        d = {"ok": self.ok, "alert": ALERT_NAMES.get(self.alert), "reason": self.reason,
             "actions": list(self.actions)}
        for k in ("serial", "fs_id", "access_point", "client_info", "ext_order", "subject"):
            if k in self.info:
                d[k] = self.info[k]
        for k in ("not_before", "not_after"):
            if k in self.info:
                d[k] = self.info[k].timestamp()
        if "auth" in self.info:
            a = self.info["auth"]
            d["access_key"] = a["access_key"]
            d["signature"] = a["signature"]
            d["signed_at"] = a["when"].timestamp()
            d["has_token"] = a["token"] is not None
        return d


def judge(cert, config, now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if isinstance(cert, (bytes, bytearray)):
        cert = x509.load_der_x509_certificate(bytes(cert))
    try:
        info = parse(cert)
        # self-signed with its own key (the handshake proved possession of it)
        cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                                 padding.PKCS1v15(), cert.signature_hash_algorithm)
        key_hash = pubkey_hash(cert)
    except Exception as e:  # noqa: BLE001 - anything malformed is one verdict
        return Verdict(BAD_CERT, "malformed certificate: %s" % e)
    if info["ski"] != key_hash:
        return Verdict(BAD_CERT, "subjectKeyIdentifier is not the key hash", info)
    if not info["not_before"] <= now <= info["not_after"]:
        return Verdict(CERT_EXPIRED, "outside the validity window", info)
    if info.get("fs_id") != config["fs_id"]:
        return Verdict(CERT_UNKNOWN, "certificate for %s, not %s"
                       % (info.get("fs_id"), config["fs_id"]), info)
    ap = info.get("access_point")
    if ap is not None:
        aps = config.get("access_points") or {}
        if ap not in aps:
            return Verdict(CERT_UNKNOWN, "access point %s does not exist" % ap, info)
        if aps[ap]["fs_id"] != config["fs_id"]:
            return Verdict(CERT_UNKNOWN, "access point %s belongs to %s"
                           % (ap, aps[ap]["fs_id"]), info)
    policy = config.get("policy")
    auth = info.get("auth")
    if auth is None:
        if policy is not None:
            return Verdict(ACCESS_DENIED, "the policy requires IAM; no 7.2 extension", info)
        return Verdict(None, "anonymous", info,
                       ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite",
                        "elasticfilesystem:ClientRootAccess"])
    key = (config.get("keys") or {}).get(auth["access_key"])
    if key is None:
        return Verdict(BAD_CERT, "unknown access key %s" % auth["access_key"], info)
    if (key.get("token") or None) != auth["token"]:
        return Verdict(BAD_CERT, "wrong or missing session token", info)
    if key.get("expiration") is not None and now.timestamp() > key["expiration"]:
        return Verdict(CERT_EXPIRED, "credentials of %s expired" % auth["access_key"], info)
    if abs((now - auth["when"]).total_seconds()) > config.get("max_skew_s", 900):
        return Verdict(CERT_EXPIRED, "signing time %s too far from now" % auth["utctime"], info)
    canon = canonical_request(key_hash, config["fs_id"], config["region"],
                              auth["access_key"], auth["token"], auth["when"])
    want = signature(canon, config["region"], auth["access_key"], key["secret"],
                     auth["token"], auth["when"])
    if not hmac.compare_digest(want, auth["signature"]):
        return Verdict(BAD_CERT, "signature mismatch", info)
    if policy is None:
        actions = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite",
                   "elasticfilesystem:ClientRootAccess"]
    else:
        actions = list(policy.get(auth["access_key"]) or [])
    if "elasticfilesystem:ClientMount" not in actions:
        return Verdict(ACCESS_DENIED, "policy does not grant ClientMount to %s"
                       % auth["access_key"], info, actions)
    return Verdict(None, "authorized", info, actions)
