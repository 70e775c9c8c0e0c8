# shellcheck shell=bash
# Component: Apache Kafka in KRaft combined mode (every node is broker + controller), plain JVM processes.
#
# Ports: node i (0-based) serves clients (PLAINTEXT) on KAFKA_PORT_BASE + 2*i and the controller
# quorum on KAFKA_PORT_BASE + 2*i + 1, i.e. 19092/19093, 19094/19095, 19096/19097, ...
# Jars: ${XDG_CACHE_HOME:-~/.cache}/acu/kafka-<version>/libs (Maven copies kafka_2.13 + kafka-tools + log4j2).
# Runtime: .acu/cluster/kafka/v<version>-n<N>/node-<i>/ (server.properties, data/, logs/), one folder per
# (version, node count) because a KRaft log formatted for one voter set cannot be reused with another.
# --secure: clients and brokers on SASL_PLAINTEXT with SCRAM-SHA-512 (users admin, a super user, and one
# per acu role, added at format time), the controllers on SASL_PLAINTEXT with PLAIN (user admin), the
# StandardAuthorizer with no access without an ACL; kafka/admin.properties is the admin's client config
# for the tools (--command-config), kafka/access.json names the users. ACLs are created per deployment
# (per namespace) by acu's grants (docs/operations.md), not here.

KAFKA_VERSION=${ACU_KAFKA_VERSION:-4.1.1}
KAFKA_PORT_BASE=${ACU_KAFKA_PORT_BASE:-$((19092 + PORT_OFFSET))}
KAFKA_LOG4J_VERSION=${ACU_KAFKA_LOG4J_VERSION:-2.24.3}
KAFKA_HEAP=${ACU_KAFKA_HEAP:--Xms256m -Xmx512m}

kafka_home() { echo "$CACHE_ROOT/kafka-$KAFKA_VERSION"; }
kafka_cp() { echo "$(kafka_home)/libs/*"; }
kafka_dir() { echo "$RUN_DIR/kafka"; }
kafka_client_port() { echo $((KAFKA_PORT_BASE + 2 * $1)); }
kafka_controller_port() { echo $((KAFKA_PORT_BASE + 2 * $1 + 1)); }
kafka_installed() { [[ -f $(kafka_home)/libs/.complete ]]; }

# The running topology is recorded in kafka/active as "<N> <topology dir>".
kafka_active_n() { [[ -s $(kafka_dir)/active ]] && awk '{print $1}' "$(kafka_dir)/active" || echo 0; }
kafka_active_topo() { [[ -s $(kafka_dir)/active ]] && awk '{print $2}' "$(kafka_dir)/active" || true; }

kafka_bootstrap() {
  local n=$1 i out=()
  for ((i = 0; i < n; i++)); do out+=("127.0.0.1:$(kafka_client_port "$i")"); done
  join , "${out[@]}"
}

# kafka_java [JVM OPTS...] MAINCLASS ARGS...: a Kafka tool on the cached classpath, logging WARN to stderr.
kafka_tools_log4j() {
  local f; f=$(kafka_dir)/tools-log4j2.properties
  if [[ ! -f $f ]]; then
    mkdir -p "$(kafka_dir)"
    cat >"$f" <<'PROPS'
status = error
name = acu-kafka-tools
appender.err.type = Console
appender.err.name = stderr
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = stderr
PROPS
  fi
  echo "$f"
}

kafka_java() {
  # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS / KAFKA_OPTS are lists of JVM flags
  java ${KAFKA_HEAP_OPTS:--Xmx512m} -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$(kafka_tools_log4j)" ${KAFKA_OPTS:-} -cp "$(kafka_cp)" "$@"
}

install_kafka() {
  local home; home=$(kafka_home)
  if kafka_installed; then
    log "kafka $KAFKA_VERSION: installed ($(find "$home/libs" -name '*.jar' | wc -l) jars in the cache)"
    return 0
  fi
  need_cmd java "install a JDK 17, e.g. apt-get install openjdk-17-jdk-headless"
  need_cmd mvn "apt-get install maven"
  local t0=$SECONDS
  log "kafka $KAFKA_VERSION: resolving jars with Maven into the cache (first time only)"
  mkdir -p "$home"
  local deps
  deps=$(cat <<DEPS
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$KAFKA_LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$KAFKA_LOG4J_VERSION</version></dependency>
    <!-- Both SLF4J bindings; install keeps the one that matches the slf4j-api Kafka resolves to. -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$KAFKA_LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$KAFKA_LOG4J_VERSION</version></dependency>
DEPS
)
  maven_copy_jars "$home" "kafka $KAFKA_VERSION" kafka-libs "$deps"$'\n'
  # Exactly one SLF4J binding, log4j2's, matching the slf4j-api line Kafka uses (4.1 still uses 1.7.x):
  # log4j-slf4j-impl for slf4j 1.x, log4j-slf4j2-impl for 2.x; drop log4j 1.x / reload4j bindings.
  rm -f "$home"/libs.tmp/slf4j-reload4j-*.jar "$home"/libs.tmp/slf4j-log4j12-*.jar
  local binding_class
  if compgen -G "$home/libs.tmp/slf4j-api-1.*.jar" >/dev/null; then
    rm -f "$home"/libs.tmp/log4j-slf4j2-impl-*.jar; binding_class=org.slf4j.impl.StaticLoggerBinder
  else
    rm -f "$home"/libs.tmp/log4j-slf4j-impl-*.jar; binding_class=org.apache.logging.slf4j.SLF4JServiceProvider
  fi
  local cls missing=()
  for cls in kafka.Kafka kafka.tools.StorageTool org.apache.kafka.tools.ProducerPerformance \
             org.apache.kafka.tools.ConsumerPerformance org.apache.kafka.tools.TopicCommand \
             org.apache.kafka.tools.BrokerApiVersionsCommand org.apache.logging.log4j.core.Logger \
             "$binding_class"; do
    javap -cp "$home/libs.tmp/*" "$cls" >/dev/null 2>&1 || missing+=("$cls")
  done
  (( ${#missing[@]} == 0 )) || die "kafka $KAFKA_VERSION: classes missing from the copied jars: ${missing[*]}"
  rm -rf "$home/libs" && mv "$home/libs.tmp" "$home/libs"
  touch "$home/libs/.complete"
  log "kafka $KAFKA_VERSION: $(find "$home/libs" -name '*.jar' | wc -l) jars cached in $((SECONDS - t0))s"
}

kafka_write_config() {
  local n=$1 topo=$2 i
  local rf isr voters=()
  rf=$(min 3 "$n"); isr=$(min 2 "$n")
  for ((i = 0; i < n; i++)); do voters+=("$i@127.0.0.1:$(kafka_controller_port "$i")"); done
  cat >"$(kafka_dir)/log4j2.properties" <<'PROPS'
# Broker logging (scripts/cluster): INFO to <node>/logs/server.log, noisy loggers at WARN.
status = warn
name = acu-kafka
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
PROPS
  for ((i = 0; i < n; i++)); do
    mkdir -p "$topo/node-$i/data" "$topo/node-$i/logs"
    cat >"$topo/node-$i/server.properties" <<PROPS
# Generated by scripts/cluster on every 'up'; edits are overwritten.
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$(join , "${voters[@]}")
$(kafka_listeners "$i")
controller.listener.names=CONTROLLER
log.dirs=$topo/node-$i/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=1
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
num.network.threads=2
num.io.threads=4
log.retention.hours=168
log.segment.bytes=268435456
PROPS
    # The secured node's file holds the admin's password.
    if (( SECURE )); then chmod 600 "$topo/node-$i/server.properties"; fi
  done
}

# kafka_listeners I: node I's listener settings: PLAINTEXT, or with --secure SASL and the authorizer.
kafka_listeners() {
  local i=$1 c; c=$(kafka_client_port "$i")
  if (( ! SECURE )); then
    cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$c,CONTROLLER://127.0.0.1:$(kafka_controller_port "$i")
advertised.listeners=PLAINTEXT://127.0.0.1:$c
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
PROPS
    return
  fi
  local pw; pw=$(secret kafka_admin)
  cat <<PROPS
listeners=BROKER://127.0.0.1:$c,CONTROLLER://127.0.0.1:$(kafka_controller_port "$i")
advertised.listeners=BROKER://127.0.0.1:$c
listener.security.protocol.map=BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=BROKER
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.broker.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.broker.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$pw";
# KRaft controllers cannot use SCRAM (its credentials live in the metadata they serve): PLAIN, one user.
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$pw" user_admin="$pw";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
PROPS
}

# kafka_scram_args: the format-time SCRAM credentials of a --secure cluster (admin and each role).
kafka_scram_args() {
  (( SECURE )) || return 0
  local r
  echo "--add-scram"; echo "SCRAM-SHA-512=[name=admin,password=$(secret kafka_admin)]"
  for r in "${SECURE_ROLES[@]}"; do echo "--add-scram"; echo "SCRAM-SHA-512=[name=$r,password=$(secret "role_$r")]"; done
}

# kafka_admin_config: the admin's client properties for the tools (--command-config) of a --secure cluster.
kafka_admin_config() {
  local f; f=$(kafka_dir)/admin.properties
  (umask 077 && cat >"$f" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(secret kafka_admin)";
PROPS
)
  echo "$f"
}

# A cluster id as 'kafka-storage random-uuid' prints it (16 random bytes, URL-safe base64, no padding,
# never starting with '-'), without starting a JVM.
kafka_random_uuid() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    [[ $id != -* ]] && { echo "$id"; return; }
  done
}

kafka_node_marker() { echo "$1/node-$2/server.properties"; }

# Readiness: all client ports accept TCP and the cluster metadata lists every node as a live broker.
kafka_check_ready() {
  local n=$1 topo=$2 i
  for ((i = 0; i < n; i++)); do
    pid_running "$topo/node-$i/kafka.pid" || return 2
  done
  for ((i = 0; i < n; i++)); do port_open "$(kafka_client_port "$i")" || return 1; done
  # Cheap gate before the metadata request (a JVM start, ~1 CPU-second): each node logged its start.
  # Should a Kafka version word that line differently, the request still runs every 6th poll (~3 s).
  KAFKA_READY_POLLS=$((${KAFKA_READY_POLLS:-0} + 1))
  if (( KAFKA_READY_POLLS % 6 != 0 )); then
    for ((i = 0; i < n; i++)); do
      log_since_mark "$topo/node-$i/logs/server.log" | grep -q 'Kafka Server started' || return 1
    done
  fi
  local seen
  local auth=()
  (( SECURE )) && auth=(--command-config "$(kafka_admin_config)")
  seen=$(KAFKA_HEAP_OPTS=-Xmx128m kafka_java org.apache.kafka.tools.BrokerApiVersionsCommand \
           --bootstrap-server "$(kafka_bootstrap "$n")" "${auth[@]}" 2>/dev/null | grep -c '(id: ' || true)
  (( seen >= n )) || return 1
}

# kafka_start_node TOPO I: starts node I of TOPO with its server.properties (written by up), in the background.
kafka_start_node() {
  local topo=$1 i=$2
  mark_log "$topo/node-$i/logs/server.log" "$topo/node-$i/logs/stdout.log"
  # shellcheck disable=SC2086
  nohup java $KAFKA_HEAP -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$(kafka_dir)/log4j2.properties" -Dkafka.logs.dir="$topo/node-$i/logs" \
    -cp "$(kafka_cp)" kafka.Kafka "$topo/node-$i/server.properties" \
    >>"$topo/node-$i/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$topo/node-$i/kafka.pid"
}

up_kafka() {
  local n=${1:-}
  kafka_installed || install_kafka
  local active; active=$(kafka_active_n)
  if (( active > 0 )) && alive_kafka; then
    if [[ -n $n && $n != "$active" ]]; then
      die "kafka: already up with $active node(s); run 'scripts/cluster down --only kafka' before changing to $n"
    fi
    log "kafka: already up ($active node(s), bootstrap $(kafka_bootstrap "$active"))"
    return 0
  fi
  # Default size: the one last started (a degraded cluster restarts as it was), else 1.
  (( active > 0 )) && n=${n:-$active}
  n=${n:-1}
  (( n >= 1 )) || die "kafka: --kafka-brokers must be >= 1"
  local topo i t0=$SECONDS ports=()
  topo=$(kafka_dir)/v$KAFKA_VERSION-n$n
  for ((i = 0; i < n; i++)); do ports+=("$(kafka_client_port "$i")" "$(kafka_controller_port "$i")"); done
  # Stale pids of a crashed previous run: stop whatever is left of them first.
  [[ -n $(kafka_active_topo) ]] && down_kafka quiet
  ensure_ports_free kafka "${ports[@]}"
  mkdir -p "$topo"
  kafka_write_config "$n" "$topo"
  [[ -s $topo/cluster.id ]] || kafka_random_uuid >"$topo/cluster.id"
  local cid; cid=$(<"$topo/cluster.id")
  local pids=() scram=()
  for ((i = 0; i < n; i++)); do
    if [[ ! -f $topo/node-$i/data/meta.properties ]]; then
      mapfile -t scram < <(kafka_scram_args)
      kafka_java kafka.tools.StorageTool format --ignore-formatted -t "$cid" -c "$topo/node-$i/server.properties" "${scram[@]}" \
        >"$topo/node-$i/logs/format.log" 2>&1 &
      pids+=($!)
    fi
  done
  for i in "${pids[@]}"; do
    wait "$i" || die "kafka: formatting storage failed: $(cat "$topo"/node-*/logs/format.log)"
  done
  for ((i = 0; i < n; i++)); do kafka_start_node "$topo" "$i"; done
  echo "$n $topo" >"$(kafka_dir)/active"
  log "kafka: started $n node(s) (pids $(cat "$topo"/node-*/kafka.pid | paste -sd,)), waiting for the brokers"
  if ! wait_for kafka "${ACU_CLUSTER_TIMEOUT:-120}" "$topo/node-*/logs/server.log $topo/node-*/logs/stdout.log" \
        kafka_check_ready "$n" "$topo"; then
    down_kafka quiet
    die "kafka: did not come up"
  fi
  if (( SECURE )); then
    (umask 077 && secure_access_json admin kafka_admin "\"brokers\": \"$(kafka_bootstrap "$n")\", \"mechanism\": \"scram-sha-512\"" >"$(kafka_dir)/access.json")
  fi
  log "kafka: up in $((SECONDS - t0))s, bootstrap $(kafka_bootstrap "$n")"
}

down_kafka() {
  local quiet=${1:-} topo n i entries=()
  topo=$(kafka_active_topo); n=$(kafka_active_n)
  if [[ -z $topo ]]; then
    [[ -n $quiet ]] || log "kafka: not running"
    return 0
  fi
  for ((i = 0; i < n; i++)); do entries+=("$topo/node-$i/kafka.pid:$(kafka_node_marker "$topo" "$i")"); done
  stop_pids kafka "${ACU_CLUSTER_STOP_TIMEOUT:-30}" "${entries[@]}"
  rm -f "$(kafka_dir)/active"
  [[ -n $quiet ]] || log "kafka: down"
}

purge_kafka() { rm -rf "$(kafka_dir)"; }

# alive_kafka: every node of the active topology runs.
alive_kafka() {
  local topo n i
  topo=$(kafka_active_topo); n=$(kafka_active_n)
  [[ -n $topo ]] || return 1
  for ((i = 0; i < n; i++)); do pid_alive "$topo/node-$i/kafka.pid" "$(kafka_node_marker "$topo" "$i")" || return 1; done
}

status_kafka() {
  local topo n i up=0 pids=() ctl=()
  topo=$(kafka_active_topo); n=$(kafka_active_n)
  if [[ -z $topo ]]; then
    printf '%-9s %-8s %s\n' kafka down "v$KAFKA_VERSION, clients on 127.0.0.1:$KAFKA_PORT_BASE (+2 per node)$(kafka_installed || echo ', not installed')"
    return 0
  fi
  for ((i = 0; i < n; i++)); do
    if pid_alive "$topo/node-$i/kafka.pid" "$(kafka_node_marker "$topo" "$i")"; then
      up=$((up + 1)); pids+=("$(<"$topo/node-$i/kafka.pid")")
    else
      pids+=("-")
    fi
    ctl+=("$(kafka_controller_port "$i")")
  done
  local state=up version=${topo##*/v}; version=${version%-n*}
  (( up == n )) || state=$([[ $up == 0 ]] && echo down || echo degraded)
  printf '%-9s %-8s %s\n' kafka "$state" "v$version, $up/$n node(s), brokers $(kafka_bootstrap "$n"), controllers $(join , "${ctl[@]}"), pids $(join , "${pids[@]}")"
}

env_kafka() {
  alive_kafka || return 0
  echo "export ACU_KAFKA_BROKERS=$(kafka_bootstrap "$(kafka_active_n)")"
  if (( SECURE )); then
    echo "export ACU_KAFKA_SASL_MECHANISM=scram-sha-512"
    echo "export ACU_KAFKA_SASL_USERNAME=admin"
    echo "export ACU_KAFKA_SASL_PASSWORD=$(secret kafka_admin)"
  fi
}

# scripts/cluster kafka-perf producer|consumer ARGS...: Kafka's own perf tools on the cached classpath.
cmd_kafka_perf() {
  local which=${1:-}; shift || true
  kafka_installed || install_kafka
  case $which in
    producer) exec_kafka_class org.apache.kafka.tools.ProducerPerformance "$@" ;;
    consumer) exec_kafka_class org.apache.kafka.tools.ConsumerPerformance "$@" ;;
    *) die "usage: scripts/cluster kafka-perf producer|consumer <tool args> (see --help of each)" ;;
  esac
}

# scripts/cluster kafka-class CLASS ARGS...: any main class on the Kafka classpath (TopicCommand, ...).
cmd_kafka_class() {
  [[ $# -ge 1 ]] || die "usage: scripts/cluster kafka-class <main class> [args...]"
  kafka_installed || install_kafka
  exec_kafka_class "$@"
}

exec_kafka_class() {
  local cls=$1; shift
  # Perf tools run with the C2 JIT and G1 (not the quick-start flags used for one-shot admin tools).
  # shellcheck disable=SC2086
  exec java ${KAFKA_HEAP_OPTS:--Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$(kafka_tools_log4j)" ${KAFKA_OPTS:-} -cp "$(kafka_cp)" "$cls" "$@"
}

# node_kafka stop|kill|start I: one broker of the running cluster (scripts/cluster node ...).
node_kafka() {
  local action=$1 i=$2 topo n
  topo=$(kafka_active_topo); n=$(kafka_active_n)
  [[ -n $topo ]] || die "kafka: not up (scripts/cluster up first)"
  (( i < n )) || die "kafka: no node $i (the cluster has $n: 0..$((n - 1)))"
  local pidfile=$topo/node-$i/kafka.pid marker; marker=$(kafka_node_marker "$topo" "$i")
  case $action in
    stop) stop_pids "kafka node $i" "${ACU_CLUSTER_STOP_TIMEOUT:-30}" "$pidfile:$marker"; log "kafka: node $i stopped" ;;
    kill) node_kill "kafka node $i" "$pidfile" "$marker" ;;
    start)
      if pid_alive "$pidfile" "$marker"; then log "kafka: node $i already runs (pid $(<"$pidfile"))"; return 0; fi
      local t0=$SECONDS
      kafka_start_node "$topo" "$i"
      wait_for "kafka node $i" "${ACU_CLUSTER_TIMEOUT:-120}" "$topo/node-$i/logs/server.log $topo/node-$i/logs/stdout.log" kafka_node_ready "$topo" "$i" ||
        die "kafka: node $i did not come back"
      log "kafka: node $i up in $((SECONDS - t0))s (pid $(<"$pidfile"))"
      ;;
  esac
}

# Ready: the process runs, its client port accepts connections and it logged its start.
kafka_node_ready() {
  local topo=$1 i=$2
  pid_running "$topo/node-$i/kafka.pid" || return 2
  port_open "$(kafka_client_port "$i")" || return 1
  log_since_mark "$topo/node-$i/logs/server.log" | grep -q 'Kafka Server started'
}
