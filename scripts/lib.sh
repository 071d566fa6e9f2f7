# shellcheck shell=bash
# scripts/lib.sh — helpers shared by scripts/run, scripts/test and docker/Dockerfile. Source it; do not run it.
#
#   need_packages GROUP...      install the Debian 12 packages of GROUP (build, database, test, fuzz) that are missing
#   build_release               meson build in build/ (release), then ninja
#   build_asan                  meson build in build-asan/ (debug, AddressSanitizer + UBSan), then ninja
#   build_fuzz                  meson build in build-fuzz/ (clang, libFuzzer harnesses, ASan + UBSan), then ninja
#   pg_init DIR                 create a private PostgreSQL 15 cluster in DIR/data (first time only)
#   pg_start DIR PORT           start it: Unix socket in DIR, no TCP, log in DIR/server.log; wait until ready
#   pg_stop DIR                 stop it (fast shutdown) if it runs
#   pg_psql DIR PORT ARGS...    psql as the cluster's superuser `postgres` over the socket

SHARAKA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARAKA_PG_BIN=${SHARAKA_PG_BIN:-/usr/lib/postgresql/15/bin}

SHARAKA_PACKAGES_BUILD=(build-essential meson ninja-build pkg-config libmicrohttpd-dev libpq-dev libcurl4-openssl-dev libxlsxwriter-dev
	libjansson-dev libjwt-dev libsodium-dev python3-yaml)
SHARAKA_PACKAGES_DATABASE=(postgresql-15 postgresql-contrib)
SHARAKA_PACKAGES_TEST=(python3-pytest python3-requests python3-jsonschema python3-yaml curl clang-format openssl haproxy python3-openpyxl libxml2-utils chromium)
# libFuzzer: clang, its runtime libraries (-fsanitize=fuzzer, address, undefined) and the
# symbolizer that puts file:line in sanitizer reports.
SHARAKA_PACKAGES_FUZZ=(clang-14 libclang-rt-14-dev llvm-14)

say() { printf '==> %s\n' "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run: $* (no sudo here)"
	fi
}

# ---------------------------------------------------------------- packages

SHARAKA_APT_UPDATED=${SHARAKA_APT_UPDATED:-}

need_packages() {
	local group pkg
	local -a wanted=() missing=()
	for group in "$@"; do
		case $group in
		build) wanted+=("${SHARAKA_PACKAGES_BUILD[@]}") ;;
		database) wanted+=("${SHARAKA_PACKAGES_DATABASE[@]}") ;;
		fuzz) wanted+=("${SHARAKA_PACKAGES_FUZZ[@]}") ;;
		test)
			wanted+=("${SHARAKA_PACKAGES_TEST[@]}")
			# Node.js may come from elsewhere (with its own npm): add Debian's only when there is none.
			command -v node >/dev/null 2>&1 || wanted+=(nodejs npm)
			;;
		*) die "need_packages: unknown group '$group' (build, database, test, fuzz)" ;;
		esac
	done
	for pkg in "${wanted[@]}"; do
		if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)" != "ii " ]; then
			case " ${missing[*]} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
		fi
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	if [ -z "$SHARAKA_APT_UPDATED" ]; then
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update || return
		SHARAKA_APT_UPDATED=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# ---------------------------------------------------------------- builds

# Configures DIR with the given meson options unless it is configured already, then builds it.
meson_build() {
	local dir=$1
	shift
	if [ ! -f "$SHARAKA_ROOT/$dir/build.ninja" ]; then
		if [ -f "$SHARAKA_ROOT/$dir/meson-private/coredata.dat" ]; then
			meson setup --reconfigure "$SHARAKA_ROOT/$dir" "$SHARAKA_ROOT" "$@" || return
		else
			meson setup "$SHARAKA_ROOT/$dir" "$SHARAKA_ROOT" "$@" || return
		fi
	fi
	ninja -C "$SHARAKA_ROOT/$dir"
}

build_release() {
	say "building build/ (release)"
	meson_build build --buildtype=release
}

build_asan() {
	say "building build-asan/ (AddressSanitizer + UBSan)"
	meson_build build-asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
}

# Debian's clang 14 and libFuzzer; the server and the unit tests are not built there.
SHARAKA_FUZZ_CC=${SHARAKA_FUZZ_CC:-clang-14}
build_fuzz() {
	say "building build-fuzz/ (libFuzzer harnesses, $SHARAKA_FUZZ_CC, AddressSanitizer + UBSan)"
	CC=$SHARAKA_FUZZ_CC meson_build build-fuzz --buildtype=debugoptimized -Dfuzz=true -Db_lundef=false
}

# ---------------------------------------------------------------- private PostgreSQL

# Runs a PostgreSQL server program as its owner. PostgreSQL refuses to run as root, so root runs it
# as the `postgres` account; anyone else runs it as themselves. Runs from / so that the owner
# needs no access to the caller's working directory.
pg_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		(cd / && "$@")
	fi
}

# Where a cluster for this clone goes: WANTED when its owner can reach it, else (root, with a
# clone closed to the postgres account) /var/tmp/sharaka-pg-<hash of the clone's path>, a folder
# only postgres may enter. Prints the folder.
pg_default_dir() {
	local wanted=$1 parent key
	parent=$(dirname "$wanted")
	mkdir -p "$parent"
	if [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$parent" 2>/dev/null; then
		printf '%s\n' "$wanted"
		return
	fi
	id postgres >/dev/null 2>&1 || die "no 'postgres' account: install postgresql-15"
	key=$(printf '%s' "$SHARAKA_ROOT" | sha256sum | cut -c1-16)
	printf '/var/tmp/sharaka-pg-%s\n' "$key"
}

pg_abs_dir() {
	mkdir -p "$1"
	(cd "$1" && pwd)
}

pg_init() {
	local dir
	dir=$(pg_abs_dir "$1")
	# A Unix socket path holds at most 107 bytes: DIR/.s.PGSQL.NNNNN must fit.
	[ $((${#dir} + 16)) -le 107 ] || die "$dir is too long a path for a Unix socket; use a shorter folder"
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || die "no 'postgres' account: install postgresql-15"
		chown postgres:postgres "$dir"
		runuser -u postgres -- test -w "$dir" ||
			die "the postgres account cannot reach $dir (a parent folder is closed to it); use a folder it can reach"
	fi
	chmod 700 "$dir"
	[ -f "$dir/data/PG_VERSION" ] && return 0
	say "creating a PostgreSQL cluster in $dir/data"
	pg_as_owner "$SHARAKA_PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
		>"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		die "initdb failed"
	}
}

pg_running() {
	local dir=$1
	[ -f "$dir/data/PG_VERSION" ] && pg_as_owner "$SHARAKA_PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

pg_start() {
	local dir port=$2 tries
	dir=$(pg_abs_dir "$1")
	[ -f "$dir/data/PG_VERSION" ] || die "no cluster in $dir: call pg_init first"
	if ! pg_running "$dir"; then
		say "starting PostgreSQL on $dir/.s.PGSQL.$port"
		# listen_addresses='' : Unix socket only, no TCP.
		pg_as_owner "$SHARAKA_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
			-o "-p $port -k $(printf '%q' "$dir") -c listen_addresses=''" start >/dev/null || {
			tail -n 20 "$dir/server.log" >&2
			die "PostgreSQL did not start (log: $dir/server.log)"
		}
	fi
	for ((tries = 0; tries < 60; tries++)); do
		"$SHARAKA_PG_BIN/pg_isready" -q -h "$dir" -p "$port" && return 0
		sleep 0.5
	done
	die "PostgreSQL on $dir port $port is not ready (log: $dir/server.log)"
}

pg_stop() {
	local dir
	[ -d "$1" ] || return 0
	dir=$(cd "$1" && pwd)
	pg_running "$dir" || return 0
	say "stopping PostgreSQL in $dir"
	pg_as_owner "$SHARAKA_PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
}

pg_psql() {
	local dir port=$2
	dir=$(cd "$1" && pwd)
	shift 2
	"$SHARAKA_PG_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres "$@"
}
