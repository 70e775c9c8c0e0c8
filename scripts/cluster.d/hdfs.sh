# shellcheck shell=bash
# Component: Apache HDFS (Hadoop 3.4), one NameNode and N DataNodes as plain JVM processes.
#
# Ports: NameNode RPC 19000 (fs.defaultFS hdfs://127.0.0.1:19000), NameNode HTTP + WebHDFS 19870.
# DataNode i (0-based): HTTP (WebHDFS data) HDFS_DN_PORT_BASE + 10*i, data transfer + 2, IPC + 3,
# i.e. 19864/19866/19867, 19874/19876/19877, ...
# Jars: ${XDG_CACHE_HOME:-~/.cache}/acu/hadoop-<version>/libs (Maven copies hadoop-hdfs, hadoop-common and
# their runtime deps), web/webapps (the HTTP servers' webapps, from the hadoop-hdfs tests jar). Runtime: .acu/cluster/hdfs/v<version>-n<N>/{namenode,datanode-<i>}/ (conf/, data,
# logs/), one folder per (version, DataNode count): with replication below N, a smaller set of DataNodes
# would miss blocks and keep the NameNode in safe mode.

HDFS_VERSION=${ACU_HDFS_VERSION:-3.4.2}
HDFS_RPC_PORT=${ACU_HDFS_RPC_PORT:-$((19000 + PORT_OFFSET))}
HDFS_HTTP_PORT=${ACU_HDFS_HTTP_PORT:-$((19870 + PORT_OFFSET))}
HDFS_DN_PORT_BASE=${ACU_HDFS_DN_PORT_BASE:-$((19864 + PORT_OFFSET))}
HDFS_HEAP=${ACU_HDFS_HEAP:--Xms64m -Xmx512m}

hdfs_home() { echo "$CACHE_ROOT/hadoop-$HDFS_VERSION"; }
hdfs_dir() { echo "$RUN_DIR/hdfs"; }
hdfs_installed() { [[ -f $(hdfs_home)/libs/.complete ]]; }
hdfs_dn_http_port() { echo $((HDFS_DN_PORT_BASE + 10 * $1)); }
hdfs_dn_data_port() { echo $((HDFS_DN_PORT_BASE + 10 * $1 + 2)); }
hdfs_dn_ipc_port() { echo $((HDFS_DN_PORT_BASE + 10 * $1 + 3)); }
hdfs_url() { echo "http://127.0.0.1:$HDFS_HTTP_PORT"; }
hdfs_namenode() { echo "hdfs://127.0.0.1:$HDFS_RPC_PORT"; }

# The running topology is recorded in hdfs/active as "<N> <topology dir>".
hdfs_active_n() { [[ -s $(hdfs_dir)/active ]] && awk '{print $1}' "$(hdfs_dir)/active" || echo 0; }
hdfs_active_topo() { [[ -s $(hdfs_dir)/active ]] && awk '{print $2}' "$(hdfs_dir)/active" || true; }
# A process's marker is its own conf dir, which is on its command line (classpath).
hdfs_nn_marker() { echo "$1/namenode/conf"; }
hdfs_dn_marker() { echo "$1/datanode-$2/conf"; }

# Hadoop 3.4 on Java 17 reflects into JDK internals; open the packages it (and its Netty, Jersey) reach into.
HDFS_JAVA_OPENS=(
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/java.util.zip=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED
  --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
  --add-exports=java.base/sun.net.dns=ALL-UNNAMED --add-exports=java.base/sun.net.util=ALL-UNNAMED
)

# hdfs_java_cmd CONF_DIR LOG_DIR LOG_FILE: sets HDFS_CMD to the java command line of one Hadoop process
# (CONF_DIR first on the classpath, logging to LOG_DIR/LOG_FILE); the main class and its arguments follow it.
hdfs_java_cmd() {
  local conf=$1 logdir=$2 logfile=$3
  # shellcheck disable=SC2206,SC2054  # HDFS_HEAP is a list of JVM flags; the commas are in -D values
  HDFS_CMD=(java $HDFS_HEAP -XX:+UseSerialGC -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true "${HDFS_JAVA_OPENS[@]}"
    -Dhadoop.home.dir="$(hdfs_home)" -Dhadoop.log.dir="$logdir" -Dhadoop.log.file="$logfile"
    -Dhadoop.root.logger=INFO,RFA -Dhadoop.security.logger=WARN,RFA -Dlog4j.configuration="file:$conf/log4j.properties"
    -cp "$conf:$(hdfs_home)/web:$(hdfs_home)/libs/*")
}

install_hdfs() {
  local home; home=$(hdfs_home)
  if hdfs_installed; then
    log "hdfs $HDFS_VERSION: installed ($(find "$home/libs" -name '*.jar' | wc -l) jars in the cache)"
    return 0
  fi
  need_cmd java "install a JDK 17, e.g. apt-get install openjdk-17-jdk-headless"
  need_cmd mvn "apt-get install maven"
  need_cmd jar "install a JDK 17 (not only a JRE), e.g. apt-get install openjdk-17-jdk-headless"
  need_cmd curl "apt-get install curl"
  local t0=$SECONDS
  log "hdfs $HDFS_VERSION: resolving Hadoop jars with Maven into the cache (first time only)"
  mkdir -p "$home"
  local a deps=""
  # hadoop-hdfs declares hadoop-common, hadoop-auth (and more) as 'provided': name them so they are copied.
  for a in hadoop-hdfs hadoop-hdfs-client hadoop-common hadoop-auth; do
    deps+="    <dependency><groupId>org.apache.hadoop</groupId><artifactId>$a</artifactId><version>$HDFS_VERSION</version></dependency>"$'\n'
  done
  # The NameNode and DataNode HTTP servers (WebHDFS) need webapps/{hdfs,datanode} on the classpath. The
  # main jar leaves them out (the tarball ships them as files); the 'tests' jar carries them: install
  # extracts webapps/ from it into web/ and does not keep the jar (its test resources must not be seen).
  deps+="    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-hdfs</artifactId><version>$HDFS_VERSION</version><classifier>tests</classifier></dependency>"$'\n'
  maven_copy_jars "$home" "hdfs $HDFS_VERSION" hadoop-libs "$deps"
  local tests_jar; tests_jar=$(compgen -G "$home/libs.tmp/hadoop-hdfs-$HDFS_VERSION-tests.jar" || true)
  [[ -n $tests_jar ]] || die "hdfs $HDFS_VERSION: Maven did not copy hadoop-hdfs-$HDFS_VERSION-tests.jar (for webapps/)"
  rm -rf "$home/web.tmp" && mkdir -p "$home/web.tmp"
  (cd "$home/web.tmp" && jar xf "$tests_jar" webapps/) || die "hdfs $HDFS_VERSION: could not extract webapps/ from $tests_jar"
  rm -f "$tests_jar"
  [[ -f $home/web.tmp/webapps/hdfs/WEB-INF/web.xml && -f $home/web.tmp/webapps/datanode/WEB-INF/web.xml ]] ||
    die "hdfs $HDFS_VERSION: webapps/hdfs or webapps/datanode missing from the tests jar"
  local cls missing=()
  for cls in org.apache.hadoop.hdfs.server.namenode.NameNode org.apache.hadoop.hdfs.server.datanode.DataNode \
             org.apache.hadoop.hdfs.web.resources.PutOpParam org.apache.hadoop.conf.Configuration \
             org.apache.hadoop.security.authentication.server.AuthenticationFilter org.apache.log4j.RollingFileAppender; do
    javap -cp "$home/libs.tmp/*" "$cls" >/dev/null 2>&1 || missing+=("$cls")
  done
  (( ${#missing[@]} == 0 )) || die "hdfs $HDFS_VERSION: classes missing from the copied jars: ${missing[*]}"
  rm -rf "$home/libs" "$home/web" && mv "$home/libs.tmp" "$home/libs" && mv "$home/web.tmp" "$home/web"
  touch "$home/libs/.complete"
  log "hdfs $HDFS_VERSION: $(find "$home/libs" -name '*.jar' | wc -l) jars ($(du -sm "$home/libs" | cut -f1) MB) cached in $((SECONDS - t0))s"
}

# hdfs_property NAME VALUE: one <property> of a Hadoop configuration file.
hdfs_property() { printf '  <property><name>%s</name><value>%s</value></property>\n' "$1" "$2"; }

# hdfs_write_conf DIR ROLE TOPO N [I]: core-site.xml, hdfs-site.xml and log4j.properties for one process.
hdfs_write_conf() {
  local conf=$1 role=$2 topo=$3 n=$4 i=${5:-0}
  mkdir -p "$conf"
  {
    echo '<?xml version="1.0"?>'
    echo '<!-- Generated by scripts/cluster on every up; edits are overwritten. -->'
    echo '<configuration>'
    hdfs_property fs.defaultFS "$(hdfs_namenode)"
    hdfs_property hadoop.tmp.dir "$topo/$role/tmp"
    hdfs_property hadoop.http.staticuser.user acu
    echo '</configuration>'
  } >"$conf/core-site.xml"
  {
    echo '<?xml version="1.0"?>'
    echo '<!-- Generated by scripts/cluster on every up; edits are overwritten. -->'
    echo '<configuration>'
    hdfs_property dfs.replication "$(min 3 "$n")"
    hdfs_property dfs.permissions.enabled false
    hdfs_property dfs.webhdfs.enabled true
    hdfs_property dfs.namenode.name.dir "file://$topo/namenode/name"
    hdfs_property dfs.namenode.rpc-address "127.0.0.1:$HDFS_RPC_PORT"
    hdfs_property dfs.namenode.http-address "127.0.0.1:$HDFS_HTTP_PORT"
    hdfs_property dfs.http.policy HTTP_ONLY
    # No SecondaryNameNode runs; should one ever start, it stays on loopback with a free port.
    hdfs_property dfs.namenode.secondary.http-address 127.0.0.1:0
    # DataNodes register, and WebHDFS redirects clients, with 127.0.0.1 (not the machine's host name).
    hdfs_property dfs.namenode.datanode.registration.ip-hostname-check false
    hdfs_property dfs.datanode.hostname 127.0.0.1
    hdfs_property dfs.client.use.datanode.hostname true
    hdfs_property dfs.datanode.use.datanode.hostname true
    # A development cluster: leave safe mode as soon as the blocks are reported, no 30 s extension.
    hdfs_property dfs.namenode.safemode.extension 0
    hdfs_property dfs.namenode.safemode.min.datanodes 0
    hdfs_property dfs.heartbeat.interval 1
    # The DataNode's own HDFS client (it writes what WebHDFS CREATE receives) asks the NameNode to close the
    # file until the block is reported; its first retry comes after 400 ms by default, which made every
    # small write take ~0.5 s. Poll sooner (the delay doubles on each retry).
    hdfs_property dfs.client.block.write.locateFollowingBlock.initial.delay.ms 20
    hdfs_property dfs.namenode.heartbeat.recheck-interval 10000
    if [[ $role == datanode-* ]]; then
      hdfs_property dfs.datanode.data.dir "file://$topo/$role/data"
      hdfs_property dfs.datanode.address "127.0.0.1:$(hdfs_dn_data_port "$i")"
      hdfs_property dfs.datanode.http.address "127.0.0.1:$(hdfs_dn_http_port "$i")"
      hdfs_property dfs.datanode.ipc.address "127.0.0.1:$(hdfs_dn_ipc_port "$i")"
      hdfs_property dfs.datanode.https.address 127.0.0.1:0
      hdfs_property dfs.datanode.handler.count 4
      # A closed file is on disk (fsync of its blocks), not only in the page cache: with replication 1
      # that is what makes a completed write durable.
      hdfs_property dfs.datanode.synconclose true
    else
      hdfs_property dfs.namenode.handler.count 10
    fi
    echo '</configuration>'
  } >"$conf/hdfs-site.xml"
  cat >"$conf/log4j.properties" <<'PROPS'
# HDFS logging (scripts/cluster): INFO to <process>/logs/<name>.log (rolling, 3 x 20 MB), chatty loggers at WARN.
log4j.rootLogger=${hadoop.root.logger}
hadoop.root.logger=INFO,RFA
log4j.appender.RFA=org.apache.log4j.RollingFileAppender
log4j.appender.RFA.File=${hadoop.log.dir}/${hadoop.log.file}
log4j.appender.RFA.MaxFileSize=20MB
log4j.appender.RFA.MaxBackupIndex=3
log4j.appender.RFA.layout=org.apache.log4j.PatternLayout
log4j.appender.RFA.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
log4j.logger.org.apache.hadoop.hdfs.StateChange=WARN
log4j.logger.BlockStateChange=WARN
log4j.logger.org.apache.hadoop.hdfs.server.namenode.FSNamesystem.audit=WARN
log4j.logger.org.apache.hadoop.hdfs.server.datanode.DataNode.clienttrace=WARN
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
log4j.logger.org.apache.hadoop.metrics2=WARN
log4j.logger.org.eclipse.jetty=WARN
PROPS
}

# hdfs_jmx BEAN: one NameNode JMX bean as JSON (empty when the NameNode does not answer).
hdfs_jmx() { curl -sf --max-time 2 "$(hdfs_url)/jmx?qry=Hadoop:service=NameNode,name=$1" 2>/dev/null || true; }
# hdfs_jmx_num JSON ATTR: a numeric attribute of a JMX answer (0 when absent).
hdfs_jmx_num() { local v; v=$(grep -o "\"$2\" *: *[0-9]*" <<<"$1" | grep -o '[0-9]*$' | head -n1); echo "${v:-0}"; }

# Readiness: WebHDFS answers, the NameNode counts all N DataNodes as live and has left safe mode,
# and every DataNode's HTTP port (the target of WebHDFS redirects) accepts connections.
hdfs_check_ready() {
  local n=$1 topo=$2 i
  pid_running "$topo/namenode/hdfs.pid" || return 2
  for ((i = 0; i < n; i++)); do pid_running "$topo/datanode-$i/hdfs.pid" || return 2; done
  port_open "$HDFS_HTTP_PORT" || return 1
  curl -sf --max-time 2 "$(hdfs_url)/webhdfs/v1/?op=GETFILESTATUS&user.name=acu" >/dev/null 2>&1 || return 1
  local state; state=$(hdfs_jmx FSNamesystemState)
  (( $(hdfs_jmx_num "$state" NumLiveDataNodes) >= n )) || return 1
  grep -q '"FSState" *: *"Operational"' <<<"$state" || return 1
  for ((i = 0; i < n; i++)); do port_open "$(hdfs_dn_http_port "$i")" || return 1; done
}

# hdfs_start_datanode TOPO I: starts DataNode I with its conf dir (written by up), in the background.
hdfs_start_datanode() {
  local topo=$1 i=$2 d=$1/datanode-$2
  mark_log "$d/logs/datanode.log" "$d/logs/stdout.log"
  hdfs_java_cmd "$d/conf" "$d/logs" datanode.log
  nohup "${HDFS_CMD[@]}" org.apache.hadoop.hdfs.server.datanode.DataNode >>"$d/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$d/hdfs.pid"
}

up_hdfs() {
  local n=${1:-}
  hdfs_installed || install_hdfs
  need_cmd curl "apt-get install curl"
  local active; active=$(hdfs_active_n)
  if (( active > 0 )) && alive_hdfs; then
    if [[ -n $n && $n != "$active" ]]; then
      die "hdfs: already up with $active DataNode(s); run 'scripts/cluster down --only hdfs' before changing to $n"
    fi
    log "hdfs: already up ($active DataNode(s), $(hdfs_namenode), WebHDFS $(hdfs_url))"
    return 0
  fi
  (( active > 0 )) && n=${n:-$active}
  n=${n:-1}
  (( n >= 1 )) || die "hdfs: --hdfs-datanodes must be >= 1"
  local topo i t0=$SECONDS ports=("$HDFS_RPC_PORT" "$HDFS_HTTP_PORT")
  topo=$(hdfs_dir)/v$HDFS_VERSION-n$n
  for ((i = 0; i < n; i++)); do ports+=("$(hdfs_dn_http_port "$i")" "$(hdfs_dn_data_port "$i")" "$(hdfs_dn_ipc_port "$i")"); done
  # Stale pids of a crashed previous run: stop whatever is left of them first.
  [[ -n $(hdfs_active_topo) ]] && down_hdfs quiet
  ensure_ports_free hdfs "${ports[@]}"
  mkdir -p "$topo/namenode/logs"
  hdfs_write_conf "$topo/namenode/conf" namenode "$topo" "$n"
  for ((i = 0; i < n; i++)); do
    mkdir -p "$topo/datanode-$i/logs"
    hdfs_write_conf "$topo/datanode-$i/conf" "datanode-$i" "$topo" "$n" "$i"
  done
  if [[ ! -f $topo/namenode/name/current/VERSION ]]; then
    log "hdfs: formatting the NameNode (first start of this topology)"
    mark_log "$topo/namenode/logs/format.log"
    hdfs_java_cmd "$topo/namenode/conf" "$topo/namenode/logs" format.log
    if ! "${HDFS_CMD[@]}" org.apache.hadoop.hdfs.server.namenode.NameNode -format -nonInteractive -clusterid "acu-hdfs-n$n" \
           >>"$topo/namenode/logs/format.log" 2>&1 </dev/null; then
      log_since_mark "$topo/namenode/logs/format.log" | tail -n 30 >&2
      die "hdfs: formatting the NameNode failed (log: $topo/namenode/logs/format.log)"
    fi
  fi
  mark_log "$topo/namenode/logs/namenode.log" "$topo/namenode/logs/stdout.log"
  hdfs_java_cmd "$topo/namenode/conf" "$topo/namenode/logs" namenode.log
  nohup "${HDFS_CMD[@]}" org.apache.hadoop.hdfs.server.namenode.NameNode >>"$topo/namenode/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$topo/namenode/hdfs.pid"
  for ((i = 0; i < n; i++)); do hdfs_start_datanode "$topo" "$i"; done
  echo "$n $topo" >"$(hdfs_dir)/active"
  log "hdfs: started a NameNode (pid $(<"$topo/namenode/hdfs.pid")) and $n DataNode(s) (pids $(cat "$topo"/datanode-*/hdfs.pid | paste -sd,)), waiting for WebHDFS and the DataNodes"
  if ! wait_for hdfs "${ACU_CLUSTER_TIMEOUT:-120}" "$topo/*/logs/namenode.log $topo/*/logs/datanode.log $topo/*/logs/stdout.log" \
        hdfs_check_ready "$n" "$topo"; then
    down_hdfs quiet
    die "hdfs: did not come up"
  fi
  log "hdfs: up in $((SECONDS - t0))s, $(hdfs_namenode), WebHDFS $(hdfs_url), $n DataNode(s)"
}

down_hdfs() {
  local quiet=${1:-} topo n i entries=()
  topo=$(hdfs_active_topo); n=$(hdfs_active_n)
  if [[ -z $topo ]]; then
    [[ -n $quiet ]] || log "hdfs: not running"
    return 0
  fi
  for ((i = 0; i < n; i++)); do entries+=("$topo/datanode-$i/hdfs.pid:$(hdfs_dn_marker "$topo" "$i")"); done
  entries+=("$topo/namenode/hdfs.pid:$(hdfs_nn_marker "$topo")")
  stop_pids hdfs "${ACU_CLUSTER_STOP_TIMEOUT:-30}" "${entries[@]}"
  rm -f "$(hdfs_dir)/active"
  [[ -n $quiet ]] || log "hdfs: down"
}

purge_hdfs() { rm -rf "$(hdfs_dir)"; }

# alive_hdfs: the NameNode and every DataNode of the active topology run.
alive_hdfs() {
  local topo n i
  topo=$(hdfs_active_topo); n=$(hdfs_active_n)
  [[ -n $topo ]] || return 1
  pid_alive "$topo/namenode/hdfs.pid" "$(hdfs_nn_marker "$topo")" || return 1
  for ((i = 0; i < n; i++)); do pid_alive "$topo/datanode-$i/hdfs.pid" "$(hdfs_dn_marker "$topo" "$i")" || return 1; done
}

status_hdfs() {
  local topo n i up=0 pids=() nn=-
  topo=$(hdfs_active_topo); n=$(hdfs_active_n)
  if [[ -z $topo ]]; then
    printf '%-9s %-8s %s\n' hdfs down "v$HDFS_VERSION, $(hdfs_namenode), WebHDFS $(hdfs_url)$(hdfs_installed || echo ', not installed')"
    return 0
  fi
  pid_alive "$topo/namenode/hdfs.pid" "$(hdfs_nn_marker "$topo")" && nn=$(<"$topo/namenode/hdfs.pid")
  for ((i = 0; i < n; i++)); do
    if pid_alive "$topo/datanode-$i/hdfs.pid" "$(hdfs_dn_marker "$topo" "$i")"; then
      up=$((up + 1)); pids+=("$(<"$topo/datanode-$i/hdfs.pid")")
    else
      pids+=("-")
    fi
  done
  local state=up version=${topo##*/v} live='?'; version=${version%-n*}
  if [[ $nn == - ]]; then state=down; elif (( up < n )); then state=degraded; fi
  [[ $nn == - ]] || live=$(hdfs_jmx_num "$(hdfs_jmx FSNamesystemState)" NumLiveDataNodes)
  printf '%-9s %-8s %s\n' hdfs "$state" "v$version, $up/$n DataNode(s) running ($live live at the NameNode), $(hdfs_namenode), WebHDFS $(hdfs_url), pids nn $nn dn $(join , "${pids[@]}")"
}

env_hdfs() {
  alive_hdfs || return 0
  echo "export ACU_HDFS_URL=$(hdfs_url)"
  echo "export ACU_HDFS_NAMENODE=$(hdfs_namenode)"
}

# node_hdfs-datanode stop|kill|start I: one DataNode of the running HDFS (scripts/cluster node ...).
node_hdfs-datanode() {
  local action=$1 i=$2 topo n
  topo=$(hdfs_active_topo); n=$(hdfs_active_n)
  [[ -n $topo ]] || die "hdfs: not up (scripts/cluster up first)"
  (( i < n )) || die "hdfs: no DataNode $i (HDFS has $n: 0..$((n - 1)))"
  local pidfile=$topo/datanode-$i/hdfs.pid marker; marker=$(hdfs_dn_marker "$topo" "$i")
  case $action in
    stop) stop_pids "hdfs DataNode $i" "${ACU_CLUSTER_STOP_TIMEOUT:-30}" "$pidfile:$marker"; log "hdfs: DataNode $i stopped" ;;
    kill) node_kill "hdfs DataNode $i" "$pidfile" "$marker" ;;
    start)
      if pid_alive "$pidfile" "$marker"; then log "hdfs: DataNode $i already runs (pid $(<"$pidfile"))"; return 0; fi
      local t0=$SECONDS
      hdfs_start_datanode "$topo" "$i"
      wait_for "hdfs DataNode $i" "${ACU_CLUSTER_TIMEOUT:-120}" "$topo/datanode-$i/logs/datanode.log $topo/datanode-$i/logs/stdout.log" \
        hdfs_check_ready "$n" "$topo" || die "hdfs: DataNode $i did not come back"
      log "hdfs: DataNode $i up in $((SECONDS - t0))s (pid $(<"$pidfile")), $n live at the NameNode"
      ;;
  esac
}
