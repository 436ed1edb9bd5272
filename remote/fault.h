/*
 * fault.h - a remote that wraps another and fails, delays or blocks the
 * Nth call of a given kind: the fault injection of tests (the shape of
 * SQLite's test_devsym).  Everything else passes through to the wrapped
 * backend unchanged, so above remote/ it is just another remote.
 *
 * A rule names an operation, which call of it (1 = the first call from
 * now, 0 = every call) and what to do:
 *   FAIL   return err (a negative errno) with the message "injected
 *          fault", without calling the backend;
 *   DELAY  sleep ms milliseconds, then call the backend;
 *   BLOCK  hold the call until remote_fault_unblock(), then call the
 *          backend: a test can then run a competing operation while the
 *          first is known to be in flight (remote_fault_wait_blocked).
 *   CORRUPT  (GET only) call the backend, then flip one bit of the middle
 *          byte read, as a bad network or disk would.
 * A rule fires once (nth > 0) or on every call (nth == 0) until cleared.
 * One rule per operation; setting one replaces the last.
 *
 * Threads: safe from any thread; one mutex guards the rules and counters,
 * never held while the backend runs or a call is blocked.
 */
#ifndef ARTIFACTFS_REMOTE_FAULT_H
#define ARTIFACTFS_REMOTE_FAULT_H

#include "remote.h"

enum remote_fault_op {
	REMOTE_FAULT_HEAD,
	REMOTE_FAULT_GET,
	REMOTE_FAULT_PUT,
	REMOTE_FAULT_COPY,
	REMOTE_FAULT_DELETE,
	REMOTE_FAULT_DELETE_MANY,
	REMOTE_FAULT_LIST,
	REMOTE_FAULT_MPU_CREATE,
	REMOTE_FAULT_MPU_PART,
	REMOTE_FAULT_MPU_COPY_PART,
	REMOTE_FAULT_MPU_COMPLETE,
	REMOTE_FAULT_MPU_ABORT,
	REMOTE_FAULT_OPS
};

enum remote_fault_action {
	REMOTE_FAULT_PASS,
	REMOTE_FAULT_FAIL,
	REMOTE_FAULT_DELAY,
	REMOTE_FAULT_BLOCK,
	REMOTE_FAULT_CORRUPT,
};

/* Wrap inner (which *out then owns: remote_close(*out) closes both).  On
 * failure inner is still the caller's.  -ENOMEM. */
int remote_fault_wrap(struct remote *inner, struct remote **out);
/* Set op's rule; arg is the -errno for FAIL, milliseconds for DELAY.
 * -EINVAL when r is not a fault remote or op is out of range. */
int remote_fault_set(struct remote *r, enum remote_fault_op op, unsigned nth,
		     enum remote_fault_action action, int arg);
/* Drop every rule and release every blocked call. */
void remote_fault_clear(struct remote *r);
/* How many calls of op reached the wrapper so far (failed ones too). */
unsigned remote_fault_calls(struct remote *r, enum remote_fault_op op);
/* Wait until a call of op is held by a BLOCK rule: 0, or -ETIMEDOUT after
 * timeout_ms. */
int remote_fault_wait_blocked(struct remote *r, enum remote_fault_op op,
			      unsigned timeout_ms);
/* Let the calls of op held by a BLOCK rule go on (and drop that rule). */
void remote_fault_unblock(struct remote *r, enum remote_fault_op op);
/* Rewrite every listing page the backend answers (a hostile server's
 * answers, below the HTTP layer): fn(ctx, opts as sent to the backend,
 * page) may change the page in place, with keys as the backend gives them
 * (store prefix included); allocations are freed with the page.  NULL
 * removes the hook. */
void remote_fault_list_hook(struct remote *r,
			    void (*fn)(void *ctx,
				       const struct remote_list_opts *opts,
				       struct remote_list *page),
			    void *ctx);

#endif
