#!/usr/bin/env bash
# tests/mount/run.sh BACKEND ARTIFACTFS_BIN ARTIFACT_BIN -- real FUSE mounts
# of the built artifactfs against one backend (file, moto or swift), driven
# by ordinary tools (cp, dd, mv, truncate, cc, python3's mmap) and checked
# against what the remote holds, read back with the `artifact` command.
#
#   file    a fresh temporary directory as remote=file:///...
#   moto    AFS_TEST_MOTO_ENDPOINT/_KEY/_SECRET/_BUCKET/_REGION
#   swift   AFS_TEST_SWIFT_... (Swift + s3api, which checks signatures)
#
# Exits 77 (ctest: skipped), saying why, when /dev/fuse or fusermount3 is
# missing or the backend's variables are not set (scripts/test starts the
# servers).  Every S3 run works under its own random prefix of the bucket.
# Each mount runs in the foreground in the background (-f), logging to a
# file under the work directory; every operation on a mount runs under
# `timeout`, and the EXIT trap unmounts (fusermount3 -u, else -uz) and
# reaps every daemon by PID, so a hung mount cannot hang ctest.  Each check
# prints "ok - ..." or "not ok - ..."; the last line is "N passed, M
# failed" and the exit status is non-zero when anything failed.
set -u

USAGE="usage: run.sh file|moto|swift ARTIFACTFS_BIN ARTIFACT_BIN"
BACKEND=${1:?$USAGE}
FS=${2:?$USAGE}
A=${3:?$USAGE}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FS=$(cd "$(dirname "$FS")" && pwd)/$(basename "$FS")
A=$(cd "$(dirname "$A")" && pwd)/$(basename "$A")
# shellcheck source=lib.sh
source "$HERE/lib.sh"

# ---- the embedded default: nothing but job= --------------------------------

# Only the XDG directories: no remote, endpoint, credentials or IDs.
D=$WORK/default
mkdir -p "$D/data" "$D/cache" "$D/home"
DEFENV=(-u ARTIFACT_REMOTE -u AWS_ENDPOINT_URL -u AWS_ACCESS_KEY_ID
	-u AWS_SECRET_ACCESS_KEY -u AWS_REGION HOME="$D/home"
	XDG_DATA_HOME="$D/data" XDG_CACHE_HOME="$D/cache")
if mount_fs "$D/mnt" "$D/log" "job=$JOB" "${DEFENV[@]}"; then
	ok "mount with nothing but job= (embedded default store)"
	run ls "$D/mnt"
	check "only the configured level shows: ls gives 'job' ($OUT)" \
		test "$OUT" = "job"
	echo "embedded default" >src/default.txt
	run cp src/default.txt "$D/mnt/job/default.txt"
	check "cp into the default store's job/ ($ERR)" test "$RC" -eq 0
	check "the default store lives under \$XDG_DATA_HOME/artifactfs" \
		test -d "$D/data/artifactfs/artifacts/jobs/$JOB"
	run env "${DEFENV[@]}" "$A" pull job default.txt -d "$D/pulled.txt" \
		-j "$JOB"
	check "artifact (same defaults) pulls what the mount wrote ($ERR)" \
		same "$D/pulled.txt" src/default.txt
	check "fusermount3 -u of the default mount succeeds" umount_fs "$D/mnt"
else
	not_ok "mount with nothing but job= (embedded default store)"
fi

# ---- the main mount ---------------------------------------------------------

if ! mount_fs "$M" "$LOG" "$OPTS"; then
	not_ok "mount $REMOTE with job, workflow and project"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi
ok "mount $REMOTE with job, workflow and project"

run ls "$M"
check "ls MOUNT shows job project workflow ($(echo $OUT))" \
	test "$(echo $OUT)" = "job project workflow"
fails_with "the root is read-only: touch MOUNT/x fails (EROFS)" \
	"Read-only file system" touch "$M/x"
fails_with "the root is read-only: mkdir MOUNT/d fails (EROFS)" \
	"Read-only file system" mkdir "$M/d"
fails_with "a level cannot be removed" "" rmdir "$M/job"

# -- a 100 MiB file --
head -c $((100 << 20)) /dev/urandom >src/big.bin
BIG_SHA=$(sha src/big.bin)
TMO=300 run cp src/big.bin "$M/job/big.bin"
check "cp of a 100 MiB random file into job/ exits 0 ($ERR)" test "$RC" -eq 0
P=$(pulled job big.bin)
check "artifact pull of it has the source's sha256" \
	test "$(sha "$P")" = "$BIG_SHA"
rm -f "$P"
check "stat through the mount gives its size" \
	test "$(t stat -c %s "$M/job/big.bin")" = $((100 << 20))
check "reading it back through the mount matches (cat | sha256sum)" \
	test "$(TMO=300 t cat "$M/job/big.bin" | sha256sum | cut -d' ' -f1)" = "$BIG_SHA"

# -- random writes into an existing file --
head -c $((9 << 20)) /dev/urandom >src/rw.bin
head -c $((3 << 20)) /dev/urandom >src/patch.bin
t cp src/rw.bin "$M/job/rw.bin" || not_ok "cp src/rw.bin into the mount"
cp src/rw.bin src/rw.local
RW_OK=1
for spec in "0 1" "17 3" "1000 9" "1023 2" "2047 40" "2303 1"; do
	read -r seek count <<<"$spec"
	dd if=src/patch.bin of=src/rw.local bs=4k seek="$seek" count="$count" \
		conv=notrunc status=none
	t dd if=src/patch.bin of="$M/job/rw.bin" bs=4k seek="$seek" \
		count="$count" conv=notrunc status=none || RW_OK=0
done
check "dd conv=notrunc at six offsets into an existing 9 MiB file exits 0" \
	test "$RW_OK" = 1
check "the patched file reads back like the same dd on a local copy" \
	same "$M/job/rw.bin" src/rw.local
P=$(pulled job rw.bin)
check "the remote holds the patched bytes (artifact pull)" same "$P" src/rw.local

# -- append --
printf 'line one\n' >src/app.txt
t cp src/app.txt "$M/job/app.txt"
printf 'line two\n' >>src/app.txt
run bash -c 'printf "line two\n" >>"$1"' _ "$M/job/app.txt"
check "append with >> exits 0 ($ERR)" test "$RC" -eq 0
check "the appended file reads back whole" same "$M/job/app.txt" src/app.txt
P=$(pulled job app.txt)
check "the remote holds the appended file" same "$P" src/app.txt

# -- truncate --
head -c 5000000 /dev/urandom >src/tr.bin
t cp src/tr.bin "$M/job/tr.bin"
truncate -s 1234567 src/tr.bin
run truncate -s 1234567 "$M/job/tr.bin"
check "truncate -s to a smaller size exits 0 ($ERR)" test "$RC" -eq 0
check "the shortened file has the new size and the old head" \
	same "$M/job/tr.bin" src/tr.bin
truncate -s 7000000 src/tr.bin
run truncate -s 7000000 "$M/job/tr.bin"
check "truncate -s to a larger size exits 0 ($ERR)" test "$RC" -eq 0
check "the lengthened file reads back zero-filled" same "$M/job/tr.bin" src/tr.bin
P=$(pulled job tr.bin)
check "the remote holds the truncated file" same "$P" src/tr.bin
run truncate -s 0 "$M/job/tr.bin"
check "truncate -s 0 leaves an empty file" \
	test "$RC" -eq 0 -a "$(t stat -c %s "$M/job/tr.bin")" = 0

# -- sparse --
printf 'head' >src/sparse.bin
t cp src/sparse.bin "$M/job/sparse.bin"
dd if=src/patch.bin of=src/sparse.bin bs=4k seek=2500 count=1 conv=notrunc \
	status=none
run dd if=src/patch.bin of="$M/job/sparse.bin" bs=4k seek=2500 count=1 \
	conv=notrunc status=none
check "dd seek past the end exits 0 ($ERR)" test "$RC" -eq 0
check "the sparse file has the right size" \
	test "$(t stat -c %s "$M/job/sparse.bin")" = "$(stat -c %s src/sparse.bin)"
check "the hole reads as zeros" same "$M/job/sparse.bin" src/sparse.bin
P=$(pulled job sparse.bin)
check "the remote holds the sparse file" same "$P" src/sparse.bin

# -- mv --
echo "moving file" >src/mv.txt
t cp src/mv.txt "$M/job/mv.txt"
run mv "$M/job/mv.txt" "$M/workflow/moved.txt"
check "mv of a file from job/ to workflow/ exits 0 ($ERR)" test "$RC" -eq 0
check "the source name is gone" test ! -e "$M/job/mv.txt"
check "the moved file reads back" same "$M/workflow/moved.txt" src/mv.txt
P=$(pulled workflow moved.txt)
check "the remote holds it in the workflow store" same "$P" src/mv.txt
run "$A" pull job mv.txt -d "$WORK/gone.txt" -j "$JOB"
check "the remote no longer holds it in the job store" test "$RC" -ne 0

mkdir -p src/tree/sub/deeper "src/tree/with space"
echo one >src/tree/one.txt
echo two >src/tree/sub/two.txt
echo three >src/tree/sub/deeper/three.txt
echo four >"src/tree/with space/four.txt"
head -c 300000 /dev/urandom >src/tree/sub/blob.bin
run cp -r src/tree "$M/job/tree"
check "cp -r of a nested tree into job/ ($ERR)" test "$RC" -eq 0
run mv "$M/job/tree" "$M/workflow/tree2"
check "mv of a whole directory from job/ to workflow/ exits 0 ($ERR)" \
	test "$RC" -eq 0
check "the old directory is gone" test ! -e "$M/job/tree"
check "the moved tree equals the source (diff -r)" \
	t diff -r src/tree "$M/workflow/tree2"
sleep 1.2 # past metadata_ttl: ask the remote again
check "after metadata_ttl the moved tree still equals the source" \
	t diff -r src/tree "$M/workflow/tree2"
check "the old directory stays gone after metadata_ttl" test ! -e "$M/job/tree"
run "$A" pull workflow tree2 -d "$WORK/pulls/tree2" -w "$WF"
check "artifact pulls the moved tree from workflow ($ERR)" \
	t diff -r src/tree "$WORK/pulls/tree2"

# -- overwrite, replace, remove a tree --
head -c 2000000 /dev/urandom >src/ow.bin
echo short >src/ow2.txt
t cp src/ow.bin "$M/job/ow.bin"
run cp src/ow2.txt "$M/job/ow.bin"
check "cp over an existing larger file exits 0 ($ERR)" test "$RC" -eq 0
check "the overwritten file holds only the new content" \
	same "$M/job/ow.bin" src/ow2.txt
P=$(pulled job ow.bin)
check "the remote holds only the new content" same "$P" src/ow2.txt
echo replacement >src/rep.txt
t cp src/rep.txt "$M/job/rep-src.txt"
t cp src/ow.bin "$M/job/rep-dst.txt"
run mv "$M/job/rep-src.txt" "$M/job/rep-dst.txt"
check "mv onto an existing file exits 0 ($ERR)" test "$RC" -eq 0
check "the target holds the moved content" same "$M/job/rep-dst.txt" src/rep.txt
check "the moved name is gone" test ! -e "$M/job/rep-src.txt"
t mkdir -p "$M/job/rmtree/a/b"
t cp src/rep.txt "$M/job/rmtree/a/b/f"
t cp src/rep.txt "$M/job/rmtree/g"
run rm -rf "$M/job/rmtree"
check "rm -rf of a tree exits 0 ($ERR)" test "$RC" -eq 0
sleep 1.2
check "the removed tree stays gone" test ! -e "$M/job/rmtree"

# -- a change made elsewhere shows after metadata_ttl --
echo "version one" >src/ext.txt
t cp src/ext.txt "$M/job/ext.txt"
check "first version reads back" same "$M/job/ext.txt" src/ext.txt
echo "version two, longer than one" >src/ext.txt
run "$A" push job src/ext.txt -d ext.txt -f -j "$JOB"
check "artifact push -f replaces it from outside ($ERR)" test "$RC" -eq 0
sleep 1.5
check "after metadata_ttl the mount reads the new version, not cached bytes" \
	same "$M/job/ext.txt" src/ext.txt

# -- rm, mkdir, rmdir --
echo bye >src/rm.txt
t cp src/rm.txt "$M/job/rm.txt"
run rm "$M/job/rm.txt"
check "rm exits 0 ($ERR)" test "$RC" -eq 0
check "the removed file is gone" test ! -e "$M/job/rm.txt"
run "$A" pull job rm.txt -d "$WORK/rm.txt" -j "$JOB"
check "the removed file is gone from the remote" test "$RC" -ne 0

run mkdir "$M/job/newdir"
check "mkdir exits 0 ($ERR)" test "$RC" -eq 0
sleep 1.2
check "the empty directory persists past metadata_ttl" test -d "$M/job/newdir"
run ls "$M/job"
check "ls shows it" grep -qx newdir "$WORK/out"
echo x >src/inner.txt
t cp src/inner.txt "$M/job/newdir/inner.txt"
fails_with "rmdir of a non-empty directory fails with ENOTEMPTY" \
	"Directory not empty" rmdir "$M/job/newdir"
check "the file is still there" same "$M/job/newdir/inner.txt" src/inner.txt
t rm "$M/job/newdir/inner.txt"
run rmdir "$M/job/newdir"
check "rmdir of the emptied directory exits 0 ($ERR)" test "$RC" -eq 0
sleep 1.2
check "the removed directory stays gone" test ! -e "$M/job/newdir"

# -- links --
run ln -s ../some/target "$M/job/link"
check "ln -s exits 0 ($ERR)" test "$RC" -eq 0
check "readlink gives the target" \
	test "$(t readlink "$M/job/link")" = "../some/target"
sleep 1.2
check "readlink still gives the target after metadata_ttl" \
	test "$(t readlink "$M/job/link")" = "../some/target"
check "it is a symlink (stat %F)" \
	test "$(t stat -c %F "$M/job/link")" = "symbolic link"
echo target >src/hl.txt
t cp src/hl.txt "$M/job/hl.txt"
run ln "$M/job/hl.txt" "$M/job/hl2.txt"
check "a hard link fails ($ERR)" test "$RC" -ne 0 -a ! -e "$M/job/hl2.txt"

# -- an executable: chmod +x, remount, run --
cat >src/hello.c <<'EOF'
#include <stdio.h>
int main(void) { puts("hello from the mount"); return 0; }
EOF
if command -v cc >/dev/null && cc -o src/hello src/hello.c; then
	chmod 0644 src/hello
	t cp src/hello "$M/workflow/hello"
	check "the copied program has mode 644" \
		test "$(t stat -c %a "$M/workflow/hello")" = 644
	check "test -x (access X_OK) is false for it, as on a local disk" \
		test ! -x "$M/workflow/hello"
	run chmod +x "$M/workflow/hello"
	check "chmod +x of a compiled program exits 0 ($ERR)" test "$RC" -eq 0
	P=$(pulled workflow hello)
	check "the remote holds the exec bit (artifact pull gives mode 755)" \
		test "$(stat -c %a "$P")" = 755
	run cc -o "$M/workflow/hello-cc" src/hello.c
	check "cc -o writes a program straight into the mount ($ERR)" \
		test "$RC" -eq 0
	run "$M/workflow/hello-cc"
	check "the program cc wrote into the mount runs ($OUT $ERR)" \
		test "$OUT" = "hello from the mount"
else
	not_ok "cc cannot compile a test program"
fi

# -- mmap --
head -c 6000000 /dev/urandom >src/mm.bin
t cp src/mm.bin "$M/job/mm.bin"
run python3 -c '
import mmap, sys
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "rb") as g:
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    want = g.read()
    assert len(m) == len(want), (len(m), len(want))
    assert m[5000000:5000100] == want[5000000:5000100]
    assert m[:] == want
' "$M/job/mm.bin" src/mm.bin
check "an mmap read matches the source ($ERR)" test "$RC" -eq 0

# -- 2000 files in one directory --
mkdir -p src/many
for i in $(seq -w 1 2000); do echo "$i" >"src/many/f$i"; done
TMO=300 run "$A" push job src/many -d many -j "$JOB"
check "artifact push of 2000 files ($ERR)" test "$RC" -eq 0
# Pushed from outside the mount: visible once metadata_ttl has passed (a
# lookup miss in job/ just before may be answered from its listing).
sleep 1.2
run ls -l "$M/job/many"
check "ls -l of a directory of 2000 files lists 2000 entries" \
	test "$(grep -c '^-' "$WORK/out")" -eq 2000
check "a file in it reads back" \
	test "$(t cat "$M/job/many/f1999")" = "1999"

# -- file:// never follows a symlink in the store, and ignores strays --
if [[ $BACKEND == file ]]; then
	jobdir="$STORE/artifacts/jobs/$JOB"
	t cp src/old.txt "$M/job/real.txt" 2>/dev/null ||
		echo "real" >"$M/job/real.txt"
	mkdir -p "$WORK/outside"
	cp "$jobdir/real.txt~" "$WORK/outside/secret.txt~"
	ln -s "$WORK/outside" "$jobdir/evil"
	echo "not an object" >"$jobdir/stray"
	echo "not an object either" >"$jobdir/bad~"
	sleep 1.2
	run ls "$M/job"
	check "a listing with a symlink and stray files in the store works ($RC: ${ERR:0:200})" \
		test "$RC" -eq 0
	check "... and shows neither the symlink nor the strays" \
		bash -c "! grep -qx -e evil -e stray -e bad <<<\"\$1\"" _ "$OUT"
	run cat "$M/job/evil/secret.txt"
	check "an object behind a symlink is not read ($RC)" test "$RC" -ne 0
	run cp src/old.txt "$M/job/evil/new.txt"
	check "a write through a symlink in the store fails ($RC)" test "$RC" -ne 0
	check "... and creates nothing outside the store" \
		test ! -e "$WORK/outside/new.txt~"
	"$A" yank job evil/secret.txt -j "$JOB" >/dev/null 2>&1
	check "a delete through a symlink in the store leaves the target" \
		test -e "$WORK/outside/secret.txt~"
	rm -f "$jobdir/evil" "$jobdir/stray" "$jobdir/bad~"
fi

# -- planted keys with dot segments never reach outside their place --
if [[ $BACKEND != file ]]; then
	echo "the project's release" >src/victim.txt
	echo "planted" >src/planted2.txt
	if plant "artifacts/projects/$PROJ/victim.txt" src/victim.txt &&
		plant "artifacts/jobs/$JOB/y/../../../projects/$PROJ/victim.txt" src/planted2.txt &&
		plant "artifacts/jobs/$JOB/y/ok.txt" src/planted2.txt; then
		sleep 1.2
		run ls -a "$M/job/y"
		check "a key with dot segments is not shown ($OUT)" \
			test "$OUT" = "$(printf '.\n..\nok.txt')"
		run mv "$M/job/y" "$M/job/y2"
		check "mv of a directory holding a dot-segment key works ($ERR)" \
			test "$RC" -eq 0
		check "... and the project's artifact outside it is untouched" \
			same "$(pulled project victim.txt)" src/victim.txt
		check "... the usable key moved" same "$M/job/y2/ok.txt" src/planted2.txt
		check "... and the refusal is logged" grep -q "segment" "$LOG"
	else
		not_ok "plant dot-segment keys ($(cat "$WORK/plant.err"))"
	fi
fi

# -- objects from other tools --
if [[ $BACKEND != file ]]; then
	echo planted >src/planted.txt
	if plant "artifacts/jobs/$JOB/planted.txt" src/planted.txt &&
		plant "artifacts/jobs/$JOB/pdir/inner.txt" src/planted.txt; then
		lm=$(t aws --endpoint-url "$ENDPOINT" --region "$AWS_REGION" \
			s3api head-object --bucket "$BUCKET" \
			--key "$PREFIX/artifacts/jobs/$JOB/planted.txt" \
			--query LastModified --output text 2>/dev/null)
		lm=$(date -d "$lm" +%s 2>/dev/null)
		sleep 1.2
		check "a planted object without metadata shows mode 0644" \
			test "$(t stat -c %a "$M/job/planted.txt")" = 644
		check "its mtime is its Last-Modified ($lm)" \
			test "$(t stat -c %Y "$M/job/planted.txt")" = "$lm"
		check "its owner is the mounting user" \
			test "$(t stat -c %u "$M/job/planted.txt")" = "$(id -u)"
		check "a planted object reads back" \
			same "$M/job/planted.txt" src/planted.txt
		check "a directory implied by a planted key shows mode 0755" \
			test "$(t stat -c %a "$M/job/pdir")" = 755
		# A key that is both an object and a prefix: listed once.
		plant "artifacts/jobs/$JOB/both" src/planted.txt &&
			plant "artifacts/jobs/$JOB/both/under" src/planted.txt
		sleep 1.2
		run ls -a "$M/job"
		check "a key that is both an object and a prefix is listed once, as the file ($(grep -c '^both$' "$WORK/out"))" \
			test "$(grep -c '^both$' "$WORK/out")" = 1 -a -f "$M/job/both"
	else
		not_ok "plant objects with aws s3api put-object ($(cat "$WORK/plant.err"))"
	fi
fi

# -- touch -d --
echo stamp >src/stamp.txt
t cp src/stamp.txt "$M/job/stamp.txt"
run touch -d "2001-02-03 04:05:06 UTC" "$M/job/stamp.txt"
check "touch -d exits 0 ($ERR)" test "$RC" -eq 0
STAMP=$(date -d "2001-02-03 04:05:06 UTC" +%s)
check "stat shows the new mtime" \
	test "$(t stat -c %Y "$M/job/stamp.txt")" = "$STAMP"

# -- df --
run df "$M"
check "df MOUNT works ($ERR)" test "$RC" -eq 0
run df "$M/job"
check "df MOUNT/job works ($ERR)" test "$RC" -eq 0

# -- names too long for a key --
LONG=$(printf 'n%.0s' $(seq 1 250))
d=$M/job/long
t mkdir "$d"
levels=0
ERR=
for i in 1 2 3 4 5 6; do
	if ! t mkdir "$d/$LONG$i" 2>"$WORK/err"; then
		ERR=$(cat "$WORK/err")
		break
	fi
	d=$d/$LONG$i
	levels=$i
done
check "nested long names work until the key would pass 1024 bytes ($levels levels)" \
	test "$levels" -ge 2 -a "$levels" -le 4
check "the name that passes 1024 bytes fails with 'File name too long' ($ERR)" \
	test -n "$ERR" -a -z "${ERR##*File name too long*}"
fails_with "a file whose key would pass 1024 bytes fails with ENAMETOOLONG" \
	"File name too long" cp src/stamp.txt "$d/$LONG.txt"

# -- O_EXCL --
run python3 -c '
import errno, os, sys
p = sys.argv[1]
fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
os.write(fd, b"first\n")
os.close(fd)
try:
    os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
except OSError as e:
    sys.exit(0 if e.errno == errno.EEXIST else 3)
sys.exit(2)
' "$M/job/excl.txt"
check "O_EXCL create twice: the second fails with EEXIST (exit $RC $ERR)" \
	test "$RC" -eq 0
check "the first O_EXCL create's content stays" \
	test "$(t cat "$M/job/excl.txt")" = "first"

# -- concurrency on one mount --
(t cat "$M/job/big.bin" | sha256sum >"$WORK/r1") &
r1=$!
(t cat "$M/job/big.bin" | sha256sum >"$WORK/r2") &
r2=$!
wait "$r1" "$r2"
check "two concurrent readers of the 100 MiB file both read it right" \
	test "$(cut -d' ' -f1 "$WORK/r1")" = "$BIG_SHA" \
	-a "$(cut -d' ' -f1 "$WORK/r2")" = "$BIG_SHA"
run python3 -c '
import os, subprocess, sys
p = sys.argv[1]
fd = os.open(p, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644)
os.write(fd, b"written by one\n")
seen = subprocess.run(["cat", p], capture_output=True, timeout=30).stdout
assert seen == b"written by one\n", ("while open", seen)
os.write(fd, b"and more\n")
os.close(fd)
seen = subprocess.run(["cat", p], capture_output=True, timeout=30).stdout
assert seen == b"written by one\nand more\n", ("after close", seen)
' "$M/job/shared.txt"
check "a file being written by one process reads right from another ($ERR)" \
	test "$RC" -eq 0

# -- a file still open for writing, past metadata_ttl (a job's build log) --
run python3 -c '
import os, sys, time
d = sys.argv[1]
p = os.path.join(d, "open-log.txt")
fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"abc")
time.sleep(2.5)  # past metadata_ttl and the entry timeout
errs = []
try:
    if os.stat(p).st_size != 3:
        errs.append("stat: wrong size")
except OSError as e:
    errs.append("stat: %s" % e)
if "open-log.txt" not in os.listdir(d):
    errs.append("listing omits it")
os.close(fd)
print("; ".join(errs))
sys.exit(1 if errs else 0)
' "$M/job"
check "a file open for writing stays visible past metadata_ttl ($OUT$ERR)" \
	test "$RC" -eq 0
run python3 -c '
import os, sys
a, b = sys.argv[1], sys.argv[2]
fd = os.open(a, os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"abc")
os.rename(a, b)
os.write(fd, b"def")
os.close(fd)
' "$M/job/rn-open1.txt" "$M/job/rn-open2.txt"
check "mv of a file while it is open for writing works ($ERR)" test "$RC" -eq 0
sleep 1.2
check "the renamed file holds everything written, the old name is gone" \
	test "$(t cat "$M/job/rn-open2.txt" 2>/dev/null)" = abcdef \
	-a ! -e "$M/job/rn-open1.txt"

# -- races and open files (each once lost data or hung the mount) --
printf 'keep these bytes\n' >src/keep.txt
t cp src/keep.txt "$M/job/keep1.txt"
t cp src/keep.txt "$M/job/keep2.txt"
run python3 -c '
import os, sys
a, b = sys.argv[1], sys.argv[2]
fd = os.open(a, os.O_WRONLY | os.O_APPEND)
os.fchmod(fd, 0o600)
os.close(fd)
fd = os.open(b, os.O_RDWR)
os.setxattr(b, "user.expire_in", b"2w")
os.utime(b, (1700000000, 1700000000))
os.close(fd)
' "$M/job/keep1.txt" "$M/job/keep2.txt"
check "chmod, setfattr and touch of a file open but unwritten succeed ($ERR)" \
	test "$RC" -eq 0
run "$A" pull job keep1.txt -d "$WORK/keep1.pulled" -f -j "$JOB"
run "$A" pull job keep2.txt -d "$WORK/keep2.pulled" -f -j "$JOB"
check "... and leave its content alone (not an empty upload)" \
	same "$WORK/keep1.pulled" src/keep.txt
check "... of either file" same "$WORK/keep2.pulled" src/keep.txt
sleep 1.2
check "... and the changes are stored (mode 600; mtime 1700000000)" \
	test "$(t stat -c %a "$M/job/keep1.txt")" = 600 \
	-a "$(t stat -c %Y "$M/job/keep2.txt")" = 1700000000

printf 'aaaaaaaaaa\n' >src/mm-late.txt
t cp src/mm-late.txt "$M/job/mm-late.txt"
run python3 -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 0)
os.close(fd)
m[0:5] = b"BBBBB"  # after close(): reaches the mount at writeback
m.close()
' "$M/job/mm-late.txt"
# The release (and its upload) runs after python exits: poll a little.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	sleep 0.5
	run "$A" pull job mm-late.txt -d "$WORK/mm-late.pulled" -f -j "$JOB"
	[[ "$(cat "$WORK/mm-late.pulled" 2>/dev/null)" == BBBBBaaaaa ]] && break
done
check "writes through a shared mmap after close() are stored at release ($(cat "$WORK/mm-late.pulled" 2>/dev/null))" \
	test "$(cat "$WORK/mm-late.pulled" 2>/dev/null)" = BBBBBaaaaa

run python3 -c '
import os, sys, threading
p = sys.argv[1]
data = os.urandom(256 << 10)
errs = []
def writer():
    try:
        for _ in range(40):
            fd = os.open(p, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644)
            os.write(fd, data)
            os.close(fd)
    except OSError as e:
        errs.append(e)
def chmodder():
    try:
        for i in range(200):
            os.chmod(p, 0o644 if i % 2 else 0o600)
    except OSError as e:
        errs.append(e)
os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
ts = [threading.Thread(target=f) for f in (writer, chmodder)]
for x in ts: x.start()
for x in ts: x.join()
assert not errs, errs
with open(p, "rb") as f:
    assert f.read() == data
' "$M/job/race-chmod.bin"
check "chmod in a loop while another thread rewrites the file: no hang, right bytes ($RC $ERR)" \
	test "$RC" -eq 0

head -c $((20 << 20)) /dev/urandom >src/streamed.bin
printf 'small\n' >src/small-mv.txt
t cp src/small-mv.txt "$M/job/small-mv.txt"
run sh -c 'cp "$1" "$2" && mv "$3" "$2"' sh src/streamed.bin \
	"$M/job/mv-dst.bin" "$M/job/small-mv.txt"
check "cp of a streamed file, then mv of another over it ($ERR)" \
	test "$RC" -eq 0
sleep 2
run "$A" pull job mv-dst.bin -d "$WORK/mv-dst.pulled" -f -j "$JOB"
check "... the target holds what was moved, not the streamed file ($ERR)" \
	same "$WORK/mv-dst.pulled" src/small-mv.txt

printf 'old\n' >src/old.txt
printf 'replacement\n' >src/new.txt
t cp src/old.txt "$M/job/repl.txt"
t cp src/new.txt "$M/job/repl-src.txt"
run python3 -c '
import os, sys
d = sys.argv[1]
fd = os.open(d + "/repl.txt", os.O_WRONLY)
os.rename(d + "/repl-src.txt", d + "/repl.txt")
os.write(fd, b"late writer\n")
os.close(fd)
' "$M/job"
check "mv over a file that is open for writing succeeds ($ERR)" \
	test "$RC" -eq 0
run "$A" pull job repl.txt -d "$WORK/repl.pulled" -f -j "$JOB"
check "... and the old file's writer does not overwrite the new one" \
	same "$WORK/repl.pulled" src/new.txt

t mkdir -p "$M/job/mvdir-a"
t cp src/keep.txt "$M/job/mvdir-a/f.txt"
t stat "$M/job/mvdir-a/missing" >/dev/null 2>&1
run mv "$M/job/mvdir-a" "$M/job/mvdir-b"
check "mv of a directory whose listing is cached ($ERR)" test "$RC" -eq 0
check "... its files are found under the new name at once" \
	same "$M/job/mvdir-b/f.txt" src/keep.txt
run python3 -c '
import errno, os, sys
d = sys.argv[1]
fd = os.open(d + "/mvdir-b/w.txt", os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"being written\n")
os.rename(d + "/mvdir-b", d + "/mvdir-c")
os.write(fd, b"and after the mv\n")
os.close(fd)
with open(d + "/mvdir-c/w.txt", "rb") as f:
    assert f.read() == b"being written\nand after the mv\n"
assert not os.path.exists(d + "/mvdir-b")
' "$M/job"
check "mv of a directory with a file being written in it: the file follows, with every byte ($RC $ERR)" \
	test "$RC" -eq 0
run "$A" pull job mvdir-c/w.txt -d "$WORK/mvdir-w.pulled" -f -j "$JOB"
check "... and it is stored under the new name (${ERR:0:200})" \
	test "$(cat "$WORK/mvdir-w.pulled" 2>/dev/null)" = "$(printf 'being written\nand after the mv')"
run "$A" pull job mvdir-b/w.txt -d "$WORK/mvdir-old.pulled" -f -j "$JOB"
check "... and not under the old one" test "$RC" -ne 0

# -- a second mount of the same remote (another machine) --
M2=$WORK/mnt2
if mount_fs "$M2" "$LOG.m2" "$OPTS2"; then
	echo "from mount one" >src/cross.txt
	t cp src/cross.txt "$M/job/cross.txt"
	check "a second mount reads what the first wrote" \
		same "$M2/job/cross.txt" src/cross.txt
	echo "from mount two, changed" >src/cross.txt
	t cp src/cross.txt "$M2/job/cross.txt"
	sleep 1.5
	check "the first mount sees the second's overwrite after metadata_ttl" \
		same "$M/job/cross.txt" src/cross.txt
	run python3 -c '
import errno, os, sys
for p in sys.argv[1:]:
    try:
        fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.write(fd, p.encode())
        os.close(fd)
    except OSError as e:
        sys.exit(0 if (e.errno == errno.EEXIST and p == sys.argv[2]) else 3)
sys.exit(2)
' "$M/job/excl2.txt" "$M2/job/excl2.txt"
	check "O_EXCL on the second mount fails for a file the first created (exit $RC $ERR)" \
		test "$RC" -eq 0
	# A lookup of a missing name lists its directory, and the listing
	# answers further misses for metadata_ttl: a name made meanwhile by
	# another machine must show once that time has passed.
	t mkdir "$M/job/dircache"
	check "a missing name is missing" bash -c '! stat "$1" 2>/dev/null' _ \
		"$M/job/dircache/later.txt"
	echo "made elsewhere" >src/later.txt
	t cp src/later.txt "$M2/job/dircache/later.txt"
	sleep 1.5
	check "a name another mount made after our listing shows after metadata_ttl" \
		same "$M/job/dircache/later.txt" src/later.txt
	echo mine >"$M/job/dircache/mine.txt"
	check "a name made here right after the listing is there at once" \
		same "$M/job/dircache/mine.txt" <(echo mine)
	check "fusermount3 -u of the second mount succeeds" umount_fs "$M2"
else
	not_ok "a second mount of the same remote"
fi

# ---- remount: what survives ---------------------------------------------

check "fusermount3 -u succeeds after writes, the daemon exits 0" umount_fs "$M"
check "nothing is left mounted" bash -c '! timeout 5 mountpoint -q "$1"' _ "$M"
if mount_fs "$M" "$LOG.2" "$OPTS"; then
	ok "remount"
	if [[ -f src/hello ]]; then
		check "the exec bit survives the remount" test -x "$M/workflow/hello"
		run "$M/workflow/hello"
		check "the compiled program runs from the mount ($OUT $ERR)" \
			test "$RC" -eq 0 -a "$OUT" = "hello from the mount"
	fi
	check "the mtime set with touch -d survives the remount" \
		test "$(t stat -c %Y "$M/job/stamp.txt")" = "$STAMP"
	check "the 100 MiB file reads right after the remount (from the cache)" \
		test "$(TMO=300 t cat "$M/job/big.bin" | sha256sum | cut -d' ' -f1)" = "$BIG_SHA"
	check "fusermount3 -u of the remount succeeds" umount_fs "$M"
else
	not_ok "remount"
fi

# ---- a failed upload ------------------------------------------------------

if [[ $BACKEND == moto ]]; then
	# A private moto just for this case, killed by PID while a file is
	# open for writing.
	source "$HERE/../../scripts/lib/servers.sh"
	saved=("$AFS_TEST_MOTO_ENDPOINT" "$AFS_TEST_MOTO_KEY" "$AFS_TEST_MOTO_SECRET" "$AFS_TEST_MOTO_BUCKET")
	if afs_start_moto "$WORK/private" 2>"$WORK/private.err"; then
		PRIVATE_PIDS+=("$AFS_LAST_PID")
		pmoto=$AFS_LAST_PID
		pend=$AFS_TEST_MOTO_ENDPOINT
		pkey=$AFS_TEST_MOTO_KEY pbucket=$AFS_TEST_MOTO_BUCKET
		psecret=$AFS_TEST_MOTO_SECRET
		AFS_TEST_MOTO_ENDPOINT=${saved[0]} AFS_TEST_MOTO_KEY=${saved[1]}
		AFS_TEST_MOTO_SECRET=${saved[2]} AFS_TEST_MOTO_BUCKET=${saved[3]}
		PM=$WORK/pmnt
		if mount_fs "$PM" "$WORK/private.log" \
			"remote=s3://$pbucket/p,endpoint=$pend,cache_dir=$WORK/pcache,job=$JOB" \
			AWS_ACCESS_KEY_ID="$pkey" AWS_SECRET_ACCESS_KEY="$psecret"; then
			# Open both files while the server is up; stream 20 MiB
			# of the big one (multipart parts go out while it is
			# written), kill the server, write 20 MiB more.
			TMO=300 run python3 -c '
import os, signal, sys, time
small, big, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
fl = os.O_CREAT | os.O_TRUNC | os.O_WRONLY
fs, fb = os.open(small, fl, 0o644), os.open(big, fl, 0o644)
os.write(fs, os.urandom(3 << 20))
chunk = os.urandom(1 << 20)
for _ in range(20):
    os.write(fb, chunk)
os.kill(pid, signal.SIGKILL)
time.sleep(0.5)
res = []
try:
    os.close(fs)
    res.append("small:closed")
except OSError as e:
    res.append("small:close failed (%s)" % e)
try:
    for _ in range(20):
        os.write(fb, chunk)
    os.close(fb)
    res.append("big:closed")
except OSError as e:
    res.append("big:failed (%s)" % e)
print(" ".join(res))
' "$PM/job/lost.bin" "$PM/job/lost-big.bin" "$pmoto"
			{ wait "$pmoto"; } 2>/dev/null
			check "close() fails when the upload cannot reach the server ($OUT)" \
				test -n "$OUT" -a -n "${OUT##*small:closed*}"
			check "that close() fails with EIO" \
				test -z "${OUT##*"small:close failed ([Errno 5]"*}"
			check "a 40 MiB streamed write fails at write or close when the server dies midway" \
				test -n "$OUT" -a -n "${OUT##*big:closed*}"
			check "the daemon logs why the upload failed" \
				grep -q "lost.bin" "$WORK/private.log"
			echo data >src/dead.txt
			TMO=300 run cp src/dead.txt "$PM/job/dead.txt"
			check "cp into a mount whose server is gone exits non-zero" \
				test "$RC" -ne 0 -a "$RC" -ne 124
			check "fusermount3 -u works with the server gone" umount_fs "$PM"
		else
			not_ok "mount against a private moto"
		fi
	else
		not_ok "start a private moto ($(tail -n 3 "$WORK/private.err"))"
	fi
fi

# ---- mounts that cannot work fail at mount time ---------------------------

# bad_mount DESC OPTS [ENV=VALUE...] -- exit 1, one line on stderr, and no
# mountpoint left behind.
bad_mount() {
	local desc=$1 opts=$2 dir=$WORK/bad rc lines
	shift 2
	mkdir -p "$dir"
	timeout -k 5 90 env "$@" "$FS" "$dir" -f -o "$opts" </dev/null \
		>"$WORK/bad.out" 2>"$WORK/bad.err"
	rc=$?
	lines=$(wc -l <"$WORK/bad.err")
	if timeout 5 mountpoint -q "$dir"; then
		not_ok "$desc: left a mountpoint behind"
		timeout 30 fusermount3 -u "$dir" || timeout 30 fusermount3 -uz "$dir"
		return
	fi
	if ((rc == 1 && lines == 1)); then
		ok "$desc ($(cat "$WORK/bad.err"))"
	else
		not_ok "$desc (exit $rc, $lines lines: $(head -c 300 "$WORK/bad.err"))"
	fi
}

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bad_mount "an unreachable endpoint fails at mount time" \
	"remote=s3://afs-test/x,endpoint=http://127.0.0.1:$port,cache_dir=$WORK/bcache,job=$JOB" \
	AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s
if [[ $BACKEND == file ]]; then
	# A listener whose accept queue is full: the kernel drops further
	# SYNs, so connecting never completes (a dead host, on loopback).
	python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
port = s.getsockname()[1]
fill = []
for _ in range(3):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    fill.append(c)
print(port, flush=True)
time.sleep(300)
' >"$WORK/blackhole.port" &
	bh_pid=$!
	for _ in $(seq 50); do
		[[ -s $WORK/blackhole.port ]] && break
		sleep 0.1
	done
	bad_mount "an endpoint that never completes a connection fails at mount time (connect timeout)" \
		"remote=s3://afs-test/x,endpoint=http://127.0.0.1:$(cat "$WORK/blackhole.port"),cache_dir=$WORK/bcache,job=$JOB" \
		AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s
	kill "$bh_pid" 2>/dev/null
	wait "$bh_pid" 2>/dev/null
fi
if [[ $BACKEND != file ]]; then
	bad_mount "a missing bucket fails at mount time" \
		"remote=s3://no-such-bucket-$RUN_ID/x,endpoint=$ENDPOINT,cache_dir=$WORK/bcache,job=$JOB"
fi
if [[ $BACKEND == swift ]]; then
	bad_mount "a wrong secret fails at mount time" "$OPTS" \
		AWS_SECRET_ACCESS_KEY=not-the-secret
fi
touch "$WORK/not-a-dir"
bad_mount "a cache_dir that is a file fails at mount time" \
	"remote=$REMOTE$ENDPOINT_OPT,cache_dir=$WORK/not-a-dir,job=$JOB"
bad_mount "cache_size=abc fails at mount time" "$OPTS,cache_size=abc"
bad_mount "-o suid is refused: the mount is always nosuid" "$OPTS,suid"
bad_mount "timeout=0 fails at mount time" "$OPTS,timeout=0"
bad_mount "metadata_ttl=nan fails at mount time" "$OPTS,metadata_ttl=nan"
bad_mount "a mount with no store ID fails at mount time" \
	"remote=$REMOTE$ENDPOINT_OPT,cache_dir=$WORK/cache"
bad_mount "metadata_ttl=0x10 fails at mount time" "$OPTS,metadata_ttl=0x10"
touch "$WORK/a-file"
run "$FS" "$WORK/a-file" -f -o "$OPTS"
check "a regular file as mountpoint is refused with one line ($ERR)" \
	test "$RC" -eq 1 -a "$(printf '%s\n' "$ERR" | wc -l)" -eq 1
mkdir -p "$WORK/full-dir"
touch "$WORK/full-dir/x"
run "$FS" "$WORK/full-dir" -f -o "$OPTS"
check "a non-empty mountpoint is refused with one line ($ERR)" \
	test "$RC" -eq 1 -a "$(printf '%s\n' "$ERR" | wc -l)" -eq 1
if mount_fs "$WORK/full-dir" "$LOG.ne" "$OPTS,nonempty"; then
	ok "-o nonempty mounts over a non-empty directory"
	umount_fs "$WORK/full-dir" >/dev/null
else
	not_ok "-o nonempty mounts over a non-empty directory"
fi
if mount_fs "$M" "$LOG" "$OPTS"; then
	check "the mount is nosuid and nodev" \
		grep -Eq " $M fuse.artifactfs [^ ]*nosuid,nodev" /proc/mounts
	umount_fs "$M" >/dev/null
fi

echo "$PASS passed, $FAIL failed"
((FAIL == 0))
