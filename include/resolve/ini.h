/*
 * ini.h - a small, bounded INI reader shared by the efs-fuse config file and
 * the AWS shared credentials / config files.
 *
 * Contract
 *  - Syntax: "[section]" headers, "key = value" (or "key: value") lines,
 *    full-line comments starting with '#' or ';', blank lines.  Keys are
 *    matched case-insensitively, sections exactly.  Whitespace around keys
 *    and values is trimmed.  Indented lines that follow a key with an empty
 *    value are AWS-style nested settings and are skipped.
 *  - Lines before the first section header belong to section "".
 *  - Later entries override earlier ones (a second file loaded into the same
 *    struct overrides the first).
 *  - Hard caps: INI_MAX_ENTRIES entries, INI_MAX_LINE bytes per line,
 *    INI_MAX_FILE bytes per file.  Exceeding one is an error (-E2BIG /
 *    -EFBIG), never a truncation.
 *  - Errors: 0 or -errno, with a one-line "FILE:LINE: what" message in err.
 *  - All storage is inside struct ini; no allocation, no locking.
 */
#ifndef EFS_RESOLVE_INI_H
#define EFS_RESOLVE_INI_H

#include <stdbool.h>
#include <stddef.h>

#define INI_MAX_ENTRIES 128
#define INI_MAX_SECTION 64
#define INI_MAX_KEY	64
#define INI_MAX_VALUE	512
#define INI_MAX_LINE	1024
#define INI_MAX_FILE	(256 * 1024)

struct ini_entry {
	char section[INI_MAX_SECTION];
	char key[INI_MAX_KEY];
	char value[INI_MAX_VALUE];
	unsigned int line;
	unsigned int file; /* index into ini.files */
};

struct ini {
	struct ini_entry entries[INI_MAX_ENTRIES];
	unsigned int n;
	char files[4][256]; /* names of the files loaded, for messages */
	unsigned int nfiles;
};

void ini_init(struct ini *ini);
/* Parse text of len bytes; fname is used in messages only. */
int ini_parse(struct ini *ini, const char *text, size_t len, const char *fname, char *err,
	      size_t errlen);
/*
 * Load a file.  A missing file is -ENOENT with no message when must_exist is
 * false (the caller decides whether that matters), else an error message.
 */
int ini_load_file(struct ini *ini, const char *path, bool must_exist, char *err, size_t errlen);
/* Value of key in section, or NULL. */
const char *ini_get(const struct ini *ini, const char *section, const char *key);
/* The entry behind ini_get() (for "FILE:LINE" in messages), or NULL. */
const struct ini_entry *ini_find(const struct ini *ini, const char *section, const char *key);
/* True when at least one entry (or header) of this section was seen. */
bool ini_has_section(const struct ini *ini, const char *section);
/* "FILE:LINE" of an entry, for messages. */
void ini_where(const struct ini *ini, const struct ini_entry *e, char *buf, size_t len);
/* Parse a boolean (true/false, yes/no, on/off, 1/0). 0 or -EINVAL. */
int ini_parse_bool(const char *s, bool *out);

#endif
