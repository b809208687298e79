/*
 * test_iam_cert.c - the EFS client certificate (src/net/iam_cert.c) against
 * known answers from an independent implementation (tests/unit/iam_cert_kat.py:
 * botocore's SigV4 signer over efs-utils' canonical request, DER by hand),
 * for a fixed key (iam_cert_test_key.pem), a fixed time and fixed credentials.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "net/iam_cert.h"
#include "iam_cert_kat.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

#define KAT_NOW	   ((time_t)1767323045) /* 2026-01-02T03:04:05Z */
#define KAT_AK	   "ASIAKATEXAMPLE000001"
#define KAT_SK	   "katSecret/Key+Example=0000000000000000000"
#define KAT_TOKEN  "IQoJ/kat+token==/x y"
#define KAT_REGION "us-west-2"
#define KAT_FS	   "fs-0123456789abcdef0"
#define KAT_AP	   "fsap-0123456789abcdef0"

static struct iam_key *load_key(void)
{
	char buf[8192], err[256];
	FILE *f = fopen(TOP_SRCDIR "/tests/unit/iam_cert_test_key.pem", "r");
	size_t n;
	struct iam_key *k;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	k = iam_key_from_pem(buf, n, err, sizeof(err));
	if (!k)
		fail_msg("%s", err);
	return k;
}

static struct iam_creds creds(bool token)
{
	struct iam_creds c = {0};

	strcpy(c.access_key_id, KAT_AK);
	strcpy(c.secret_access_key, KAT_SK);
	if (token)
		strcpy(c.session_token, KAT_TOKEN);
	return c;
}

static void hexstr(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

static void test_key_hash(void **state)
{
	struct iam_key *k = load_key();
	char h[41];

	assert_int_equal(iam_cert_pubkey_hash(k, h), 0);
	assert_string_equal(h, KAT_KEY_HASH);
	iam_key_free(k);
}

static void test_canonical_request_and_signature(void **state)
{
	struct iam_creds c = creds(true);
	unsigned char md[32];
	char *creq, hex[65], sig[65];

	assert_int_equal(
		iam_cert_canonical_request(KAT_KEY_HASH, KAT_FS, KAT_REGION, &c, KAT_NOW, &creq),
		0);
	/* the layout efs-utils writes: one "\n" after the single canonical header */
	assert_non_null(strstr(creq, "\nhost:" KAT_FS "\nhost\ne3b0c442"));
	assert_non_null(strstr(creq, "&X-Amz-Security-Token=IQoJ%2Fkat%2Btoken%3D%3D%2Fx+y&"));
	EVP_Digest(creq, strlen(creq), md, NULL, EVP_sha256(), NULL);
	hexstr(md, 32, hex);
	assert_string_equal(hex, KAT_CANONICAL_SHA256);
	assert_int_equal(iam_cert_sign(creq, KAT_REGION, KAT_SK, KAT_NOW, sig), 0);
	assert_string_equal(sig, KAT_SIGNATURE);
	free(creq);

	c = creds(false);
	assert_int_equal(
		iam_cert_canonical_request(KAT_KEY_HASH, KAT_FS, KAT_REGION, &c, KAT_NOW, &creq),
		0);
	assert_null(strstr(creq, "Security-Token"));
	assert_int_equal(iam_cert_sign(creq, KAT_REGION, KAT_SK, KAT_NOW, sig), 0);
	assert_string_equal(sig, KAT_SIGNATURE_NO_TOKEN);
	free(creq);
}

/* Hex of the DER contents of extension oid, or NULL when absent. */
static char *ext_hex(X509 *x, const char *oid, int *pos)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	int i = X509_get_ext_by_OBJ(x, obj, -1);
	ASN1_OCTET_STRING *os;
	char *out;

	ASN1_OBJECT_free(obj);
	*pos = i;
	if (i < 0)
		return NULL;
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(x, i)), 0);
	os = X509_EXTENSION_get_data(X509_get_ext(x, i));
	out = malloc(2 * (size_t)ASN1_STRING_length(os) + 1);
	hexstr(ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os), out);
	return out;
}

static void check_ext(X509 *x, const char *oid, const char *want, int want_pos)
{
	int pos;
	char *got = ext_hex(x, oid, &pos);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(pos, want_pos);
	free(got);
}

static X509 *build(struct iam_key *k, const struct iam_creds *c, const char *ap)
{
	struct iam_cert_req r = {
		.fs_id = KAT_FS,
		.region = KAT_REGION,
		.access_point = ap,
		.common_name = "kat-host",
		.client_source = "efs-fuse",
		.client_version = "1.2.3",
		.creds = c,
		.now = KAT_NOW,
		.serial = 42,
	};
	struct x509_st *x = NULL;
	char err[256];

	if (iam_cert_build(k, &r, &x, err, sizeof(err)))
		fail_msg("%s", err);
	return x;
}

static void test_certificate_iam_and_access_point(void **state)
{
	struct iam_key *k = load_key();
	struct iam_creds c = creds(true);
	X509 *x = build(k, &c, KAT_AP);
	char cn[80], *pem;
	int day, sec;

	/* extensions: SKI, 7.1, 7.2, 7.3, 7.4 -- efs-utils' order, bytes as the KAT */
	assert_int_equal(X509_get_ext_count(x), 5);
	assert_int_equal(X509_get_ext_by_NID(x, NID_subject_key_identifier, -1), 0);
	{
		const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
		char h[41];

		assert_non_null(ski);
		hexstr(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski), h);
		assert_string_equal(h, KAT_KEY_HASH);
	}
	check_ext(x, IAM_CERT_OID_AP, KAT_EXT_AP_HEX, 1);
	check_ext(x, IAM_CERT_OID_AUTH, KAT_EXT_AUTH_HEX, 2);
	check_ext(x, IAM_CERT_OID_FS, KAT_EXT_FS_HEX, 3);
	check_ext(x, IAM_CERT_OID_CLIENT, KAT_EXT_CLIENT_HEX, 4);
	/* v3, self-signed by the key, CN, serial, the validity window */
	assert_int_equal(X509_get_version(x), 2);
	assert_int_equal(X509_verify(x, iam_key_pkey(k)), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "kat-host");
	assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(x)), 42);
	{
		ASN1_TIME *t = ASN1_TIME_new();

		ASN1_TIME_set(t, KAT_NOW);
		assert_int_equal(ASN1_TIME_diff(&day, &sec, t, X509_get0_notBefore(x)), 1);
		assert_int_equal(day * 86400 + sec, -15 * 60);
		assert_int_equal(ASN1_TIME_diff(&day, &sec, t, X509_get0_notAfter(x)), 1);
		assert_int_equal(day * 86400 + sec, 3 * 3600);
		ASN1_TIME_free(t);
	}
	assert_int_equal(iam_cert_pem(x, &pem), 0);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
	free(pem);
	iam_cert_free(x);
	iam_key_free(k);
}

static void test_certificate_access_point_only(void **state)
{
	struct iam_key *k = load_key();
	X509 *x = build(k, NULL, KAT_AP);

	assert_int_equal(X509_get_ext_count(x), 4);
	check_ext(x, IAM_CERT_OID_AP, KAT_EXT_AP_HEX, 1);
	check_ext(x, IAM_CERT_OID_AUTH, NULL, 0);
	check_ext(x, IAM_CERT_OID_FS, KAT_EXT_FS_HEX, 2);
	iam_cert_free(x);
	iam_key_free(k);
}

static void test_certificate_is_fresh_each_time(void **state)
{
	struct iam_key *k = load_key();
	struct iam_creds c = creds(false);
	struct iam_cert_req r = {.fs_id = KAT_FS, .region = KAT_REGION, .creds = &c};
	struct x509_st *a = NULL, *b = NULL;
	char err[256];
	int day, sec;

	r.now = KAT_NOW;
	r.validity_s = 20;
	assert_int_equal(iam_cert_build(k, &r, &a, err, sizeof(err)), 0);
	r.now = KAT_NOW + 60;
	assert_int_equal(iam_cert_build(k, &r, &b, err, sizeof(err)), 0);
	assert_int_equal(ASN1_TIME_diff(&day, &sec, X509_get0_notAfter(a), X509_get0_notAfter(b)),
			 1);
	assert_int_equal(day * 86400 + sec, 60);
	/* random serials differ */
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(a), X509_get0_serialNumber(b)),
			     0);
	iam_cert_free(a);
	iam_cert_free(b);
	iam_key_free(k);
}

static void test_errors(void **state)
{
	struct iam_key *k = load_key();
	struct iam_creds c = creds(false);
	struct iam_cert_req r = {.region = KAT_REGION, .creds = &c, .now = KAT_NOW};
	struct x509_st *x = NULL;
	char err[256];

	assert_int_equal(iam_cert_build(k, &r, &x, err, sizeof(err)), -EINVAL);
	assert_null(x);
	r.fs_id = KAT_FS;
	r.region = NULL;
	assert_int_equal(iam_cert_build(k, &r, &x, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "region"));
	c.secret_access_key[0] = '\0';
	r.region = KAT_REGION;
	assert_int_equal(iam_cert_build(k, &r, &x, err, sizeof(err)), -EINVAL);
	assert_null(iam_key_from_pem("junk", 4, err, sizeof(err)));
	assert_non_null(strstr(err, "private key"));
	iam_key_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_hash),
		cmocka_unit_test(test_canonical_request_and_signature),
		cmocka_unit_test(test_certificate_iam_and_access_point),
		cmocka_unit_test(test_certificate_access_point_only),
		cmocka_unit_test(test_certificate_is_fresh_each_time),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
