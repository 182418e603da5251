#!/usr/bin/env bash
# Throwaway servers for ferry's tests and demo, on loopback only, data under a temp folder.
#
#   scripts/servers.sh start [pg] [mysql] [mysql-noinfile] [moto] [sshd]   (default: all)
#   scripts/servers.sh stop | status | env | wipe
#
# PostgreSQL 127.0.0.1:$FERRY_PG_PORT  user postgres / password $FERRY_TEST_PASSWORD (scram)
# MariaDB    127.0.0.1:$FERRY_MY_PORT  user root / same password, local_infile=1
# MariaDB    127.0.0.1:$FERRY_MY2_PORT same, local_infile=0 (exercises the INSERT path)
# MariaDB    127.0.0.1:$FERRY_MYBIN_PORT same, with a row-format binary log (replication source)
# moto       127.0.0.1:$FERRY_MOTO_PORT (AWS API emulator)
# sshd       127.0.0.1:$FERRY_SSH_PORT OpenSSH bastion for the tunnel tests: user root, key auth
#            only with a client key of its own, its own host key (files under $ROOT/sshd)
# Missing servers are installed from Debian's packages (apt-get). Every process is stopped
# through its own pid file, never by name.
set -euo pipefail

ROOT=${FERRY_TEST_ROOT:-/tmp/ferry-test}
PG_PORT=${FERRY_PG_PORT:-55439}
MY_PORT=${FERRY_MY_PORT:-53309}
MY2_PORT=${FERRY_MY2_PORT:-53310}
MYBIN_PORT=${FERRY_MYBIN_PORT:-53311}
MYREPL_PORT=${FERRY_MYREPL_PORT:-53312}
MOTO_PORT=${FERRY_MOTO_PORT:-55500}
SSH_PORT=${FERRY_SSH_PORT:-52222}
PASSWORD=${FERRY_TEST_PASSWORD:-ferrytest}

log() { echo "[servers] $*" >&2; }

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

apt_install() {
  log "installing $* from Debian's packages"
  if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ] || [ -n "${FERRY_APT_UPDATE:-}" ]; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

ensure_pg() { pg_bin >/dev/null || apt_install postgresql postgresql-contrib; }
ensure_mariadb() { command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server mariadb-client; }
ensure_moto() {
  python3 -c 'import moto.server' 2>/dev/null || {
    log "installing moto[server] from PyPI"; python3 -m pip install -q 'moto[server]'; }
}

# ---- PostgreSQL ---------------------------------------------------------------
pg_up() { "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; }

pg_start() {
  ensure_pg
  local bin data=$ROOT/pg
  bin=$(pg_bin)
  if pg_up; then log "postgres already up on 127.0.0.1:$PG_PORT"; return 0; fi
  mkdir -p "$ROOT"; chmod 755 "$ROOT"
  if [ ! -s "$data/PG_VERSION" ]; then
    rm -rf "$data"; mkdir -p "$data"; chown postgres:postgres "$data"; chmod 700 "$data"
    local pw=$ROOT/.pgpw
    printf '%s\n' "$PASSWORD" > "$pw"; chown postgres "$pw"; chmod 600 "$pw"
    runuser -u postgres -- "$bin/initdb" -D "$data" -U postgres --pwfile="$pw" \
      --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
      >"$ROOT/pg-initdb.log" 2>&1 || { cat "$ROOT/pg-initdb.log" >&2; return 1; }
    rm -f "$pw"
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$ROOT/pgsock'
max_connections = 300
shared_buffers = '512MB'
maintenance_work_mem = '512MB'
max_wal_size = '4GB'
checkpoint_timeout = '15min'
timezone = 'UTC'
log_min_messages = warning
lc_messages = 'C'
CONF
  fi
  # Logical decoding for the replication tests (issue 15); added to data
  # directories made before this line existed too.
  grep -q '^wal_level = logical' "$data/postgresql.conf" ||
    printf '%s\n' "wal_level = logical" "max_replication_slots = 64" "max_wal_senders = 64" \
      >>"$data/postgresql.conf"
  mkdir -p "$ROOT/pgsock"; chown postgres "$ROOT/pgsock"
  touch "$ROOT/pg.log"; chown postgres "$ROOT/pg.log"
  runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$ROOT/pg.log" -w -t 60 start >/dev/null ||
    { tail -20 "$ROOT/pg.log" >&2; return 1; }
  log "postgres up on 127.0.0.1:$PG_PORT"
}

pg_stop() {
  local data=$ROOT/pg
  [ -s "$data/postmaster.pid" ] || return 0
  runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  log "postgres stopped"
}

# ---- MariaDB ------------------------------------------------------------------
my_dir() { echo "$ROOT/$1"; }
my_up() { [ -S "$(my_dir "$1")/run/mysqld.sock" ] && mariadb-admin --protocol=SOCKET -S "$(my_dir "$1")/run/mysqld.sock" -u root ping >/dev/null 2>&1; }

my_start() { # name port local_infile [binlog]
  ensure_mariadb
  local name=$1 port=$2 infile=$3 dir binlog=(--skip-log-bin)
  if [ "${4:-}" = binlog ]; then
    # A replication source: row events with full images, a server id of its own, and
    # GTIDs, as `ferry replicate` requires.
    binlog=(--log-bin=mysql-bin --binlog-format=ROW --binlog-row-image=FULL --server-id=11
      --expire-logs-days=1)
  elif [ "${4:-}" = replica ]; then
    # A native MariaDB replica, the peer of the replication benchmark.
    binlog=(--skip-log-bin --server-id=12 --skip-slave-start --relay-log=relay-bin)
  fi
  dir=$(my_dir "$name")
  if my_up "$name"; then log "mariadb $name already up on 127.0.0.1:$port"; return 0; fi
  mkdir -p "$dir/run"; chmod 755 "$ROOT" "$dir"
  id mysql >/dev/null 2>&1 || useradd --system --no-create-home mysql
  chown mysql:mysql "$dir/run"
  if [ ! -d "$dir/data/mysql" ]; then
    rm -rf "$dir/data"; mkdir -p "$dir/data"; chown mysql:mysql "$dir/data"
    mariadb-install-db --no-defaults --user=mysql --datadir="$dir/data" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
      { cat "$dir/install.log" >&2; return 1; }
    touch "$dir/.grants"
  fi
  setsid nohup mariadbd --no-defaults --user=mysql --datadir="$dir/data" --port="$port" \
    --bind-address=127.0.0.1 --socket="$dir/run/mysqld.sock" --pid-file="$dir/run/mysqld.pid" \
    --log-error="$dir/error.log" --skip-name-resolve --local-infile="$infile" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-buffer-pool-size=1G --innodb-log-file-size=512M --max-allowed-packet=256M \
    --max-connections=400 "${binlog[@]}" --default-time-zone=+00:00 \
    >>"$dir/stdout.log" 2>&1 </dev/null &
  local i
  for i in $(seq 1 600); do my_up "$name" && break; sleep 0.1; done
  my_up "$name" || { log "mariadb $name failed to start"; tail -30 "$dir/error.log" >&2; return 1; }
  if [ -e "$dir/.grants" ]; then
    mariadb --protocol=SOCKET -S "$dir/run/mysqld.sock" -u root -e "
      CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '$PASSWORD';
      ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$PASSWORD';
      GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
      FLUSH PRIVILEGES;" && rm -f "$dir/.grants"
  fi
  log "mariadb $name up on 127.0.0.1:$port (local_infile=$infile)"
}

my_stop() {
  local dir pid
  dir=$(my_dir "$1")
  pid=$(cat "$dir/run/mysqld.pid" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid"
  local i
  for i in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  log "mariadb $1 stopped"
}

# ---- sshd (a bastion for the tunnel tests) --------------------------------------
ensure_sshd() {
  [ -x /usr/sbin/sshd ] && return 0
  # The package's own service (port 22, every interface) must not start: a policy-rc.d
  # that says no, only for the install, where the machine has none of its own.
  local policy=/usr/sbin/policy-rc.d made=
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; made=1; fi
  apt_install openssh-server || { [ -n "$made" ] && rm -f "$policy"; return 1; }
  [ -n "$made" ] && rm -f "$policy"
  return 0
}
sshd_dir() { echo "$ROOT/sshd"; }
sshd_up() { local pid; pid=$(cat "$(sshd_dir)/sshd.pid" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

sshd_start() {
  ensure_sshd
  local dir; dir=$(sshd_dir)
  if sshd_up; then log "sshd already up on 127.0.0.1:$SSH_PORT"; return 0; fi
  mkdir -p "$dir"; chmod 700 "$dir"
  # sshd refuses to start without its privilege separation directory.
  mkdir -p /run/sshd; chmod 755 /run/sshd
  [ -s "$dir/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C ferry-test-host -f "$dir/host_ed25519"
  [ -s "$dir/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C ferry-test-client -f "$dir/client_ed25519"
  cp "$dir/client_ed25519.pub" "$dir/authorized_keys"
  printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$dir/host_ed25519.pub")" >"$dir/known_hosts"
  cat >"$dir/sshd_config" <<CONF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
PermitOpen any
X11Forwarding no
MaxStartups 100:30:200
MaxSessions 200
LogLevel ERROR
CONF
  /usr/sbin/sshd -t -f "$dir/sshd_config" || { log "sshd config refused"; return 1; }
  /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
  local i
  for i in $(seq 1 100); do sshd_up && break; sleep 0.1; done
  sshd_up || { log "sshd failed to start"; tail -20 "$dir/sshd.log" >&2; return 1; }
  log "sshd up on 127.0.0.1:$SSH_PORT"
}

sshd_stop() {
  local pid
  pid=$(cat "$(sshd_dir)/sshd.pid" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid"; rm -f "$(sshd_dir)/sshd.pid"
  log "sshd stopped"
}

# ---- moto ---------------------------------------------------------------------
moto_up() { python3 - "$MOTO_PORT" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(); s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

moto_start() {
  ensure_moto
  if moto_up; then log "moto already up on 127.0.0.1:$MOTO_PORT"; return 0; fi
  mkdir -p "$ROOT/moto"
  setsid nohup python3 -m moto.server -H 127.0.0.1 -p "$MOTO_PORT" >"$ROOT/moto/moto.log" 2>&1 </dev/null &
  echo $! > "$ROOT/moto/moto.pid"
  local i
  for i in $(seq 1 300); do moto_up && break; sleep 0.1; done
  moto_up || { log "moto failed to start"; tail -20 "$ROOT/moto/moto.log" >&2; return 1; }
  log "moto up on 127.0.0.1:$MOTO_PORT"
}

moto_stop() {
  local pid
  pid=$(cat "$ROOT/moto/moto.pid" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid"; rm -f "$ROOT/moto/moto.pid"
  log "moto stopped"
}

print_env() {
  cat <<ENV
export FERRY_TEST_PG=postgres://postgres:$PASSWORD@127.0.0.1:$PG_PORT/postgres
export FERRY_TEST_MYSQL=mysql://root:$PASSWORD@127.0.0.1:$MY_PORT/mysql
export FERRY_TEST_MYSQL_NOINFILE=mysql://root:$PASSWORD@127.0.0.1:$MY2_PORT/mysql
export FERRY_TEST_MYSQL_BINLOG=mysql://root:$PASSWORD@127.0.0.1:$MYBIN_PORT/mysql
export FERRY_TEST_AWS_ENDPOINT=http://127.0.0.1:$MOTO_PORT
export FERRY_TEST_SSH_PORT=$SSH_PORT
export FERRY_TEST_SSH_USER=root
export FERRY_TEST_SSH_KEY=$ROOT/sshd/client_ed25519
export FERRY_TEST_SSH_KNOWN_HOSTS=$ROOT/sshd/known_hosts
export FERRY_TEST_SSH_CONFIG=$ROOT/sshd/sshd_config
ENV
}

start_one() {
  case $1 in
    pg) pg_start ;;
    mysql) my_start mysql "$MY_PORT" 1 ;;
    mysql-noinfile) my_start mysql2 "$MY2_PORT" 0 ;;
    mysql-binlog) my_start mysqlbin "$MYBIN_PORT" 1 binlog ;;
    mysql-replica) my_start myreplica "$MYREPL_PORT" 0 replica ;;
    moto) moto_start ;;
    sshd) sshd_start ;;
    *) log "unknown server $1"; return 2 ;;
  esac
}

cmd=${1:-status}; shift || true
case $cmd in
  start)
    [ $# -gt 0 ] || set -- pg mysql mysql-noinfile mysql-binlog moto sshd
    for s in "$@"; do start_one "$s"; done ;;
  stop) pg_stop; my_stop mysql; my_stop mysql2; my_stop mysqlbin; my_stop myreplica; moto_stop; sshd_stop ;;
  status)
    pg_up && echo "postgres up 127.0.0.1:$PG_PORT" || echo "postgres down"
    my_up mysql && echo "mariadb up 127.0.0.1:$MY_PORT" || echo "mariadb down"
    my_up mysql2 && echo "mariadb (no infile) up 127.0.0.1:$MY2_PORT" || echo "mariadb (no infile) down"
    my_up mysqlbin && echo "mariadb (binlog) up 127.0.0.1:$MYBIN_PORT" || echo "mariadb (binlog) down"
    my_up myreplica && echo "mariadb (replica) up 127.0.0.1:$MYREPL_PORT" || echo "mariadb (replica) down"
    moto_up && echo "moto up 127.0.0.1:$MOTO_PORT" || echo "moto down"
    sshd_up && echo "sshd up 127.0.0.1:$SSH_PORT" || echo "sshd down" ;;
  env) print_env ;;
  wipe) pg_stop; my_stop mysql; my_stop mysql2; my_stop mysqlbin; my_stop myreplica; moto_stop; sshd_stop; rm -rf "$ROOT" ;;
  *) echo "usage: $0 start [pg|mysql|mysql-noinfile|mysql-binlog|mysql-replica|moto|sshd]... | stop | status | env | wipe" >&2; exit 2 ;;
esac
