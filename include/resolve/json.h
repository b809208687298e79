/*
 * json.h - a small, bounded JSON reader (RFC 8259) for the few documents
 * efs-fuse reads: the EFS DescribeMountTargets response, the instance role
 * credentials from instance metadata, and AWS error bodies.
 *
 * Contract
 *  - json_parse() validates the whole text and fills a caller-supplied token
 *    array (no allocation).  Tokens are in document order; an object is
 *    followed by its key/value pairs, an array by its elements, and each
 *    token's `next` is the index just past its subtree.
 *  - Errors: -EBADMSG (not JSON, trailing garbage, bad escape, control
 *    character in a string), -E2BIG (more tokens than cap, nesting deeper
 *    than JSON_MAX_DEPTH, text longer than JSON_MAX_TEXT).  A hostile input is
 *    an error, never an overread.
 *  - Strings are views into the text; json_string_copy() decodes escapes
 *    (\uXXXX, surrogate pairs -> UTF-8) into a caller buffer and refuses
 *    NUL characters and truncation.
 */
#ifndef EFS_RESOLVE_JSON_H
#define EFS_RESOLVE_JSON_H

#include <stddef.h>

#define JSON_MAX_DEPTH 32
#define JSON_MAX_TEXT  (1024 * 1024)

enum json_type {
	JSON_OBJECT = 1,
	JSON_ARRAY,
	JSON_STRING,
	JSON_NUMBER,
	JSON_TRUE,
	JSON_FALSE,
	JSON_NULL,
};

struct json_tok {
	enum json_type type;
	unsigned int start, end; /* byte range; strings: inside the quotes */
	unsigned int next;	 /* index of the first token after this subtree */
	unsigned int count;	 /* arrays: elements; objects: members */
};

struct json_doc {
	const char *text;
	size_t len;
	struct json_tok *toks;
	unsigned int ntoks, cap;
};

int json_parse(struct json_doc *d, const char *text, size_t len, struct json_tok *toks,
	       unsigned int cap);
/* Index of the value of key in object tok obj; -ENOENT if absent, -EINVAL if obj is no object. */
int json_object_get(const struct json_doc *d, unsigned int obj, const char *key);
/* Index of element i of array tok arr; -ENOENT past the end, -EINVAL if arr is no array. */
int json_array_item(const struct json_doc *d, unsigned int arr, unsigned int i);
/* Decode string tok into out (NUL-terminated). -EINVAL not a string, -E2BIG too long. */
int json_string_copy(const struct json_doc *d, unsigned int tok, char *out, size_t outlen);
/* Convenience: copy string member key of object obj. -ENOENT absent, -EINVAL not a string. */
int json_get_string(const struct json_doc *d, unsigned int obj, const char *key, char *out,
		    size_t outlen);

#endif
