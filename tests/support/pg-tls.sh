#!/usr/bin/env bash
# pg-tls.sh: a private PostgreSQL that accepts TLS connections only, with a certificate from a
# throwaway local CA, for tests/integration/test_pg_tls.c.
#   tests/support/pg-tls.sh up DIR     makes in DIR (an empty directory):
#       ca.pem        the CA that signed the server's certificate (sslrootcert for verify-full)
#       other-ca.pem  a CA that signed nothing the server has (a wrong sslrootcert)
#       server.pem    the server's certificate: CN and subjectAltName DNS:localhost only, so
#                     that host=127.0.0.1 does not match it
#       data/ sock/ postgres.log port
#     starts the cluster on 127.0.0.1 and a free port (in DIR/port), TLS on, pg_hba allowing
#     only hostssl (trust, as the role postgres); prints the port.
#   tests/support/pg-tls.sh down DIR   stops it (DIR is left for the caller to remove).
# As root the cluster runs as the postgres user (as scripts/mni-env does).
set -euo pipefail
cmd=${1:?up|down} dir=${2:?DIR}
bindir=${MNI_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

if [ "$cmd" = down ]; then
  as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  exit 0
fi

cd "$dir"
quiet() { "$@" >/dev/null 2>&1 || { echo "pg-tls: failed: $*" >&2; exit 1; }; }
# Two CAs, and the server's key and certificate signed by the first.
quiet openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mni test CA" \
  -keyout ca.key -out ca.pem
quiet openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mni other CA" \
  -keyout other-ca.key -out other-ca.pem
quiet openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
printf 'subjectAltName = DNS:localhost\n' >server.ext
quiet openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile server.ext -out server.pem

port=56432
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
echo "$port" >port
mkdir -p data sock
chmod 700 data sock
chmod 600 server.key
if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$dir"; fi
as_pg "$bindir/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C --auth-local=trust \
  --no-instructions --no-sync >initdb.log 2>&1 || { cat initdb.log >&2; exit 1; }
cat >>data/postgresql.conf <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
ssl = on
ssl_cert_file = '$dir/server.pem'
ssl_key_file = '$dir/server.key'
logging_collector = off
fsync = off
CONF
cat >data/pg_hba.conf <<HBA
local     all all              trust
hostssl   all all 127.0.0.1/32 trust
hostnossl all all 0.0.0.0/0    reject
HBA
as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null ||
  { tail -n 20 postgres.log >&2; exit 1; }
echo "$port"
