/*
 * iam_cert.h - the client certificate through which Amazon EFS authorizes a
 * mount with IAM (-o iam) and/or an access point (-o accesspoint=): EFS reads
 * it during the TLS handshake.  The format is efs-utils' (aws/efs-utils,
 * certificate_utils.py), built here in memory with OpenSSL's X509 API:
 *
 *   X.509 v3, self-signed (sha256WithRSAEncryption), subject = issuer =
 *   CN=<common_name>, notBefore = now - 15 min, notAfter = now + 3 h,
 *   extensions, in this order, none critical:
 *     subjectKeyIdentifier       SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2 (1))
 *     1.3.6.1.4.1.4843.7.1       UTF8String  access point id        (access point only)
 *     1.3.6.1.4.1.4843.7.2       SEQUENCE {                         (IAM only)
 *                                  UTF8String   access key id,
 *                                  OCTET STRING SigV4 signature, 64 lowercase hex chars,
 *                                  UTCTime      signing time (YYMMDDHHMMSSZ),
 *                                  [0] EXPLICIT UTF8String session token  (if any) }
 *     1.3.6.1.4.1.4843.7.3       UTF8String  file system id
 *     1.3.6.1.4.1.4843.7.4       SEQUENCE { UTF8String source, UTF8String version }
 *
 * The signature is SigV4 (service "elasticfilesystem", the mount's region)
 * over efs-utils' canonical request, which binds it to the certificate's key:
 *
 *   GET\n/\n
 *   Action=Connect&PublicKeyHash=<hex sha1 of the key bits>&X-Amz-Algorithm=AWS4-HMAC-SHA256
 *   &X-Amz-Credential=<AKID%2FYYYYMMDD%2FREGION%2Felasticfilesystem%2Faws4_request>
 *   &X-Amz-Date=<YYYYMMDDTHHMMSSZ>&X-Amz-Expires=86400
 *   [&X-Amz-Security-Token=<token>]&X-Amz-SignedHeaders=host\n
 *   host:<fs id>\nhost\n<sha256 of "">
 *
 * (values form-encoded as Python's quote_plus does; note the single "\n"
 * after the one canonical header, as efs-utils writes it).
 *
 * Contract
 *  - 0 or -errno with one line in err.  -EINVAL for a missing field, -ENOMEM,
 *    -EIO for an OpenSSL failure (its reason in err).
 *  - struct iam_key is made once per mount (RSA 3072 takes a while) and is
 *    read-only afterwards: safe to share between threads.  The certificate is
 *    built fresh for every TLS connection (tls.c), so a reconnect always
 *    presents a current signature and validity window.
 *  - No globals; OpenSSL types appear only as opaque forward declarations.
 */
#ifndef EFS_NET_IAM_CERT_H
#define EFS_NET_IAM_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define IAM_CERT_NOT_BEFORE_S  (15 * 60)     /* efs-utils NOT_BEFORE_MINS */
#define IAM_CERT_VALIDITY_S    (3 * 60 * 60) /* efs-utils NOT_AFTER_HOURS */
#define IAM_CERT_KEY_BITS      3072
#define IAM_CERT_SERVICE       "elasticfilesystem"
#define IAM_CERT_OID_AP	       "1.3.6.1.4.1.4843.7.1"
#define IAM_CERT_OID_AUTH      "1.3.6.1.4.1.4843.7.2"
#define IAM_CERT_OID_FS	       "1.3.6.1.4.1.4843.7.3"
#define IAM_CERT_OID_CLIENT    "1.3.6.1.4.1.4843.7.4"
#define IAM_CERT_SIGV4_EXPIRES 86400

struct x509_st;
struct evp_pkey_st;

/* AWS credentials as the signer needs them (no expiry: the caller decides freshness). */
struct iam_creds {
	char access_key_id[128];
	char secret_access_key[128];
	char session_token[2048]; /* "" when none */
};

struct iam_key;

/* A new RSA key pair of bits bits (IAM_CERT_KEY_BITS). */
struct iam_key *iam_key_generate(unsigned int bits, char *err, size_t errlen);
/* A private key from PEM text (tests, debugging). */
struct iam_key *iam_key_from_pem(const char *pem, size_t len, char *err, size_t errlen);
void iam_key_free(struct iam_key *k);
/* The key for SSL_use_PrivateKey (borrowed). */
struct evp_pkey_st *iam_key_pkey(const struct iam_key *k);

struct iam_cert_req {
	const char *fs_id;	   /* required */
	const char *region;	   /* required with creds */
	const char *access_point;  /* "fsap-..." or NULL */
	const char *common_name;   /* subject CN, at most 64 bytes (longer is cut) */
	const char *client_source; /* 7.4 "source"; NULL: no 7.4 extension */
	const char *client_version;
	const struct iam_creds *creds; /* NULL: no 7.2 extension (access point without IAM) */
	time_t now;		       /* signing time and start of the window */
	unsigned int validity_s;       /* notAfter = now + this; 0: IAM_CERT_VALIDITY_S */
	uint64_t serial;	       /* 0: random */
};

/* Lowercase hex SHA-1 of the public key bits (the PublicKeyHash). */
int iam_cert_pubkey_hash(const struct iam_key *k, char hex[41]);
/* The canonical request above into a new heap string (*out, free()). */
int iam_cert_canonical_request(const char *pubkey_hash, const char *fs_id, const char *region,
			       const struct iam_creds *c, time_t now, char **out);
/* The SigV4 signature (64 hex chars + NUL) of a canonical request. */
int iam_cert_sign(const char *canonical_request, const char *region, const char *secret_key,
		  time_t now, char sig[65]);
/* The certificate; *out is a new X509 (free with iam_cert_free). */
int iam_cert_build(const struct iam_key *k, const struct iam_cert_req *r, struct x509_st **out,
		   char *err, size_t errlen);
void iam_cert_free(struct x509_st *x);
/* PEM text of a certificate into a new heap string (tests, debugging). */
int iam_cert_pem(struct x509_st *x, char **out);

/*
 * What tls_connect() needs to present a client certificate on every
 * connection (transport_cfg.client_cert).  Lives as long as the mount.
 */
struct iam_cert_cfg {
	const char *fs_id, *region, *access_point, *common_name;
	const char *client_source, *client_version;
	bool iam; /* sign with credentials from get_creds */
	/* Current credentials; called once per connection, from the connecting thread. */
	int (*get_creds)(void *arg, struct iam_creds *c, char *source, size_t srclen, char *err,
			 size_t errlen);
	void *creds_arg;
	struct iam_key *key;
	unsigned int validity_s; /* 0: IAM_CERT_VALIDITY_S (tests shorten it) */
};

#endif
