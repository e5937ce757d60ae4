# shellcheck shell=bash
# Shared functions for the Apache Kafka CI broker: resolve the jars, start a single-node KRaft
# broker on free loopback ports, stop it by PID. Sourced by start-kafka.sh, stop-kafka.sh,
# resolve-jars.sh and run-tests.sh; it defines functions and variables only.
#
# Environment knobs:
#   VBG_KAFKA_CACHE      where the jars go (default: <repo>/.cache/kafka)
#   KAFKA_HEAP_OPTS      broker heap (default: -Xms256m -Xmx512m)
#   KAFKA_JVM_OPTS       other broker JVM flags (default: see KAFKA_DEFAULT_JVM_OPTS)
#   KAFKA_START_TIMEOUT  seconds to wait for the broker to be ready (default: 90)
#   JAVA_HOME            java to use (default: java on PATH)

KAFKA_INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_REPO_DIR="$(cd "$KAFKA_INFRA_DIR/../.." && pwd)"
KAFKA_CACHE_DIR="${VBG_KAFKA_CACHE:-$KAFKA_REPO_DIR/.cache/kafka}"
KAFKA_LIB_DIR="$KAFKA_CACHE_DIR/lib"
KAFKA_JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# A short-lived test broker on a small shared machine: the C1 JIT alone and the serial
# collector cut the broker's start-up CPU by about a third (measured: ~4.5 s vs ~7 s user).
KAFKA_DEFAULT_JVM_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"

kafka_log() { echo "kafka: $*" >&2; }
kafka_die() { echo "kafka: error: $*" >&2; exit 1; }

# The POM's hash, so editing pom.xml (say, a new Kafka version) re-resolves the jars.
kafka_pom_hash() { sha256sum "$KAFKA_INFRA_DIR/pom.xml" | cut -d' ' -f1; }

kafka_jars_ready() {
  [[ -f "$KAFKA_LIB_DIR/.pom-sha256" ]] && [[ "$(cat "$KAFKA_LIB_DIR/.pom-sha256")" == "$(kafka_pom_hash)" ]]
}

kafka_require_java() {
  command -v "$KAFKA_JAVA" >/dev/null 2>&1 ||
    kafka_die "java not found (need Java 17+; install openjdk-17-jre-headless or set JAVA_HOME)"
  local version major
  version="$("$KAFKA_JAVA" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
  major="${version%%.*}"
  [[ "$major" =~ ^[0-9]+$ ]] || kafka_die "cannot read the Java version from '$KAFKA_JAVA -version'"
  ((major >= 17)) || kafka_die "Apache Kafka 4 brokers need Java 17+, found Java $version ($KAFKA_JAVA)"
}

# Copy the broker jars into $KAFKA_LIB_DIR unless they are already there for this pom.xml.
# The first run downloads about 45 MB from Maven Central; each downloaded jar is shown.
kafka_resolve_jars() {
  kafka_jars_ready && return 0
  command -v mvn >/dev/null 2>&1 ||
    kafka_die "mvn not found: Maven resolves the Kafka jars on first use (install maven)"
  mkdir -p "$KAFKA_CACHE_DIR"
  local staging="$KAFKA_CACHE_DIR/lib.partial.$$" mvn_log="$KAFKA_CACHE_DIR/resolve.log"
  rm -rf "$staging"
  kafka_log "resolving the Apache Kafka jars into $KAFKA_LIB_DIR (first run downloads ~45 MB; log $mvn_log)"
  local -
  set -o pipefail
  if ! mvn -B -f "$KAFKA_INFRA_DIR/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$staging" -DincludeScope=runtime 2>&1 |
    tee "$mvn_log" |
    sed -nu 's/^\(\[INFO\] \)\{0,1\}Downloaded from [^:]*: .*\/\([^/]*\.jar\) .*/kafka:   downloaded \2/p' >&2; then
    rm -rf "$staging"
    tail -n 25 "$mvn_log" >&2
    kafka_die "Maven could not resolve the Kafka jars (full log: $mvn_log)"
  fi
  kafka_pom_hash >"$staging/.pom-sha256"
  rm -rf "$KAFKA_LIB_DIR"
  mv "$staging" "$KAFKA_LIB_DIR"
  kafka_log "$(find "$KAFKA_LIB_DIR" -name '*.jar' | wc -l) jars ready in $KAFKA_LIB_DIR"
}

# A loopback port nothing listens on, below the kernel's ephemeral range so that outgoing
# connections do not take it between this check and the broker's bind.
kafka_free_port() {
  local port tries
  for tries in $(seq 1 200); do
    port=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  kafka_die "no free loopback port found after $tries tries"
}

# A random KRaft cluster id: 16 bytes, URL-safe base64 without padding, not starting with '-'
# (the storage tool would read it as an option).
kafka_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* ]] && { echo "$id"; return 0; }
  done
}

# Alive and not a zombie: PID 1 here does not reap orphans, so a dead broker can linger as Z.
kafka_pid_alive() {
  local state
  [[ -r "/proc/$1/stat" ]] || return 1
  state="$(sed 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

kafka_write_config() {
  local workdir="$1" port="$2" controller_port="$3"
  case "${KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS:-0}" in
    '' | *[!0-9]*) kafka_die "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS must be a whole number of milliseconds" ;;
  esac
  cat >"$workdir/server.properties" <<EOF
# Single-node KRaft: this one process is both broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$workdir/data
# One replica of everything, and few internal partitions: a throwaway test broker.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
# Tests start consumer groups all the time; do not hold the first join for 3 s (Apache's
# default; KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=3000 for a production-like broker).
group.initial.rebalance.delay.ms=${KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS:-0}
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
EOF
}

# kafka_start WORKDIR [WATCH_PID]: format storage, start the broker, wait until it is ready.
# Sets KAFKA_PID (the JVM, leader of its own process group) and KAFKA_BOOTSTRAP. The broker is a
# child of the calling shell, which can `wait` for it. With WATCH_PID, a watchdog inside the
# broker's process group stops the broker when that process dies, even by SIGKILL.
kafka_start() {
  local workdir="$1" watch="${2:-}"
  local timeout="${KAFKA_START_TIMEOUT:-90}"
  local heap="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}" jvm_opts="${KAFKA_JVM_OPTS:-$KAFKA_DEFAULT_JVM_OPTS}"
  kafka_require_java
  kafka_jars_ready || kafka_die "the Kafka jars are not in $KAFKA_LIB_DIR; run infra/kafka/resolve-jars.sh"
  mkdir -p "$workdir/data" "$workdir/logs"
  local port controller_port
  port="$(kafka_free_port)"
  controller_port="$(kafka_free_port)"
  while [[ "$controller_port" == "$port" ]]; do controller_port="$(kafka_free_port)"; done
  kafka_write_config "$workdir" "$port" "$controller_port"

  local -a jvm=(-Djava.awt.headless=true "-Dlog4j2.configurationFile=$KAFKA_INFRA_DIR/log4j2.properties"
    "-Dkafka.logs.dir=$workdir/logs" -cp "$KAFKA_LIB_DIR/*")
  if ! "$KAFKA_JAVA" -Xmx256m -XX:TieredStopAtLevel=1 "${jvm[@]}" kafka.tools.StorageTool format \
    --config "$workdir/server.properties" --cluster-id "$(kafka_cluster_id)" >"$workdir/format.log" 2>&1; then
    tail -n 20 "$workdir/format.log" >&2
    kafka_die "formatting KRaft storage in $workdir/data failed (log $workdir/format.log)"
  fi

  # setsid: the JVM leads its own process group, so a stop reaches everything in it. The
  # wrapper shell starts the watchdog, then execs java, so $! is the JVM's PID.
  # shellcheck disable=SC2016,SC2086
  setsid bash -c "$(declare -f kafka_pid_alive)"'
    watch="$1"; shift
    if [[ -n "$watch" ]]; then
      (
        trap "" TERM
        while kill -0 "$watch" 2>/dev/null && kafka_pid_alive "$$"; do sleep 1; done
        kill -TERM -- "-$$" 2>/dev/null
        for _ in $(seq 1 30); do kafka_pid_alive "$$" || exit 0; sleep 1; done
        kill -KILL -- "-$$" 2>/dev/null
      ) </dev/null >/dev/null 2>&1 &
    fi
    exec "$@"
  ' vbg-kafka "$watch" "$KAFKA_JAVA" $heap $jvm_opts \
    "${jvm[@]}" kafka.Kafka "$workdir/server.properties" \
    </dev/null >"$workdir/logs/server.log" 2>&1 &
  KAFKA_PID=$!
  # shellcheck disable=SC2034 # set for the caller
  KAFKA_BOOTSTRAP="127.0.0.1:$port"
  echo "$KAFKA_PID" >"$workdir/broker.pid"

  local deadline=$((SECONDS + timeout))
  while :; do
    if ! kafka_pid_alive "$KAFKA_PID"; then
      wait "$KAFKA_PID" 2>/dev/null || true
      tail -n 30 "$workdir/logs/server.log" >&2
      kafka_die "the broker (pid $KAFKA_PID) exited while starting; log $workdir/logs/server.log"
    fi
    if grep -q "Kafka Server started" "$workdir/logs/server.log" 2>/dev/null &&
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$workdir/logs/server.log" >&2
      kafka_stop "$KAFKA_PID"
      kafka_die "the broker (pid $KAFKA_PID) was not ready after ${timeout}s; log $workdir/logs/server.log"
    fi
    sleep 0.2
  done
}

# kafka_stop PID [TIMEOUT]: SIGTERM the broker's process group (a clean shutdown), SIGKILL what
# is left after TIMEOUT seconds. Safe to call twice or on a PID that is already gone.
kafka_stop() {
  local pid="$1" timeout="${2:-20}"
  [[ "$pid" =~ ^[0-9]+$ ]] || kafka_die "not a PID: '$pid'"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while kafka_pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true # reaps the broker when it is our child
}
