# tests/mount/lib.sh -- the harness the mount suites share (sourced, with
# BACKEND, FS and A set): skip rules, ok/not ok counting, timeouts, mounting
# and always unmounting, and the backend's remote, IDs and mount options.
#
# After sourcing: $WORK (cwd, removed at exit), $REMOTE, $OPTS/$OPTS2 (two
# "machines" on the same remote), $JOB/$WF/$PROJ, $M (a mountpoint to use),
# $LOG; functions check, run, fails_with, t, mount_fs, umount_fs, art,
# pulled, plant, sha, same.  The suite ends with
#     echo "$PASS passed, $FAIL failed"; ((FAIL == 0))

# ---- can we mount at all? -------------------------------------------------

if [[ ! -c /dev/fuse ]]; then
	echo "SKIP: /dev/fuse is missing (no FUSE in this machine or container)"
	exit 77
fi
if ! command -v fusermount3 >/dev/null; then
	echo "SKIP: fusermount3 is not on PATH (apt-get install fuse3)"
	exit 77
fi
case $BACKEND in
file) ;;
moto | swift)
	V=AFS_TEST_${BACKEND^^}
	for f in ENDPOINT KEY SECRET BUCKET; do
		n=${V}_$f
		if [[ -z ${!n:-} ]]; then
			echo "SKIP: $n is not set (scripts/test starts the $BACKEND server)"
			exit 77
		fi
	done
	;;
*)
	echo "unknown backend '$BACKEND' (file, moto or swift)" >&2
	exit 2
	;;
esac

PASS=0
FAIL=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/afs-mount.XXXXXX")
declare -A MOUNT_PID=() # mount directory -> daemon PID
PRIVATE_PIDS=()         # servers this script started itself

ok() { echo "ok - $*"; PASS=$((PASS + 1)); }
not_ok() { echo "not ok - $*"; FAIL=$((FAIL + 1)); }

# check DESC COMMAND... -- a plain assertion.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# t COMMAND... -- run under a timeout (TMO seconds, default 60), so a hung
# mount fails the check instead of hanging the suite.
t() {
	timeout -k 5 "${TMO:-60}" "$@"
}

# run COMMAND... -- t, with stdout in $OUT, stderr in $ERR, status in $RC.
run() {
	t "$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}

# fails_with DESC MESSAGE COMMAND... -- COMMAND must fail, saying MESSAGE.
fails_with() {
	local desc=$1 msg=$2
	shift 2
	run "$@"
	if ((RC != 0 && RC != 124 && RC != 137)) && [[ $ERR == *"$msg"* ]]; then
		ok "$desc"
	else
		not_ok "$desc (exit $RC, wanted failure with '$msg'; stderr: ${ERR:0:300})"
	fi
}

sha() { t sha256sum "$1" | cut -d' ' -f1; }
same() { t cmp -s "$1" "$2"; }

# ---- mounts ----------------------------------------------------------------

# mount_fs DIR LOG OPTS [ENV=VALUE...] -- start artifactfs on DIR in the
# background (-f), log to LOG, wait (bounded) until DIR is a mountpoint.
# 1, with the log's tail on stdout, when it does not come up.
mount_fs() {
	local dir=$1 log=$2 opts=$3 pid deadline=$((SECONDS + 30))
	shift 3
	mkdir -p "$dir"
	env "$@" "$FS" "$dir" -f -o "$opts" </dev/null >"$log" 2>&1 &
	pid=$!
	MOUNT_PID[$dir]=$pid
	until timeout 5 mountpoint -q "$dir"; do
		if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
			echo "# mount on $dir did not come up; log $log:"
			sed 's/^/#   /' "$log" | tail -n 20
			umount_fs "$dir"
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# umount_fs DIR -- fusermount3 -u DIR (falling back to -uz), then reap the
# daemon: wait (bounded) for it to exit, TERM, then KILL.  0 only when the
# plain unmount worked and the daemon exited 0 by itself.
umount_fs() {
	local dir=$1 pid=${MOUNT_PID[$1]:-} rc=0 st deadline
	if timeout 5 mountpoint -q "$dir"; then
		if ! timeout -k 5 60 fusermount3 -u "$dir" 2>"$WORK/umount.err"; then
			echo "# fusermount3 -u $dir failed: $(cat "$WORK/umount.err")"
			timeout -k 5 30 fusermount3 -uz "$dir" 2>/dev/null
			rc=1
		fi
	fi
	if [[ -n $pid ]]; then
		deadline=$((SECONDS + 60))
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "# daemon $pid still running after unmount; killing it"
			kill -TERM "$pid" 2>/dev/null
			sleep 2
			kill -KILL "$pid" 2>/dev/null
			rc=1
		fi
		wait "$pid" 2>/dev/null
		st=$?
		if ((st != 0)); then
			echo "# daemon $pid for $dir exited with status $st"
			rc=1
		fi
		unset "MOUNT_PID[$dir]"
	fi
	return "$rc"
}

cleanup() {
	local dir pid
	for dir in "${!MOUNT_PID[@]}"; do
		umount_fs "$dir" >/dev/null
	done
	for pid in "${PRIVATE_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# Never rm -rf through a mount that is still there.
	if ! grep -q " ${WORK}[/ ]" /proc/mounts 2>/dev/null; then
		rm -rf "$WORK"
	else
		echo "# leaving $WORK: something is still mounted there"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the backend -----------------------------------------------------------

unset AWS_ENDPOINT_URL_S3 AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN \
	ARTIFACT_PART_SIZE SEMAPHORE_JOB_ID SEMAPHORE_WORKFLOW_ID \
	SEMAPHORE_PROJECT_ID
export AWS_SHARED_CREDENTIALS_FILE=$WORK/no-credentials
export AWS_CONFIG_FILE=$WORK/no-config
export AWS_EC2_METADATA_DISABLED=true
RUN_ID="$$-$RANDOM$RANDOM"
ENDPOINT=
case $BACKEND in
file)
	STORE=$WORK/store
	mkdir -p "$STORE"
	REMOTE="file://$STORE"
	unset AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	;;
moto | swift)
	n=${V}_ENDPOINT; ENDPOINT=${!n}
	n=${V}_KEY; export AWS_ACCESS_KEY_ID=${!n}
	n=${V}_SECRET; export AWS_SECRET_ACCESS_KEY=${!n}
	n=${V}_REGION; export AWS_REGION=${!n:-us-east-1}
	n=${V}_BUCKET; BUCKET=${!n}
	export AWS_ENDPOINT_URL=$ENDPOINT
	PREFIX="mount-test-$RUN_ID"
	REMOTE="s3://$BUCKET/$PREFIX"
	;;
esac
export ARTIFACT_REMOTE=$REMOTE

JOB="job-$RUN_ID"
WF="wf-$RUN_ID"
PROJ="proj-$RUN_ID"
ENDPOINT_OPT=${ENDPOINT:+,endpoint=$ENDPOINT}
IDS="job=$JOB,workflow=$WF,project=$PROJ,metadata_ttl=1"
OPTS="remote=$REMOTE$ENDPOINT_OPT,cache_dir=$WORK/cache,$IDS"
OPTS2="remote=$REMOTE$ENDPOINT_OPT,cache_dir=$WORK/cache2,$IDS" # another machine

# art ARGS... -- the artifact command on the same remote and IDs.
art() {
	t "$A" "$@"
}
# pulled LEVEL PATH -- pull LEVEL's PATH into a fresh file; print its name.
pulled() {
	local level=$1 path=$2 id dest
	case $level in
	job) id=(-j "$JOB") ;;
	workflow) id=(-w "$WF") ;;
	project) id=(-p "$PROJ") ;;
	esac
	mkdir -p "$WORK/pulls"
	dest=$(mktemp -u "$WORK/pulls/XXXXXXXX")
	if ! art pull "$level" "$path" -d "$dest" "${id[@]}" \
		>"$WORK/pull.out" 2>"$WORK/pull.err"; then
		echo "# artifact pull $level $path failed: $(cat "$WORK/pull.err")" >&2
		echo "$WORK/pulls/missing"
		return 1
	fi
	echo "$dest"
}

# plant KEY FILE -- store FILE under KEY (relative to the prefix) with
# awscli: no x-amz-meta-*, as a foreign tool would.  S3 backends only.
plant() {
	t aws --endpoint-url "$ENDPOINT" --region "$AWS_REGION" \
		s3api put-object --bucket "$BUCKET" --key "$PREFIX/$1" \
		--body "$2" >/dev/null 2>"$WORK/plant.err"
}

cd "$WORK" || exit 1
mkdir -p src
M=$WORK/mnt
LOG=$WORK/artifactfs.log
