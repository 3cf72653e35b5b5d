#!/bin/sh
# Container entrypoint: VODSTACK_SERVICE picks what this container runs.
#
#   all | origin | shield | edge  ->  vodstack serve --role <it> (HTTP on VODSTACK_PORT)
#   worker                        ->  vodstack worker (Celery lanes when VODSTACK_BROKER_URL is set)
#
# Arguments, when given, run instead (docker run IMAGE vodstack keys list). The same script
# runs outside containers: tests/e2e/test_compose.py starts the compose topology with it.
set -eu

if [ "$#" -gt 0 ]; then
    exec "$@"
fi

service="${VODSTACK_SERVICE:-all}"
case "$service" in
    all|origin|shield|edge)
        # worker processes: VODSTACK_SERVER_WORKERS (default: one per core for edges)
        exec vodstack serve --role "$service" \
            --host "${VODSTACK_HOST:-0.0.0.0}" --port "${VODSTACK_PORT:-8000}"
        ;;
    worker)
        exec vodstack worker
        ;;
    *)
        echo "vodstack-entrypoint: VODSTACK_SERVICE=$service is not one of all, origin, shield, edge, worker" >&2
        exit 64
        ;;
esac
