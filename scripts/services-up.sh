#!/usr/bin/env bash
# Start PostgreSQL, Redis and RabbitMQ when they are installed here but down. Where a service cannot
# exist (a laptop without it), the tests that need it skip with a printed reason.
set -u
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
start() { # name port command...
  local name=$1 port=$2; shift 2
  if port_open "$port"; then return 0; fi
  if ! command -v "$1" >/dev/null 2>&1; then echo "services: $name not installed; its tests will skip"; return 0; fi
  echo "services: starting $name"
  "$@" >/dev/null 2>&1 || echo "services: could not start $name; its tests will skip"
  for _ in $(seq 1 30); do port_open "$port" && return 0; sleep 1; done
  echo "services: $name did not come up on port $port; its tests will skip"
}
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  start PostgreSQL 5432 pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
fi
start Redis 6379 redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
  --dir /var/lib/redis --logfile /var/log/redis/ci.log
start RabbitMQ 5672 rabbitmq-server -detached
exit 0
