#!/usr/bin/env bash
# Install (if needed) and start a local PostgreSQL for the backend tests; prints its URL.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version main"; then
  pg_createcluster "$version" main >&2
fi
pg_ctlcluster "$version" main start >&2 2>/dev/null || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 && break
  sleep 1
done
su postgres -c "psql -q -h 127.0.0.1 -tc \"SELECT 1 FROM pg_roles WHERE rolname='segrules'\" | grep -q 1 || \
  psql -q -h 127.0.0.1 -c \"CREATE ROLE segrules LOGIN SUPERUSER PASSWORD 'segrules'\"" >&2 2>/dev/null || \
su postgres -c "psql -q -tc \"SELECT 1 FROM pg_roles WHERE rolname='segrules'\" | grep -q 1 || \
  psql -q -c \"CREATE ROLE segrules LOGIN SUPERUSER PASSWORD 'segrules'\"" >&2
su postgres -c "psql -q -tc \"SELECT 1 FROM pg_database WHERE datname='segrules_test'\" | grep -q 1 || \
  createdb -O segrules segrules_test" >&2
echo "postgres://segrules:segrules@127.0.0.1:5432/segrules_test"
