#!/usr/bin/env bash
# run.sh - start Herald for a person trying it: the embedded FerretDB store on disk
# (unless MONGODB_URI is given) and gunicorn's gevent worker on HOST:PORT
# (default 127.0.0.1:8000). Stops the store it started when Herald exits.
# STORE_PORT and STORE_DIR move the embedded store (default 27027, .run/ferretdb/data).
# Web Push gets a VAPID key of its own on the first run, kept in VAPID_KEY_FILE
# (default .run/vapid-private-key), unless VAPID_PRIVATE_KEY is given (or set in .env).
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

export HOST=${HOST:-127.0.0.1} PORT=${PORT:-8000}
started_store=
store=(--port "${STORE_PORT:-27027}")
if [ -z "${MONGODB_URI:-}" ]; then
  bash scripts/ferretdb.sh install
  if ! bash scripts/ferretdb.sh status "${store[@]}" >/dev/null 2>&1; then
    bash scripts/ferretdb.sh start "${store[@]}" ${STORE_DIR:+--data "$STORE_DIR"}
    started_store=yes
  fi
  MONGODB_URI="$(bash scripts/ferretdb.sh uri "${store[@]}")herald"
  export MONGODB_URI
fi
if [ -z "${VAPID_PRIVATE_KEY:-}" ] && ! grep -qs '^VAPID_PRIVATE_KEY=.' .env; then
  key_file=${VAPID_KEY_FILE:-.run/vapid-private-key}
  if [ ! -s "$key_file" ]; then
    mkdir -p "$(dirname -- "$key_file")"
    (umask 077 && python -m app.channels.push.vapid >"$key_file.tmp" && mv "$key_file.tmp" "$key_file")
    echo "Web Push: a new VAPID key in $key_file"
  fi
  VAPID_PRIVATE_KEY=$(cat "$key_file")
  export VAPID_PRIVATE_KEY
fi
stop_store() { [ -n "$started_store" ] && bash scripts/ferretdb.sh stop "${store[@]}" || true; }
trap stop_store EXIT

# GraphiQL's files for /graphql in a browser; without npm, only the IDE page is missing.
bash scripts/graphiql.sh install || echo "GraphiQL not installed (npm needed once); /graphql still answers API calls" >&2

echo "Herald on http://$HOST:$PORT  (API docs: http://$HOST:$PORT/api-docs/, GraphiQL: http://$HOST:$PORT/graphql)"
gunicorn -c gunicorn.conf.py wsgi:app
