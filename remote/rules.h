/*
 * rules.h - expiry rules kept on directory markers.
 *
 * `setfattr -n user.expire_in -v DUR DIR` on a mount keeps DUR on the
 * directory's marker object ("dir/", x-amz-meta-expire-in): files created
 * beneath it later, by any mount or by `artifact push`, inherit it.  The
 * mount knows the rules of the directories it has looked up; the CLI asks
 * the remote with remote_rule_inherited().
 */
#ifndef ARTIFACTFS_REMOTE_RULES_H
#define ARTIFACTFS_REMOTE_RULES_H

#include <stdint.h>

#include "remote.h"

/* The metadata name of the rule on a marker object. */
#define REMOTE_META_RULE "expire-in"

/* The rule of the nearest directory above key (its markers HEADed from
 * the deepest up), not looking above store_prefix (which ends in '/').
 * *seconds = STORE_NEVER when there is none.  A marker whose rule does
 * not parse is skipped.  -errno on a failed HEAD other than -ENOENT. */
int remote_rule_inherited(struct remote *r, const char *store_prefix,
			  const char *key, int64_t *seconds,
			  struct remote_error *err);

#endif
