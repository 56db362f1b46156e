#!/usr/bin/env bash
# Starts a PostgreSQL cluster for the tests on 127.0.0.1 and prints, on
# stdout and nothing else, `export RTSAPC_PG_DSN=...` for `eval`.
#
# Idempotent: installs Debian's postgresql package only when no server
# binaries exist, initialises the cluster once, starts it only when it is not
# answering, creates the role and database only when missing. Everything
# else goes to stderr.
#
# Settings (environment): RTSAPC_PG_PORT (54329), RTSAPC_PG_DIR
# (/var/lib/postgresql/rtsapc-ci), RTSAPC_PG_USER/PASSWORD/DB (rtsapc).
set -euo pipefail

port=${RTSAPC_PG_PORT:-54329}
dir=${RTSAPC_PG_DIR:-/var/lib/postgresql/rtsapc-ci}
user=${RTSAPC_PG_USER:-rtsapc}
pass=${RTSAPC_PG_PASSWORD:-rtsapc}
db=${RTSAPC_PG_DB:-rtsapc}
dsn="postgres://${user}:${pass}@127.0.0.1:${port}/${db}?sslmode=disable"

log() { echo "postgres.sh: $*" >&2; }

pgbin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	[ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

bin=$(pgbin || true)
if [ -z "$bin" ]; then
	log "installing postgresql from Debian"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq postgresql >&2
	bin=$(pgbin)
fi

# The server refuses to run as root: run its tools as the postgres user then.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Fast path: the cluster answers with our credentials.
ready() {
	PGPASSWORD=$pass PGCONNECT_TIMEOUT=3 "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U "$user" -d "$db" \
		-tAc 'select 1' >/dev/null 2>&1
}
if ready; then
	echo "export RTSAPC_PG_DSN='$dsn'"
	exit 0
fi

if [ "$(id -u)" = 0 ]; then
	mkdir -p "$dir"
	chown postgres:postgres "$dir"
	chmod 700 "$dir"
else
	mkdir -p "$dir"
fi

# A cluster left by another major version cannot start with these binaries.
major=$(basename "$(dirname "$bin")")
if [ -s "$dir/PG_VERSION" ] && [ "$(cat "$dir/PG_VERSION")" != "$major" ]; then
	log "cluster in $dir is PostgreSQL $(cat "$dir/PG_VERSION"), binaries are $major: re-initialising"
	as_pg "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
	find "$dir" -mindepth 1 -delete
fi

if [ ! -s "$dir/PG_VERSION" ]; then
	log "initialising cluster in $dir"
	pwfile=$(mktemp)
	printf '%s\n' "$pass" >"$pwfile"
	[ "$(id -u)" = 0 ] && chown postgres "$pwfile"
	as_pg "$bin/initdb" -D "$dir" -U "$user" --pwfile="$pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >&2
	rm -f "$pwfile"
fi

if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
	log "starting on 127.0.0.1:$port"
	# The socket lives in the data directory, away from any system cluster's.
	# fsync off: test data, speed over durability.
	as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
		start >&2 || {
		tail -n 20 "$dir/server.log" >&2 || true
		exit 1
	}
fi

# The initdb superuser is $user; its default database may be missing.
if ! as_pg "$bin/psql" -X -q -h "$dir" -p "$port" -U "$user" -d postgres -tAc \
	"select 1 from pg_database where datname = '$db'" | grep -q 1; then
	log "creating database $db"
	as_pg "$bin/createdb" -h "$dir" -p "$port" -U "$user" -O "$user" "$db" >&2
fi

if ! ready; then
	log "cluster started but does not accept $user@127.0.0.1:$port/$db (see $dir/server.log)"
	exit 1
fi
echo "export RTSAPC_PG_DSN='$dsn'"
