/* ini.c - bounded INI reader; see include/resolve/ini.h. */
#include "resolve/ini.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void ini_init(struct ini *ini)
{
	ini->n = 0;
	ini->nfiles = 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int add_entry(struct ini *ini, unsigned int file, unsigned int line, const char *section,
		     const char *key, const char *value, char *err, size_t errlen)
{
	struct ini_entry *e;
	unsigned int i;

	/* An existing entry is overwritten in place: later wins. */
	for (i = 0; i < ini->n; i++) {
		e = &ini->entries[i];
		if (strcmp(e->section, section) == 0 && strcasecmp(e->key, key) == 0)
			goto set;
	}
	if (ini->n >= INI_MAX_ENTRIES) {
		snprintf(err, errlen, "%s:%u: too many settings (at most %d): shorten the file",
			 ini->files[file], line, INI_MAX_ENTRIES);
		return -E2BIG;
	}
	e = &ini->entries[ini->n++];
set:
	snprintf(e->section, sizeof(e->section), "%s", section);
	snprintf(e->key, sizeof(e->key), "%s", key);
	snprintf(e->value, sizeof(e->value), "%s", value);
	e->line = line;
	e->file = file;
	return 0;
}

int ini_parse(struct ini *ini, const char *text, size_t len, const char *fname, char *err,
	      size_t errlen)
{
	char section[INI_MAX_SECTION] = "";
	char line[INI_MAX_LINE + 2];
	unsigned int lineno = 0, file;
	bool nested_ok = false;
	size_t pos = 0;
	int rc;

	if (ini->nfiles >= sizeof(ini->files) / sizeof(ini->files[0])) {
		snprintf(err, errlen, "%s: too many configuration files", fname);
		return -E2BIG;
	}
	file = ini->nfiles++;
	snprintf(ini->files[file], sizeof(ini->files[file]), "%s", fname);

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *s, *sep, *key, *val;

		lineno++;
		if (ll > INI_MAX_LINE) {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes", fname, lineno,
				 INI_MAX_LINE);
			return -E2BIG;
		}
		memcpy(line, text + pos, ll);
		line[ll] = '\0';
		pos += ll + (nl ? 1 : 0);
		if (memchr(line, '\0', ll)) {
			snprintf(err, errlen, "%s:%u: NUL byte in line: is this a text file?",
				 fname, lineno);
			return -EINVAL;
		}

		/* AWS config nests "key =\n  sub = value": skip indented lines there. */
		if ((line[0] == ' ' || line[0] == '\t') && nested_ok && *trim(line) != '\0')
			continue;
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		nested_ok = false;
		if (*s == '[') {
			char *end = strchr(s, ']');
			char *name;

			if (!end || *trim(end + 1) != '\0') {
				snprintf(err, errlen, "%s:%u: bad section header: write [name]",
					 fname, lineno);
				return -EINVAL;
			}
			*end = '\0';
			name = trim(s + 1);
			if (strlen(name) >= sizeof(section) || *name == '\0') {
				snprintf(err, errlen, "%s:%u: bad section name", fname, lineno);
				return -EINVAL;
			}
			snprintf(section, sizeof(section), "%s", name);
			/* A marker so that empty sections are known to exist. */
			rc = add_entry(ini, file, lineno, section, "", "", err, errlen);
			if (rc)
				return rc;
			continue;
		}
		sep = strpbrk(s, "=:");
		if (!sep) {
			snprintf(err, errlen, "%s:%u: expected \"key = value\"", fname, lineno);
			return -EINVAL;
		}
		*sep = '\0';
		key = trim(s);
		val = trim(sep + 1);
		if (*key == '\0' || strlen(key) >= INI_MAX_KEY) {
			snprintf(err, errlen, "%s:%u: bad key", fname, lineno);
			return -EINVAL;
		}
		if (strlen(val) >= INI_MAX_VALUE) {
			snprintf(err, errlen, "%s:%u: value longer than %d bytes", fname, lineno,
				 INI_MAX_VALUE - 1);
			return -E2BIG;
		}
		if (*val == '\0')
			nested_ok = true;
		rc = add_entry(ini, file, lineno, section, key, val, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

int ini_load_file(struct ini *ini, const char *path, bool must_exist, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT && !must_exist)
			return rc;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		rc = -EINVAL;
		goto out;
	}
	if (st.st_size > INI_MAX_FILE) {
		snprintf(err, errlen, "%s is larger than %d bytes", path, INI_MAX_FILE);
		rc = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory reading %s", path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	rc = ini_parse(ini, buf, got, path, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}

const struct ini_entry *ini_find(const struct ini *ini, const char *section, const char *key)
{
	unsigned int i;

	if (!key || !*key)
		return NULL;
	for (i = 0; i < ini->n; i++) {
		const struct ini_entry *e = &ini->entries[i];

		if (strcmp(e->section, section) == 0 && strcasecmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

const char *ini_get(const struct ini *ini, const char *section, const char *key)
{
	const struct ini_entry *e = ini_find(ini, section, key);

	return e ? e->value : NULL;
}

bool ini_has_section(const struct ini *ini, const char *section)
{
	unsigned int i;

	for (i = 0; i < ini->n; i++)
		if (strcmp(ini->entries[i].section, section) == 0)
			return true;
	return false;
}

void ini_where(const struct ini *ini, const struct ini_entry *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u", e->file < ini->nfiles ? ini->files[e->file] : "?", e->line);
}

int ini_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}
