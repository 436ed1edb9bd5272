# shellcheck shell=bash
# tests/cli/lib.sh -- the harness the CLI suites (run.sh, gc.sh) share
# (sourced, with BACKEND, A and SUITE set): ok/not ok counting, running the
# `artifact` command, and the backend's remote.
#
# SUITE names the work directory (afs-$SUITE.XXXXXX) and, on S3, the
# bucket prefix of this run ($SUITE-test-<random>).  With NEED_AWS set to a
# reason, an S3 run without the aws command exits 77 saying "aws (awscli)
# is needed $NEED_AWS".
#
# After sourcing: $WORK (removed at exit), $RUN_ID, $ARTIFACT_REMOTE and
# $STORE (file) or $BUCKET/$PREFIX and the AWS_* variables (moto, swift);
# functions ok, not_ok, run, expect, check, has, s3api.  The S3 servers
# come from scripts/test (AFS_TEST_<BACKEND>_*); without their variables
# this exits 77, which ctest reports as skipped.  The suite ends with
#     echo "$PASS passed, $FAIL failed"; [[ $FAIL -eq 0 ]]

PASS=0
FAIL=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/afs-$SUITE.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

ok() { echo "ok - $*"; PASS=$((PASS + 1)); }
not_ok() { echo "not ok - $*"; FAIL=$((FAIL + 1)); }

# run ARGS... -- run artifact; stdout in $OUT, stderr in $ERR, status in $RC.
run() {
	"$A" "$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}

# expect RC DESC ARGS... -- run and compare the exit status.
expect() {
	local want=$1 desc=$2
	shift 2
	run "$@"
	if [[ $RC == "$want" ]]; then
		ok "$desc"
	else
		not_ok "$desc (exit $RC, wanted $want; stderr: ${ERR:0:300})"
	fi
}

# check DESC COMMAND... -- a plain assertion.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

has() { [[ $1 == *"$2"* ]]; }

# s3api ARGS... -- `aws s3api` against the S3 backend, not through the tool.
s3api() {
	aws --endpoint-url "$AWS_ENDPOINT_URL" --region "$AWS_REGION" \
		s3api "$@"
}

# ---- the backend ---------------------------------------------------------

unset AWS_ENDPOINT_URL_S3 AWS_PROFILE AWS_SESSION_TOKEN ARTIFACT_PART_SIZE
export AWS_SHARED_CREDENTIALS_FILE=$WORK/no-credentials
RUN_ID="$$-$RANDOM$RANDOM"
case $BACKEND in
file)
	STORE=$WORK/store
	mkdir -p "$STORE"
	export ARTIFACT_REMOTE="file://$STORE"
	unset AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	;;
moto | swift)
	V=AFS_TEST_${BACKEND^^}
	for f in ENDPOINT KEY SECRET BUCKET; do
		n=${V}_$f
		if [[ -z ${!n:-} ]]; then
			echo "SKIP: $n is not set (scripts/test starts the $BACKEND server)"
			exit 77
		fi
	done
	if [[ -n ${NEED_AWS:-} ]] && ! command -v aws >/dev/null; then
		echo "SKIP: aws (awscli) is needed $NEED_AWS"
		exit 77
	fi
	n=${V}_ENDPOINT; export AWS_ENDPOINT_URL=${!n}
	n=${V}_KEY; export AWS_ACCESS_KEY_ID=${!n}
	n=${V}_SECRET; export AWS_SECRET_ACCESS_KEY=${!n}
	n=${V}_REGION; export AWS_REGION=${!n:-us-east-1}
	n=${V}_BUCKET; BUCKET=${!n}
	PREFIX="$SUITE-test-$RUN_ID"
	export ARTIFACT_REMOTE="s3://$BUCKET/$PREFIX"
	;;
*)
	echo "unknown backend '$BACKEND' (file, moto or swift)" >&2
	exit 2
	;;
esac
