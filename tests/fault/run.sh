#!/usr/bin/env bash
# tests/fault/run.sh BACKEND FS ARTIFACT -- fault scenarios: artifactfs
# mounted through tests/fault/faultproxy.py in front of a real S3 server
# (moto or swift), the server's answers broken on purpose, a full cache
# disk, and a SIGKILL of the daemon.  Each scenario asserts right bytes or
# a clean error, the old version intact, consistent metadata, and that no
# wait outlives a hang detector several times the configured timeout (a
# bound on hangs, not a speed assertion).
set -u
BACKEND=$1
FS=$2
A=$3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
case $BACKEND in
moto | swift) ;;
*)
	echo "SKIP: fault scenarios need an S3 server (moto or swift)"
	exit 77
	;;
esac
# shellcheck source=../mount/lib.sh
source "$HERE/../mount/lib.sh"

TIMEOUT=4            # the mount's timeout= for these scenarios
HANG=$((TIMEOUT * 5)) # the hang detector

# ---- the proxy ---------------------------------------------------------------

python3 "$HERE/faultproxy.py" "$ENDPOINT" "$WORK/proxy.port" \
	>"$WORK/proxy.log" 2>&1 &
PRIVATE_PIDS+=("$!")
for _ in $(seq 100); do
	[[ -s $WORK/proxy.port ]] && break
	sleep 0.1
done
PROXY="http://127.0.0.1:$(cat "$WORK/proxy.port")"
fault() { curl -s --max-time 5 "$PROXY/__fault__/$1" >/dev/null; }
POPTS="remote=$REMOTE,endpoint=$PROXY,cache_dir=$WORK/cache,$IDS,timeout=$TIMEOUT"

# elapsed_ok SECONDS_START -- whether less than HANG seconds passed.
elapsed() { echo $((SECONDS - $1)); }

# slow_writer FILE -- write 4 MiB chunks of src/big.bin to FILE every
# 0.1 s, 400 MiB in all, keeping it open: parts go out while it writes,
# and it is still open when a scenario kills or stops the daemon.
slow_writer() {
	exec python3 -c '
import sys, time
with open(sys.argv[1], "wb") as f:
    chunk = open(sys.argv[2], "rb").read(4 << 20)
    for _ in range(100):
        f.write(chunk)
        f.flush()
        time.sleep(0.1)
' "$1" src/big.bin 2>/dev/null
}

head -c $((20 << 20)) /dev/urandom >src/big.bin
head -c 300000 /dev/urandom >src/small.bin
echo "the good old version" >src/old.txt

if ! mount_fs "$M" "$LOG" "$POPTS"; then
	not_ok "mount through the fault proxy"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi

# -- passing through --
run cp src/small.bin "$M/job/small.bin"
check "cp through the proxy works ($ERR)" test "$RC" -eq 0
check "... and reads back" same "$M/job/small.bin" src/small.bin

# -- a burst of 503 SlowDown --
fault "set?mode=status&arg=503&count=5&method=PUT"
run cp src/small.bin "$M/job/burst.bin"
check "5 x 503 on PUT: the retries ride it out ($ERR)" test "$RC" -eq 0
check "... and the bytes are right" \
	same "$(pulled job burst.bin)" src/small.bin
fault clear

# -- a server that stops answering a read --
t cp src/old.txt "$M/job/stall.txt"
umount_fs "$M" >/dev/null
mount_fs "$M" "$LOG" "$POPTS" # cold: nothing cached
t stat "$M/job/stall.txt" >/dev/null
fault "set?mode=stall&method=GET"
t0=$SECONDS
run cat "$M/job/stall.txt"
el=$(elapsed "$t0")
fault clear
check "a stalled GET fails the read ($RC: $ERR)" test "$RC" -ne 0
check "... within the hang detector (${el}s, timeout=$TIMEOUT)" \
	test "$el" -lt "$HANG"
echo "# a stalled read failed after ${el}s with timeout=$TIMEOUT"
check "... and reads right once the server answers again" \
	same "$M/job/stall.txt" src/old.txt

# -- a server that stops answering an upload --
fault "set?mode=stall&method=PUT"
t0=$SECONDS
run cp src/small.bin "$M/job/stall.txt"
el=$(elapsed "$t0")
fault clear
check "a stalled PUT fails cp ($RC: ${ERR:0:200})" test "$RC" -ne 0
check "... within the hang detector (${el}s, timeout=$TIMEOUT)" \
	test "$el" -lt "$HANG"
echo "# a stalled upload failed after ${el}s with timeout=$TIMEOUT"
check "... and the old version is intact" \
	same "$(pulled job stall.txt)" src/old.txt

# -- a GET body cut short, then one with a byte flipped --
t cp src/small.bin "$M/job/cut.bin"
umount_fs "$M" >/dev/null
mount_fs "$M" "$LOG" "$POPTS"
fault "set?mode=reset&count=1&method=GET"
run cmp "$M/job/cut.bin" src/small.bin
check "a GET body cut short: the read is right or fails ($RC)" \
	test "$RC" -eq 0 -o "$RC" -eq 2
fault clear
umount_fs "$M" >/dev/null
mount_fs "$M" "$LOG" "$POPTS"
fault "set?mode=flip&count=1&method=GET"
run cmp "$M/job/cut.bin" src/small.bin
check "a byte flipped on the wire is never served ($RC: ${OUT:0:100})" \
	test "$RC" -eq 0 -o "$RC" -eq 2
check "... it was fetched again: the read is right" test "$RC" -eq 0
fault clear

# -- a hostile server's listings --
mkdir -p "$M/job/h" 2>/dev/null
t cp src/old.txt "$M/job/h/one.txt"
sleep 1.2
fault "set?mode=list-loop&method=GET&path=list-type"
t0=$SECONDS
run ls "$M/job/h"
el=$(elapsed "$t0")
fault clear
check "a listing whose continuation token repeats fails, never loops ($RC, ${el}s)" \
	test "$RC" -ne 0 -a "$el" -lt "$HANG"
check "... and says why in the log" \
	grep -Eq "(listing|lookup) .*(failed|repeated)" "$LOG"
sleep 1.2
fault "set?mode=list-inject&method=GET&path=list-type&arg=x"
run ls "$M/job/h"
fault clear
check "a listing with a key outside the prefix asked for is served without it ($RC: $OUT)" \
	test "$RC" -eq 0 -a "$OUT" = one.txt
check "... and the key is logged as skipped" grep -q "outside the prefix" "$LOG"
sleep 1.2
fault "set?mode=list-inject&method=GET&path=list-type&arg=$PREFIX/artifacts/jobs/$JOB/h/../../../projects/x"
run ls "$M/job/h"
fault clear
check "a listing with a dot-segment key is served without it ($RC: $OUT)" \
	test "$RC" -eq 0 -a "$OUT" = one.txt
sleep 1.2
fault "set?mode=garbage&method=GET&path=list-type"
run ls "$M/job/h"
fault clear
check "garbled listing bodies fail the listing ($RC: ${ERR:0:100})" \
	test "$RC" -ne 0
check "... the daemon is still running" kill -0 "${MOUNT_PID[$M]}"
sleep 1.2
run ls "$M/job/h"
check "... and lists again once the server makes sense ($RC: $OUT)" \
	test "$RC" -eq 0 -a "$OUT" = one.txt
fault "set?mode=huge-header&count=1&method=HEAD"
run stat "$M/job/h/one.txt"
fault clear
check "a 1 MiB header is survived ($RC)" kill -0 "${MOUNT_PID[$M]}"
run cat "$M/job/h/one.txt"
check "... and the file still reads right" test "$OUT" = "$(cat src/old.txt)"

# -- SIGTERM while uploads are stuck on a stalled server --
t cp src/old.txt "$M/job/termed.bin"
fault "set?mode=stall&method=PUT"
slow_writer "$M/job/termed.bin" &
writer=$!
sleep 2
dpid=${MOUNT_PID[$M]}
t0=$SECONDS
kill -TERM "$dpid"
while kill -0 "$dpid" 2>/dev/null && (($(elapsed "$t0") < HANG)); do
	sleep 0.2
done
el=$(elapsed "$t0")
check "SIGTERM with uploads stuck on a stalled server: the daemon exits within the hang detector (${el}s, timeout=$TIMEOUT)" \
	bash -c "! kill -0 $dpid 2>/dev/null"
echo "# SIGTERM with stalled uploads: the daemon was gone after ${el}s"
kill -KILL "$dpid" 2>/dev/null
wait "$dpid" 2>/dev/null
unset "MOUNT_PID[$M]"
kill "$writer" 2>/dev/null
wait "$writer" 2>/dev/null
fault clear
check "... and nothing is left mounted" bash -c "! mountpoint -q '$M'"
timeout 10 fusermount3 -uz "$M" 2>/dev/null
check "... and the old version is intact" \
	same "$(pulled job termed.bin)" src/old.txt
mount_fs "$M" "$LOG" "$POPTS"

# -- a SIGKILL of the daemon in the middle of a write --
t cp src/old.txt "$M/job/killed.bin"
# A writer that keeps its file open: parts are uploaded while it writes,
# but it is never closed before the kill.
slow_writer "$M/job/killed.bin" &
writer=$!
sleep 2
kill -KILL "${MOUNT_PID[$M]}"
wait "$writer" 2>/dev/null
wait "${MOUNT_PID[$M]}" 2>/dev/null
unset "MOUNT_PID[$M]"
timeout 10 fusermount3 -uz "$M" 2>/dev/null
check "after a SIGKILL mid-write the old version is intact" \
	same "$(pulled job killed.bin)" src/old.txt
mount_fs "$M" "$LOG" "$POPTS"
check "... and a remount serves it" same "$M/job/killed.bin" src/old.txt

# -- two mounts writing one key at once --
# (Swift only: moto ignores x-amz-copy-source-if-match, so there the
# metadata copy is not conditional; README, "Integrity".)
M2=$WORK/mnt2
if [[ $BACKEND != swift ]]; then
	echo "# two writers of one key: not on $BACKEND (no conditional copy)"
elif mount_fs "$M2" "$LOG.m2" \
	"remote=$REMOTE,endpoint=$ENDPOINT,cache_dir=$WORK/cache2,$IDS"; then
	head -c $((20 << 20)) /dev/urandom >src/other.bin
	for _ in 1 2 3; do
		cp src/big.bin "$M/job/race.bin" 2>/dev/null &
		a=$!
		cp src/other.bin "$M2/job/race.bin" 2>/dev/null &
		b=$!
		wait "$a" "$b"
	done
	sleep 2 # both mounts' metadata copies
	run "$A" pull job race.bin -d "$WORK/race.pulled" -f -j "$JOB"
	check "two writers of one key: the object's SHA-256 is its own (pull checks it: ${ERR:0:200})" \
		test "$RC" -eq 0
	check "... and it is one writer's whole file" \
		bash -c "cmp -s '$WORK/race.pulled' src/big.bin || cmp -s '$WORK/race.pulled' src/other.bin"
	umount_fs "$M2" >/dev/null
else
	not_ok "a second mount"
fi

# -- cache_dir on a small tmpfs --
check "unmount succeeds" umount_fs "$M"
SMALL=$WORK/small-cache
mkdir -p "$SMALL"
if mount -t tmpfs -o size=16m tmpfs "$SMALL" 2>/dev/null; then
	t cp src/old.txt "$WORK/old.copy"
	if mount_fs "$M" "$LOG" "remote=$REMOTE,endpoint=$PROXY,cache_dir=$SMALL,cache_size=16M,$IDS,timeout=$TIMEOUT"; then
		t cp src/old.txt "$M/job/full.bin"
		t0=$SECONDS
		run cp src/big.bin "$M/job/full.bin"
		el=$(elapsed "$t0")
		check "a 20 MB cp through a 16 MB cache_dir succeeds: uploaded parts give their room back ($RC: ${ERR:0:200})" \
			test "$RC" -eq 0
		check "... within the hang detector (${el}s)" test "$el" -lt "$HANG"
		check "... and every byte is stored" \
			same "$(pulled job full.bin)" src/big.bin
		# A write that is not sequential cannot stream: it fails, and
		# the stored version stays.
		t cp src/old.txt "$M/job/full2.bin"
		run python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
chunk = open(sys.argv[2], "rb").read(1 << 20)
for i in range(20):
    os.pwrite(fd, chunk, (19 - i) << 20)   # backwards: no streaming
os.close(fd)
' "$M/job/full2.bin" src/big.bin
		check "a 20 MB random write through a 16 MB cache_dir fails ($RC)" \
			test "$RC" -ne 0
		check "... and the old version is intact" \
			same "$(pulled job full2.bin)" src/old.txt
		check "... and the reason is logged with the key" \
			grep -q "full2.bin" "$LOG"
		check "unmount succeeds" umount_fs "$M"
	else
		not_ok "mount with cache_dir on a 16 MB tmpfs"
	fi
	# cache_size larger than the disk: reads go on, from memory.
	t cp src/big.bin "$WORK/big.copy"
	art push job src/big.bin -d cold.bin -f -j "$JOB" >/dev/null 2>&1
	rm -rf "${SMALL:?}"/*
	if mount_fs "$M" "$LOG" "remote=$REMOTE,endpoint=$PROXY,cache_dir=$SMALL,cache_size=1G,$IDS,timeout=$TIMEOUT"; then
		check "a cache_size above the free space is warned about" \
			grep -q "cache_size 1.0 GiB is more than" "$LOG"
		t0=$SECONDS
		run cmp "$M/job/cold.bin" src/big.bin
		el=$(elapsed "$t0")
		check "a 20 MB read through a full 16 MB cache_dir is right ($RC)" \
			test "$RC" -eq 0
		check "... and ends within the hang detector (${el}s)" \
			test "$el" -lt "$HANG"
		run cmp "$M/job/cold.bin" src/big.bin
		check "... and so does a second pass ($RC)" test "$RC" -eq 0
		check "unmount succeeds" umount_fs "$M"
	else
		not_ok "mount with cache_size above the free space"
	fi
	umount "$SMALL"
else
	not_ok "mount a 16 MB tmpfs for cache_dir (needs root)"
fi

echo "$PASS passed, $FAIL failed"
((FAIL == 0))
