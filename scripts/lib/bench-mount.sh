# scripts/lib/bench-mount.sh -- the --mount part of scripts/bench:
# shellcheck shell=bash
# artifactfs beside s3fs and rclone mount, on the same Swift, one run.
#
# Sourced by scripts/bench, which provides WORK, ROOT, ART (the artifact
# CLI), awsc, the AFS_TEST_SWIFT_* server, the AWS_* client environment,
# the source data ($WORK/src/big.bin, $WORK/src/small) and the MOUNTS /
# MOUNT_PIDS arrays its EXIT trap cleans up (through mb_cleanup).
#
# Every tool gets its own key prefix, mnt-TOOL/artifacts/jobs/bench/: for
# artifactfs that is MNT/job/ of a mount of remote=s3://BUCKET/mnt-artifactfs
# with job=bench; s3fs and rclone mount that prefix directly.  So all three
# see the same tree, planted the same way before anything is timed:
#
#   read/big.bin   the big file (aws s3 cp), for (a) (b) (f)
#   ls/            AFS_BENCH_LS_N small files (artifact push), for (e)
#
# and each run writes w/big.bin (c) and small/ (d) there.  Each tool, in
# turn, alone on the machine:
#
#   mount 1 (empty cache): (a) cold sequential read of read/big.bin
#                          (dd bs=1M), (b) warm re-read, then an untimed
#                          cmp against the source
#   mount 2 (empty cache): (e) ls -l ls/ (cold), (f) fio 4 KiB random
#                          reads of read/big.bin, 4 jobs, psync, buffered
#   mount 3 (empty cache): (c) cp big.bin w/ and (d) cp -r small/:
#                          time until cp returns and until every object is
#                          on the server with its size (polled with
#                          botocore, HEAD / ListObjectsV2 in a loop); then
#                          an untimed GET of everything written, compared
#                          byte for byte with the source
#
# A cell reads FAIL when the tool's command failed or timed out
# (AFS_BENCH_STEP_TIMEOUT seconds, default 300), BAD when it returned
# wrong data.  Knobs: AFS_BENCH_LS_N (5000), AFS_BENCH_FIO_SECS (20),
# AFS_BENCH_TOOLS ("artifactfs s3fs rclone"), AFS_BENCH_RCLONE_WRITE_BACK
# (rclone's --vfs-write-back, default 0s: rclone starts uploading at close
# instead of 5 s later, its own default), AFS_BENCH_STORE_TIMEOUT (600).

MB_TOOLS=()
MB_STEP_TIMEOUT=${AFS_BENCH_STEP_TIMEOUT:-300}
MB_STORE_TIMEOUT=${AFS_BENCH_STORE_TIMEOUT:-600}
MB_FIO_SECS=${AFS_BENCH_FIO_SECS:-20}
MB_LS_N=${AFS_BENCH_LS_N:-5000}
MB_RCLONE_WRITE_BACK=${AFS_BENCH_RCLONE_WRITE_BACK:-0s}
MB_N=0            # numbers mounts and logs
MB_PID="" MB_MNT="" MB_LOG=""
MB_PY=""          # a python with botocore (the one awscli runs on)
declare -A MB_RES # [test,tool] -> seconds, IOPS, FAIL or BAD

# mb_alive PID -- PID runs (and is not a zombie).
mb_alive() {
	kill -0 "$1" 2>/dev/null &&
		[[ "$(ps -o stat= -p "$1" 2>/dev/null)" != Z* ]]
}

# mb_stop_pid PID SECS -- give PID SECS to exit by itself, then SIGTERM,
# then SIGKILL; reap it.
mb_stop_pid() {
	local pid=$1 deadline=$((SECONDS + $2))
	while mb_alive "$pid" && ((SECONDS < deadline)); do
		sleep 0.1
	done
	if mb_alive "$pid"; then
		echo "bench: pid $pid still running; SIGTERM" >&2
		kill -TERM "$pid" 2>/dev/null || true
		deadline=$((SECONDS + 10))
		while mb_alive "$pid" && ((SECONDS < deadline)); do
			sleep 0.1
		done
		if mb_alive "$pid"; then
			echo "bench: pid $pid ignored SIGTERM; SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
}

# mb_umount DIR -- unmount DIR: politely (retried: a process that just
# exited may still hold it), lazily as a last resort.  Bounded.
mb_umount() {
	local _
	for _ in 1 2 3; do
		mountpoint -q "$1" || return 0
		if timeout 30 fusermount3 -u "$1" 2>/dev/null; then
			return 0
		fi
		sleep 1
	done
	echo "bench: $1 busy; lazy unmount" >&2
	timeout 30 fusermount3 -uz "$1" 2>/dev/null || true
}

# mb_forget ARRAY VALUE -- remove VALUE from the named array.
mb_forget() {
	local -n arr=$1
	local v kept=()
	for v in "${arr[@]}"; do
		[[ "$v" == "$2" ]] || kept+=("$v")
	done
	arr=("${kept[@]}")
}

# mb_cleanup -- from the EXIT trap: every mount down, every daemon gone.
mb_cleanup() {
	local m pid
	for m in "${MOUNTS[@]}"; do
		mb_umount "$m"
	done
	for pid in "${MOUNT_PIDS[@]}"; do
		mb_stop_pid "$pid" 10
	done
	MOUNTS=() MOUNT_PIDS=()
}

# mb_prefix TOOL -- TOOL's key prefix in the bucket (no trailing /).
mb_prefix() {
	printf 'mnt-%s/artifacts/jobs/bench' "$1"
}

# mb_dir TOOL -- where that prefix appears in TOOL's mount.
mb_dir() {
	if [[ "$1" == artifactfs ]]; then
		printf '%s/job' "$WORK/mnt/$1"
	else
		printf '%s' "$WORK/mnt/$1"
	fi
}

# mb_mount TOOL -- mount TOOL at $WORK/mnt/TOOL with a new, empty cache
# dir, in the foreground as our child (MB_PID), output to MB_LOG.
mb_mount() {
	local tool=$1 mnt=$WORK/mnt/$1 cache
	MB_N=$((MB_N + 1))
	# Earlier caches of this tool go: "cold" means an empty cache, and
	# 1 GiB copies add up.
	rm -rf "$WORK/mcache/$tool".*
	cache=$WORK/mcache/$tool.$MB_N
	MB_LOG=$WORK/log/mount$(printf '%02d' "$MB_N")-$tool.log
	mkdir -p "$mnt" "$cache"
	case $tool in
	artifactfs)
		"$ROOT/build/fs/artifactfs" "$mnt" -f -o "remote=s3://$AFS_TEST_SWIFT_BUCKET/mnt-artifactfs,endpoint=$AFS_TEST_SWIFT_ENDPOINT,cache_dir=$cache,job=bench,workflow=bench,project=bench" \
			</dev/null >"$MB_LOG" 2>&1 &
		;;
	s3fs)
		# Keys through the environment: the Swift key has a colon,
		# which s3fs's passwd file would split on.
		AWSACCESSKEYID=$AWS_ACCESS_KEY_ID \
			AWSSECRETACCESSKEY=$AWS_SECRET_ACCESS_KEY \
			s3fs "$AFS_TEST_SWIFT_BUCKET:/$(mb_prefix s3fs)" "$mnt" -f \
			-o url="$AFS_TEST_SWIFT_ENDPOINT" -o use_path_request_style \
			-o endpoint="$AWS_REGION" -o use_cache="$cache" \
			-o parallel_count=8 -o multipart_size=16 \
			</dev/null >"$MB_LOG" 2>&1 &
		;;
	rclone)
		# AWS_CA_BUNDLE (set on some machines) makes rclone's S3 SDK
		# fail with an unsupported-transport error; plain http here.
		env -u AWS_CA_BUNDLE RCLONE_CONFIG_BENCH_TYPE=s3 \
			RCLONE_CONFIG_BENCH_PROVIDER=Other \
			RCLONE_CONFIG_BENCH_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" \
			RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
			RCLONE_CONFIG_BENCH_ENDPOINT="$AFS_TEST_SWIFT_ENDPOINT" \
			RCLONE_CONFIG_BENCH_REGION="$AWS_REGION" \
			RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true \
			rclone mount "bench:$AFS_TEST_SWIFT_BUCKET/$(mb_prefix rclone)" \
			"$mnt" --config /dev/null --vfs-cache-mode full \
			--vfs-write-back "$MB_RCLONE_WRITE_BACK" \
			--cache-dir "$cache" </dev/null >"$MB_LOG" 2>&1 &
		;;
	esac
	MB_PID=$! MB_MNT=$mnt
	MOUNT_PIDS+=("$MB_PID")
	MOUNTS+=("$mnt")
	local deadline=$((SECONDS + 30))
	until mountpoint -q "$mnt"; do
		if ! mb_alive "$MB_PID" || ((SECONDS >= deadline)); then
			echo "bench: $tool did not mount $mnt; its output:" >&2
			tail -n 20 "$MB_LOG" | sed 's/^/bench:   /' >&2
			mb_unmount_cur
			return 1
		fi
		sleep 0.1
	done
	if [[ ! -d "$(mb_dir "$tool")" ]]; then
		echo "bench: $tool: $(mb_dir "$tool") is not a directory" >&2
		mb_unmount_cur
		return 1
	fi
}

# mb_unmount_cur -- unmount the current mount and wait for its daemon;
# show what artifactfs logged (it logs only trouble unless -d).
mb_unmount_cur() {
	mb_umount "$MB_MNT"
	# artifactfs must exit by itself once unmounted (a hang there is a
	# finding); rclone often lingers after the unmount and gets SIGTERM.
	if [[ "$MB_LOG" == *artifactfs* ]]; then
		mb_stop_pid "$MB_PID" 30
	else
		mb_stop_pid "$MB_PID" 5
	fi
	mb_forget MOUNTS "$MB_MNT"
	mb_forget MOUNT_PIDS "$MB_PID"
	# Beyond its "mounted ..." line, artifactfs logs only trouble.
	if [[ "$MB_LOG" == *artifactfs* ]] &&
		grep -qv '^artifactfs: mounted ' "$MB_LOG"; then
		echo "bench: artifactfs wrote to its log ($MB_LOG):" >&2
		grep -v '^artifactfs: mounted ' "$MB_LOG" | tail -n 15 |
			sed 's/^/bench:   /' >&2
	fi
	MB_PID="" MB_MNT=""
}

# mb_fail_tail LOG -- the end of a failed step's output, indented.
mb_fail_tail() {
	tail -n 5 "$1" | sed 's/^/bench:   /' >&2
	if [[ -n "$MB_LOG" ]]; then
		echo "bench:   mount log ($MB_LOG):" >&2
		tail -n 10 "$MB_LOG" | sed 's/^/bench:     /' >&2
	fi
}

# mb_timed TEST TOOL CMD... -- run CMD (bounded), output to a log; set
# MB_RES[TEST,TOOL] to its wall seconds, or FAIL.  MB_STEP_LOG is the log.
mb_timed() {
	local test=$1 tool=$2 t0 t1 rc=0
	shift 2
	TIMED_N=$((TIMED_N + 1))
	MB_STEP_LOG=$WORK/log/$(printf '%02d' "$TIMED_N")-$test-$tool.log
	t0=$(afs_now)
	timeout -k 10 "$MB_STEP_TIMEOUT" "$@" >"$MB_STEP_LOG" 2>&1 || rc=$?
	if ((rc == 0)); then
		t1=$(afs_now)
		MB_RES[$test,$tool]=$(awk -v a="$t0" -v b="$t1" \
			'BEGIN { printf "%.3f", b - a }')
		echo "bench:   $tool $test: ${MB_RES[$test,$tool]} s" >&2
		return 0
	fi
	MB_RES[$test,$tool]=FAIL
	echo "bench: $tool $test FAILED (status $rc, limit" \
		"${MB_STEP_TIMEOUT}s): $*" >&2
	mb_fail_tail "$MB_STEP_LOG"
	return 1
}

# mb_find_python -- a python3 that has botocore (awscli's), for polling.
mb_find_python() {
	local p aws
	aws=$(afs_find_tool aws 2>/dev/null || true)
	if [[ -n "$aws" ]] && command -v pyenv >/dev/null &&
		[[ "$aws" == */shims/* ]]; then
		aws=$(pyenv which aws 2>/dev/null || true)
	fi
	for p in "$(sed -n '1s/^#! *//p' "$aws" 2>/dev/null)" python3 \
		"${PYENV_ROOT:-$HOME/.pyenv}"/versions/*/bin/python3; do
		[[ -n "$p" ]] || continue
		if "$p" -c 'import botocore' 2>/dev/null; then
			MB_PY=$p
			return 0
		fi
	done
	echo "bench: no python with botocore; 'stored' times will be FAIL" >&2
	return 1
}

# mb_s3 CMD ARGS... -- the botocore helper against the bench Swift:
#   wait-object KEY SIZE GO    once the file GO exists (it holds the start
#                              time T0, epoch seconds), print seconds from
#                              T0 to the start of the first HEAD that
#                              found KEY with SIZE bytes
#   wait-tree PREFIX DIR GO    same, for a ListObjectsV2 of PREFIX/ that
#                              holds every file of DIR with its size
# (started before the timed command, so Python's start-up is not timed)
#   verify-object KEY FILE     GET KEY == FILE, byte for byte
#   verify-tree PREFIX DIR     GET of every file of DIR under PREFIX/
# Waits give up after AFS_BENCH_STORE_TIMEOUT and print FAIL.
mb_s3() {
	if [[ -z "$MB_PY" ]]; then
		echo FAIL
		return 1
	fi
	MB_TIMEOUT=$MB_STORE_TIMEOUT "$MB_PY" - "$@" <<'EOF'
import hashlib, os, sys, time
from concurrent.futures import ThreadPoolExecutor
import botocore.session
from botocore.config import Config

cli = botocore.session.get_session().create_client(
    "s3", endpoint_url=os.environ["AFS_TEST_SWIFT_ENDPOINT"],
    region_name=os.environ.get("AFS_TEST_SWIFT_REGION", "us-east-1"),
    aws_access_key_id=os.environ["AFS_TEST_SWIFT_KEY"],
    aws_secret_access_key=os.environ["AFS_TEST_SWIFT_SECRET"],
    config=Config(s3={"addressing_style": "path"}, max_pool_connections=16,
                  retries={"max_attempts": 3}))
bucket = os.environ["AFS_TEST_SWIFT_BUCKET"]
limit = float(os.environ.get("MB_TIMEOUT", "600"))

def manifest(d):
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            out[os.path.relpath(p, d)] = p
    return out

def listing(prefix):
    got, token = {}, None
    while True:
        kw = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kw["ContinuationToken"] = token
        r = cli.list_objects_v2(**kw)
        for o in r.get("Contents", []):
            got[o["Key"][len(prefix):]] = o["Size"]
        if not r.get("IsTruncated"):
            return got
        token = r["NextContinuationToken"]

def wait(go, probe):
    deadline = time.time() + limit
    while not os.path.exists(go):
        if time.time() > deadline:
            print("FAIL")
            return 1
        time.sleep(0.005)
    with open(go) as f:
        t0 = float(f.read())
    while True:
        t = time.time()
        try:
            ok = probe()
        except cli.exceptions.ClientError:
            ok = False
        if ok:
            print("%.3f" % (t - t0))
            return 0
        if t - t0 > limit:
            print("FAIL")
            return 1
        time.sleep(0.05)

def same(key, path):
    body = cli.get_object(Bucket=bucket, Key=key)["Body"]
    h1, h2 = hashlib.sha256(), hashlib.sha256()
    for chunk in iter(lambda: body.read(1 << 20), b""):
        h1.update(chunk)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h2.update(chunk)
    return h1.digest() == h2.digest()

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "wait-object":
    key, size, go = args[0], int(args[1]), args[2]
    sys.exit(wait(go, lambda: cli.head_object(Bucket=bucket, Key=key)
                  ["ContentLength"] == size))
if cmd == "wait-tree":
    prefix, files, go = args[0] + "/", manifest(args[1]), args[2]
    sizes = {k: os.path.getsize(p) for k, p in files.items()}
    def complete():
        got = listing(prefix)
        return all(got.get(k) == s for k, s in sizes.items())
    sys.exit(wait(go, complete))
if cmd == "verify-object":
    if not same(args[0], args[1]):
        print("different bytes: %s" % args[0])
        sys.exit(1)
    sys.exit(0)
if cmd == "verify-tree":
    prefix, files = args[0] + "/", manifest(args[1])
    def check(item):
        try:
            return None if same(prefix + item[0], item[1]) else item[0]
        except Exception as e:
            return "%s (%s)" % (item[0], e)
    with ThreadPoolExecutor(8) as ex:
        bad = [b for b in ex.map(check, sorted(files.items())) if b]
    for b in bad[:10]:
        print("different or missing: %s" % b)
    sys.exit(1 if bad else 0)
sys.exit("unknown command " + cmd)
EOF
}

# mb_make_ls_tree -- $WORK/src/ls: MB_LS_N files of 100-1000 bytes.
mb_make_ls_tree() {
	/usr/bin/python3 - "$WORK/src/ls" "$MB_LS_N" <<'EOF'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
os.makedirs(root, exist_ok=True)
for i in range(n):
    with open(os.path.join(root, "file%05d.txt" % i), "wb") as f:
        f.write(os.urandom(rng.randint(100, 1000)))
EOF
}

# mb_plant -- for every tool, before anything is timed: the big object
# with aws s3 cp, the ls/ tree with artifact push (parallel), and for the
# peers a marker for the prefix they mount.
mb_plant() {
	local tool log=$WORK/log/plant.log t0
	t0=$(afs_now)
	for tool in "${MB_TOOLS[@]}"; do
		echo "bench: planting read/big.bin and ls/ ($MB_LS_N files)" \
			"for $tool" >&2
		awsc s3 cp --only-show-errors "$WORK/src/big.bin" \
			"$S3/$(mb_prefix "$tool")/read/big.bin" >>"$log" 2>&1 ||
			{ echo "bench: planting failed; see $log" >&2; return 1; }
		ARTIFACT_REMOTE="s3://$AFS_TEST_SWIFT_BUCKET/mnt-$tool" \
			SEMAPHORE_JOB_ID=bench "$ART" push job "$WORK/src/ls" \
			-d ls -f >>"$log" 2>&1 ||
			{ echo "bench: planting failed; see $log" >&2; return 1; }
		if [[ "$tool" != artifactfs ]]; then
			awsc s3api put-object --bucket "$AFS_TEST_SWIFT_BUCKET" \
				--key "$(mb_prefix "$tool")/" >>"$log" 2>&1
		fi
	done
	echo "bench: planted in $(afs_elapsed "$t0")s" >&2
}

# mb_read_tests TOOL -- (a) cold read, (b) warm re-read, then cmp.
mb_read_tests() {
	local tool=$1 f
	mb_mount "$tool" || return 0
	f=$(mb_dir "$tool")/read/big.bin
	mb_timed a "$tool" dd if="$f" of=/dev/null bs=1M status=none
	mb_timed b "$tool" dd if="$f" of=/dev/null bs=1M status=none
	if ! timeout -k 10 "$MB_STEP_TIMEOUT" cmp "$f" "$WORK/src/big.bin" \
		>"$WORK/log/cmp-$tool.log" 2>&1; then
		echo "bench: $tool: read/big.bin read back WRONG:" \
			"$(head -c 300 "$WORK/log/cmp-$tool.log")" >&2
		[[ ${MB_RES[a,$tool]} == FAIL ]] || MB_RES[a,$tool]=BAD
		[[ ${MB_RES[b,$tool]} == FAIL ]] || MB_RES[b,$tool]=BAD
	fi
	mb_unmount_cur
}

# mb_ls_fio_tests TOOL -- (e) cold ls -l of ls/, (f) fio random reads.
mb_ls_fio_tests() {
	local tool=$1 d n out
	mb_mount "$tool" || return 0
	d=$(mb_dir "$tool")
	if mb_timed e "$tool" ls -l "$d/ls"; then
		n=$(grep -c '^-' "$MB_STEP_LOG" || true)
		if ((n != MB_LS_N)); then
			echo "bench: $tool: ls -l showed $n files, not $MB_LS_N" >&2
			MB_RES[e,$tool]=BAD
		fi
	fi
	out=$WORK/log/fio-$tool.json
	TIMED_N=$((TIMED_N + 1))
	MB_STEP_LOG=$WORK/log/$(printf '%02d' "$TIMED_N")-f-$tool.log
	if timeout -k 10 "$((MB_FIO_SECS + MB_STEP_TIMEOUT))" fio --name=r \
		--filename="$d/read/big.bin" --readonly --rw=randread --bs=4k \
		--direct=0 --ioengine=psync --numjobs=4 --time_based \
		--runtime="$MB_FIO_SECS" --group_reporting \
		--output-format=json --output="$out" >"$MB_STEP_LOG" 2>&1; then
		MB_RES[f,$tool]=$(/usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
print("FAIL" if j["error"] else "%.0f" % j["read"]["iops"])' "$out" 2>>"$MB_STEP_LOG" ||
			echo FAIL)
	else
		MB_RES[f,$tool]=FAIL
	fi
	if [[ ${MB_RES[f,$tool]} == FAIL ]]; then
		echo "bench: $tool f (fio) FAILED" >&2
		mb_fail_tail "$MB_STEP_LOG"
	else
		echo "bench:   $tool f: ${MB_RES[f,$tool]} IOPS" >&2
	fi
	mb_unmount_cur
}

# mb_write_test TEST TOOL SRC NAME -- cp (-r for a directory) SRC to NAME
# in TOOL's tree: MB_RES[TEST_cp,TOOL] is until cp returns,
# MB_RES[TEST_st,TOOL] until the server holds all of it; then a GET of
# everything, compared with SRC.
mb_write_test() {
	local test=$1 tool=$2 src=$3 name=$4 t0 t1 key dest go out pid
	dest=$(mb_dir "$tool")/$name
	key=$(mb_prefix "$tool")/$name
	TIMED_N=$((TIMED_N + 1))
	MB_STEP_LOG=$WORK/log/$(printf '%02d' "$TIMED_N")-$test-$tool.log
	go=$WORK/log/go-$TIMED_N out=$WORK/log/stored-$TIMED_N
	MB_RES[${test}_cp,$tool]=FAIL MB_RES[${test}_st,$tool]=FAIL
	# The poller starts first and waits for $go (holding t0), so its
	# start-up is not counted and it does not load the server during cp.
	if [[ -d "$src" ]]; then
		mb_s3 wait-tree "$key" "$src" "$go" >"$out" 2>&1 &
	else
		mb_s3 wait-object "$key" "$(stat -c %s "$src")" "$go" \
			>"$out" 2>&1 &
	fi
	pid=$!
	t0=$(afs_now)
	if ! timeout -k 10 "$MB_STEP_TIMEOUT" cp -r "$src" "$dest" \
		>"$MB_STEP_LOG" 2>&1; then
		echo "bench: $tool $test FAILED: cp -r $src $dest" >&2
		mb_fail_tail "$MB_STEP_LOG"
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		return 0
	fi
	t1=$(afs_now)
	echo "$t0" >"$go.tmp" && mv "$go.tmp" "$go"
	MB_RES[${test}_cp,$tool]=$(awk -v a="$t0" -v b="$t1" \
		'BEGIN { printf "%.3f", b - a }')
	wait "$pid" || true
	MB_RES[${test}_st,$tool]=$(tail -n 1 "$out")
	[[ ${MB_RES[${test}_st,$tool]} =~ ^[0-9.]+$ ]] ||
		MB_RES[${test}_st,$tool]=FAIL
	echo "bench:   $tool $test: cp ${MB_RES[${test}_cp,$tool]} s," \
		"stored ${MB_RES[${test}_st,$tool]} s" >&2
	if [[ ${MB_RES[${test}_st,$tool]} == FAIL ]]; then
		echo "bench: $tool $test: not all on the server within" \
			"${MB_STORE_TIMEOUT}s" >&2
		return 0
	fi
	local v
	if [[ -d "$src" ]]; then
		v=$(mb_s3 verify-tree "$key" "$src" 2>&1) || v="BAD $v"
	else
		v=$(mb_s3 verify-object "$key" "$src" 2>&1) || v="BAD $v"
	fi
	if [[ "$v" == BAD* ]]; then
		echo "bench: $tool $test: the server holds WRONG data: $v" >&2
		MB_RES[${test}_st,$tool]=BAD
	fi
}

# mb_write_tests TOOL -- (c) and (d) on one fresh mount.
mb_write_tests() {
	local tool=$1
	mb_mount "$tool" || return 0
	mb_write_test c "$tool" "$WORK/src/big.bin" w-big.bin
	mb_write_test d "$tool" "$WORK/src/small" small
	mb_unmount_cur
}

# mb_report -- the mount table: per test each tool's result, the ratio
# to the best peer (> 1: artifactfs better) and the issue's target.
mb_report() {
	local big=$BIG_BYTES rows=() row id kind target label tool vals
	rows=(
		"a|time|1.3|$big|(a) cold read ${BIG_LABEL}"
		"b|time|1.5|$big|(b) warm re-read ${BIG_LABEL}"
		"c_cp|time|-|$big|(c) write ${BIG_LABEL}: cp returned"
		"c_st|time|2.5|$big|(c) write ${BIG_LABEL}: stored"
		"d_cp|time|-|$SMALL_BYTES|(d) cp -r $SMALL_N small: returned"
		"d_st|time|1.5|$SMALL_BYTES|(d) cp -r $SMALL_N small: stored"
		"e|time|2.0|0|(e) ls -l $MB_LS_N files, cold"
		"f|rate|1.2|0|(f) fio 4K randread ${MB_FIO_SECS}s (IOPS)"
	)
	echo
	echo "Mount benchmarks (Swift on loopback, $(nproc) cores; times in" \
		"seconds, MB/s in brackets; one run each)"
	printf '%-34s' test
	for tool in "${MB_TOOLS[@]}"; do
		printf ' %17s' "$tool"
	done
	printf ' %8s %8s %6s\n' ratio target met
	printf '%s\n' "$(printf '%.0s-' $(seq 1 $((60 + 18 * ${#MB_TOOLS[@]}))))"
	for row in "${rows[@]}"; do
		IFS='|' read -r id kind target bytes label <<<"$row"
		vals=()
		for tool in "${MB_TOOLS[@]}"; do
			vals+=("${MB_RES[$id,$tool]:-FAIL}")
		done
		awk -v label="$label" -v kind="$kind" -v target="$target" \
			-v bytes="$bytes" -v vals="${vals[*]}" -v tools="${MB_TOOLS[*]}" '
		function num(s) { return s ~ /^[0-9]+(\.[0-9]+)?$/ }
		function cell(s) {
			if (!num(s)) return s
			if (kind == "rate") return sprintf("%d", s)
			if (bytes > 0 && s > 0)
				return sprintf("%.2f (%.0f)", s, bytes / 1048576 / s)
			return sprintf("%.2f", s)
		}
		BEGIN {
			n = split(vals, v, " "); split(tools, t, " ")
			printf "%-34s", label
			ours = ""; best = ""
			for (i = 1; i <= n; i++) {
				printf " %17s", cell(v[i])
				if (t[i] == "artifactfs") { ours = v[i]; continue }
				if (!num(v[i])) continue
				if (best == "" || (kind == "time" && v[i] + 0 < best + 0) ||
				    (kind == "rate" && v[i] + 0 > best + 0))
					best = v[i]
			}
			ratio = "-"
			if (num(ours) && ours > 0 && best != "" && best > 0)
				ratio = sprintf("%.2f", kind == "time" ? best / ours : ours / best)
			met = "-"
			if (target != "-" && ratio != "-")
				met = (ratio + 0 >= target + 0) ? "yes" : "NO"
			if (target != "-" && !num(ours))
				met = "NO"
			printf " %8s %8s %6s\n", ratio, (target == "-" ? "-" : ">=" target "x"), met
		}'
	done
	echo
	echo "ratio: times: best peer / artifactfs; IOPS: artifactfs / best" \
		"peer; > 1 means artifactfs is better.  (e)'s target >=2.0x is" \
		"\"at most half the time\"."
	echo "FAIL: the command failed or timed out; BAD: wrong data." \
		"Page cache not dropped between tools (no root games)."
	echo "s3fs $(s3fs --version 2>&1 | sed -n '1s/.*V\([0-9.]*\).*/\1/p'):" \
		"use_cache, parallel_count=8, multipart_size=16;" \
		"rclone $(rclone version 2>/dev/null | sed -n '1s/^rclone //p'):" \
		"--vfs-cache-mode full --vfs-write-back $MB_RCLONE_WRITE_BACK;" \
		"artifactfs: defaults (block_size 4M, cache_size 2G)."
}

# bench_mount -- plant, run every tool in turn, print the table.
bench_mount() {
	local tool
	if [[ ! -e /dev/fuse ]]; then
		echo "bench: no /dev/fuse; skipping mount benchmarks" >&2
		return 0
	fi
	read -r -a MB_TOOLS <<<"${AFS_BENCH_TOOLS:-artifactfs s3fs rclone}"
	mb_find_python || true
	mb_make_ls_tree
	mb_plant || return 1
	for tool in "${MB_TOOLS[@]}"; do
		echo "bench: mount benchmarks with $tool" >&2
		mb_read_tests "$tool"
		mb_ls_fio_tests "$tool"
		mb_write_tests "$tool"
	done
	MB_REPORT=$(mb_report)
}
