#!/usr/bin/env bash
# Run a test command against a throwaway Apache Kafka broker:
#
#   infra/kafka/run-tests.sh .venv/bin/pytest -m kafka [ARGS...]
#
# Resolves the broker jars (the first run downloads them), starts a single-node KRaft broker on
# free loopback ports, exports KAFKA_BOOTSTRAP and VBG_KAFKA_FLAVOUR=apache, runs the command, and
# stops the broker by PID whatever happens (normal exit, failure, Ctrl-C, SIGTERM; if this script
# is SIGKILLed, the broker's watchdog stops it within a second). Exits with the command's code.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if (($# == 0)); then
  echo "usage: infra/kafka/run-tests.sh COMMAND [ARGS...]   (e.g. .venv/bin/pytest -m kafka)" >&2
  exit 2
fi

workdir="" test_pid="" interrupted="" rc=1
# shellcheck disable=SC2317 # cleanup and on_signal run from traps
cleanup() {
  if [[ -n "${KAFKA_PID:-}" ]]; then
    kafka_stop "$KAFKA_PID"
    kafka_log "broker (pid $KAFKA_PID) stopped"
  fi
  if [[ -n "$workdir" && -d "$workdir" ]]; then
    if ((rc == 0)); then
      rm -rf "$workdir"
    else
      kafka_log "broker workdir kept for inspection: $workdir (log: $workdir/logs/server.log)"
    fi
  fi
}
# Forward Ctrl-C / SIGTERM to the test command's process group; the loop below then reaps it.
# shellcheck disable=SC2317
on_signal() {
  interrupted="$1"
  [[ -n "$test_pid" ]] && kill -"$1" -- "-$test_pid" 2>/dev/null
}
trap cleanup EXIT
trap 'on_signal INT; [[ -n "$test_pid" ]] || exit 130' INT
trap 'on_signal TERM; [[ -n "$test_pid" ]] || exit 143' TERM

kafka_require_java
t_jars=$SECONDS
kafka_resolve_jars
t_jars=$((SECONDS - t_jars))

workdir="$(mktemp -d "${TMPDIR:-/tmp}/vbg-kafka.XXXXXX")"
t_start=$SECONDS
kafka_start "$workdir" "$$"
t_start=$((SECONDS - t_start))
kafka_log "Apache Kafka ready at $KAFKA_BOOTSTRAP in ${t_start}s (pid $KAFKA_PID)"

export KAFKA_BOOTSTRAP VBG_KAFKA_FLAVOUR=apache
t_tests=$SECONDS
# Job control gives the command its own process group with default signal handling, so a
# forwarded SIGINT reaches pytest as KeyboardInterrupt (without it, bash makes background
# commands ignore SIGINT), while `wait` keeps this script responsive to signals.
set -m
"$@" &
test_pid=$!
set +m
while :; do
  wait "$test_pid"
  rc=$?
  kafka_pid_alive "$test_pid" || break # still running: `wait` was interrupted by a signal
done
t_tests=$((SECONDS - t_tests))
kafka_log "timings: jars ${t_jars}s, broker start ${t_start}s, tests ${t_tests}s (exit code $rc)"

case "$interrupted" in
  INT) rc=130 ;;
  TERM) rc=143 ;;
esac
exit "$rc"
