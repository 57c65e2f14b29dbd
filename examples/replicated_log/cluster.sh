#!/usr/bin/env bash
# examples/replicated_log/cluster.sh — three segstore-raft servers on 127.0.0.1.
#   cluster.sh start    starts servers 1..3 (raft on ports 9001-9003, clients on 7001-7003)
#   cluster.sh stop     stops them (SIGTERM: a clean close)
#   cluster.sh status   asks each one for STATUS
#   cluster.sh send ID LINE   sends one command line to server ID, prints its reply
# Data and logs go to $CLUSTER_DIR (default ./cluster-data); the binary is $SEGSTORE_RAFT
# (default: build/examples/replicated_log/segstore-raft from the repository root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${SEGSTORE_RAFT:-$root/build/examples/replicated_log/segstore-raft}
data=${CLUSTER_DIR:-$PWD/cluster-data}
peers=1=127.0.0.1:9001,2=127.0.0.1:9002,3=127.0.0.1:9003

ask() {  # ask PORT LINE: one request, one reply line
  python3 - "$1" "$2" <<'PY'
import socket, sys
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) as s:
        s.sendall((sys.argv[2] + "\n").encode())
        print(s.makefile().readline().strip())
except OSError as e:
    print("down (%s)" % e.strerror)
PY
}

case "${1:-}" in
  start)
    [ -x "$bin" ] || { echo "cluster.sh: $bin not found (build first: ./dev build)" >&2; exit 1; }
    mkdir -p "$data"
    for id in 1 2 3; do
      if [ -f "$data/$id.pid" ] && kill -0 "$(cat "$data/$id.pid")" 2>/dev/null; then
        echo "server $id already runs (pid $(cat "$data/$id.pid"))"; continue
      fi
      "$bin" --id "$id" --dir "$data/$id" --listen "127.0.0.1:700$id" --peers "$peers" \
        >>"$data/$id.log" 2>&1 &
      echo $! >"$data/$id.pid"
      echo "server $id: pid $!, clients on 127.0.0.1:700$id, data in $data/$id"
    done
    ;;
  stop)
    for id in 1 2 3; do
      [ -f "$data/$id.pid" ] || continue
      pid=$(cat "$data/$id.pid")
      if kill "$pid" 2>/dev/null; then
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        echo "server $id stopped"
      fi
      rm -f "$data/$id.pid"
    done
    ;;
  status)
    for id in 1 2 3; do echo "server $id: $(ask "700$id" STATUS)"; done
    ;;
  send)
    [ $# -ge 3 ] || { echo "usage: $0 send ID LINE" >&2; exit 2; }
    id=$2; shift 2
    ask "700$id" "$*"
    ;;
  *)
    echo "usage: $0 start|stop|status|send ID LINE" >&2
    exit 2
    ;;
esac
