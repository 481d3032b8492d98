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
#     only hostssl (trust, as the role postgres); prints the port. The ports tried lie below
#     Linux's default ephemeral range (32768-60999), where no outgoing connection holds one as
#     its local port unseen; a port that still cannot be bound is skipped for the next.
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

port=26432
next_free_port() {
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
}
next_free_port
mkdir -p data sock
chmod 700 data sock
chmod 600 server.key
if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$dir"; fi
as_pg "$bindir/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C --auth-local=trust \
  --no-instructions --no-sync >initdb.log 2>&1 || { cat initdb.log >&2; exit 1; }
cat >>data/postgresql.conf <<CONF
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
# The last "port =" line in postgresql.conf wins: a port found taken at bind time (connect saw
# nobody listening, yet a socket holds it) is replaced by the next free one, ten times at most.
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  echo "port = $port" >>data/postgresql.conf
  rm -f postgres.log
  if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
    >/dev/null 2>pg_ctl.err; then
    echo "$port" >port
    break
  fi
  if [ "$attempt" -eq 10 ] || ! grep "could not bind" postgres.log >/dev/null 2>&1; then
    cat pg_ctl.err >&2
    tail -n 20 postgres.log >&2 || true
    exit 1
  fi
  port=$((port + 1))
  next_free_port
done
echo "$port"
