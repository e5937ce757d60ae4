#!/usr/bin/env bash
# Start a single-node Apache Kafka (KRaft, broker + controller) on free loopback ports.
#
#   infra/kafka/start-kafka.sh [--workdir DIR] [--watch PID]
#
# Prints the bootstrap address on stdout once the broker is ready, writes DIR/broker.env
# (KAFKA_PID, KAFKA_BOOTSTRAP, KAFKA_WORKDIR) and returns, leaving the broker running.
# Stop it with: infra/kafka/stop-kafka.sh PID. With --watch PID the broker also stops when that
# process dies. The workdir defaults to a new temporary directory.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,10s/^# \{0,1\}//p' "$0" >&2; exit 2; }

workdir="" watch=""
while (($#)); do
  case "$1" in
    --workdir) [[ $# -ge 2 ]] || usage; workdir="$2"; shift 2 ;;
    --watch) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || usage; watch="$2"; shift 2 ;;
    -h | --help) usage ;;
    *) echo "start-kafka.sh: unknown argument '$1'" >&2; usage ;;
  esac
done

kafka_require_java
kafka_resolve_jars
workdir="${workdir:-$(mktemp -d "${TMPDIR:-/tmp}/vbg-kafka.XXXXXX")}"
mkdir -p "$workdir"
started=$SECONDS
kafka_start "$workdir" "$watch"
printf 'KAFKA_PID=%s\nKAFKA_BOOTSTRAP=%s\nKAFKA_WORKDIR=%s\n' \
  "$KAFKA_PID" "$KAFKA_BOOTSTRAP" "$workdir" >"$workdir/broker.env"
kafka_log "Apache Kafka ready at $KAFKA_BOOTSTRAP in $((SECONDS - started))s (pid $KAFKA_PID, workdir $workdir)"
kafka_log "stop it with: $(dirname "${BASH_SOURCE[0]}")/stop-kafka.sh $KAFKA_PID"
echo "$KAFKA_BOOTSTRAP"
