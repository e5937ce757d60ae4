#!/usr/bin/env bash
# Stop a broker started by start-kafka.sh: SIGTERM its process group, SIGKILL after 20 s.
#
#   infra/kafka/stop-kafka.sh PID
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $# -eq 1 && "$1" =~ ^[0-9]+$ ]] || { echo "usage: stop-kafka.sh PID" >&2; exit 2; }
kafka_pid_alive "$1" || { kafka_log "no running process $1"; exit 0; }
tr '\0' ' ' <"/proc/$1/cmdline" | grep -q ' kafka\.Kafka ' ||
  kafka_die "process $1 is not a Kafka broker; not stopping it"
kafka_stop "$1"
kafka_pid_alive "$1" && kafka_die "process $1 is still running"
kafka_log "stopped $1"
