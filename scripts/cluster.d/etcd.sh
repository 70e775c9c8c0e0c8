# shellcheck shell=bash
# Component: etcd (Debian's etcd-server / etcd-client), M members as plain processes.
#
# Ports: member j (0-based) serves clients on ETCD_PORT_BASE + 10*j and peers on ETCD_PORT_BASE + 10*j + 1,
# i.e. 12379/12380, 12389/12390, 12399/12400, ...
# Runtime: .acu/cluster/etcd/n<M>/member-<j>/ (data/, etcd.log), one folder per member count.
# --secure: after the first start, users root and one per acu role (SECURE_ROLES, passwords in
# RUN_DIR/secrets.env), then `auth enable`; etcd/access.json names them. Roles and their key ranges are
# granted per deployment (per key prefix) by acu's grants (docs/operations.md), not here.

ETCD_PORT_BASE=${ACU_ETCD_PORT_BASE:-$((12379 + PORT_OFFSET))}
# The release the tests run: Debian 12's etcd-server. compose.yaml runs its image (tests/compose.test.ts).
ETCD_VERSION=3.4.23

etcd_dir() { echo "$RUN_DIR/etcd"; }
etcd_client_port() { echo $((ETCD_PORT_BASE + 10 * $1)); }
etcd_peer_port() { echo $((ETCD_PORT_BASE + 10 * $1 + 1)); }
etcd_active_n() { [[ -s $(etcd_dir)/active ]] && awk '{print $1}' "$(etcd_dir)/active" || echo 0; }
etcd_active_topo() { [[ -s $(etcd_dir)/active ]] && awk '{print $2}' "$(etcd_dir)/active" || true; }
etcd_marker() { echo "$1/member-$2/data"; }

etcd_endpoints() {
  local m=$1 j out=()
  for ((j = 0; j < m; j++)); do out+=("http://127.0.0.1:$(etcd_client_port "$j")"); done
  join , "${out[@]}"
}

etcdctl3() { ETCDCTL_API=3 etcdctl "$@"; }

# etcdctl3 as root once auth is on (--secure), else as is.
etcdctl_admin() {
  local topo; topo=$(etcd_active_topo)
  if [[ -n $topo && -f $topo/auth-enabled ]]; then etcdctl3 --user="root:$(secret etcd_root)" "$@"; else etcdctl3 "$@"; fi
}

# etcd_secure_setup ENDPOINTS TOPO: the users of a --secure cluster, then auth on (once per data set).
etcd_secure_setup() {
  local ep=$1 topo=$2 r
  [[ -f $topo/auth-enabled ]] && return 0
  local ctl=(etcdctl3 --endpoints="$ep" --dial-timeout=2s --command-timeout=5s)
  "${ctl[@]}" role get root >/dev/null 2>&1 || "${ctl[@]}" role add root >/dev/null
  if ! "${ctl[@]}" user get root >/dev/null 2>&1; then
    "${ctl[@]}" user add root --new-user-password="$(secret etcd_root)" >/dev/null
  fi
  "${ctl[@]}" user grant-role root root >/dev/null 2>&1 || true
  for r in "${SECURE_ROLES[@]}"; do
    "${ctl[@]}" user get "$r" >/dev/null 2>&1 || "${ctl[@]}" user add "$r" --new-user-password="$(secret "role_$r")" >/dev/null
  done
  "${ctl[@]}" auth enable >/dev/null || die "etcd: 'auth enable' failed"
  touch "$topo/auth-enabled"
  log "etcd: auth enabled (users root, ${SECURE_ROLES[*]})"
}

install_etcd() {
  if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
    apt_install etcd-server etcd-client
    command -v etcd >/dev/null 2>&1 || die "etcd: 'etcd' still not on PATH after installing etcd-server"
  fi
  local v; v=$(etcd --version 2>/dev/null | awk 'NR == 1 {print $3}')
  log "etcd: installed ($v)"
  [[ $v == "$ETCD_VERSION" ]] || warn "etcd: $v installed, but the tests and compose.yaml expect $ETCD_VERSION"
}

etcd_check_ready() {
  local m=$1 topo=$2 j
  for ((j = 0; j < m; j++)); do pid_running "$topo/member-$j/etcd.pid" || return 2; done
  etcdctl_admin --endpoints="$(etcd_endpoints "$m")" --dial-timeout=1s --command-timeout=2s endpoint health >/dev/null 2>&1
}

# etcd_start_member TOPO M J: starts member J of an M-member cluster in the background. A member with data
# rejoins with it (etcd then ignores the --initial-* flags).
etcd_start_member() {
  local topo=$1 m=$2 j=$3 k peers=()
  for ((k = 0; k < m; k++)); do peers+=("m$k=http://127.0.0.1:$(etcd_peer_port "$k")"); done
  # etcd refuses ETCD_* environment variables that duplicate a flag: start it without any.
  local unset_env=() v
  for v in $(compgen -e | grep '^ETCD_' || true); do unset_env+=(-u "$v"); done
  local d=$topo/member-$j c p
  c=$(etcd_client_port "$j"); p=$(etcd_peer_port "$j")
  mkdir -p "$d"
  mark_log "$d/etcd.log"
  nohup env "${unset_env[@]}" etcd --name "m$j" --data-dir "$d/data" \
    --listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
    --listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
    --initial-cluster "$(join , "${peers[@]}")" --initial-cluster-token "acu-etcd-n$m" \
    --initial-cluster-state new --logger zap --log-outputs stderr \
    >>"$d/etcd.log" 2>&1 </dev/null &
  echo $! >"$d/etcd.pid"
}

up_etcd() {
  local m=${1:-}
  command -v etcd >/dev/null 2>&1 || install_etcd
  local active; active=$(etcd_active_n)
  if (( active > 0 )) && alive_etcd; then
    if [[ -n $m && $m != "$active" ]]; then
      die "etcd: already up with $active member(s); run 'scripts/cluster down --only etcd' before changing to $m"
    fi
    log "etcd: already up ($active member(s), endpoints $(etcd_endpoints "$active"))"
    return 0
  fi
  (( active > 0 )) && m=${m:-$active}
  m=${m:-1}
  (( m >= 1 )) || die "etcd: --etcd-members must be >= 1"
  local topo j t0=$SECONDS ports=()
  topo=$(etcd_dir)/n$m
  [[ -n $(etcd_active_topo) ]] && down_etcd quiet
  for ((j = 0; j < m; j++)); do
    ports+=("$(etcd_client_port "$j")" "$(etcd_peer_port "$j")")
  done
  ensure_ports_free etcd "${ports[@]}"
  for ((j = 0; j < m; j++)); do etcd_start_member "$topo" "$m" "$j"; done
  echo "$m $topo" >"$(etcd_dir)/active"
  log "etcd: started $m member(s) (pids $(cat "$topo"/member-*/etcd.pid | paste -sd,)), waiting for health"
  if ! wait_for etcd "${ACU_CLUSTER_TIMEOUT:-120}" "$topo/member-*/etcd.log" etcd_check_ready "$m" "$topo"; then
    down_etcd quiet
    die "etcd: did not come up"
  fi
  if (( SECURE )); then
    etcd_secure_setup "$(etcd_endpoints "$m")" "$topo"
    (umask 077 && secure_access_json root etcd_root "\"endpoints\": \"$(etcd_endpoints "$m")\"" >"$(etcd_dir)/access.json")
  fi
  log "etcd: up in $((SECONDS - t0))s, endpoints $(etcd_endpoints "$m")"
}

down_etcd() {
  local quiet=${1:-} topo m j entries=()
  topo=$(etcd_active_topo); m=$(etcd_active_n)
  if [[ -z $topo ]]; then
    [[ -n $quiet ]] || log "etcd: not running"
    return 0
  fi
  for ((j = 0; j < m; j++)); do entries+=("$topo/member-$j/etcd.pid:$(etcd_marker "$topo" "$j")"); done
  stop_pids etcd "${ACU_CLUSTER_STOP_TIMEOUT:-30}" "${entries[@]}"
  rm -f "$(etcd_dir)/active"
  [[ -n $quiet ]] || log "etcd: down"
}

purge_etcd() { rm -rf "$(etcd_dir)"; }

alive_etcd() {
  local topo m j
  topo=$(etcd_active_topo); m=$(etcd_active_n)
  [[ -n $topo ]] || return 1
  for ((j = 0; j < m; j++)); do pid_alive "$topo/member-$j/etcd.pid" "$(etcd_marker "$topo" "$j")" || return 1; done
}

status_etcd() {
  local topo m j up=0 pids=() peer=()
  topo=$(etcd_active_topo); m=$(etcd_active_n)
  if [[ -z $topo ]]; then
    printf '%-9s %-8s %s\n' etcd down "clients on 127.0.0.1:$ETCD_PORT_BASE (+10 per member)$(command -v etcd >/dev/null || echo ', not installed')"
    return 0
  fi
  for ((j = 0; j < m; j++)); do
    if pid_alive "$topo/member-$j/etcd.pid" "$(etcd_marker "$topo" "$j")"; then
      up=$((up + 1)); pids+=("$(<"$topo/member-$j/etcd.pid")")
    else
      pids+=("-")
    fi
    peer+=("$(etcd_peer_port "$j")")
  done
  local state=up; (( up == m )) || state=$([[ $up == 0 ]] && echo down || echo degraded)
  local auth=""; [[ -f $topo/auth-enabled ]] && auth=", auth on"
  printf '%-9s %-8s %s\n' etcd "$state" "$up/$m member(s)$auth, endpoints $(etcd_endpoints "$m"), peers $(join , "${peer[@]}"), pids $(join , "${pids[@]}")"
}

env_etcd() {
  alive_etcd || return 0
  echo "export ACU_ETCD_ENDPOINTS=$(etcd_endpoints "$(etcd_active_n)")"
  if (( SECURE )); then
    echo "export ACU_ETCD_USER=root"
    echo "export ACU_ETCD_PASSWORD=$(secret etcd_root)"
  fi
}

# node_etcd stop|kill|start J: one member of the running cluster (scripts/cluster node ...).
node_etcd() {
  local action=$1 j=$2 topo m
  topo=$(etcd_active_topo); m=$(etcd_active_n)
  [[ -n $topo ]] || die "etcd: not up (scripts/cluster up first)"
  (( j < m )) || die "etcd: no member $j (the cluster has $m: 0..$((m - 1)))"
  local pidfile=$topo/member-$j/etcd.pid marker; marker=$(etcd_marker "$topo" "$j")
  case $action in
    stop) stop_pids "etcd member $j" "${ACU_CLUSTER_STOP_TIMEOUT:-30}" "$pidfile:$marker"; log "etcd: member $j stopped" ;;
    kill) node_kill "etcd member $j" "$pidfile" "$marker" ;;
    start)
      if pid_alive "$pidfile" "$marker"; then log "etcd: member $j already runs (pid $(<"$pidfile"))"; return 0; fi
      local t0=$SECONDS
      etcd_start_member "$topo" "$m" "$j"
      wait_for "etcd member $j" "${ACU_CLUSTER_TIMEOUT:-120}" "$topo/member-$j/etcd.log" etcd_member_ready "$topo" "$j" ||
        die "etcd: member $j did not come back"
      log "etcd: member $j up in $((SECONDS - t0))s (pid $(<"$pidfile"))"
      ;;
  esac
}

etcd_member_ready() {
  local topo=$1 j=$2
  pid_running "$topo/member-$j/etcd.pid" || return 2
  etcdctl_admin --endpoints="http://127.0.0.1:$(etcd_client_port "$j")" --dial-timeout=1s --command-timeout=2s endpoint health >/dev/null 2>&1
}
