# Sourced by .ci/run (bash): a throw-away PostgreSQL server for the tests.
#
# - DATABASE_URL already set: nothing to do (a developer's own server).
# - Otherwise: installs Debian's `postgresql` package when no server binaries
#   are found, creates a cluster in a temporary folder owned by the
#   `postgres` user (initdb refuses root), starts it on a free loopback port
#   (never the 5432 a packaged server may already use), exports
#   DATABASE_URL=postgres://postgres@127.0.0.1:PORT/postgres, and stops and
#   removes it when the calling shell exits.
#
# Try it alone: bash -c '. ci/start-postgres.sh && psql "$DATABASE_URL" -c "select 1"'

smartid_pg_bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
    echo "$dir"
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  fi
}

smartid_pg_as_owner() {
  # Runs a command as the cluster's owner: `postgres` when we are root.
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null 2>&1; then
      runuser -u postgres -- "$@"
    else
      su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
    fi
  else
    "$@"
  fi
}

smartid_pg_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

smartid_pg_stop() {
  if [ -n "${SMARTID_PG_DIR:-}" ] && [ -d "$SMARTID_PG_DIR" ]; then
    smartid_pg_as_owner "$SMARTID_PG_BIN/pg_ctl" -D "$SMARTID_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$SMARTID_PG_DIR"
  fi
}

smartid_pg_start() {
  if [ -n "${DATABASE_URL:-}" ]; then
    echo "PostgreSQL: using the server of DATABASE_URL"
    return 0
  fi
  SMARTID_PG_BIN="$(smartid_pg_bindir)"
  if [ -z "$SMARTID_PG_BIN" ]; then
    echo "PostgreSQL: installing Debian's postgresql package"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
    SMARTID_PG_BIN="$(smartid_pg_bindir)"
    if [ -z "$SMARTID_PG_BIN" ]; then
      echo "PostgreSQL: no initdb after installing postgresql" >&2
      return 1
    fi
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  fi
  SMARTID_PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/smartid-pg.XXXXXX")"
  trap smartid_pg_stop EXIT
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$SMARTID_PG_DIR"
  fi
  smartid_pg_as_owner "$SMARTID_PG_BIN/initdb" -D "$SMARTID_PG_DIR/data" -A trust -U postgres \
    --no-sync >"$SMARTID_PG_DIR/initdb.log" 2>&1 || {
    cat "$SMARTID_PG_DIR/initdb.log" >&2
    return 1
  }
  local port attempt
  for attempt in 1 2 3; do
    port="$(smartid_pg_free_port)"
    # fsync off: a throw-away cluster. Many connections: every test store
    # has a pool and a LISTEN connection, and tests run in parallel.
    if smartid_pg_as_owner "$SMARTID_PG_BIN/pg_ctl" -D "$SMARTID_PG_DIR/data" \
      -l "$SMARTID_PG_DIR/server.log" -w -t 60 \
      -o "-p $port -k $SMARTID_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
      start >/dev/null; then
      export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
      echo "PostgreSQL: $("$SMARTID_PG_BIN/postgres" --version) on 127.0.0.1:$port (throw-away cluster)"
      return 0
    fi
    echo "PostgreSQL: start on port $port failed (attempt $attempt)" >&2
    tail -n 5 "$SMARTID_PG_DIR/server.log" >&2 || true
  done
  return 1
}

smartid_pg_start
