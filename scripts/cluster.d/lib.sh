# shellcheck shell=bash
# Shared helpers for scripts/cluster: logging, pid files, ports, waiting, stopping.
# Sourced by scripts/cluster; expects ROOT, RUN_DIR and CACHE_ROOT to be set.

log() { printf 'cluster: %s\n' "$*" >&2; }
warn() { printf 'cluster: warning: %s\n' "$*" >&2; }
die() { printf 'cluster: error: %s\n' "$*" >&2; exit 1; }

need_cmd() { command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH${2:+ ($2)}"; }

min() { if (( $1 < $2 )); then echo "$1"; else echo "$2"; fi; }

# join SEP ITEMS...
join() { local sep=$1; shift; local out="" x; for x in "$@"; do out+="${out:+$sep}$x"; done; printf '%s' "$out"; }

# apt_install PKG...: installs Debian packages; runs `apt-get update` once per invocation first.
APT_UPDATED=0
apt_install() {
  need_cmd apt-get "install the packages $* by hand"
  if (( APT_UPDATED == 0 )); then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# pid_alive PIDFILE MARKER: true when the pid in PIDFILE runs and its command line contains MARKER
# (guards against a recycled pid belonging to some other process).
pid_alive() {
  local pidfile=$1 marker=$2 pid
  pid_running "$pidfile" || return 1
  pid=$(<"$pidfile")
  [[ -r /proc/$pid/cmdline ]] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"
}

# pid_running PIDFILE: the pid exists and is no zombie. For processes this run has just started: right
# after the fork their command line is still this script's, so pid_alive could not recognise them yet.
pid_running() {
  [[ -s $1 ]] || return 1
  proc_running "$(<"$1")"
}

# proc_running PID: the process exists and is no zombie.
proc_running() {
  local pid=$1 state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1 || true)
  [[ $state != Z && $state != X ]]
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# ensure_ports_free NAME PORT...: refuses to start when a port is already taken by someone else.
ensure_ports_free() {
  local name=$1 p; shift
  for p in "$@"; do
    port_open "$p" && die "$name: port 127.0.0.1:$p is already in use by another process (see: ss -ltnp 'sport = :$p')"
  done
  return 0
}

# mark_log FILE...: appends a start marker, so a failed start prints only its own log lines.
LOG_MARK='==== scripts/cluster: start'
mark_log() { local f; for f in "$@"; do echo "$LOG_MARK $(date -u +%FT%TZ) ====" >>"$f"; done; }
log_since_mark() { awk -v m="$LOG_MARK" 'index($0, m) == 1 { n = 0; delete buf; next } { buf[++n] = $0 } END { for (i = 1; i <= n; i++) print buf[i] }' "$1"; }

# wait_for DESCRIPTION TIMEOUT_S LOGFILE CHECK_FN [ARGS...]: polls CHECK_FN until it succeeds.
# CHECK_FN returns 0 (ready), 1 (not yet) or 2 (gave up: a process died). On failure prints the log tail.
wait_for() {
  local what=$1 timeout=$2 logfile=$3; shift 3
  local start=$SECONDS rc
  while :; do
    rc=0; "$@" || rc=$?
    (( rc == 0 )) && return 0
    if (( rc == 2 )) || (( SECONDS - start >= timeout )); then
      if (( rc == 2 )); then log "$what: a process exited during startup"; else log "$what: not ready after ${timeout}s"; fi
      local f
      for f in $logfile; do
        [[ -f $f ]] || continue
        log "---- last lines of ${f#"$ROOT"/} (this start) ----"
        log_since_mark "$f" | tail -n 30 >&2 || true
      done
      return 1
    fi
    sleep 0.5
  done
}

# stop_pids NAME TIMEOUT_S PIDFILE:MARKER...: SIGTERM to all, wait up to TIMEOUT_S, then SIGKILL what is left.
stop_pids() {
  local name=$1 timeout=$2; shift 2
  local entry pidfile marker pids=() start=$SECONDS
  for entry in "$@"; do
    pidfile=${entry%%:*}; marker=${entry#*:}
    if pid_alive "$pidfile" "$marker"; then
      pids+=("$(<"$pidfile")")
      kill -TERM "$(<"$pidfile")" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  (( ${#pids[@]} == 0 )) && return 0
  log "$name: stopping pid(s) $(join , "${pids[@]}")"
  local left
  while :; do
    left=()
    for p in "${pids[@]}"; do proc_running "$p" && left+=("$p"); done
    (( ${#left[@]} == 0 )) && return 0
    if (( SECONDS - start >= timeout )); then
      warn "$name: pid(s) $(join , "${left[@]}") still running after ${timeout}s: SIGKILL"
      kill -KILL "${left[@]}" 2>/dev/null || true
      return 0
    fi
    sleep 0.3
  done
}

# node_kill NAME PIDFILE MARKER: SIGKILL one process (as a crash would), wait until it is gone, drop its pid file.
node_kill() {
  local name=$1 pidfile=$2 marker=$3 pid
  if ! pid_alive "$pidfile" "$marker"; then log "$name: not running"; rm -f "$pidfile"; return 0; fi
  pid=$(<"$pidfile")
  kill -KILL "$pid" 2>/dev/null || true
  local start=$SECONDS
  while proc_running "$pid" && (( SECONDS - start < 10 )); do sleep 0.1; done
  rm -f "$pidfile"
  log "$name: killed (pid $pid)"
}

# maven_copy_jars HOME LABEL ARTIFACT DEPENDENCIES_XML: writes HOME/pom.xml declaring the given <dependency>
# lines and copies them with all their runtime dependencies into HOME/libs.tmp (the caller checks and
# renames it); on failure prints Maven's errors and dies naming LABEL.
maven_copy_jars() {
  local home=$1 label=$2 artifact=$3 deps=$4
  cat >"$home/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/cluster: the jars of $label, copied into libs/. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>acu.cluster</groupId>
  <artifactId>$artifact</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
$deps  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version></plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
POM
  rm -rf "$home/libs.tmp"
  if ! (cd "$home" && mvn -B -f pom.xml dependency:copy-dependencies -DincludeScope=runtime \
          -DoutputDirectory="$home/libs.tmp" >"$home/mvn.log" 2>&1); then
    grep -E 'ERROR|FAIL' "$home/mvn.log" | tail -n 20 >&2 || tail -n 20 "$home/mvn.log" >&2
    die "$label: Maven could not resolve the jars (full output: $home/mvn.log)"
  fi
}

# The acu roles that get an identity of their own on a --secure cluster (the analyzer uses neither etcd
# nor Kafka). Each role's etcd user and Kafka user share its name and password.
SECURE_ROLES=(ingest alert sink dispatch http)

# secret NAME: a random password (hex, no quoting needed), kept in RUN_DIR/secrets.env (mode 600) and
# made on first use, so a restarted secured cluster keeps its credentials.
secret() {
  local name=$1 f=$RUN_DIR/secrets.env v=""
  [[ $name =~ ^[a-z0-9_]+$ ]] || die "secret: bad name '$name'"
  mkdir -p "$RUN_DIR"
  [[ -f $f ]] && v=$(awk -F= -v k="$name" '$1 == k { print $2 }' "$f")
  if [[ -z $v ]]; then
    v=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    (umask 077 && echo "$name=$v" >>"$f")
  fi
  echo "$v"
}

# secure_access_json ADMIN_USER ADMIN_SECRET FIELDS: the JSON file a component of a --secure cluster
# writes for the tests and for operators: its endpoints (FIELDS, already JSON), the administrator and
# every role's password.
secure_access_json() {
  local admin=$1 admin_secret=$2 fields=$3 r users=()
  for r in "${SECURE_ROLES[@]}"; do users+=("\"$r\": \"$(secret "role_$r")\""); done
  printf '{ %s, "admin": { "username": "%s", "password": "%s" }, "users": { %s } }\n' \
    "$fields" "$admin" "$(secret "$admin_secret")" "$(join ', ' "${users[@]}")"
}
