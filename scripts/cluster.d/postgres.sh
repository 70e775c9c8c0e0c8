# shellcheck shell=bash
# Component: PostgreSQL (Debian's postgresql), a private cluster run by the 'postgres' OS user.
#
# Port 15432 on 127.0.0.1, unix socket in .acu/cluster/postgres/run; role 'acu' (password 'acu') owns
# database 'acu'. Runtime: .acu/cluster/postgres/ (data/, run/, postgres.log), owned by 'postgres'.

PG_PORT=${ACU_PG_PORT:-$((15432 + PORT_OFFSET))}
# The major version the tests run: Debian 12's postgresql. compose.yaml runs its image (tests/compose.test.ts).
PG_MAJOR=15
PG_USER=postgres   # the OS user that owns and runs the cluster (postgres refuses to run as root)

pg_dir() { echo "$RUN_DIR/postgres"; }
pg_data() { echo "$(pg_dir)/data"; }
pg_sock() { echo "$(pg_dir)/run"; }

# pg_bindir: the newest installed server's bin folder (initdb, pg_ctl are not on PATH on Debian).
pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1) || true
  [[ -n $d && -x $d/pg_ctl && -x $d/initdb ]] && echo "$d"
}

pg_as() { runuser -u "$PG_USER" -- "$@"; }

install_postgres() {
  if [[ -z $(pg_bindir) ]]; then
    apt_install postgresql
    [[ -n $(pg_bindir) ]] || die "postgres: no /usr/lib/postgresql/*/bin/pg_ctl after installing postgresql"
  fi
  log "postgres: installed ($("$(pg_bindir)/postgres" --version))"
  [[ $(basename "$(dirname "$(pg_bindir)")") == "$PG_MAJOR" ]] ||
    warn "postgres: $(basename "$(dirname "$(pg_bindir)")") installed, but the tests and compose.yaml expect $PG_MAJOR"
}

# The 'postgres' user must reach .acu/cluster/postgres: give traverse (x) rights on the folders we own.
pg_prepare_dirs() {
  id "$PG_USER" >/dev/null 2>&1 || die "postgres: no '$PG_USER' OS user (install the postgresql package)"
  mkdir -p "$RUN_DIR"
  local d=$RUN_DIR
  while [[ $d == "$ROOT"/* ]]; do chmod o+x "$d"; d=$(dirname "$d"); done
  pg_as test -x "$RUN_DIR" ||
    die "postgres: user '$PG_USER' cannot traverse the path to $RUN_DIR; give its parent folders o+x"
  mkdir -p "$(pg_dir)" "$(pg_sock)"
  chown "$PG_USER:" "$(pg_dir)" "$(pg_sock)"
  chmod 0700 "$(pg_dir)"
  chmod 0700 "$(pg_sock)"
}

pg_pid() { [[ -s $(pg_data)/postmaster.pid ]] && head -n1 "$(pg_data)/postmaster.pid" || true; }

alive_postgres() {
  local pid; pid=$(pg_pid)
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(pg_data)"
}

pg_psql() { psql -X -q -v ON_ERROR_STOP=1 -h "$(pg_sock)" -p "$PG_PORT" -U postgres "$@"; }

up_postgres() {
  [[ -n $(pg_bindir) ]] || install_postgres
  local bin; bin=$(pg_bindir)
  if alive_postgres; then
    log "postgres: already up (127.0.0.1:$PG_PORT, pid $(pg_pid))"
    return 0
  fi
  local t0=$SECONDS
  pg_prepare_dirs
  local data; data=$(pg_data)
  local major; major=$(basename "$(dirname "$bin")")
  if [[ -f $data/PG_VERSION && $(<"$data/PG_VERSION") != "$major" ]]; then
    die "postgres: $data was made by PostgreSQL $(<"$data/PG_VERSION"), the server here is $major; reset with 'scripts/cluster down --purge --only postgres'"
  fi
  if [[ ! -f $data/PG_VERSION ]]; then
    rm -rf "$data"
    log "postgres: initdb (PostgreSQL $major)"
    pg_as "$bin/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$(pg_dir)/initdb.log" 2>&1 ||
      { cat "$(pg_dir)/initdb.log" >&2; die "postgres: initdb failed"; }
    echo "include_if_exists = 'acu.conf'" >>"$data/postgresql.conf"
  fi
  # Rewritten on every up, so a moved checkout still points at its own socket folder.
  cat >"$data/acu.conf" <<CONF
# Written by scripts/cluster on every 'up'.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$(pg_sock)'
CONF
  chown "$PG_USER:" "$data/acu.conf"
  ensure_ports_free postgres "$PG_PORT"
  log "postgres: starting on 127.0.0.1:$PG_PORT"
  mark_log "$(pg_dir)/postgres.log"
  chown "$PG_USER:" "$(pg_dir)/postgres.log"
  if ! pg_as "$bin/pg_ctl" -D "$data" -l "$(pg_dir)/postgres.log" -w -t "${ACU_CLUSTER_TIMEOUT:-120}" start >/dev/null; then
    log "---- last lines of ${RUN_DIR#"$ROOT"/}/postgres/postgres.log (this start) ----"
    log_since_mark "$(pg_dir)/postgres.log" | tail -n 30 >&2 || true
    die "postgres: did not start"
  fi
  wait_for postgres "${ACU_CLUSTER_TIMEOUT:-120}" "$(pg_dir)/postgres.log" \
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 1 || die "postgres: not accepting connections"
  if [[ $(pg_psql -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'acu'") != 1 ]]; then
    pg_psql -d postgres -c "CREATE ROLE acu LOGIN PASSWORD 'acu'"
  fi
  # Tests give each run a database of its own.
  pg_psql -d postgres -qc "ALTER ROLE acu CREATEDB"
  if [[ $(pg_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'acu'") != 1 ]]; then
    pg_psql -d postgres -c "CREATE DATABASE acu OWNER acu"
  fi
  log "postgres: up in $((SECONDS - t0))s, postgres://acu:***@127.0.0.1:$PG_PORT/acu"
}

down_postgres() {
  local quiet=${1:-} bin
  bin=$(pg_bindir)
  if ! alive_postgres; then
    [[ -n $quiet ]] || log "postgres: not running"
    return 0
  fi
  log "postgres: stopping pid $(pg_pid)"
  pg_as "$bin/pg_ctl" -D "$(pg_data)" -m fast -w -t "${ACU_CLUSTER_STOP_TIMEOUT:-30}" stop >/dev/null 2>&1 ||
    pg_as "$bin/pg_ctl" -D "$(pg_data)" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
  alive_postgres && { warn "postgres: still running"; return 1; }
  [[ -n $quiet ]] || log "postgres: down"
}

purge_postgres() { rm -rf "$(pg_dir)"; }

status_postgres() {
  if alive_postgres; then
    local ready=accepting; pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 1 || ready="not accepting connections"
    printf '%-9s %-8s %s\n' postgres up "127.0.0.1:$PG_PORT ($ready), socket ${RUN_DIR#"$ROOT"/}/postgres/run, pid $(pg_pid)"
  else
    printf '%-9s %-8s %s\n' postgres down "127.0.0.1:$PG_PORT$([[ -n $(pg_bindir) ]] || echo ', not installed')"
  fi
}

env_postgres() {
  alive_postgres || return 0
  echo "export ACU_DATABASE_URL=postgres://acu:acu@127.0.0.1:$PG_PORT/acu"
}

# node_postgres stop|kill|start: the server alone (scripts/cluster node ...). stop is a fast shutdown
# (sessions are ended, the data is consistent); kill is SIGKILL of the postmaster (crash recovery at the
# next start); start is 'up' (same configuration, same port).
node_postgres() {
  local action=$1 pid
  case $action in
    stop) down_postgres "" ;;
    kill)
      pid=$(pg_pid)
      alive_postgres || { log "postgres: not running"; return 0; }
      kill -KILL "$pid" 2>/dev/null || true
      local start=$SECONDS
      while proc_running "$pid" && (( SECONDS - start < 10 )); do sleep 0.1; done
      # Its backends notice the postmaster is gone and exit on their own; the next start recovers.
      log "postgres: postmaster (pid $pid) killed"
      ;;
    start) up_postgres ;;
  esac
}
