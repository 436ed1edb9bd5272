/*
 * rules.c - finding the expiry rule a new object inherits; see rules.h.
 */
#include "rules.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

int remote_rule_inherited(struct remote *r, const char *store_prefix,
			  const char *key, int64_t *seconds,
			  struct remote_error *err)
{
	size_t plen = strlen(store_prefix);
	size_t len = strlen(key);
	char *buf = NULL;
	int rc = 0;

	*seconds = STORE_NEVER;
	if (strncmp(key, store_prefix, plen) != 0)
		return 0;
	buf = strdup(key);
	if (!buf)
		return -ENOMEM;
	/* Each ancestor "a/b/" deeper than the store prefix, deepest first. */
	while (len > plen) {
		struct remote_stat st = {0};
		const char *rule;
		int64_t secs;

		len--;
		while (len > plen && buf[len - 1] != '/')
			len--;
		if (len <= plen)
			break;
		buf[len] = '\0';
		rc = remote_head(r, buf, &st, err);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (rc)
			break;
		rule = remote_meta_get(&st.meta, REMOTE_META_RULE);
		if (rule && store_duration_parse(rule, &secs) == 0) {
			*seconds = secs;
			remote_stat_clear(&st);
			break;
		}
		remote_stat_clear(&st);
	}
	free(buf);
	return rc;
}
