/*
 * iam_cert.c - the EFS IAM / access point client certificate; see
 * include/net/iam_cert.h for the format and the contract.
 *
 * The custom extensions are small DER structures written by hand here (one
 * tag-length-value writer) and attached with X509_EXTENSION_create_by_OBJ;
 * everything else is OpenSSL's X509 API.
 */
#include "net/iam_cert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

struct iam_key {
	EVP_PKEY *pkey;
};

static void ossl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	snprintf(err, errlen, "client certificate: %s: %s", what, r ? r : "OpenSSL error");
	ERR_clear_error();
}

struct iam_key *iam_key_generate(unsigned int bits, char *err, size_t errlen)
{
	struct iam_key *k = calloc(1, sizeof(*k));

	if (!k) {
		snprintf(err, errlen, "client certificate: out of memory");
		return NULL;
	}
	k->pkey = EVP_RSA_gen(bits);
	if (!k->pkey) {
		ossl_err(err, errlen, "cannot generate an RSA key");
		free(k);
		return NULL;
	}
	return k;
}

struct iam_key *iam_key_from_pem(const char *pem, size_t len, char *err, size_t errlen)
{
	struct iam_key *k = calloc(1, sizeof(*k));
	BIO *b = BIO_new_mem_buf(pem, (int)len);

	if (!k || !b) {
		snprintf(err, errlen, "client certificate: out of memory");
		goto fail;
	}
	k->pkey = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	if (!k->pkey) {
		ossl_err(err, errlen, "cannot read the private key");
		goto fail;
	}
	BIO_free(b);
	return k;
fail:
	BIO_free(b);
	free(k);
	return NULL;
}

void iam_key_free(struct iam_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

struct evp_pkey_st *iam_key_pkey(const struct iam_key *k)
{
	return k->pkey;
}

/* ---- SigV4 -------------------------------------------------------------- */

static void hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int iam_cert_pubkey_hash(const struct iam_key *k, char out[41])
{
	X509_PUBKEY *pub = NULL;
	const unsigned char *bits;
	unsigned char md[SHA_DIGEST_LENGTH];
	int blen;

	/* The subjectPublicKey BIT STRING contents, without the unused-bits octet. */
	if (X509_PUBKEY_set(&pub, k->pkey) != 1)
		return -EIO;
	if (X509_PUBKEY_get0_param(NULL, &bits, &blen, NULL, pub) != 1 || blen <= 0) {
		X509_PUBKEY_free(pub);
		return -EIO;
	}
	SHA1(bits, (size_t)blen, md);
	X509_PUBKEY_free(pub);
	hex(md, sizeof(md), out);
	return 0;
}

/* Python's urllib.parse.quote_plus: unreserved kept, space '+', rest %XX. */
static size_t quote_plus(const char *s, char *out)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("_.-~", ch)) {
			if (out)
				out[o] = (char)ch;
			o++;
		} else if (ch == ' ') {
			if (out)
				out[o] = '+';
			o++;
		} else {
			if (out) {
				out[o] = '%';
				out[o + 1] = digits[ch >> 4];
				out[o + 2] = digits[ch & 15];
			}
			o += 3;
		}
	}
	if (out)
		out[o] = '\0';
	return o;
}

static char *quote_dup(const char *s)
{
	char *q = malloc(quote_plus(s, NULL) + 1);

	if (q)
		quote_plus(s, q);
	return q;
}

static void sigv4_times(time_t now, char date[9], char stamp[17])
{
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, 9, "%Y%m%d", &tm);
	strftime(stamp, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static const char EMPTY_SHA256[] =
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

int iam_cert_canonical_request(const char *pubkey_hash, const char *fs_id, const char *region,
			       const struct iam_creds *c, time_t now, char **out)
{
	char date[9], stamp[17], *cred = NULL, *scope = NULL, *tok = NULL, *req = NULL;
	size_t n;
	int len, rc = -ENOMEM;

	*out = NULL;
	if (!pubkey_hash || !fs_id || !region || !c || !c->access_key_id[0])
		return -EINVAL;
	sigv4_times(now, date, stamp);
	n = strlen(c->access_key_id) + strlen(region) + 64;
	scope = malloc(n);
	if (!scope)
		goto out;
	snprintf(scope, n, "%s/%s/%s/%s/aws4_request", c->access_key_id, date, region,
		 IAM_CERT_SERVICE);
	cred = quote_dup(scope);
	tok = c->session_token[0] ? quote_dup(c->session_token) : strdup("");
	if (!cred || !tok)
		goto out;
	n = strlen(cred) + strlen(tok) + strlen(fs_id) + strlen(pubkey_hash) + 512;
	req = malloc(n);
	if (!req)
		goto out;
	len = snprintf(req, n,
		       "GET\n/\n"
		       "Action=Connect&PublicKeyHash=%s&X-Amz-Algorithm=AWS4-HMAC-SHA256"
		       "&X-Amz-Credential=%s&X-Amz-Date=%s&X-Amz-Expires=%d%s%s"
		       "&X-Amz-SignedHeaders=host\n"
		       "host:%s\nhost\n%s",
		       pubkey_hash, cred, stamp, IAM_CERT_SIGV4_EXPIRES,
		       tok[0] ? "&X-Amz-Security-Token=" : "", tok, fs_id, EMPTY_SHA256);
	if (len < 0 || (size_t)len >= n) {
		rc = -E2BIG;
		goto out;
	}
	*out = req;
	req = NULL;
	rc = 0;
out:
	free(scope);
	free(cred);
	free(tok);
	free(req);
	return rc;
}

static int hmac256(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned int olen = 32;

	return HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out,
		    &olen)
		       ? 0
		       : -EIO;
}

int iam_cert_sign(const char *canonical_request, const char *region, const char *secret_key,
		  time_t now, char sig[65])
{
	char date[9], stamp[17], crhex[65], *sts = NULL, *k0 = NULL;
	unsigned char h[32], k[32];
	size_t n;
	int rc = -ENOMEM;

	sigv4_times(now, date, stamp);
	SHA256((const unsigned char *)canonical_request, strlen(canonical_request), h);
	hex(h, 32, crhex);
	n = strlen(region) + 256;
	sts = malloc(n);
	k0 = malloc(strlen(secret_key) + 5);
	if (!sts || !k0)
		goto out;
	snprintf(sts, n, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", stamp, date, region,
		 IAM_CERT_SERVICE, crhex);
	sprintf(k0, "AWS4%s", secret_key);
	rc = -EIO;
	if (hmac256(k0, strlen(k0), date, k) || hmac256(k, 32, region, k) ||
	    hmac256(k, 32, IAM_CERT_SERVICE, k) || hmac256(k, 32, "aws4_request", k) ||
	    hmac256(k, 32, sts, h))
		goto out;
	hex(h, 32, sig);
	rc = 0;
out:
	if (k0)
		explicit_bzero(k0, strlen(k0));
	explicit_bzero(k, sizeof(k));
	free(k0);
	free(sts);
	return rc;
}

/* ---- DER, just enough for the extensions -------------------------------- */

struct der {
	unsigned char *p;
	size_t len, cap;
	bool oom;
};

static void der_raw(struct der *d, const void *src, size_t n)
{
	if (d->oom)
		return;
	if (d->len + n > d->cap) {
		size_t cap = (d->len + n) * 2 + 64;
		unsigned char *p = realloc(d->p, cap);

		if (!p) {
			d->oom = true;
			return;
		}
		d->p = p;
		d->cap = cap;
	}
	memcpy(d->p + d->len, src, n);
	d->len += n;
}

/* Tag, definite length, contents. */
static void der_tlv(struct der *d, unsigned char tag, const void *val, size_t n)
{
	unsigned char hdr[6];
	size_t h = 0;

	hdr[h++] = tag;
	if (n < 0x80) {
		hdr[h++] = (unsigned char)n;
	} else if (n <= 0xff) {
		hdr[h++] = 0x81;
		hdr[h++] = (unsigned char)n;
	} else if (n <= 0xffff) {
		hdr[h++] = 0x82;
		hdr[h++] = (unsigned char)(n >> 8);
		hdr[h++] = (unsigned char)n;
	} else {
		hdr[h++] = 0x83;
		hdr[h++] = (unsigned char)(n >> 16);
		hdr[h++] = (unsigned char)(n >> 8);
		hdr[h++] = (unsigned char)n;
	}
	der_raw(d, hdr, h);
	der_raw(d, val, n);
}

#define DER_UTF8      0x0c
#define DER_OCTETS    0x04
#define DER_UTCTIME   0x17
#define DER_SEQUENCE  0x30
#define DER_EXPLICIT0 0xa0

static void der_str(struct der *d, unsigned char tag, const char *s)
{
	der_tlv(d, tag, s, strlen(s));
}

/* Wrap what is in inner as one TLV appended to d. */
static void der_wrap(struct der *d, unsigned char tag, struct der *inner)
{
	if (inner->oom)
		d->oom = true;
	else
		der_tlv(d, tag, inner->p ? inner->p : (unsigned char *)"", inner->len);
	free(inner->p);
	*inner = (struct der){0};
}

static int add_ext(X509 *x, const char *oid, struct der *d)
{
	ASN1_OBJECT *obj = NULL;
	ASN1_OCTET_STRING *os = NULL;
	X509_EXTENSION *ext = NULL;
	int rc = -EIO;

	if (d->oom) {
		rc = -ENOMEM;
		goto out;
	}
	obj = OBJ_txt2obj(oid, 1);
	os = ASN1_OCTET_STRING_new();
	if (!obj || !os || !ASN1_OCTET_STRING_set(os, d->p, (int)d->len))
		goto out;
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
	if (ext && X509_add_ext(x, ext, -1) == 1)
		rc = 0;
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	free(d->p);
	*d = (struct der){0};
	return rc;
}

/* 7.2: the IAM authentication sequence. */
static int add_auth_ext(X509 *x, const struct iam_key *k, const struct iam_cert_req *r, char *err,
			size_t errlen)
{
	struct der seq = {0}, tok = {0}, out = {0};
	char keyhash[41], sig[65], utc[64], *creq = NULL;
	struct tm tm;
	int rc;

	if (!r->region || !*r->region || !r->creds->access_key_id[0] ||
	    !r->creds->secret_access_key[0]) {
		snprintf(err, errlen, "client certificate: IAM needs a region and credentials");
		return -EINVAL;
	}
	rc = iam_cert_pubkey_hash(k, keyhash);
	if (!rc)
		rc = iam_cert_canonical_request(keyhash, r->fs_id, r->region, r->creds, r->now,
						&creq);
	if (!rc)
		rc = iam_cert_sign(creq, r->region, r->creds->secret_access_key, r->now, sig);
	free(creq);
	if (rc) {
		snprintf(err, errlen, "client certificate: cannot compute the SigV4 signature: %s",
			 strerror(-rc));
		return rc;
	}
	gmtime_r(&r->now, &tm);
	snprintf(utc, sizeof(utc), "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	der_str(&seq, DER_UTF8, r->creds->access_key_id);
	der_str(&seq, DER_OCTETS, sig);
	der_str(&seq, DER_UTCTIME, utc);
	if (r->creds->session_token[0]) {
		der_str(&tok, DER_UTF8, r->creds->session_token);
		der_wrap(&seq, DER_EXPLICIT0, &tok);
	}
	der_wrap(&out, DER_SEQUENCE, &seq);
	explicit_bzero(sig, sizeof(sig));
	rc = add_ext(x, IAM_CERT_OID_AUTH, &out);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "client certificate: out of memory");
	else if (rc)
		ossl_err(err, errlen, "cannot add the IAM extension");
	return rc;
}

static int add_ski(X509 *x, const struct iam_key *k)
{
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	unsigned char md[SHA_DIGEST_LENGTH];
	unsigned int n = 0;
	int rc = -EIO;

	if (os && X509_pubkey_digest(x, EVP_sha1(), md, &n) == 1 &&
	    ASN1_OCTET_STRING_set(os, md, (int)n) &&
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0, X509V3_ADD_DEFAULT) == 1)
		rc = 0;
	ASN1_OCTET_STRING_free(os);
	return rc;
}

static int set_basics(X509 *x, const struct iam_key *k, const struct iam_cert_req *r)
{
	unsigned int validity = r->validity_s ? r->validity_s : IAM_CERT_VALIDITY_S;
	char cn[65];
	uint64_t serial = r->serial;
	X509_NAME *name;

	if (!serial && RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
		return -EIO;
	serial &= 0x7fffffffffffffffull; /* a positive INTEGER */
	if (!serial)
		serial = 1;
	snprintf(cn, sizeof(cn), "%s",
		 r->common_name && *r->common_name ? r->common_name : "localhost");
	name = X509_get_subject_name(x);
	if (X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
				       0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), r->now - IAM_CERT_NOT_BEFORE_S) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), r->now + (time_t)validity) ||
	    X509_set_pubkey(x, k->pkey) != 1)
		return -EIO;
	return 0;
}

int iam_cert_build(const struct iam_key *k, const struct iam_cert_req *r, struct x509_st **out,
		   char *err, size_t errlen)
{
	struct der d = {0};
	X509 *x;
	int rc;

	*out = NULL;
	if (!k || !r->fs_id || !*r->fs_id) {
		snprintf(err, errlen, "client certificate: no key or no file system id");
		return -EINVAL;
	}
	x = X509_new();
	if (!x) {
		snprintf(err, errlen, "client certificate: out of memory");
		return -ENOMEM;
	}
	rc = set_basics(x, k, r);
	if (!rc)
		rc = add_ski(x, k);
	if (rc) {
		ossl_err(err, errlen, "cannot fill in the certificate");
		goto fail;
	}
	if (r->access_point && *r->access_point) {
		der_str(&d, DER_UTF8, r->access_point);
		rc = add_ext(x, IAM_CERT_OID_AP, &d);
		if (rc)
			goto ext_fail;
	}
	if (r->creds) {
		rc = add_auth_ext(x, k, r, err, errlen);
		if (rc)
			goto fail;
	}
	der_str(&d, DER_UTF8, r->fs_id);
	rc = add_ext(x, IAM_CERT_OID_FS, &d);
	if (rc)
		goto ext_fail;
	if (r->client_source) {
		struct der seq = {0};

		der_str(&seq, DER_UTF8, r->client_source);
		der_str(&seq, DER_UTF8, r->client_version ? r->client_version : "");
		der_wrap(&d, DER_SEQUENCE, &seq);
		rc = add_ext(x, IAM_CERT_OID_CLIENT, &d);
		if (rc)
			goto ext_fail;
	}
	if (X509_sign(x, k->pkey, EVP_sha256()) <= 0) {
		ossl_err(err, errlen, "cannot sign the certificate");
		rc = -EIO;
		goto fail;
	}
	*out = x;
	return 0;
ext_fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "client certificate: out of memory");
	else
		ossl_err(err, errlen, "cannot add an extension");
fail:
	X509_free(x);
	return rc ? rc : -EIO;
}

void iam_cert_free(struct x509_st *x)
{
	X509_free(x);
}

int iam_cert_pem(struct x509_st *x, char **out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	*out = NULL;
	if (!b)
		return -ENOMEM;
	if (PEM_write_bio_X509(b, x) != 1) {
		BIO_free(b);
		return -EIO;
	}
	n = BIO_get_mem_data(b, &p);
	*out = malloc((size_t)n + 1);
	if (*out) {
		memcpy(*out, p, (size_t)n);
		(*out)[n] = '\0';
	}
	BIO_free(b);
	return *out ? 0 : -ENOMEM;
}
