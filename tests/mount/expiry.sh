#!/usr/bin/env bash
# tests/mount/expiry.sh BACKEND ARTIFACTFS_BIN ARTIFACT_BIN -- expiry and
# integrity through extended attributes on real mounts (README, "Expiry, through extended attributes"):
# user.expire_in / user.expires_at / user.sha256 on files and directories,
# seen from a second mount and from the artifact command; expired files gone
# for readers at once and deleted from the remote by the sweeper; bad values
# change nothing.  Same harness and output as run.sh (tests/mount/lib.sh).
set -u

USAGE="usage: expiry.sh file|moto|swift ARTIFACTFS_BIN ARTIFACT_BIN"
BACKEND=${1:?$USAGE}
FS=${2:?$USAGE}
A=${3:?$USAGE}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FS=$(cd "$(dirname "$FS")" && pwd)/$(basename "$FS")
A=$(cd "$(dirname "$A")" && pwd)/$(basename "$A")
# shellcheck source=lib.sh
source "$HERE/lib.sh"

if ! command -v setfattr >/dev/null || ! command -v getfattr >/dev/null; then
	echo "SKIP: setfattr/getfattr missing (apt-get install attr)"
	exit 77
fi

# xa NAME FILE -- the value of an extended attribute, or "" on failure.
xa() {
	t getfattr --absolute-names --only-values -n "$1" "$2" 2>/dev/null
}

# stored KEY -- whether the object KEY (under the job store) is on the remote.
stored() {
	local key="artifacts/jobs/$JOB/$1"
	if [[ $BACKEND == file ]]; then
		test -e "$STORE/$key~"
	else
		t aws --endpoint-url "$ENDPOINT" --region "$AWS_REGION" s3api \
			head-object --bucket "$BUCKET" --key "$PREFIX/$key" \
			>/dev/null 2>&1
	fi
}

not_stored() { ! stored "$1"; }

# remote_meta KEY NAME -- x-amz-meta-NAME of job object KEY (S3 only).
remote_meta() {
	t aws --endpoint-url "$ENDPOINT" --region "$AWS_REGION" s3api \
		head-object --bucket "$BUCKET" --key "$PREFIX/artifacts/jobs/$JOB/$1" \
		--query "Metadata.\"$2\"" --output text 2>/dev/null
}

M2=$WORK/mnt2
# A short sweep interval on the first mount; none on the second, so what
# the second one sees is the remote's doing, not its own sweeper's.
if ! mount_fs "$M" "$LOG" "$OPTS,sweep_interval=1"; then
	not_ok "mount"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi
if ! mount_fs "$M2" "$WORK/second.log" "$OPTS2,sweep_interval=0"; then
	not_ok "second mount"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi
J=$M/job
J2=$M2/job

# ---- a file's expiry, seen everywhere --------------------------------------

echo report >src/report.txt
t cp src/report.txt "$J/report.txt"
check "a new file has no expiry" test "$(xa user.expires_at "$J/report.txt")" = never
run setfattr -n user.expire_in -v 2w "$J/report.txt"
check "setfattr user.expire_in 2w succeeds (${ERR:0:200})" test "$RC" -eq 0
at=$(xa user.expires_at "$J/report.txt")
want=$(date -u -d "+14 days" +%s)
got=$(date -u -d "$at" +%s 2>/dev/null || echo 0)
check "user.expires_at is RFC 3339 UTC two weeks ahead ($at)" \
	test "${at: -1}" = Z -a $((got - want)) -le 5 -a $((want - got)) -le 5
sleep 1.2 # metadata_ttl
check "the second mount sees the same expiry" \
	test "$(xa user.expires_at "$J2/report.txt")" = "$at"
if [[ $BACKEND != file ]]; then
	check "the object carries x-amz-meta-expires-at" \
		test "$(remote_meta report.txt expires-at)" = "$at"
fi
check "the content is untouched by the metadata change" \
	same src/report.txt "$J2/report.txt"

# Bad values change nothing.
fails_with "an unknown duration is EINVAL" "Invalid argument" \
	setfattr -n user.expire_in -v "3 parsecs" "$J/report.txt"
fails_with "zero is EINVAL" "Invalid argument" \
	setfattr -n user.expire_in -v 0d "$J/report.txt"
fails_with "an absolute time in the past is EINVAL" "Invalid argument" \
	setfattr -n user.expires_at -v 2001-01-01T00:00:00Z "$J/report.txt"
fails_with "a duration that overflows is EINVAL, not never" "Invalid argument" \
	setfattr -n user.expire_in -v 10000y "$J/report.txt"
fails_with "an expiry past 9999-12-31 is EINVAL" "Invalid argument" \
	setfattr -n user.expire_in -v 8000y "$J/report.txt"
fails_with "a time past 9999-12-31T23:59:59Z is EINVAL" "Invalid argument" \
	setfattr -n user.expires_at -v 9999-12-31T23:59:59-01:00 "$J/report.txt"
# "2w", a NUL, "junk" (setfattr's 0x form sends the bytes as they are).
fails_with "a value with a NUL inside is EINVAL" "Invalid argument" \
	setfattr -n user.expire_in -v 0x3277006a756e6b "$J/report.txt"
check "after bad values the old expiry stands" \
	test "$(xa user.expires_at "$J/report.txt")" = "$at"

run setfattr -n user.expires_at -v 2031-05-06T07:08:09Z "$J/report.txt"
check "setfattr user.expires_at sets an absolute time" \
	test "$RC" -eq 0 -a "$(xa user.expires_at "$J/report.txt")" = 2031-05-06T07:08:09Z
run setfattr -n user.expire_in -v "3 weeks and 2 days" "$J/report.txt"
check "GitLab's spelled-out durations work" test "$RC" -eq 0
run setfattr -x user.expire_in "$J/report.txt"
check "setfattr -x user.expire_in removes the expiry" \
	test "$RC" -eq 0 -a "$(xa user.expires_at "$J/report.txt")" = never
run setfattr -n user.expire_in -v 1d "$J/report.txt"
run setfattr -n user.expire_in -v never "$J/report.txt"
check "the value 'never' removes it too" \
	test "$(xa user.expires_at "$J/report.txt")" = never

# ---- the names that refuse -------------------------------------------------

fails_with "the root refuses an expiry (EROFS)" "Read-only file system" \
	setfattr -n user.expire_in -v 1d "$M"
fails_with "a level directory refuses an expiry (EPERM)" \
	"Operation not permitted" setfattr -n user.expire_in -v 1d "$J"
fails_with "other user.* names are not stored (ENOTSUP)" "not supported" \
	setfattr -n user.colour -v blue "$J/report.txt"
fails_with "an unknown name reads as ENODATA" "No such attribute" \
	getfattr -n user.colour "$J/report.txt"
fails_with "user.sha256 is read-only" "Operation not permitted" \
	setfattr -n user.sha256 -v 00 "$J/report.txt"

# ---- user.sha256 -----------------------------------------------------------

check "user.sha256 is the content's SHA-256" \
	test "$(xa user.sha256 "$J/report.txt")" = "$(sha src/report.txt)"
run getfattr -d "$J/report.txt"
check "getfattr -d lists user.sha256" test -z "${OUT##*user.sha256=*}"
if [[ $BACKEND != file ]]; then
	head -c 70000 /dev/urandom >src/foreign.bin
	plant "artifacts/jobs/$JOB/foreign.bin" src/foreign.bin
	check "a foreign object has no stored digest" \
		test "$(remote_meta foreign.bin sha256)" = None
	check "user.sha256 of a foreign object is computed" \
		test "$(xa user.sha256 "$J/foreign.bin")" = "$(sha src/foreign.bin)"
	check "...and stored on the object" \
		test "$(remote_meta foreign.bin sha256)" = "$(sha src/foreign.bin)"
	check "...without changing its content" same src/foreign.bin "$J2/foreign.bin"
fi

# ---- directories: every file beneath, and files created later --------------

t mkdir -p "$J/logs/deep"
echo a >"$J/logs/a.log"
echo b >"$J/logs/deep/b.log"
run setfattr -n user.expire_in -v 30d "$J/logs"
check "setfattr on a directory succeeds (${ERR:0:200})" test "$RC" -eq 0
check "it set the files directly beneath" \
	test "$(xa user.expires_at "$J/logs/a.log")" != never
check "and the files deeper down" \
	test "$(xa user.expires_at "$J/logs/deep/b.log")" != never
check "the directory shows its rule" test "$(xa user.expire_in "$J/logs")" = 30d
echo c >"$J/logs/c.log"
check "a file created later beneath it inherits the expiry" \
	test "$(xa user.expires_at "$J/logs/c.log")" != never
sleep 1.2
echo d >"$J2/logs/deep/d.log"
check "so does a file created later from another mount" \
	test "$(xa user.expires_at "$J2/logs/deep/d.log")" != never
echo p >src/pushed.txt
run "$A" push job src/pushed.txt -d logs/deep/pushed.txt -j "$JOB"
sleep 1.2
check "so does a file pushed into it with artifact push (no -e)" \
	test "$RC" -eq 0 -a "$(xa user.expires_at "$J/logs/deep/pushed.txt")" != never
run "$A" push job src/pushed.txt -d logs/forever.txt -e never -j "$JOB"
sleep 1.2
check "while artifact push -e never overrides the rule" \
	test "$RC" -eq 0 -a "$(xa user.expires_at "$J/logs/forever.txt")" = never
echo e >"$J/elsewhere.txt"
check "a file outside the directory does not" \
	test "$(xa user.expires_at "$J/elsewhere.txt")" = never

# ---- expiry: gone at once for readers, then swept --------------------------

echo soon >"$J/soon.txt"
echo kept >"$J/kept.txt"
run setfattr -n user.expire_in -v 3s "$J/soon.txt"
check "a short expiry is accepted" test "$RC" -eq 0
check "before it passes the file is there" t test -e "$J2/soon.txt"
sleep 4.5
fails_with "after it passes, lookup fails with ENOENT" "No such file" \
	stat "$J2/soon.txt"
run ls "$J2"
check "and ls omits it" test -n "$OUT" -a -z "$(grep -x soon.txt <<<"$OUT")"
fails_with "artifact pull treats it as missing" "does not exist" \
	"$A" pull job soon.txt -d "$WORK/soon.pulled" -j "$JOB"
deadline=$((SECONDS + 30))
while stored soon.txt && ((SECONDS < deadline)); do
	sleep 0.5
done
check "the sweeper deleted it from the remote" not_stored soon.txt
check "and kept what has not expired" stored kept.txt
check "the sweeper logged what it swept" grep -q "swept" "$LOG"

# ---- -o job_expire_in gives new files an expiry ----------------------------

M3=$WORK/mnt3
if mount_fs "$M3" "$WORK/third.log" \
	"remote=$REMOTE$ENDPOINT_OPT,cache_dir=$WORK/cache3,$IDS,job_expire_in=1d,sweep_interval=0"; then
	echo x >"$M3/job/default.txt"
	at=$(xa user.expires_at "$M3/job/default.txt")
	want=$(date -u -d "+1 day" +%s)
	got=$(date -u -d "$at" +%s 2>/dev/null || echo 0)
	check "-o job_expire_in=1d gives new files a day ($at)" \
		test $((got - want)) -le 5 -a $((want - got)) -le 5
	check "but not files of other levels" \
		bash -c 'echo y >"$1" && test "$(getfattr --absolute-names --only-values -n user.expires_at "$1")" = never' \
		_ "$M3/workflow/other.txt"
	check "unmount" umount_fs "$M3"
else
	not_ok "mount with job_expire_in"
fi

check "unmount the second mount" umount_fs "$M2"
check "unmount the first mount" umount_fs "$M"

echo "$PASS passed, $FAIL failed"
((FAIL == 0))
