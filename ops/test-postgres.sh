#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the test suite: the persistence and read-model tests run against
# it as well as SQLite. Sourced by ops/test.sh: pandafuzz_start_test_postgres installs Debian's postgresql when it
# is missing (as root), starts a fresh server in a temp folder on a free port, exports PANDAFUZZ_TEST_POSTGRES
# (its connection string), and pandafuzz_stop_test_postgres stops it and deletes the folder.
set -euo pipefail

pandafuzz_postgres_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  return 1
}

pandafuzz_start_test_postgres() {
  if [ -n "${PANDAFUZZ_TEST_POSTGRES:-}" ]; then
    echo "PostgreSQL for the tests: the server PANDAFUZZ_TEST_POSTGRES names" >&2
    return 0
  fi
  local bin
  if ! bin=$(pandafuzz_postgres_bin); then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "Installing: postgresql" >&2
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
      # Debian's package starts a cluster of its own; the tests use their own server, not that one.
    fi
    bin=$(pandafuzz_postgres_bin) || { echo "The PostgreSQL tests need Debian's postgresql package (initdb, pg_ctl)" >&2; return 1; }
  fi
  PANDAFUZZ_PG_DIR=$(mktemp -d /tmp/pandafuzz-test-postgres.XXXXXX)
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  # initdb and the server refuse to run as root: as root they run as the postgres user, who owns the folder.
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$PANDAFUZZ_PG_DIR"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$bin/initdb" -D "$PANDAFUZZ_PG_DIR/data" -U postgres --auth=trust >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$PANDAFUZZ_PG_DIR/data" -l "$PANDAFUZZ_PG_DIR/log" -w \
    -o "-p $port -k $PANDAFUZZ_PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
  PANDAFUZZ_PG_BIN=$bin
  export PANDAFUZZ_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres"
  echo "PostgreSQL for the tests: 127.0.0.1:$port (log $PANDAFUZZ_PG_DIR/log)" >&2
}

pandafuzz_stop_test_postgres() {
  [ -n "${PANDAFUZZ_PG_DIR:-}" ] || return 0
  local run=()
  [ "$(id -u)" -eq 0 ] && run=(runuser -u postgres --)
  "${run[@]}" "$PANDAFUZZ_PG_BIN/pg_ctl" -D "$PANDAFUZZ_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PANDAFUZZ_PG_DIR"
}
