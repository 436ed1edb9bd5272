#!/usr/bin/env bash
# tests/cli/gc.sh BACKEND ARTIFACT_BIN -- expiry through the `artifact`
# command against one backend (file, moto or swift): push -e, list and pull
# hiding expired artifacts, `artifact gc` (dry run, real, pagination past
# 1000 keys, --policy) and the failures that must delete nothing.
#
# Same conventions and harness (tests/cli/lib.sh) as run.sh: the S3
# servers come from scripts/test (AFS_TEST_<BACKEND>_*), without which this
# exits 77 (skipped); each check prints "ok - ..." or "not ok - ..."; the
# last line is "N passed, M failed".  gc sweeps a whole remote, so every run points ARTIFACT_REMOTE at
# a prefix of its own (s3://BUCKET/gc-test-<random>) and never sees, let
# alone deletes, what parallel runs store in the same bucket.  Keys are
# checked against a listing made without the tool (the store directory for
# file://, `aws s3api` for S3).
set -u

BACKEND=${1:?usage: gc.sh file|moto|swift ARTIFACT_BIN}
A=${2:?usage: gc.sh file|moto|swift ARTIFACT_BIN}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
A=$(cd "$(dirname "$A")" && pwd)/$(basename "$A")

SUITE=gc
NEED_AWS="to list the bucket independently"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

hasnt() { [[ $1 != *"$2"* ]]; }

# same FILE1 FILE2 -- the two key lists are equal; prints the diff if not.
same() {
	if diff "$1" "$2" >"$WORK/diff"; then
		return 0
	fi
	head -n 20 "$WORK/diff" | sed 's/^/#   /'
	return 1
}

export SEMAPHORE_JOB_ID="job1-$RUN_ID"
export SEMAPHORE_WORKFLOW_ID="wf-$RUN_ID"
export SEMAPHORE_PROJECT_ID="proj-$RUN_ID"
J1=$SEMAPHORE_JOB_ID
J2="job2-$RUN_ID"
J3="job3-$RUN_ID"
WF=$SEMAPHORE_WORKFLOW_ID

# keys -- every key of the store (relative to ARTIFACT_REMOTE), sorted,
# one a line, read without the artifact tool.
keys() {
	case $BACKEND in
	file)
		python3 - "$STORE" <<'EOF'
import os, re, sys
root = sys.argv[1]
def unesc(seg):
    return "" if seg == "%" else re.sub(r"%([0-9A-Fa-f]{2})",
                                        lambda m: chr(int(m.group(1), 16)), seg)
out = []
for d, dirs, files in os.walk(root):
    rel = os.path.relpath(d, root)
    if rel == ".":
        dirs[:] = [x for x in dirs if x != ".afs"]
        segs = []
    else:
        segs = [unesc(s) for s in rel.split(os.sep)]
    for f in files:
        if f.endswith("~"):
            out.append("/".join(segs + [unesc(f[:-1])]))
for k in sorted(out, key=lambda k: k.encode()):
    print(k)
EOF
		;;
	*)
		s3api list-objects-v2 --bucket "$BUCKET" --prefix "$PREFIX/" \
			--output json >"$WORK/keys.json" || return 1
		python3 - "$WORK/keys.json" "$PREFIX/" <<'EOF'
import json, sys
text = open(sys.argv[1]).read().strip()
d = json.loads(text) if text else {}
n = len(sys.argv[2])
for k in sorted((o["Key"][n:] for o in d.get("Contents", [])),
                key=lambda k: k.encode()):
    print(k)
EOF
		;;
	esac
}

# plant KEY EXPIRES_AT -- store an empty object (a directory marker when
# KEY ends in '/') with x-amz-meta-expires-at, as the mount would.
plant() {
	case $BACKEND in
	file)
		python3 - "$STORE" "$1" "$2" <<'EOF'
import hashlib, json, os, struct, sys
root, key, exp = sys.argv[1:4]
def esc(seg):
    if seg == "":
        return "%"
    return "".join("%%%02X" % ord(c)
                   if c in "%~" or ord(c) < 0x20 or ord(c) == 0x7F or (i == 0 and c == ".")
                   else c for i, c in enumerate(seg))
segs = key.split("/")
path = os.path.join(root, *[esc(s) for s in segs[:-1]], esc(segs[-1]) + "~")
os.makedirs(os.path.dirname(path), exist_ok=True)
hdr = json.dumps({"etag": hashlib.md5(b"").hexdigest(),
                  "content_type": "application/x-directory",
                  "meta": {"mode": "16877", "expires-at": exp}}).encode()
with open(path, "wb") as f:
    f.write(b"AFSOBJ01" + struct.pack("<Q", len(hdr)) + hdr)
EOF
		;;
	*)
		s3api put-object --bucket "$BUCKET" --key "$PREFIX/$1" \
			--metadata "mode=16877,expires-at=$2" \
			--content-type application/x-directory >/dev/null
		;;
	esac
}

# expires_at KEY -- the object's x-amz-meta-expires-at, or "" without one.
expires_at() {
	case $BACKEND in
	file)
		python3 - "$STORE" "$1" <<'EOF'
import json, os, struct, sys
root, key = sys.argv[1:3]
segs = key.split("/")
path = os.path.join(root, *segs[:-1], segs[-1] + "~")
with open(path, "rb") as f:
    head = f.read(16)
    n = struct.unpack("<Q", head[8:16])[0]
    print(json.loads(f.read(n))["meta"].get("expires-at", ""))
EOF
		;;
	*)
		s3api head-object --bucket "$BUCKET" --key "$PREFIX/$1" \
			--output json | python3 -c '
import json, sys
print(json.load(sys.stdin).get("Metadata", {}).get("expires-at", ""))'
		;;
	esac
}

# deleted_keys -- the keys gc named in $OUT ("deleted K" / "would delete
# K"), sorted.
deleted_keys() {
	printf '%s\n' "$OUT" | sed -n -e 's/^would delete //p' -e 's/^deleted //p' |
		LC_ALL=C sort
}

# gc_timed DESC WANT -- expect 0 DESC gc, its time in $GC_SECS; then
# gc.got (the keys it named), keys.gc (the store after) and keys.gc.want
# (keys.before less the sorted key list WANT).
gc_timed() {
	local t1 t2
	t1=$(date +%s.%N)
	expect 0 "$1" gc
	t2=$(date +%s.%N)
	GC_SECS=$(python3 -c "print(round($t2 - $t1, 2))")
	deleted_keys >gc.got
	keys >keys.gc
	LC_ALL=C comm -23 keys.before "$2" >keys.gc.want
}

cd "$WORK" || exit 1
mkdir -p src/short src/keep/sub src/later
echo "short a" >src/short/a.log
echo "short b" >src/short/b.txt
echo "kept" >src/keep/keep.txt
echo "kept log" >src/keep/sub/keep.log
echo "later" >src/later/later.txt
echo "one" >src/one.txt

# ---- push -e ---------------------------------------------------------------

keys >before-bad-e
expect 1 "push -e '3 parsecs' is refused" push job src/one.txt -d bad.txt -e "3 parsecs"
check "the refusal names the value" has "$ERR" "3 parsecs"
expect 1 "push of a directory with -e soon is refused" push job src/keep -d bad -e soon
keys >after-bad-e
check "a refused -e pushes nothing" same before-bad-e after-bad-e

T0=$(date +%s)
expect 0 "push a directory with -e 2s (job 1)" push job src/short -d short -e 2s
expect 0 "push a file with -e '2 sec' (job 2)" push job src/one.txt -d short.txt -e "2 sec" -j "$J2"
expect 0 "push a file with -e 2s (workflow)" push workflow src/short/a.log -d wf-short.log -e 2s
expect 0 "push a directory with no expiry (job 1)" push job src/keep -d keep
expect 0 "push with -e never (job 2)" push job src/one.txt -d never.txt -e never -j "$J2"
expect 0 "push a directory with -e 2w (job 1)" push job src/later -d later -e 2w
expect 0 "push a file with -e '2 hrs 20 min' (workflow)" push workflow src/one.txt -d later.txt -e "2 hrs 20 min"
expect 0 "push a file with no expiry (job 2)" push job src/keep/sub/keep.log -d keep.log -j "$J2"

check "-e never stores no expires-at" \
	test -z "$(expires_at "artifacts/jobs/$J2/never.txt")"
check "no -e stores no expires-at" \
	test -z "$(expires_at "artifacts/jobs/$J1/keep/keep.txt")"
EXP_2W=$(expires_at "artifacts/jobs/$J1/later/later.txt")
check "-e 2w stores an expiry two weeks ahead ($EXP_2W)" python3 -c '
import datetime, sys
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ")
t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
d = t - int(sys.argv[2])
sys.exit(0 if 14 * 86400 - 5 <= d <= 14 * 86400 + 120 else 1)' "$EXP_2W" "$T0"
EXP_HM=$(expires_at "artifacts/workflows/$WF/later.txt")
check "-e '2 hrs 20 min' stores an expiry 8400 s ahead ($EXP_HM)" python3 -c '
import datetime, sys
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ")
t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
d = t - int(sys.argv[2])
sys.exit(0 if 8400 - 5 <= d <= 8400 + 120 else 1)' "$EXP_HM" "$T0"

# Directory markers, as the mount writes them: one long expired, one not.
PAST=2001-01-01T00:00:00Z
FUTURE=2999-01-01T00:00:00Z
check "plant an expired directory marker" plant "artifacts/jobs/$J1/olddir/" "$PAST"
check "plant an unexpired directory marker" plant "artifacts/jobs/$J1/newdir/" "$FUTURE"

cat >expired.want <<EOF
artifacts/jobs/$J1/olddir/
artifacts/jobs/$J1/short/a.log
artifacts/jobs/$J1/short/b.txt
artifacts/jobs/$J2/short.txt
artifacts/workflows/$WF/wf-short.log
EOF
LC_ALL=C sort -o expired.want expired.want

# Wait (bounded) until the short ones have expired for the tool.
mkdir -p pulls
deadline=$((SECONDS + 20))
while "$A" pull job short.txt -j "$J2" -d pulls/poll.txt -f >/dev/null 2>&1; do
	if ((SECONDS >= deadline)); then
		break
	fi
	sleep 0.5
done
sleep 1 # every -e 2s object was pushed within about a second of that one
check "the -e 2s artifacts expired within 20 s" test "$SECONDS" -lt "$deadline"

# ---- list and pull hide expired artifacts --------------------------------

expect 0 "list job 2" list job -j "$J2"
check "list omits the expired short.txt" hasnt "$OUT" "short.txt"
check "list still shows never.txt and keep.log" \
	bash -c '[[ "$1" == *never.txt* && "$1" == *keep.log* ]]' _ "$OUT"
expect 0 "list job 2 as json" list job -j "$J2" --json
check "list --json omits the expired file" python3 -c '
import json, sys
names = {e["name"] for e in json.loads(sys.argv[1])}
sys.exit(0 if names == {"never.txt", "keep.log"} else 1)' "$OUT"
expect 0 "list the workflow store" list workflow
check "workflow list omits wf-short.log, shows later.txt" \
	bash -c '[[ "$1" != *wf-short.log* && "$1" == *later.txt* ]]' _ "$OUT"
run list job short
check "list of a directory whose files all expired fails like a missing one" \
	bash -c '[[ $1 == 1 && "$2" == *"does not exist"* ]]' _ "$RC" "$ERR"
run list job short/a.log
check "list of an expired file fails like a missing one" \
	bash -c '[[ $1 == 1 && "$2" == *"does not exist"* ]]' _ "$RC" "$ERR"
expect 0 "list of an unexpired directory works" list job later
check "it shows later.txt" has "$OUT" "later.txt"

run pull job short.txt -j "$J2" -d pulls/expired.txt
E_RC=$RC
E_ERR=${ERR//short.txt/NAME}
run pull job nothing-here.txt -j "$J2" -d pulls/missing.txt
M_ERR=${ERR//nothing-here.txt/NAME}
check "pull of an expired file fails (exit $E_RC)" test "$E_RC" -eq 1
check "pull of an expired file fails like a missing one ($E_ERR)" \
	test "$E_ERR" = "$M_ERR"
check "pull of an expired file writes nothing" test ! -e pulls/expired.txt
expect 1 "pull of an expired directory fails" pull job short -d pulls/short
expect 0 "pull of an unexpired file works" pull job never.txt -j "$J2" -d pulls/never.txt

# ---- gc --dry-run and gc ----------------------------------------------------

keys >keys.before
check "the expired keys are all in the store" \
	bash -c '[[ -z "$(LC_ALL=C comm -23 "$1" "$2")" ]]' _ expired.want keys.before
expect 0 "gc --dry-run" gc --dry-run
deleted_keys >dry.got
keys >keys.dry
check "gc --dry-run deletes nothing" same keys.before keys.dry
check "gc --dry-run names exactly the expired keys" same expired.want dry.got
check "gc --dry-run says what it would free" \
	has "$OUT" "Would delete 5 expired artifacts, freeing"

gc_timed "gc" expired.want
check "gc names exactly the expired keys" same expired.want gc.got
check "gc deletes exactly the expired keys" same keys.gc.want keys.gc
check "gc prints the summary" has "$OUT" "Deleted 5 expired artifacts, freed"
echo "# gc of $(wc -l <keys.before) keys took $GC_SECS s"
expect 0 "a second gc" gc
check "it finds nothing more" has "$OUT" "Deleted 0 expired artifacts, freed 0 B."

# ---- --policy ---------------------------------------------------------------

mkdir -p src/p/sub/deeper src/p/keep
echo l1 >src/p/top.log
echo l2 >src/p/sub/deeper/deep.log
echo t >src/p/sub/notes.txt
echo k >src/p/keep/important.log
expect 0 "push a tree with logs (job 3)" push job src/p -d p -j "$J3"
cat >policy.json <<'EOF'
{
  "job": [
    {"glob": "p/keep/**", "age": "never"},
    {"glob": "**/*.log", "age": "1s"}
  ],
  "workflow": [
    {"glob": "*.txt", "age": "2w"}
  ]
}
EOF
# Ages count whole seconds from Last-Modified, which Swift rounds up to the
# next second: wait long enough for "1s" to have passed on every server.
sleep 3.2
keys >keys.before
# Job-level *.log keys, except under p/keep/ (the first rule keeps them).
grep -E "^artifacts/jobs/[^/]+/.*\.log$" keys.before |
	grep -v "^artifacts/jobs/$J3/p/keep/" >policy.want
check "the policy test has job logs to delete" test "$(wc -l <policy.want)" -ge 3
check "a job 3 top-level log is among them" grep -qx "artifacts/jobs/$J3/p/top.log" policy.want

expect 0 "gc --dry-run --policy" gc --dry-run --policy policy.json
deleted_keys >dry.got
keys >keys.dry
check "gc --dry-run --policy deletes nothing" same keys.before keys.dry
check "gc --dry-run --policy names exactly the old job logs" same policy.want dry.got
expect 0 "gc --policy" gc --policy policy.json
deleted_keys >gc.got
keys >keys.gc
LC_ALL=C comm -23 keys.before policy.want >keys.gc.want
check "gc --policy names exactly the old job logs" same policy.want gc.got
check "gc --policy deletes exactly the old job logs" same keys.gc.want keys.gc
check "the never rule kept p/keep/important.log" \
	grep -qx "artifacts/jobs/$J3/p/keep/important.log" keys.gc
grep "^artifacts/workflows/" keys.before >wf.before
grep "^artifacts/workflows/" keys.gc >wf.after
check "job rules leave the workflow store alone" same wf.before wf.after

# ---- bad policies delete nothing -------------------------------------------

keys >keys.before
printf '{"job": [{"glob": "**", "age": "1s"}' >bad1.json
printf '{"jobs": [{"glob": "**", "age": "1s"}]}' >bad2.json
printf '{"job": [{"glob": "**", "age": "3 parsecs"}]}' >bad3.json
printf '{"job": [{"glob": "**", "age": "1s", "extra": 1}]}' >bad4.json
printf '{"job": [{"glob": "/abs/**", "age": "1s"}]}' >bad5.json
printf '{"job": {"glob": "**", "age": "1s"}}' >bad6.json
for b in 1 2 3 4 5 6; do
	run gc --policy "bad$b.json"
	check "bad policy $b fails with exit 1 ($ERR)" test "$RC" -eq 1
	check "bad policy $b fails with one line" test "$(wc -l <"$WORK/err")" -eq 1
done
run gc --policy bad1.json
check "the JSON error names the file" has "$ERR" "bad1.json"
run gc --policy bad2.json
check "an unknown level is named" has "$ERR" "unknown level \"jobs\""
run gc --policy bad3.json
check "a bad age is named" has "$ERR" "3 parsecs"
run gc --policy "$WORK/no-such-policy.json"
check "a missing policy file fails with exit 1" test "$RC" -eq 1
keys >keys.after
check "bad policies deleted nothing" same keys.before keys.after
expect 1 "gc refuses a positional argument" gc job
expect 1 "gc refuses an unknown flag" gc --force
expect 0 "gc --help" gc --help
check "gc --help names --dry-run and --policy" \
	bash -c '[[ "$1" == *--dry-run* && "$1" == *--policy* ]]' _ "$OUT"
expect 0 "artifact --help" --help
check "artifact --help lists gc" has "$OUT" "artifact gc [--dry-run] [--policy FILE]"

# ---- keys gc cannot address do not block it --------------------------------

if [[ $BACKEND != file ]]; then
	J3="gc-bad-$RUN_ID"
	check "plant an expired key with dot segments" \
		plant "artifacts/jobs/$J3/y/../../../projects/p/victim" "$PAST"
	check "plant an expired ordinary key after it" \
		plant "artifacts/jobs/$J3/z/after" "$PAST"
	expect 0 "gc goes past a key with dot segments" gc
	keys >keys.bad
	check "... deleting the expired key after it" \
		bash -c '! grep -qx "$1" "$2"' _ "artifacts/jobs/$J3/z/after" keys.bad
	check "... and it warns about the key it cannot address" \
		has "$ERR" "'..' segment"
fi

# ---- unfinished multipart uploads (what crashes leave behind) ------------

if [[ $BACKEND != file ]]; then
	upkey="$PREFIX/artifacts/jobs/$J1/crashed.bin"
	if s3api create-multipart-upload --bucket "$BUCKET" --key "$upkey" \
		>up.json 2>up.err; then
		sleep 2.2
		expect 0 "gc --dry-run --uploads-older-than 1s" gc --dry-run --uploads-older-than 1s
		check "the dry run names the unfinished upload" \
			has "$OUT" "would abort artifacts/jobs/$J1/crashed.bin (unfinished upload)"
		check "... and aborts nothing" \
			grep -q crashed.bin <(s3api list-multipart-uploads --bucket "$BUCKET" --prefix "$PREFIX/" 2>&1)
		expect 0 "gc --uploads-older-than 1s" gc --uploads-older-than 1s
		check "gc aborts an unfinished upload older than the threshold" \
			has "$OUT" "aborted artifacts/jobs/$J1/crashed.bin (unfinished upload)"
		check "... and it is gone from the server" \
			bash -c '! grep -q crashed.bin <(aws --endpoint-url "$AWS_ENDPOINT_URL" --region "$AWS_REGION" s3api list-multipart-uploads --bucket "$1" --prefix "$2/" 2>&1)' _ "$BUCKET" "$PREFIX"
	else
		not_ok "create an unfinished upload with aws s3api ($(cat up.err))"
	fi
	expect 1 "gc refuses a bad --uploads-older-than" gc --uploads-older-than soon
fi

# ---- more than 1000 keys (file:// only, to keep the time down) -----------

if [[ $BACKEND == file ]]; then
	mkdir -p src/many
	for i in $(seq -w 1 1100); do
		echo "$i" >"src/many/f$i.txt"
	done
	expect 0 "push 1100 tiny files with -e 1s" push job src/many -d many -e 1s
	sleep 2.2
	keys >keys.before
	grep "^artifacts/jobs/$J1/many/" keys.before >many.want
	check "1100 keys were stored" test "$(wc -l <many.want)" -eq 1100
	expect 0 "gc --dry-run over 1100 expired keys" gc --dry-run
	check "the dry run counts 1100" has "$OUT" "Would delete 1100 expired artifacts"
	gc_timed "gc over 1100 expired keys" many.want
	check "gc deleted all 1100, past the first page" same many.want gc.got
	check "gc deleted nothing else" same keys.gc.want keys.gc
	check "the summary counts 1100" has "$OUT" "Deleted 1100 expired artifacts"
	echo "# gc of 1100 expired keys ($(wc -l <keys.before) in all) took $GC_SECS s"
fi

echo "$PASS passed, $FAIL failed"
[[ $FAIL -eq 0 ]]
