#!/usr/bin/env bash
# Resolve the Apache Kafka broker jars (infra/kafka/pom.xml) into the cache; prints the directory.
# A no-op when the cache already holds them for the current pom.xml.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kafka_resolve_jars
echo "$KAFKA_LIB_DIR"
