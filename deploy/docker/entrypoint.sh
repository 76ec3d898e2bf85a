#!/bin/sh
# Container entry point: before `wegwijzer serve`, bring the index in line with the corpus.
#
# `wegwijzer ingest` is incremental: on a restart with an unchanged corpus it embeds nothing
# and takes seconds. Set INGEST_ON_START=0 where several replicas start at once (Kubernetes:
# the ingest Job does it). Any other command (keys, audit, backup, ...) runs as given.
set -eu

if [ "${1:-}" = "wegwijzer" ] && [ "${2:-}" = "serve" ] && [ "${INGEST_ON_START:-1}" = "1" ]; then
    echo "wegwijzer-entrypoint: wegwijzer ingest (incremental) before serving" >&2
    wegwijzer ingest
fi

exec "$@"
