# scripts/lib/deps.sh -- install what artifactfs needs on a fresh Debian 12.
#
# Sourced by scripts/test, scripts/demo and scripts/bench.  Public functions:
#
#   afs_install_deps [PKG...]   build + test packages, plus any PKG given
#   afs_install_build_deps [PKG...]  build packages only (no S3 servers)
#   afs_find_tool NAME          print the path of NAME (PATH, then pyenv)
#   afs_require_python_tools    check moto_server and aws; fail clearly
#
# Only packages dpkg reports as not installed are fetched, so when all are
# present this is a fast no-op (one dpkg-query, no network).  apt-get update
# runs at most once per shell.  Installing needs root; without root and with
# something missing we fail with the list of what to install.
#
# moto_server and aws (awscli v1) come from the pyenv Python on the machine:
# PyPI is not reachable, so we cannot install them; we only find them.

# Packages to build artifactfs and run its unit/contract/cli/mount tests.
AFS_BUILD_PKGS=(build-essential cmake pkg-config libcurl4-openssl-dev
	libjansson-dev libcmocka-dev libexpat1-dev libssl-dev libfuse3-dev
	fuse3 attr clang libclang-rt-14-dev python3 curl procps)
# Packages for the S3 servers the tests run against on loopback.
AFS_SERVER_PKGS=(swift-proxy swift-account swift-container swift-object
	memcached)

AFS_APT_UPDATED=${AFS_APT_UPDATED:-0}

# afs_missing_pkgs PKG... -- print the packages dpkg does not have installed.
afs_missing_pkgs() {
	local pkg status
	for pkg in "$@"; do
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
		if [[ "$status" != "install ok installed" ]]; then
			printf '%s\n' "$pkg"
		fi
	done
}

# afs_apt_install PKG... -- install those of PKG that are missing.
afs_apt_install() {
	local missing
	mapfile -t missing < <(afs_missing_pkgs "$@")
	if ((${#missing[@]} == 0)); then
		return 0
	fi
	if [[ "$(id -u)" != 0 ]]; then
		echo "deps: missing packages: ${missing[*]}" >&2
		echo "deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
		return 1
	fi
	echo "deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	if [[ "$AFS_APT_UPDATED" != 1 ]]; then
		apt-get update -qq >&2
		AFS_APT_UPDATED=1
	fi
	# policy-rc.d keeps the packages' services (memcached, swift) from being
	# started by the install: we run our own instances on free ports.
	local prc=/usr/sbin/policy-rc.d made_prc=0
	if [[ ! -e "$prc" ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod 755 "$prc" &&
			made_prc=1
	fi
	local rc=0
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
		rc=$?
	if ((made_prc)); then
		rm -f "$prc"
	fi
	if ((rc != 0)); then
		echo "deps: apt-get install failed ($rc)" >&2
		return "$rc"
	fi
}

# afs_find_tool NAME -- print the full path of NAME: from PATH, else from
# the pyenv installs (CI may run with a PATH that lacks pyenv's shims).
afs_find_tool() {
	local name=$1 p
	p=$(command -v "$name" 2>/dev/null || true)
	if [[ -n "$p" ]]; then
		printf '%s\n' "$p"
		return 0
	fi
	local root=${PYENV_ROOT:-$HOME/.pyenv}
	for p in "$root"/shims/"$name" "$root"/versions/*/bin/"$name"; do
		if [[ -x "$p" ]]; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	return 1
}

# afs_require_python_tools -- fail with a clear message when moto_server or
# aws is not available (they cannot be installed here: no PyPI).
afs_require_python_tools() {
	local t ok=0
	for t in moto_server aws; do
		if ! afs_find_tool "$t" >/dev/null; then
			echo "deps: '$t' not found on PATH or in pyenv; it must be" \
				"preinstalled (pip install 'moto[server]' awscli)" \
				"-- PyPI is not reachable from here" >&2
			ok=1
		fi
	done
	return "$ok"
}

# afs_install_build_deps [PKG...] -- what a build needs, plus PKG.
afs_install_build_deps() {
	afs_apt_install "${AFS_BUILD_PKGS[@]}" "$@"
}

# afs_install_deps [PKG...] -- build, test and server packages, plus PKG;
# then checks the preinstalled Python tools.
afs_install_deps() {
	afs_apt_install "${AFS_BUILD_PKGS[@]}" "${AFS_SERVER_PKGS[@]}" "$@" ||
		return 1
	afs_require_python_tools
}
