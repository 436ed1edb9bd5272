#!/usr/bin/env bash
# tests/cli/run.sh BACKEND ARTIFACT_BIN -- drive the built `artifact` command
# against one backend (file, moto or swift) the way a CI job would.
#
#   file    a fresh temporary directory as ARTIFACT_REMOTE=file:///...
#   moto    AFS_TEST_MOTO_ENDPOINT/_KEY/_SECRET/_BUCKET/_REGION
#   swift   AFS_TEST_SWIFT_... (Swift + s3api, which checks signatures)
#
# The S3 servers come from scripts/test (scripts/lib/servers.sh); without
# their variables this exits 77, which ctest reports as skipped.  Every S3
# run works under its own random prefix of the bucket.  Each check prints
# "ok - ..." or "not ok - ..."; the last line is "N passed, M failed" and the
# exit status is non-zero when anything failed.  The harness (counting,
# run/expect/check, the backend's set-up) is tests/cli/lib.sh.
set -u

BACKEND=${1:?usage: run.sh file|moto|swift ARTIFACT_BIN}
A=${2:?usage: run.sh file|moto|swift ARTIFACT_BIN}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
A=$(cd "$(dirname "$A")" && pwd)/$(basename "$A")

SUITE=cli
# shellcheck source=lib.sh
source "$HERE/lib.sh"

sha() { sha256sum "$1" | cut -d' ' -f1; }

export SEMAPHORE_JOB_ID="job-$RUN_ID"
export SEMAPHORE_WORKFLOW_ID="wf-$RUN_ID"
export SEMAPHORE_PROJECT_ID="proj-$RUN_ID"
JOB=$SEMAPHORE_JOB_ID

# plant KEY CONTENT [NAME=VALUE,...] -- store an object under a key, or
# with metadata (x-amz-meta-NAME), the tool would never write (relative to
# ARTIFACT_REMOTE's prefix).  1 when not possible.
plant() {
	case $BACKEND in
	file) python3 "$HERE/plant_file.py" "$STORE" "$1" "$2" "${3:-}" ;;
	*)
		command -v aws >/dev/null || return 1
		printf '%s' "$2" >"$WORK/plant.body"
		s3api put-object --bucket "$BUCKET" --key "$PREFIX/$1" \
			--body "$WORK/plant.body" ${3:+--metadata "$3"} \
			>/dev/null 2>"$WORK/plant.err"
		;;
	esac
}

cd "$WORK" || exit 1
mkdir -p src pulls
echo "hello artifact" >src/a.txt
chmod 0755 src/a.txt

# ---- help and version ----------------------------------------------------

expect 0 "--help exits 0" --help
check "--help lists push, pull, yank, list" \
	bash -c '[[ "$1" == *push* && "$1" == *pull* && "$1" == *yank* && "$1" == *list* ]]' _ "$OUT"
check "--help does not mention unimplemented things" \
	bash -c '[[ "$1" != *"not yet implemented"* ]]' _ "$OUT"
expect 0 "--version exits 0" --version
expect 0 "push --help exits 0" push --help
check "push --help names --expire-in" has "$OUT" "--expire-in"
expect 1 "an unknown command exits 1" frobnicate job
expect 1 "an unknown flag exits 1" push job src/a.txt --bogus
expect 1 "a foreign ID flag is refused" push job src/a.txt -w 12

# ---- a single file -------------------------------------------------------

expect 0 "push a file" push job src/a.txt
check "push says it succeeded, Semaphore's wording" \
	has "$OUT" "Successfully pushed artifact for current job."
check "push reports the count and total" has "$OUT" "Pushed 1 file. Total of"
check "push prints nothing on stderr when stderr is no terminal" test -z "$ERR"

expect 1 "push over an existing artifact without -f is refused" push job src/a.txt
check "refusal uses Semaphore's wording" has "$ERR" \
	"'artifacts/jobs/$JOB/a.txt' already exists in the remote storage; delete it first, or use --force flag"
check "refusal is one line" test "$(wc -l <"$WORK/err")" -eq 1

echo "second version" >src/a.txt
expect 0 "push -f overwrites" push job src/a.txt -f
expect 0 "list shows the store" list job
check "list names a.txt" has "$OUT" "a.txt"

mkdir -p pulls/one && cd pulls/one || exit 1
expect 0 "pull a file" pull job a.txt
check "pull says it succeeded" has "$OUT" "Successfully pulled artifact for current job."
check "pulled content is the pushed one" cmp -s a.txt "$WORK/src/a.txt"
check "the exec bit survives the round trip" test -x a.txt
check "no temporary file is left behind" test "$(ls -A | wc -l)" -eq 1

echo "local edits" >a.txt
expect 1 "pull over an existing local file without -f is refused" pull job a.txt
check "refusal uses Semaphore's wording" has "$ERR" \
	"'a.txt' already exists locally; delete it first, or use --force flag"
check "the local file was not touched" grep -q "local edits" a.txt
expect 0 "pull -f overwrites the local file" pull job a.txt -f
check "pull -f wrote the remote content" cmp -s a.txt "$WORK/src/a.txt"
expect 0 "pull -d names the local file" pull job a.txt -d renamed/copy.txt
check "pull -d wrote renamed/copy.txt" cmp -s renamed/copy.txt "$WORK/src/a.txt"
cd "$WORK" || exit 1

# ---- integrity and modes ---------------------------------------------------

head -c 3000000 /dev/urandom >src/random.bin
chmod 0640 src/random.bin
expect 0 "push a 3 MB random file" push job src/random.bin
mkdir -p pulls/two
expect 0 "pull it back" pull job random.bin -d pulls/two/random.bin
check "sha256 survives the round trip" \
	test "$(sha src/random.bin)" = "$(sha pulls/two/random.bin)"
check "the mode survives (0640)" \
	test "$(stat -c %a pulls/two/random.bin)" = "640"

# ---- modes and owners from the store are input, not orders -----------------

# x-amz-meta-mode 0104755 (setuid), 0102755 (setgid), uid/gid 0 and 4242:
# pull never makes setuid/setgid files, and restores owners only with
# --same-owner.
ME="$(id -u):$(id -g)"
if plant "artifacts/jobs/$JOB/modes/suid.sh" '#!/bin/sh' "mode=$((0104755)),uid=0,gid=0" &&
	plant "artifacts/jobs/$JOB/modes/sgid.sh" '#!/bin/sh' "mode=$((0102755)),uid=0,gid=0" &&
	plant "artifacts/jobs/$JOB/modes/theirs.txt" 'theirs' "mode=$((0100640)),uid=4242,gid=4243"; then
	expect 0 "pull files stored setuid, setgid and foreign-owned" pull job modes -d pulls/modes
	check "the setuid file arrives 0755, without the setuid bit" \
		test "$(stat -c %a pulls/modes/suid.sh)" = 755 -a ! -u pulls/modes/suid.sh
	check "the setgid file arrives 0755, without the setgid bit" \
		test "$(stat -c %a pulls/modes/sgid.sh)" = 755 -a ! -g pulls/modes/sgid.sh
	check "the other permission bits are kept (0640)" \
		test "$(stat -c %a pulls/modes/theirs.txt)" = 640
	check "every file belongs to the user running pull ($ME)" \
		test "$(stat -c %u:%g pulls/modes/suid.sh pulls/modes/theirs.txt | sort -u)" = "$ME"
	expect 0 "pull a setuid file alone" pull job modes/suid.sh -d pulls/suid-alone
	check "it has no setuid bit either" test ! -u pulls/suid-alone
	run pull job modes -d pulls/modes-owned --same-owner
	if [[ $(id -u) -eq 0 ]]; then
		check "pull --same-owner as root succeeds" test "$RC" -eq 0
		check "--same-owner restores the stored owner and group" \
			test "$(stat -c %u:%g pulls/modes-owned/theirs.txt)" = 4242:4243
		check "--same-owner still never sets setuid or setgid" \
			test ! -u pulls/modes-owned/suid.sh -a ! -g pulls/modes-owned/sgid.sh \
			-a "$(stat -c %a pulls/modes-owned/suid.sh)" = 755
	else
		check "pull --same-owner of another's files fails for a user" test "$RC" -eq 1
		check "saying which owner it could not give" has "$ERR" "uid 4242, gid 4243"
	fi
	expect 1 "--same-owner does not apply to push" push job src/a.txt --same-owner
else
	not_ok "could not plant objects with metadata: $(cat "$WORK/plant.err" 2>/dev/null)"
fi

# ---- symbolic link objects --------------------------------------------------

# x-amz-meta-mode S_IFLNK|0777, content = target, as the mount writes them:
# pull makes the link only when its target stays inside the destination.
LNK="mode=$((0120777))"
if plant "artifacts/jobs/$JOB/links/data.txt" "data" &&
	plant "artifacts/jobs/$JOB/links/same.txt" "data.txt" "$LNK" &&
	plant "artifacts/jobs/$JOB/links/sub/up.txt" "../data.txt" "$LNK" &&
	plant "artifacts/jobs/$JOB/links/sub/deep/dots.txt" "./../..//data.txt" "$LNK" &&
	plant "artifacts/jobs/$JOB/links/dir" "sub" "$LNK" &&
	plant "artifacts/jobs/$JOB/links/out-abs" "/etc/passwd" "$LNK" &&
	plant "artifacts/jobs/$JOB/links/out-up" "../outside" "$LNK" &&
	plant "artifacts/jobs/$JOB/links/sub/out-up2" "../../x" "$LNK" &&
	plant "artifacts/jobs/$JOB/links/sub/out-sneaky" "deep/../../../x" "$LNK"; then
	expect 0 "pull a directory holding link objects" pull job links -d pulls/links
	check "a link inside is made (same.txt -> data.txt)" \
		test -L pulls/links/same.txt -a "$(readlink pulls/links/same.txt)" = data.txt
	check "and reads through to the file" grep -qx data pulls/links/same.txt
	check "a link up but inside is made (sub/up.txt -> ../data.txt)" \
		test "$(readlink pulls/links/sub/up.txt)" = ../data.txt
	check "so is one with . and empty segments" \
		test "$(cat pulls/links/sub/deep/dots.txt)" = data
	check "so is a link to a directory inside" test -L pulls/links/dir -a -d pulls/links/dir
	for l in out-abs out-up sub/out-up2 sub/out-sneaky; do
		check "the link out '$l' is not made" test ! -L "pulls/links/$l" -a ! -e "pulls/links/$l"
		check "and a warning names it" has "$ERR" "artifact: skipping 'pulls/links/$l': a link that leads out of the destination"
	done
	check "the success line counts what was made (5 files)" has "$OUT" "Pulled 5 files."
	expect 0 "pull a single link object that leads out" pull job links/out-abs -d pulls/abs-single
	check "it is skipped" test ! -L pulls/abs-single -a ! -e pulls/abs-single
	check "with a warning" has "$ERR" "'pulls/abs-single': a link that leads out of the destination ('/etc/passwd')"
	mkdir -p pulls/single
	expect 0 "pull a single link object that stays inside" pull job links/same.txt -d pulls/single/
	check "it is made" test "$(readlink pulls/single/same.txt)" = data.txt
	expect 1 "pulling it again without -f is refused" pull job links/same.txt -d pulls/single/
	expect 0 "with -f it is replaced" pull job links/same.txt -d pulls/single/ -f
	check "still a link" test -L pulls/single/same.txt
else
	not_ok "could not plant link objects: $(cat "$WORK/plant.err" 2>/dev/null)"
fi

# ---- -d renames, and strips leading ../ -----------------------------------

expect 0 "push -d ../../x strips the ../" push job src/a.txt -d ../../nested/renamed.txt
expect 0 "list the renamed directory" list job nested
check "the key is nested/renamed.txt" has "$OUT" "renamed.txt"
expect 0 "pull the renamed file" pull job /nested/renamed.txt -d pulls/renamed.txt
check "renamed content matches" cmp -s pulls/renamed.txt src/a.txt

# ---- standard input -------------------------------------------------------

run push job - -d piped/stdin.txt <<<"from standard input"
check "push - -d stores standard input" test "$RC" -eq 0
run push job - </dev/null
check "push - without -d is refused" test "$RC" -eq 1
expect 0 "pull the piped artifact" pull job piped/stdin.txt -d pulls/stdin.txt
check "piped content round-trips" grep -qx "from standard input" pulls/stdin.txt

# ---- a directory tree ------------------------------------------------------

mkdir -p "tree/sub/deeper" "tree/with space" "tree/ünï"
echo one >tree/one.txt
echo two >"tree/sub/two plus+sign.txt"
echo three >tree/sub/deeper/three.txt
echo four >"tree/with space/four.txt"
echo five >"tree/ünï/fünf €.txt"
printf '#!/bin/sh\necho run\n' >tree/sub/run.sh
chmod 0755 tree/sub/run.sh
expect 0 "push a directory tree" push job tree -d trees/t1
check "push reports six files" has "$OUT" "Pushed 6 files."
expect 1 "push the tree again without -f is refused" push job tree -d trees/t1
check "directory refusal names an existing object" has "$ERR" \
	"already exists in the remote storage; delete it first, or use --force flag"
expect 0 "push the tree again with -f" push job tree -d trees/t1 -f
expect 0 "pull the tree" pull job trees/t1 -d pulls/t1
check "the pulled tree equals the pushed one" diff -r tree pulls/t1
check "the script stays executable" test -x pulls/t1/sub/run.sh
check "pulls/t1 holds no temporary files" \
	test -z "$(find pulls/t1 -name '.*artifact-*')"

mkdir -p pulls/t2/sub
echo mine >"pulls/t2/sub/two plus+sign.txt"
expect 1 "pull of a tree with one local file present is refused" pull job trees/t1 -d pulls/t2
check "the refusal names the local file" has "$ERR" \
	"'pulls/t2/sub/two plus+sign.txt' already exists locally"
check "nothing was downloaded before the refusal" \
	test "$(find pulls/t2 -type f | wc -l)" -eq 1
expect 0 "pull -f of the tree over local files" pull job trees/t1 -d pulls/t2 -f
check "pull -f replaced the local file" diff -r tree pulls/t2

expect 0 "list a directory as json" list job trees/t1 --json
check "list --json parses and has the right shape" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
names = {e["name"]: e for e in d}
assert names["one.txt"]["size"] == 4 and names["one.txt"]["is_dir"] is False
assert names["sub"]["is_dir"] is True
assert "ünï" in names and "with space" in names
assert all(set(e) == {"name", "size", "mtime", "is_dir"} for e in d)
' "$OUT"
expect 0 "list a nested directory" list job trees/t1/sub
check "list shows sub/ entries one level deep" \
	bash -c '[[ "$1" == *"two plus+sign.txt"* && "$1" == *"deeper/"* && "$1" != *three.txt* ]]' _ "$OUT"

# ---- symbolic links in a pushed tree ------------------------------------------

# Followed (content uploaded) only when they resolve inside the tree; a
# link that leads out is skipped with a warning naming it.
mkdir -p ltree/sub
echo inside >ltree/sub/real.txt
echo "aws_secret_access_key = planted" >outside-secret.txt
ln -s sub/real.txt ltree/rel-link.txt                      # inside, relative
ln -s "$WORK/ltree/sub/real.txt" ltree/abs-link.txt        # inside, absolute
ln -s ../../ltree/sub/real.txt ltree/sub/roundabout.txt    # out and back in
ln -s ../outside-secret.txt ltree/creds                    # out, relative
ln -s "$WORK/outside-secret.txt" ltree/sub/creds-abs       # out, absolute
ln -s rel-link.txt ltree/chain.txt                         # a chain, inside
ln -s ../../outside-secret.txt ltree/sub/hop && ln -s sub/hop ltree/chain-out
ln -s "$WORK" ltree/updir                                  # a directory outside
ln -s sub ltree/subdir-link                                # a directory inside
expect 0 "push a tree holding links in and out" push job ltree -d ltree
check "the links inside are uploaded with the files (5 files)" has "$OUT" "Pushed 5 files."
for l in ltree/creds ltree/sub/creds-abs ltree/sub/hop ltree/chain-out ltree/updir; do
	check "the link out '$l' is skipped with a warning naming it" \
		has "$ERR" "artifact: skipping '$l': a link that leads out of 'ltree'"
done
check "each skipped link costs one line ($(wc -l <"$WORK/err") in all)" \
	test "$(wc -l <"$WORK/err")" -eq 6
expect 0 "pull the tree back" pull job ltree -d pulls/ltree
check "a link inside arrives with its target's content" \
	grep -qx inside pulls/ltree/rel-link.txt
check "so do the absolute, roundabout and chained ones" \
	bash -c 'for f in abs-link.txt sub/roundabout.txt chain.txt; do grep -qx inside "$1/$f" || exit 1; done' _ pulls/ltree
check "nothing from outside the tree was stored" \
	test -z "$(grep -rl planted pulls/ltree)" -a ! -e pulls/ltree/creds -a ! -e pulls/ltree/sub/creds-abs

# ---- levels and IDs --------------------------------------------------------

expect 0 "push to the workflow store with -w" push workflow src/a.txt -w "other-$RUN_ID"
expect 0 "list the workflow store with --workflow-id" list workflow --workflow-id "other-$RUN_ID"
check "the workflow store holds a.txt" has "$OUT" "a.txt"
expect 0 "push to the project store" push project src/a.txt
check "project wording" has "$OUT" "Successfully pushed artifact for current project."
run list workflow
check "the default workflow store is separate" test "$RC" -eq 0 -a -z "$OUT"

SEMAPHORE_JOB_ID= run push job src/a.txt
check "a missing job ID fails" test "$RC" -eq 1
check "the error names SEMAPHORE_JOB_ID and --job-id" \
	bash -c '[[ "$1" == *SEMAPHORE_JOB_ID* && "$1" == *--job-id* ]]' _ "$ERR"
expect 1 "push of a missing local path fails" push job src/nope.txt
check "the error says it does not exist locally" has "$ERR" \
	"path 'src/nope.txt' does not exist locally"
expect 1 "pull of a missing artifact fails" pull job nope.txt -d pulls/nope.txt
check "the error says so" has "$ERR" "does not exist"
check "nothing was written for the missing artifact" test ! -e pulls/nope.txt

# ---- clear errors ------------------------------------------------------------

LONG_ID=$(printf 'i%.0s' {1..1100})
expect 1 "a 1100-byte ID is refused" push job src/a.txt -d t.txt -j "$LONG_ID"
check "the error names the ID, cut for display, not the file" \
	bash -c '[[ "$1" == *"job ID '"'"'iiiiiiii"*"...'"'"' (1100 bytes) is too long"* &&
		"$1" != *t.txt* && ${#1} -lt 300 ]]' _ "$ERR"
check "the too-long ID error is one line" test "$(wc -l <"$WORK/err")" -eq 1

printf '[default]\naws_access_key_id = AKIDEFAULT\naws_secret_access_key = s3cr3t\n' \
	>"$WORK/credentials"
AWS_ACCESS_KEY_ID= AWS_SECRET_ACCESS_KEY= AWS_PROFILE=no-such-profile \
	AWS_SHARED_CREDENTIALS_FILE=$WORK/credentials \
	ARTIFACT_REMOTE=s3://some-bucket/x run list job
check "an unknown AWS_PROFILE fails" test "$RC" -eq 1
check "the error names the profile and the file ($ERR)" \
	bash -c '[[ "$1" == *"AWS_PROFILE '"'"'no-such-profile'"'"' not found"* && "$1" == *"$2"* ]]' \
	_ "$ERR" "$WORK/credentials"
check "the unknown-profile error is one line" test "$(wc -l <"$WORK/err")" -eq 1
check "no secret appears in it" bash -c '[[ "$1" != *s3cr3t* ]]' _ "$ERR"
AWS_ACCESS_KEY_ID= AWS_SECRET_ACCESS_KEY= AWS_PROFILE=no-such-profile \
	AWS_SHARED_CREDENTIALS_FILE=$WORK/no-such-file \
	ARTIFACT_REMOTE=s3://some-bucket/x run list job
check "an AWS_PROFILE without a credentials file fails, naming both" \
	bash -c '[[ $2 -eq 1 && "$1" == *no-such-profile* && "$1" == *no-such-file* ]]' \
	_ "$ERR" "$RC"

# ---- expiry ----------------------------------------------------------------

expect 1 "a malformed --expire-in is refused" push job src/a.txt -d exp/bad -e "3 fortnights"
expect 1 "an unparsable --expire-in is refused" push job src/a.txt -d exp/bad -e soon
expect 1 "an --expire-in that overflows is refused" push job src/a.txt -d exp/bad -e 10000y
check "it is called invalid, not taken as never" has "$ERR" "invalid --expire-in '10000y'"
expect 1 "an expiry past 9999-12-31 is refused" push job src/a.txt -d exp/bad -e 8000y
check "it is called too far away" has "$ERR" "--expire-in '8000y' is too far away"
expect 0 "push with --expire-in 2w" push job src/a.txt -d exp/later.txt -e 2w
expect 0 "an unexpired artifact pulls" pull job exp/later.txt -d pulls/later.txt
expect 0 "push with -e 1s" push job src/a.txt -d exp/soon.txt -e 1s
sleep 2.2
expect 1 "an expired artifact is gone for pull" pull job exp/soon.txt -d pulls/soon.txt

# ---- keys that are no safe path --------------------------------------------

if plant "artifacts/jobs/$JOB/evil/../../escape" "planted" &&
	plant "artifacts/jobs/$JOB/evil//abs" "planted" &&
	plant "artifacts/jobs/$JOB/evil/ok.txt" "fine"; then
	mkdir -p pulls/sandbox/inner
	run pull job evil -d pulls/sandbox/inner/evil
	check "pull of a directory holding unsafe keys succeeds" test "$RC" -eq 0
	check "the safe file arrived" grep -qx fine pulls/sandbox/inner/evil/ok.txt
	check "nothing was written outside the destination" \
		test -z "$(find "$WORK" -name escape -o -name abs)"
	check "the unsafe keys were reported" has "$ERR" "'..' segment"
else
	not_ok "could not plant unsafe keys: $(cat "$WORK/plant.err" 2>/dev/null)"
fi

# ---- names that hold control bytes ------------------------------------------

# Printed escaped (\xNN) wherever they appear, so a name cannot drive the
# terminal; spaces and UTF-8 stay as they are; --json carries them exactly.

# lines_clean FILE N -- FILE has N lines and no control byte in them.
lines_clean() {
	! LC_ALL=C grep -q '[[:cntrl:]]' "$1" && [[ $(wc -l <"$1") -eq $2 ]]
}

# moto answers 404 to any request for a key holding a newline: a tab there.
if [[ $BACKEND == moto ]]; then
	SEP=$'\t' SEPX='\x09'
else
	SEP=$'\n' SEPX='\x0a'
fi
CTL=$'e\e[31mvil'"${SEP}name.txt"
CTLX='e\x1b[31mvil'"${SEPX}name.txt"
if plant "artifacts/jobs/$JOB/ctl/$CTL" "control" &&
	plant "artifacts/jobs/$JOB/ctl/plain name ü.txt" "plain"; then
	expect 0 "list a directory holding a name with ESC and newline" list job ctl
	check "list prints two lines, no raw control byte" lines_clean "$WORK/out" 2
	check "list shows the name escaped (${OUT//$'\n'/|})" \
		has "$OUT" "$CTLX"
	check "spaces and UTF-8 are shown as they are" has "$OUT" "plain name ü.txt"
	expect 0 "list --json of that directory" list job ctl --json
	check "--json carries the name exactly" python3 -c '
import json, sys
names = {e["name"] for e in json.loads(sys.argv[1])}
assert names == {sys.argv[2], "plain name ü.txt"}, names
' "$OUT" "$CTL"
	mkdir -p pulls/ctl
	expect 0 "pull the file with the control bytes" pull job "ctl/$CTL" -d pulls/ctl/
	check "the pull prints four lines, no raw control byte" lines_clean "$WORK/out" 4
	check "the pull names the key escaped" has "$OUT" "ctl/$CTLX"
	check "the file arrived under its exact name" test -f "pulls/ctl/$CTL"
	expect 1 "pull over it again is refused" pull job "ctl/$CTL" -d pulls/ctl/
	check "the refusal is one line, escaped" lines_clean "$WORK/err" 1
	cp src/a.txt "src/$CTL"
	expect 0 "push a local file whose name holds control bytes" push job "src/$CTL" -d ctl2.txt
	check "the push prints four lines, no raw control byte" lines_clean "$WORK/out" 4
	check "the push names the source escaped" has "$OUT" "src/$CTLX"
	rm -f "src/$CTL"
	expect 1 "an error about such a name" yank job $'nope\e[2J\n.txt'
	check "is one line, escaped" lines_clean "$WORK/err" 1
	check "naming it with \\xNN" has "$ERR" 'nope\x1b[2J\x0a.txt'
	expect 0 "yank the directory" yank job ctl
else
	not_ok "could not plant a name with control bytes: $(cat "$WORK/plant.err" 2>/dev/null)"
fi
if [[ $BACKEND == file ]] && plant "artifacts/jobs/$JOB/latin/caf"$'\xe9'".txt" "x" &&
	plant "artifacts/jobs/$JOB/latin/ok.txt" "x"; then
	# S3 keys are UTF-8; a file:// store can hold any bytes.
	expect 0 "list --json of a name that is not UTF-8" list job latin --json
	check "--json leaves it out (no JSON string can hold it)" python3 -c '
import json, sys
assert [e["name"] for e in json.loads(sys.argv[1])] == ["ok.txt"]
' "$OUT"
	check "and says so on stderr" has "$ERR" "in --json: not UTF-8"
	expect 0 "list without --json shows it" list job latin
	check "both names are listed" test "$(wc -l <"$WORK/out")" -eq 2
fi

# ---- multipart -------------------------------------------------------------

head -c $((40 * 1024 * 1024)) /dev/urandom >src/big.bin
ARTIFACT_PART_SIZE=5M run push job src/big.bin
check "push a 40 MiB file in 5 MiB parts" test "$RC" -eq 0
check "push reports its size" has "$OUT" "Total of 40"
ARTIFACT_PART_SIZE=5M run pull job big.bin -d pulls/big.bin
check "pull the 40 MiB file with ranged GETs" test "$RC" -eq 0
check "the 40 MiB file round-trips (sha256)" \
	test "$(sha src/big.bin)" = "$(sha pulls/big.bin 2>/dev/null)"
rm -f src/big.bin pulls/big.bin

# ---- yank ------------------------------------------------------------------

expect 0 "yank a file" yank job a.txt
check "yank uses Semaphore's wording" has "$OUT" \
	"Successfully yanked 'artifacts/jobs/$JOB/a.txt' from current job artifacts."
expect 1 "the yanked file is gone" pull job a.txt -d pulls/gone.txt
expect 0 "yank a directory recursively (alias delete)" delete job trees
run list job trees
check "nothing is left under trees/" test "$RC" -eq 1
expect 1 "yank of a missing artifact fails" yank job trees
check "with Semaphore's hint" has "$ERR" \
	"Please check if the artifact you are trying to yank exists"

# ---- remote failures (S3 only) ---------------------------------------------

if [[ $BACKEND != file ]]; then
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
	T0=$(date +%s.%N)
	AWS_ENDPOINT_URL=http://127.0.0.1:$PORT run list job
	T1=$(date +%s.%N)
	check "an unreachable endpoint fails with exit 1 ($ERR)" test "$RC" -eq 1
	check "an unreachable endpoint fails within 15 s" \
		python3 -c "import sys; sys.exit(0 if $T1 - $T0 < 15 else 1)"

	ARTIFACT_REMOTE="s3://no-such-bucket-$RUN_ID/x" run list job
	check "a missing bucket fails with exit 1" test "$RC" -eq 1
	check "a missing bucket is named as such ($ERR)" \
		bash -c 'shopt -s nocasematch; [[ "$1" == *bucket* ]]' _ "$ERR"

	if [[ $BACKEND == swift ]]; then
		AWS_SECRET_ACCESS_KEY=wrong-secret run push job src/a.txt -d denied.txt
		check "a wrong secret fails with exit 1" test "$RC" -eq 1
		check "a wrong secret says access denied ($ERR)" \
			bash -c 'shopt -s nocasematch; [[ "$1" == *"access denied"* ]]' _ "$ERR"
		check "the secret never appears in the message" \
			bash -c '[[ "$1" != *wrong-secret* ]]' _ "$ERR"
	fi
fi

echo "$PASS passed, $FAIL failed"
[[ $FAIL -eq 0 ]]
