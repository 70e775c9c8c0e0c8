# shellcheck shell=bash
# Component: Apache Spark standalone, one master and one worker, from the pyspark wheel (a full Spark
# distribution: SPARK_HOME is the installed package folder, with bin/spark-class and bin/spark-submit).
#
# Ports (127.0.0.1): master 17077 (spark://), master web UI and JSON 17080, worker 17078, worker web UI
# 17081 (ACU_SPARK_MASTER_PORT, ACU_SPARK_MASTER_UI_PORT, ACU_SPARK_WORKER_PORT, ACU_SPARK_WORKER_UI_PORT).
# Install: ${XDG_CACHE_HOME:-~/.cache}/acu/spark-<version>/ — venv/ (pip install pyspark==<version>) and
# jars/postgresql-<version>.jar (the JDBC driver, from Maven Central), the Spark application writes over JDBC.
# Runtime: .acu/cluster/spark/ (master.log, worker.log, work/ = executors' folders, local/ = shuffle).
# Worker size: --spark-worker-cores / --spark-worker-memory of scripts/cluster (default 1 core, 1g),
# passed to up_spark as "<cores>:<memory>".

spark_version() { echo "${ACU_SPARK_VERSION:-4.3.0}"; }
spark_pgjdbc_version() { echo "${ACU_SPARK_PGJDBC_VERSION:-42.7.14}"; }
spark_master_port() { echo "${ACU_SPARK_MASTER_PORT:-$((17077 + PORT_OFFSET))}"; }
spark_master_ui_port() { echo "${ACU_SPARK_MASTER_UI_PORT:-$((17080 + PORT_OFFSET))}"; }
spark_worker_port() { echo "${ACU_SPARK_WORKER_PORT:-$((17078 + PORT_OFFSET))}"; }
spark_worker_ui_port() { echo "${ACU_SPARK_WORKER_UI_PORT:-$((17081 + PORT_OFFSET))}"; }

spark_cache() { echo "$CACHE_ROOT/spark-$(spark_version)"; }
spark_python() { echo "$(spark_cache)/venv/bin/python"; }
spark_jdbc_jar() { echo "$(spark_cache)/jars/postgresql-$(spark_pgjdbc_version).jar"; }
# The pyspark package folder, recorded at install (lib/python3.X/site-packages/pyspark).
spark_home() { [[ -s $(spark_cache)/spark-home ]] && cat "$(spark_cache)/spark-home" || true; }
spark_installed() {
  [[ -f $(spark_cache)/.complete && -f $(spark_jdbc_jar) ]] && [[ -x $(spark_home)/bin/spark-class ]]
}

spark_dir() { echo "$RUN_DIR/spark"; }
spark_master_url() { echo "spark://127.0.0.1:$(spark_master_port)"; }
spark_master_marker() { echo "org.apache.spark.deploy.master.Master --host 127.0.0.1 --port $(spark_master_port)"; }
spark_worker_marker() { echo "--work-dir $(spark_dir)/work"; }
# The running worker's size, recorded in spark/active as "<cores> <memory>".
spark_active() { [[ -s $(spark_dir)/active ]] && cat "$(spark_dir)/active" || true; }

install_spark() {
  local home v jv
  home=$(spark_cache); v=$(spark_version); jv=$(spark_pgjdbc_version)
  if spark_installed; then
    log "spark $v: installed (pyspark in $home/venv, PostgreSQL JDBC $jv)"
    return 0
  fi
  need_cmd java "install a JDK 17, e.g. apt-get install openjdk-17-jdk-headless"
  need_cmd python3 "Python 3.10+ with the venv module"
  need_cmd mvn "apt-get install maven"
  local t0=$SECONDS
  mkdir -p "$home"
  rm -f "$home/.complete"
  if [[ ! -f $home/venv/.pyspark-$v ]]; then
    log "spark $v: pip install pyspark==$v into $home/venv (first time only, ~450 MB)"
    rm -rf "$home/venv"
    python3 -m venv "$home/venv" >"$home/pip.log" 2>&1 || { cat "$home/pip.log" >&2; die "spark: python3 -m venv failed"; }
    if ! "$home/venv/bin/python" -m pip install --no-cache-dir --disable-pip-version-check --progress-bar off \
          "pyspark==$v" >>"$home/pip.log" 2>&1; then
      tail -n 20 "$home/pip.log" >&2
      die "spark $v: pip could not install pyspark (full output: $home/pip.log)"
    fi
    touch "$home/venv/.pyspark-$v"
  fi
  local sh
  sh=$("$home/venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(os.path.abspath(pyspark.__file__)))') ||
    die "spark $v: pyspark does not import in $home/venv"
  [[ -x $sh/bin/spark-class && -x $sh/bin/spark-submit && -d $sh/jars ]] ||
    die "spark $v: $sh has no bin/spark-class, bin/spark-submit or jars/ (not a full Spark distribution)"
  echo "$sh" >"$home/spark-home"
  if [[ ! -f $home/jars/postgresql-$jv.jar ]]; then
    log "spark: PostgreSQL JDBC driver $jv from Maven Central"
    mkdir -p "$home/jars"
    if ! mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
          -Dartifact="org.postgresql:postgresql:$jv:jar" -DoutputDirectory="$home/jars" >"$home/mvn.log" 2>&1; then
      tail -n 20 "$home/mvn.log" >&2
      die "spark: Maven could not fetch org.postgresql:postgresql:$jv (full output: $home/mvn.log)"
    fi
    [[ -f $home/jars/postgresql-$jv.jar ]] || die "spark: no $home/jars/postgresql-$jv.jar after the Maven copy"
  fi
  touch "$home/.complete"
  log "spark $v: installed in $((SECONDS - t0))s (SPARK_HOME $sh)"
}

# spark_env: the environment of the standalone daemons, as NAME=VALUE words for env(1). (Started with
# `env … nohup spark-class … &`, not through a shell function, so that $! is the daemon's pid: spark-class
# execs java.)
spark_env() {
  local d; d=$(spark_dir)
  SPARK_ENV=(SPARK_HOME="$(spark_home)" SPARK_CONF_DIR="$d/conf" SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_DIRS="$d/local"
    SPARK_DAEMON_MEMORY="${ACU_SPARK_DAEMON_MEMORY:-256m}" SPARK_DAEMON_JAVA_OPTS="-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
    SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false"
    SPARK_WORKER_OPTS="-Dspark.worker.cleanup.enabled=true -Dspark.worker.cleanup.appDataTtl=86400"
    PYSPARK_PYTHON="$(spark_python)")
}

# Ready: both daemons run and the master's JSON shows itself ALIVE with our worker ALIVE.
spark_check_ready() {
  local d; d=$(spark_dir)
  pid_running "$d/master.pid" && pid_running "$d/worker.pid" || return 2
  local json
  json=$(curl -sf --max-time 2 "http://127.0.0.1:$(spark_master_ui_port)/json/" 2>/dev/null) || return 1
  SPARK_JSON=$json "$(spark_python)" - "$(spark_worker_port)" <<'PY' || return 1
import json, os, sys
m = json.loads(os.environ["SPARK_JSON"])
port = int(sys.argv[1])
ok = m.get("status") == "ALIVE" and any(w.get("state") == "ALIVE" and w.get("port") == port for w in m.get("workers", []))
sys.exit(0 if ok else 1)
PY
}

up_spark() {
  local size=${1:-} cores="" mem=""
  if [[ -n $size && $size != ":" ]]; then cores=${size%%:*}; mem=${size#*:}; fi
  [[ -z $cores || $cores =~ ^[1-9][0-9]*$ ]] || die "spark: --spark-worker-cores wants a positive number"
  [[ -z $mem || $mem =~ ^[1-9][0-9]*[mMgG]$ ]] || die "spark: --spark-worker-memory wants a size like 512m or 2g"
  spark_installed || install_spark
  local active; active=$(spark_active)
  if [[ -n $active ]] && alive_spark; then
    local acores=${active%% *} amem=${active#* }
    if [[ ( -n $cores && $cores != "$acores" ) || ( -n $mem && $mem != "$amem" ) ]]; then
      die "spark: already up with a worker of $acores core(s), $amem; run 'scripts/cluster down --only spark' before changing it"
    fi
    log "spark: already up (master $(spark_master_url), worker $acores core(s), $amem)"
    return 0
  fi
  # Default size: the one last started, else 1 core and 1g.
  if [[ -n $active ]]; then cores=${cores:-${active%% *}}; mem=${mem:-${active#* }}; fi
  cores=${cores:-1}; mem=${mem:-1g}
  local d t0=$SECONDS sh
  d=$(spark_dir); sh=$(spark_home)
  # Stale pids of a crashed previous run: stop whatever is left of them first.
  [[ -n $active ]] && down_spark quiet
  ensure_ports_free spark "$(spark_master_port)" "$(spark_master_ui_port)" "$(spark_worker_port)" "$(spark_worker_ui_port)"
  mkdir -p "$d/conf" "$d/work" "$d/local"
  mark_log "$d/master.log" "$d/worker.log"
  spark_env
  env "${SPARK_ENV[@]}" nohup "$sh/bin/spark-class" org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$(spark_master_port)" --webui-port "$(spark_master_ui_port)" \
    >>"$d/master.log" 2>&1 </dev/null &
  echo $! >"$d/master.pid"
  # The worker retries its registration until the master answers: no need to wait for the master first.
  env "${SPARK_ENV[@]}" nohup "$sh/bin/spark-class" org.apache.spark.deploy.worker.Worker \
    --host 127.0.0.1 --port "$(spark_worker_port)" --webui-port "$(spark_worker_ui_port)" \
    --cores "$cores" --memory "$mem" --work-dir "$d/work" "$(spark_master_url)" \
    >>"$d/worker.log" 2>&1 </dev/null &
  echo $! >"$d/worker.pid"
  echo "$cores $mem" >"$d/active"
  log "spark: started master and worker (pids $(<"$d/master.pid"),$(<"$d/worker.pid")), waiting for the worker to register"
  if ! wait_for spark "${ACU_CLUSTER_TIMEOUT:-120}" "$d/master.log $d/worker.log" spark_check_ready; then
    down_spark quiet
    die "spark: did not come up"
  fi
  log "spark: up in $((SECONDS - t0))s, master $(spark_master_url) (UI http://127.0.0.1:$(spark_master_ui_port)), worker $cores core(s), $mem"
}

down_spark() {
  local quiet=${1:-} d; d=$(spark_dir)
  if [[ -z $(spark_active) ]]; then
    [[ -n $quiet ]] || log "spark: not running"
    return 0
  fi
  # The worker first: it kills its executors as it stops.
  stop_pids spark "${ACU_CLUSTER_STOP_TIMEOUT:-30}" "$d/worker.pid:$(spark_worker_marker)"
  stop_pids spark "${ACU_CLUSTER_STOP_TIMEOUT:-30}" "$d/master.pid:$(spark_master_marker)"
  rm -f "$d/active"
  [[ -n $quiet ]] || log "spark: down"
}

purge_spark() { rm -rf "$(spark_dir)"; }

alive_spark() {
  local d; d=$(spark_dir)
  [[ -n $(spark_active) ]] || return 1
  pid_alive "$d/master.pid" "$(spark_master_marker)" && pid_alive "$d/worker.pid" "$(spark_worker_marker)"
}

status_spark() {
  local d active; d=$(spark_dir); active=$(spark_active)
  if [[ -z $active ]]; then
    printf '%-9s %-8s %s\n' spark down "v$(spark_version), master $(spark_master_url)$(spark_installed || echo ', not installed')"
    return 0
  fi
  local m=- w=- state=up
  pid_alive "$d/master.pid" "$(spark_master_marker)" && m=$(<"$d/master.pid")
  pid_alive "$d/worker.pid" "$(spark_worker_marker)" && w=$(<"$d/worker.pid")
  if [[ $m == - && $w == - ]]; then state=down; elif [[ $m == - || $w == - ]]; then state=degraded; fi
  printf '%-9s %-8s %s\n' spark "$state" "v$(spark_version), master $(spark_master_url) (UI http://127.0.0.1:$(spark_master_ui_port)), 1 worker (${active% *} core(s), ${active#* }), pids $m,$w"
}

env_spark() {
  alive_spark || return 0
  echo "export ACU_SPARK_MASTER=$(spark_master_url)"
  echo "export ACU_SPARK_HOME=$(spark_home)"
  echo "export ACU_SPARK_PYTHON=$(spark_python)"
  echo "export ACU_SPARK_JDBC_JAR=$(spark_jdbc_jar)"
}
