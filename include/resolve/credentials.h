/*
 * credentials.h - AWS credentials for the EFS API fallback, found the way the
 * AWS CLI finds them:
 *   1. -o awsprofile=NAME: that profile from ~/.aws/credentials ([NAME]) or
 *      ~/.aws/config ([profile NAME], [default]); nothing else.
 *   2. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN).
 *   3. Profile AWS_PROFILE (else "default") from the two files.
 *   4. The instance role from instance metadata.
 * AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE move the files (as in
 * the AWS CLI).  In one profile, the credentials file wins over the config
 * file.
 *
 * Contract: 0, -ENOENT (no credentials anywhere: err says where it looked
 * and what to do) or another -errno with a message.  Plain data, no globals.
 */
#ifndef EFS_RESOLVE_CREDENTIALS_H
#define EFS_RESOLVE_CREDENTIALS_H

#include <stddef.h>
#include <time.h>

#include "resolve/ini.h"

struct aws_credentials {
	char access_key_id[128];
	char secret_access_key[128];
	char session_token[2048]; /* "" when none */
	char source[160];	  /* "environment", "~/.aws/credentials [default]", ... */
	time_t expiration;	  /* when temporary credentials expire; 0: not known / never */
};

struct imds;

/* Fill c from a profile of already loaded files (credentials file first). 0 or -ENOENT. */
int credentials_from_profile(const struct ini *creds_file, const struct ini *config_file,
			     const char *profile, struct aws_credentials *c, char *err,
			     size_t errlen);
/* The whole chain above; imds may be NULL (instance metadata disabled). */
int credentials_find(const char *awsprofile, struct imds *imds, struct aws_credentials *c,
		     char *err, size_t errlen);

#endif
