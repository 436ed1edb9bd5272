# scripts/lib/servers.sh -- real S3 servers on loopback for tests and bench.
#
# Source this file (bash), then:
#
#   afs_start_moto WORKDIR    moto_server (S3 semantics, no signature checks)
#   afs_start_swift WORKDIR   OpenStack Swift + s3api + tempauth (checks
#                             SigV4; a production store, fast enough to bench)
#   afs_stop_servers          stop exactly the processes started above
#
# Each start picks free ports on 127.0.0.1, keeps its data, configs and logs
# under WORKDIR/moto or WORKDIR/swift, waits (bounded) until the server
# answers, creates a bucket with a signed PUT, and exports
#
#   AFS_TEST_<NAME>_ENDPOINT  http://127.0.0.1:PORT
#   AFS_TEST_<NAME>_KEY, _SECRET, _BUCKET, _REGION (us-east-1)
#
# with NAME = MOTO or SWIFT.  Call the start functions directly, not in a
# subshell such as $(...): the PIDs they record live in AFS_SERVER_PIDS of
# the calling shell, and afs_stop_servers kills only those (TERM, then KILL
# after a bounded wait).  Nothing here touches /etc/swift or any system
# service, and nothing is killed by name.
#
# Knobs: AFS_SERVER_TIMEOUT (seconds to wait for health, default 60),
# AFS_SWIFT_MEMCACHED=0 (run Swift's cache middleware without memcached).

AFS_SERVER_PIDS=()
AFS_SERVER_TIMEOUT=${AFS_SERVER_TIMEOUT:-60}
AFS_SERVERS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deps.sh
source "$AFS_SERVERS_LIB_DIR/deps.sh"

# afs_now -- seconds since the epoch, with fraction.
afs_now() {
	date +%s.%N
}

# afs_elapsed START -- seconds since START (an afs_now value), 1 decimal.
afs_elapsed() {
	awk -v s="$1" -v e="$(afs_now)" 'BEGIN { printf "%.1f", e - s }'
}

# afs_free_ports N -- print N distinct free TCP ports on 127.0.0.1, one a
# line.  All N sockets are held open together so the ports differ; the
# usual small window remains between closing them and the server binding.
afs_free_ports() {
	/usr/bin/python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
for s in socks:
    s.close()
EOF
}

# afs_random_hex N -- N random bytes as hex.
afs_random_hex() {
	od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

# afs_spawn LOGFILE CMD... -- start CMD in the background, stdout and stderr
# to LOGFILE, stdin from /dev/null; record its PID.  CMD must not fork
# away from that PID (all our servers run in the foreground).
afs_spawn() {
	local log=$1
	shift
	"$@" </dev/null >>"$log" 2>&1 &
	AFS_SERVER_PIDS+=("$!")
	AFS_LAST_PID=$!
}

# afs_http_code URL -- print the HTTP status of a GET of URL (000 if none).
afs_http_code() {
	curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true
}

# afs_wait_http URL WANT PID NAME LOG -- poll URL until its status matches
# the regex WANT; fail if PID dies or AFS_SERVER_TIMEOUT passes.
afs_wait_http() {
	local url=$1 want=$2 pid=$3 name=$4 log=$5 code
	local deadline=$((SECONDS + AFS_SERVER_TIMEOUT))
	while :; do
		code=$(afs_http_code "$url")
		if [[ "$code" =~ ^($want)$ ]]; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "servers: $name (pid $pid) exited; last log lines" \
				"from $log:" >&2
			tail -n 30 "$log" >&2 || true
			return 1
		fi
		if ((SECONDS >= deadline)); then
			echo "servers: $name not healthy at $url after" \
				"${AFS_SERVER_TIMEOUT}s (last status $code); see $log" >&2
			return 1
		fi
		sleep 0.1
	done
}

# afs_aws ENDPOINT KEY SECRET ARGS... -- run awscli against ENDPOINT with
# those credentials, ignoring the user's own AWS config files.
afs_aws() {
	local endpoint=$1 key=$2 secret=$3 aws
	shift 3
	aws=$(afs_find_tool aws) || {
		echo "servers: aws (awscli) not found" >&2
		return 1
	}
	env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SESSION_TOKEN \
		AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" \
		AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 \
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_EC2_METADATA_DISABLED=true \
		"$aws" --endpoint-url "$endpoint" "$@"
}

# afs_make_bucket NAME ENDPOINT KEY SECRET BUCKET LOG -- create BUCKET with
# a signed PUT, retrying while the server finishes starting.
afs_make_bucket() {
	local name=$1 endpoint=$2 key=$3 secret=$4 bucket=$5 log=$6
	local deadline=$((SECONDS + AFS_SERVER_TIMEOUT))
	while :; do
		if afs_aws "$endpoint" "$key" "$secret" \
			s3api create-bucket --bucket "$bucket" >>"$log" 2>&1; then
			return 0
		fi
		if ((SECONDS >= deadline)); then
			echo "servers: could not create bucket $bucket on $name" \
				"($endpoint); see $log" >&2
			tail -n 20 "$log" >&2 || true
			return 1
		fi
		sleep 0.5
	done
}


# afs_start_moto WORKDIR -- start moto_server, create a bucket, export
# AFS_TEST_MOTO_*.  Moto keeps its data in memory; WORKDIR/moto holds the
# log.  Fails (status 1, message on stderr) if moto_server is missing or
# does not answer in time.
afs_start_moto() {
	local work=$1/moto moto port t0 key secret bucket=afs-test
	t0=$(afs_now)
	moto=$(afs_find_tool moto_server) || {
		echo "servers: moto_server not found on PATH or in pyenv;" \
			"it must be preinstalled (PyPI is not reachable)" >&2
		return 1
	}
	mkdir -p "$work"
	port=$(afs_free_ports 1)
	afs_spawn "$work/moto.log" env -C "$work" "$moto" -H 127.0.0.1 \
		-p "$port"
	afs_wait_http "http://127.0.0.1:$port/" '[1-5][0-9][0-9]' \
		"$AFS_LAST_PID" moto "$work/moto.log" || return 1
	key=moto-$(afs_random_hex 4)
	secret=$(afs_random_hex 16)
	afs_make_bucket moto "http://127.0.0.1:$port" "$key" "$secret" \
		"$bucket" "$work/moto.log" || return 1
	export AFS_TEST_MOTO_ENDPOINT="http://127.0.0.1:$port"
	export AFS_TEST_MOTO_KEY="$key"
	export AFS_TEST_MOTO_SECRET="$secret"
	export AFS_TEST_MOTO_BUCKET="$bucket"
	export AFS_TEST_MOTO_REGION=us-east-1
	echo "servers: moto up at $AFS_TEST_MOTO_ENDPOINT (pid" \
		"$AFS_LAST_PID) in $(afs_elapsed "$t0")s" >&2
}

# swift_write_server_conf FILE KIND PORT -- config of one Swift storage
# server (account, container or object).  sw_* come from afs_start_swift's
# locals (bash's dynamic scope).
swift_write_server_conf() {
	local file=$1 kind=$2 port=$3
	cat >"$file" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
workers = 0
user = $sw_user
swift_dir = $sw_etc
devices = $sw_dev
mount_check = false
disable_fallocate = true
log_name = $kind-server
log_udp_host = 127.0.0.1
log_udp_port = $sw_logport

[pipeline:main]
pipeline = healthcheck $kind-server

[filter:healthcheck]
use = egg:swift#healthcheck

[app:$kind-server]
use = egg:swift#$kind
EOF
}

# swift_write_proxy_conf FILE -- the proxy's config: S3 API over tempauth.
swift_write_proxy_conf() {
	cat >"$1" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $p_proxy
workers = 0
user = $sw_user
swift_dir = $sw_etc
log_name = proxy-server
log_udp_host = 127.0.0.1
log_udp_port = $sw_logport

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$p_mc

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = $secret .admin

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
EOF
}

# swift_build_rings -- object, container and account rings in $sw_etc:
# one device, one replica, 2^6 partitions.  The three are independent, so
# they are built in parallel (each swift-ring-builder call is a Python
# start-up).
swift_build_rings() {
	local spec kind port pid rc=0 pids=()
	for spec in object:"$p_obj" container:"$p_cont" account:"$p_acct"; do
		kind=${spec%%:*}
		port=${spec#*:}
		(
			b=$sw_etc/$kind.builder
			swift-ring-builder "$b" create 6 1 1 &&
				swift-ring-builder "$b" add \
					"r1z1-127.0.0.1:$port/d1" 100 &&
				swift-ring-builder "$b" rebalance
		) >>"$sw_log/rings-$kind.log" 2>&1 &
		pids+=("$!")
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || rc=1
	done
	if ((rc != 0)); then
		echo "servers: swift-ring-builder failed; see $sw_log/rings-*.log" >&2
		cat "$sw_log"/rings-*.log >&2
	fi
	return "$rc"
}

# afs_start_swift WORKDIR -- start a one-node, one-replica Swift with the
# S3 API (memcached, account, container, object and proxy servers) under
# WORKDIR/swift, create a bucket, export AFS_TEST_SWIFT_*.  Its own
# swift_dir (WORKDIR/swift/etc) holds swift.conf and the rings; /etc/swift
# is neither read for them nor changed.  Logs: WORKDIR/swift/log/*.log
# (servers run with --verbose to log there; their syslog copy goes to an
# unused loopback UDP port, so nothing reaches the system log).
afs_start_swift() {
	local sw=$1/swift t0 ports sw_user sw_etc sw_dev sw_log sw_logport
	local p_proxy p_acct p_cont p_obj p_mc kind port secret bin spec
	local bucket=afs-test key=test:tester
	t0=$(afs_now)
	for bin in swift-ring-builder swift-proxy-server swift-account-server \
		swift-container-server swift-object-server memcached; do
		if ! command -v "$bin" >/dev/null; then
			echo "servers: $bin not found (apt-get install swift-proxy" \
				"swift-account swift-container swift-object" \
				"memcached)" >&2
			return 1
		fi
	done
	sw_user=$(id -un)
	sw_etc=$sw/etc
	sw_dev=$sw/devices
	sw_log=$sw/log
	mkdir -p "$sw_etc" "$sw_dev/d1" "$sw_log"
	mapfile -t ports < <(afs_free_ports 6)
	p_proxy=${ports[0]} p_acct=${ports[1]} p_cont=${ports[2]}
	p_obj=${ports[3]} p_mc=${ports[4]} sw_logport=${ports[5]}
	secret=$(afs_random_hex 16)

	cat >"$sw_etc/swift.conf" <<EOF
[swift-hash]
swift_hash_path_suffix = $(afs_random_hex 8)
swift_hash_path_prefix = $(afs_random_hex 8)

[storage-policy:0]
name = Policy-0
default = yes
EOF
	swift_write_server_conf "$sw_etc/account-server.conf" account "$p_acct"
	swift_write_server_conf "$sw_etc/container-server.conf" container \
		"$p_cont"
	swift_write_server_conf "$sw_etc/object-server.conf" object "$p_obj"
	swift_write_proxy_conf "$sw_etc/proxy-server.conf"
	swift_build_rings || return 1

	# memcached: the proxy's cache middleware works without it (every
	# lookup misses and is logged as an error), but account/container
	# info and tempauth are cached there in production, so run one.
	local -a mc_user=()
	if [[ "$(id -u)" == 0 ]]; then
		mc_user=(-u root)
	fi
	afs_spawn "$sw_log/memcached.log" memcached -l 127.0.0.1 -p "$p_mc" \
		-U 0 -m 64 "${mc_user[@]}"
	for spec in account:"$p_acct" container:"$p_cont" object:"$p_obj"; do
		kind=${spec%%:*}
		afs_spawn "$sw_log/$kind-server.log" "swift-$kind-server" \
			"$sw_etc/$kind-server.conf" --verbose
	done
	afs_spawn "$sw_log/proxy-server.log" swift-proxy-server \
		"$sw_etc/proxy-server.conf" --verbose
	local proxy_pid=$AFS_LAST_PID n=${#AFS_SERVER_PIDS[@]}
	local acct_pid=${AFS_SERVER_PIDS[n - 4]}
	local cont_pid=${AFS_SERVER_PIDS[n - 3]}
	local obj_pid=${AFS_SERVER_PIDS[n - 2]}
	afs_wait_http "http://127.0.0.1:$p_acct/healthcheck" 200 "$acct_pid" \
		swift-account-server "$sw_log/account-server.log" || return 1
	afs_wait_http "http://127.0.0.1:$p_cont/healthcheck" 200 "$cont_pid" \
		swift-container-server "$sw_log/container-server.log" ||
		return 1
	afs_wait_http "http://127.0.0.1:$p_obj/healthcheck" 200 "$obj_pid" \
		swift-object-server "$sw_log/object-server.log" || return 1
	afs_wait_http "http://127.0.0.1:$p_proxy/healthcheck" 200 \
		"$proxy_pid" swift-proxy-server "$sw_log/proxy-server.log" ||
		return 1
	afs_make_bucket swift "http://127.0.0.1:$p_proxy" "$key" "$secret" \
		"$bucket" "$sw_log/create-bucket.log" || return 1
	export AFS_TEST_SWIFT_ENDPOINT="http://127.0.0.1:$p_proxy"
	export AFS_TEST_SWIFT_KEY="$key"
	export AFS_TEST_SWIFT_SECRET="$secret"
	export AFS_TEST_SWIFT_BUCKET="$bucket"
	export AFS_TEST_SWIFT_REGION=us-east-1
	echo "servers: swift up at $AFS_TEST_SWIFT_ENDPOINT (pids" \
		"${AFS_SERVER_PIDS[*]:n-5}) in $(afs_elapsed "$t0")s;" \
		"logs in $sw_log" >&2
}

# afs_stop_servers -- stop every process the start functions recorded:
# SIGTERM, wait up to 10 s, then SIGKILL what is left.  Safe to call twice
# and when nothing was started.
afs_stop_servers() {
	local pid left deadline=$((SECONDS + 10))
	if ((${#AFS_SERVER_PIDS[@]} == 0)); then
		return 0
	fi
	for pid in "${AFS_SERVER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	while :; do
		left=()
		for pid in "${AFS_SERVER_PIDS[@]}"; do
			if kill -0 "$pid" 2>/dev/null &&
				[[ "$(ps -o stat= -p "$pid" 2>/dev/null)" != Z* ]]; then
				left+=("$pid")
			fi
		done
		if ((${#left[@]} == 0)) || ((SECONDS >= deadline)); then
			break
		fi
		sleep 0.1
	done
	for pid in "${left[@]}"; do
		echo "servers: pid $pid ignored SIGTERM; sending SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null || true
	done
	for pid in "${AFS_SERVER_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	AFS_SERVER_PIDS=()
}
