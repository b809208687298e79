/* test_nfs4_err.c - the NFS4ERR_* to errno table (src/nfs4/nfs4_err.c). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
#include "nfs4/nfs4_const.h"
#include "nfs4/nfs4_err.h"

static void test_spot_checks(void **state)
{
	static const struct {
		int stat, err;
	} t[] = {
		{NFS4ERR_PERM, EPERM},
		{NFS4ERR_NOENT, ENOENT},
		{NFS4ERR_IO, EIO},
		{NFS4ERR_ACCESS, EACCES},
		{NFS4ERR_EXIST, EEXIST},
		{NFS4ERR_XDEV, EXDEV},
		{NFS4ERR_NOTDIR, ENOTDIR},
		{NFS4ERR_ISDIR, EISDIR},
		{NFS4ERR_INVAL, EINVAL},
		{NFS4ERR_FBIG, EFBIG},
		{NFS4ERR_NOSPC, ENOSPC},
		{NFS4ERR_ROFS, EROFS},
		{NFS4ERR_MLINK, EMLINK},
		{NFS4ERR_NAMETOOLONG, ENAMETOOLONG},
		{NFS4ERR_NOTEMPTY, ENOTEMPTY},
		{NFS4ERR_DQUOT, EDQUOT},
		{NFS4ERR_STALE, ESTALE},
		{NFS4ERR_BADHANDLE, ESTALE},
		{NFS4ERR_FHEXPIRED, ESTALE},
		{NFS4ERR_NOTSUPP, EOPNOTSUPP},
		{NFS4ERR_ATTRNOTSUPP, EOPNOTSUPP},
		{NFS4ERR_SERVERFAULT, EIO},
		{NFS4ERR_BADTYPE, EINVAL},
		{NFS4ERR_DELAY, EAGAIN},
		{NFS4ERR_DENIED, EAGAIN},
		{NFS4ERR_LOCKED, EACCES},
		{NFS4ERR_SHARE_DENIED, EACCES},
		{NFS4ERR_SYMLINK, ELOOP},
		{NFS4ERR_BADNAME, EINVAL},
		{NFS4ERR_BADCHAR, EINVAL},
		{NFS4ERR_WRONG_TYPE, EINVAL},
		{NFS4ERR_DEADLOCK, EDEADLK},
		{NFS4ERR_FILE_OPEN, EBUSY},
		{NFS4ERR_WRONGSEC, EPERM},
		{NFS4ERR_MINOR_VERS_MISMATCH, EPROTONOSUPPORT},
		{NFS4ERR_BADSESSION, EIO},
		{NFS4ERR_DELEG_REVOKED, EIO},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (nfs4_err_to_errno(-t[i].stat) != t[i].err)
			fail_msg("%s -> %d, expected %d", nfs4_err_name(-t[i].stat),
				 nfs4_err_to_errno(-t[i].stat), t[i].err);
		assert_true(nfs4_err_is_nfs(-t[i].stat));
	}
}

/* Every status in nfs4_const.h has an entry with its own name. */
static void test_every_status_named(void **state)
{
	int s, named = 0;

	(void)state;
	for (s = NFS4ERR_BADHANDLE; s <= NFS4ERR_DELEG_REVOKED; s++) {
		const char *n = nfs4_err_name(-s);

		if (s == 10002 || s == 10073) /* unassigned */
			continue;
		if (strncmp(n, "NFS4ERR_", 8) != 0 || strcmp(n, "NFS4ERR_unknown") == 0)
			fail_msg("status %d has no entry (%s)", s, n);
		assert_int_not_equal(nfs4_err_to_errno(-s), 0);
		named++;
	}
	assert_int_equal(named, NFS4ERR_DELEG_REVOKED - NFS4ERR_BADHANDLE + 1 - 2);
	assert_string_equal(nfs4_err_name(-NFS4ERR_DELAY), "NFS4ERR_DELAY");
	assert_string_equal(nfs4_err_name(-NFS4ERR_NOENT), "NFS4ERR_NOENT");
	assert_string_equal(nfs4_err_name(0), "NFS4_OK");
}

static void test_unknown_is_eio(void **state)
{
	(void)state;
	assert_int_equal(nfs4_err_to_errno(-10002), EIO);
	assert_int_equal(nfs4_err_to_errno(-10073), EIO);
	assert_int_equal(nfs4_err_to_errno(-10999), EIO);
	assert_int_equal(nfs4_err_to_errno(-99999), EIO);
	assert_int_equal(nfs4_err_to_errno(-5000), EIO);
	assert_int_equal(nfs4_err_to_errno(INT_MIN), EIO);
	assert_true(nfs4_err_is_nfs(-10999));
	assert_string_equal(nfs4_err_name(-10999), "NFS4ERR_unknown");
}

static void test_local_errnos(void **state)
{
	(void)state;
	assert_int_equal(nfs4_err_to_errno(0), 0);
	assert_int_equal(nfs4_err_to_errno(-EBADMSG), EIO);
	assert_int_equal(nfs4_err_to_errno(-ETIMEDOUT), ETIMEDOUT);
	assert_int_equal(nfs4_err_to_errno(-ECONNRESET), ECONNRESET);
	assert_int_equal(nfs4_err_to_errno(-ENOMEM), ENOMEM);
	assert_int_equal(nfs4_err_to_errno(-EINTR), EINTR);
	assert_int_equal(nfs4_err_to_errno(-EAGAIN), EAGAIN);
	assert_int_equal(nfs4_err_to_errno(-EIO), EIO);
	assert_false(nfs4_err_is_nfs(0));
	assert_false(nfs4_err_is_nfs(-ETIMEDOUT));
	assert_false(nfs4_err_is_nfs(-EBADMSG));
	assert_string_equal(nfs4_err_name(-ETIMEDOUT), "ETIMEDOUT");
	assert_string_equal(nfs4_err_name(-EBADMSG), "EBADMSG");
	assert_non_null(nfs4_err_name(-5000));
	assert_non_null(nfs4_err_name(INT_MIN));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spot_checks),
		cmocka_unit_test(test_every_status_named),
		cmocka_unit_test(test_unknown_is_eio),
		cmocka_unit_test(test_local_errnos),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
