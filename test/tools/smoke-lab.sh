#!/usr/bin/env bash
# Smoke test of the local lab, in bash (the real launcher is TypeScript):
#   etcd + kube-apiserver on loopback (free ports) -> admin kubeconfig -> all CRDs
#   -> namespace velero + BackupStorageLocation "default" (provider kvp-test.io/filesystem)
#   -> velero server -> BSL Available -> `velero backup create b1 --wait`
#   -> backup Completed and b1.tar.gz under the object-store root
#   -> `velero restore create r1 --namespace-mappings default:restored --wait` -> teardown.
#
# Needs: Go + module proxy (scripts/build-go-tools.sh), openssl, setsid (util-linux).
# Environment:
#   KVP_LAB_AUTH=cert|token  admin identity: client certificate signed by a CA given to
#                            --client-ca-file (default), or a --token-auth-file token;
#                            both put the user in group system:masters.
#   KVP_LAB_KEEP=1           keep the work directory (logs, data) after exit.
#   KVP_TOOLS_CACHE          use this tools cache directory instead of running the build.
set -euo pipefail

main() {
  local repo
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  AUTH=${KVP_LAB_AUTH:-cert}
  case $AUTH in cert | token) ;; *) die "KVP_LAB_AUTH must be cert or token" ;; esac
  for c in openssl setsid; do command -v $c >/dev/null || die "$c not found"; done

  local cache
  if [ -n "${KVP_TOOLS_CACHE:-}" ]; then
    cache=$KVP_TOOLS_CACHE
  else
    cache=$("$repo/scripts/build-go-tools.sh" | tail -n1)
  fi
  [ -f "$cache/.complete" ] || die "tools cache $cache is incomplete"
  BIN=$cache/bin
  CRDS=$cache/crds

  WORK=$(mktemp -d "${TMPDIR:-/tmp}/kvp-lab.XXXXXX")
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  log "work dir $WORK (auth: $AUTH)"
  mkdir -p "$WORK"/{etcd,certs,pki,objstore,plugins}

  # ---- ports ------------------------------------------------------------------
  ETCD_PORT=$(free_port)
  PEER_PORT=$(free_port)
  API_PORT=$(free_port)
  METRICS_PORT=$(free_port)
  log "ports: etcd $ETCD_PORT, etcd-peer $PEER_PORT, apiserver $API_PORT, velero-metrics $METRICS_PORT"

  # ---- etcd -------------------------------------------------------------------
  start etcd "$BIN/etcd" \
    --name=kvp-lab \
    --data-dir="$WORK/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$PEER_PORT" \
    --initial-cluster="kvp-lab=http://127.0.0.1:$PEER_PORT" \
    --unsafe-no-fsync=true \
    --log-level=warn
  wait_until 30 "etcd healthy" http_ok "http://127.0.0.1:$ETCD_PORT/health"

  # ---- keys and admin identity -----------------------------------------------
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/pki/sa.key" 2>/dev/null
  local auth_flags=()
  if [ "$AUTH" = cert ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj "/CN=kvp-lab-client-ca" -keyout "$WORK/pki/ca.key" -out "$WORK/pki/ca.crt" 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/O=system:masters/CN=kvp-lab-admin" -keyout "$WORK/pki/admin.key" -out "$WORK/pki/admin.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$WORK/pki/admin.ext"
    openssl x509 -req -in "$WORK/pki/admin.csr" -CA "$WORK/pki/ca.crt" -CAkey "$WORK/pki/ca.key" \
      -CAcreateserial -days 2 -extfile "$WORK/pki/admin.ext" -out "$WORK/pki/admin.crt" 2>/dev/null
    auth_flags=(--client-ca-file="$WORK/pki/ca.crt")
  else
    TOKEN=$(openssl rand -hex 24)
    printf '%s,kvp-lab-admin,kvp-lab-admin,"system:masters"\n' "$TOKEN" >"$WORK/pki/tokens.csv"
    auth_flags=(--token-auth-file="$WORK/pki/tokens.csv")
  fi

  # ---- kube-apiserver (envtest's defaults) ----------------------------------
  start kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --secure-port="$API_PORT" \
    --cert-dir="$WORK/certs" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --allow-privileged=true \
    --disable-admission-plugins=ServiceAccount \
    --authorization-mode=RBAC \
    --service-account-issuer="https://127.0.0.1:$API_PORT/" \
    --service-account-key-file="$WORK/pki/sa.key" \
    --service-account-signing-key-file="$WORK/pki/sa.key" \
    --endpoint-reconciler-type=none \
    "${auth_flags[@]}"

  # ---- kubeconfig -------------------------------------------------------------
  KUBECONFIG=$WORK/kubeconfig
  export KUBECONFIG
  wait_until 30 "serving certificate" test -s "$WORK/certs/apiserver.crt"
  {
    cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kvp-lab
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $WORK/certs/apiserver.crt
contexts:
- name: kvp-lab
  context: {cluster: kvp-lab, user: kvp-lab-admin, namespace: default}
current-context: kvp-lab
users:
- name: kvp-lab-admin
  user:
EOF
    if [ "$AUTH" = cert ]; then
      printf '    client-certificate: %s\n    client-key: %s\n' "$WORK/pki/admin.crt" "$WORK/pki/admin.key"
    else
      printf '    token: %s\n' "$TOKEN"
    fi
  } >"$KUBECONFIG"
  wait_until 60 "apiserver /readyz" kc get --raw=/readyz
  log "apiserver ready: $(kc version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | paste -sd' ') (client server)"
  log "whoami: $(kc auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.groups}')"

  # ---- CRDs ---------------------------------------------------------------------
  # Server-side apply: the KubeVirt CRDs are larger than the 256 KiB limit of the
  # last-applied-configuration annotation that client-side apply would add.
  kc apply --server-side --field-manager=kvp-lab -f "$CRDS" >/dev/null
  kc wait --for=condition=Established --timeout=60s crd --all >/dev/null
  log "CRDs established: $(kc get crd -o name | wc -l)"

  # ---- velero namespace + BSL ---------------------------------------------------
  kc create namespace velero >/dev/null
  kc apply -f - >/dev/null <<EOF
apiVersion: velero.io/v1
kind: BackupStorageLocation
metadata:
  name: default
  namespace: velero
spec:
  provider: kvp-test.io/filesystem
  default: true
  objectStorage:
    bucket: velero
  config:
    root: $WORK/objstore
EOF
  # Velero's built-in RestoreItemAction velero.io/pod-volume-restore reads the
  # Deployment velero/velero when it is instantiated (for the restore-helper image);
  # without it every restore ends PartiallyFailed ("deployments.apps \"velero\" not
  # found"). Create the object as `velero install` would; no kubelet, so no pods.
  kc apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: velero
  namespace: velero
  labels: {component: velero}
spec:
  replicas: 0
  selector:
    matchLabels: {deploy: velero}
  template:
    metadata:
      labels: {component: velero, deploy: velero}
    spec:
      containers:
      - name: velero
        image: velero/velero:$(sed -n 's/^VELERO_VERSION=//p' "$cache/versions.env")
        command: [/velero]
        args: [server]
EOF
  kc -n default create configmap smoke-lab-data --from-literal=hello=world >/dev/null

  # ---- velero server ------------------------------------------------------------
  # Plugin dir: only executable plugin files (Velero recurses and runs every one).
  ln -s "$BIN/kvp-fsobjectstore" "$WORK/plugins/kvp-fsobjectstore"
  start velero "$BIN/velero" server \
    --kubeconfig="$KUBECONFIG" \
    --namespace=velero \
    --plugin-dir="$WORK/plugins" \
    --metrics-address="127.0.0.1:$METRICS_PORT" \
    --profiler-address="" \
    --log-level=info \
    --store-validation-frequency=10s
  wait_until 90 "BSL default Available" bsl_available
  log "BSL default: $(kc -n velero get bsl default -o jsonpath='{.status.phase}')"

  # ---- backup -------------------------------------------------------------------
  "$BIN/velero" --kubeconfig="$KUBECONFIG" --namespace=velero \
    backup create b1 --include-namespaces=default --wait >&2
  local phase
  phase=$(kc -n velero get backup b1 -o jsonpath='{.status.phase}')
  log "backup b1 phase: $phase"
  "$BIN/velero" --kubeconfig="$KUBECONFIG" --namespace=velero backup get >&2
  [ "$phase" = Completed ] || die "backup b1 is $phase"
  local tarball=$WORK/objstore/velero/backups/b1/b1.tar.gz
  [ -s "$tarball" ] || die "no $tarball"
  log "object store contents:"
  (cd "$WORK/objstore" && find . -type f | sort | sed 's/^/    /' >&2)
  tar -tzf "$tarball" | grep -q 'resources/configmaps/namespaces/default/smoke-lab-data.json' ||
    die "configmap smoke-lab-data missing from $tarball"
  log "tarball has $(tar -tzf "$tarball" | wc -l) entries, including configmap default/smoke-lab-data"

  # ---- restore into another namespace -----------------------------------------
  "$BIN/velero" --kubeconfig="$KUBECONFIG" --namespace=velero \
    restore create r1 --from-backup=b1 --namespace-mappings=default:restored --wait >&2
  phase=$(kc -n velero get restore r1 -o jsonpath='{.status.phase}')
  log "restore r1 phase: $phase"
  [ "$phase" = Completed ] || die "restore r1 is $phase"
  [ "$(kc -n restored get configmap smoke-lab-data -o jsonpath='{.data.hello}')" = world ] ||
    die "configmap restored/smoke-lab-data missing"
  log "configmap restored/smoke-lab-data present"
  log "SMOKE LAB OK"
}

log() { printf 'smoke-lab: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

kc() { "$BIN/kubectl" --kubeconfig="$KUBECONFIG" "$@"; }

# free_port picks a random loopback port nobody is listening on and that this
# script has not handed out yet.
USED_PORTS=" "
free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    case $USED_PORTS in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      USED_PORTS+="$p "
      echo "$p"
      return 0
    fi
  done
  die "no free port found"
}

# Minimal HTTP GET over /dev/tcp (no curl on a bare machine): true on status 200.
http_ok() {
  local url=$1 hostport path
  hostport=${url#http://}
  path=/${hostport#*/}
  hostport=${hostport%%/*}
  exec 4<>"/dev/tcp/${hostport%:*}/${hostport#*:}" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&4
  local status
  IFS= read -r status <&4 || true
  exec 4<&- 4>&-
  [[ $status == *" 200 "* ]]
}

bsl_available() { [ "$(kc -n velero get bsl default -o jsonpath='{.status.phase}' 2>/dev/null)" = Available ]; }

wait_until() { # seconds description cmd...
  local timeout=$1 what=$2 start=$SECONDS
  shift 2
  until "$@" >/dev/null 2>&1; do
    check_alive
    if ((SECONDS - start >= timeout)); then
      die "timed out after ${timeout}s waiting for $what"
    fi
    sleep 0.5
  done
  log "$what after $((SECONDS - start))s"
}

# start NAME CMD...: runs CMD in its own session/process group (so that the
# plugin processes velero spawns are stopped with it), logging to $WORK/NAME.log.
NAMES=()
PIDS=()
start() {
  local name=$1
  shift
  setsid "$@" >"$WORK/$name.log" 2>&1 </dev/null &
  NAMES+=("$name")
  PIDS+=("$!")
  log "started $name (pid $!)"
}

check_alive() {
  local i
  for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      log "${NAMES[$i]} exited; last log lines:"
      tail -n 30 "$WORK/${NAMES[$i]}.log" | sed 's/^/    /' >&2
      die "${NAMES[$i]} is not running"
    fi
  done
}

stop_group() { # pid name: TERM the process group, KILL after 15s
  local pid=$1 name=$2 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 30); do
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 -- "-$pid" 2>/dev/null; then
    log "$name did not stop in 15s; killing"
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    stop_group "${PIDS[$i]}" "${NAMES[$i]}"
  done
  if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
    if [ "$rc" != 0 ] || [ "${KVP_LAB_KEEP:-0}" = 1 ]; then
      log "logs kept in $WORK"
    else
      rm -rf "$WORK"
    fi
  fi
  exit "$rc"
}

main "$@"
exit
