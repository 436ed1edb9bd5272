#!/usr/bin/env bash
# tests/posix/run.sh BACKEND FS ARTIFACT -- artifactfs's own POSIX
# conformance suite (posix.py) on a real mount of BACKEND (file, moto or
# swift), made by root with allow_other, so that the cases for another
# user (uid 65534) run too.  A second mount of the same store with
# metadata_ttl=0 shows what the remote holds.
set -u
BACKEND=$1
FS=$2
A=$3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../mount/lib.sh
source "$HERE/../mount/lib.sh"

if ((EUID != 0)); then
	echo "SKIP: the POSIX suite mounts with allow_other and switches users: run it as root"
	exit 77
fi
if ! command -v python3 >/dev/null; then
	echo "SKIP: python3 is missing"
	exit 77
fi

# Another user must be able to reach the mount.
chmod 755 "$WORK"
VIEW=$WORK/view
VIEW_OPTS="remote=$REMOTE$ENDPOINT_OPT,cache_dir=$WORK/cache-view"
VIEW_OPTS+=",job=$JOB,workflow=$WF,project=$PROJ,metadata_ttl=0"

if ! mount_fs "$M" "$LOG" "$OPTS,allow_other"; then
	not_ok "mount with allow_other"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi
if ! mount_fs "$VIEW" "$LOG.view" "$VIEW_OPTS"; then
	not_ok "second mount (the remote's view)"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi

TMO=600 t python3 "$HERE/posix.py" "$M/job" "$VIEW/job" \
	>"$WORK/posix.out" 2>&1
rc=$?
grep -v '^[0-9]* passed, [0-9]* failed$' "$WORK/posix.out"
summary=$(tail -n 1 "$WORK/posix.out")
if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
	PASS=$((PASS + BASH_REMATCH[1]))
	FAIL=$((FAIL + BASH_REMATCH[2]))
else
	not_ok "posix.py ran to its end (exit $rc)"
fi
((rc == 0 || FAIL > 0)) || not_ok "posix.py exited $rc"

check "the mount is still up after the suite" mountpoint -q "$M"
check "unmount of the view succeeds, the daemon exits 0" umount_fs "$VIEW"
check "unmount succeeds, the daemon exits 0" umount_fs "$M"
if ((FAIL)); then
	echo "# daemon log:"
	sed 's/^/#   /' "$LOG" | tail -n 30
fi
echo "$PASS passed, $FAIL failed"
((FAIL == 0))
