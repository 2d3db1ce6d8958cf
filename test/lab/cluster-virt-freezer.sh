#!/usr/bin/env bash
# The lab's /usr/bin/virt-freezer: a recorder that stands where KubeVirt's virt-freezer sits in the
# launcher pod's compute container. kwok runs it (its ClusterExec, local target) when Velero's hook
# executor execs the hook through the apiserver and the kubelet API; kwok runs in a private mount
# namespace where this file is overlaid onto /usr/bin, so the command is exactly KubeVirt's.
#
#   virt-freezer --freeze|--unfreeze --name <vmi> --namespace <ns>
#
# Every call appends two JSON lines to $KVP_FREEZER_LOG: {"event":"start",...} when it starts and
# {"event":"end","result":...} when it returns (result ok | fail | no-agent | killed).
#
# What it does is switched by files under $KVP_FREEZER_CTL (first match wins):
#   <ns>/<name>.<action>   <ns>/<action>   <action>        (action: freeze | unfreeze)
# whose first word is:
#   ok          (default) succeed
#   fail        print an error like virt-freezer's and exit 1
#   hang [s]    sleep s seconds (default 300), then succeed: longer than any hook timeout
#   no-agent    succeed without freezing, as virt-freezer does when the guest agent is not connected
# Without a switch file it asks the apiserver (kubectl, $KVP_KUBECTL with $KVP_KUBECONFIG, when set)
# for the VMI's AgentConnected condition: not True means no-agent, like KubeVirt's freeze.
set -u
action='' name='' namespace=''
while [ $# -gt 0 ]; do
    case "$1" in
    --freeze) action=freeze ;;
    --unfreeze) action=unfreeze ;;
    --name) name=${2:-}; shift ;;
    --namespace) namespace=${2:-}; shift ;;
    esac
    shift
done
log=${KVP_FREEZER_LOG:-/dev/null}
ctl=${KVP_FREEZER_CTL:-/nonexistent}
now() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }
mode='' arg=''
for f in "$ctl/$namespace/$name.$action" "$ctl/$namespace/$action" "$ctl/$action"; do
    if [ -f "$f" ]; then
        read -r mode arg <"$f" || true
        break
    fi
done
if [ -z "$mode" ] && [ -n "${KVP_KUBECTL:-}" ] && [ -n "$name" ] && [ -n "$namespace" ]; then
    agent=$("$KVP_KUBECTL" --kubeconfig="${KVP_KUBECONFIG:-}" get virtualmachineinstances.kubevirt.io "$name" -n "$namespace" \
        -o 'jsonpath={.status.conditions[?(@.type=="AgentConnected")].status}' 2>/dev/null || true)
    [ "$agent" = True ] && mode=ok || mode=no-agent
fi
[ -n "$mode" ] || mode=ok
record() { # event result
    printf '{"time":"%s","event":"%s","action":"%s","namespace":"%s","name":"%s","mode":"%s","result":"%s","pid":%d}\n' \
        "$(now)" "$1" "$action" "$namespace" "$name" "$mode" "$2" "$$" >>"$log"
}
if [ -z "$action" ] || [ -z "$name" ] || [ -z "$namespace" ]; then
    record start ''
    record end fail
    echo "usage: virt-freezer --freeze|--unfreeze --name <vmi> --namespace <ns>" >&2
    exit 2
fi
record start ''
case "$mode" in
fail)
    record end fail
    echo "Failed to ${action} VMI ${namespace}/${name}: kvp-lab recorder told to fail" >&2
    exit 1
    ;;
hang)
    trap 'record end killed; exit 143' TERM INT HUP
    sleep "${arg:-300}" &
    wait $!
    record end ok
    ;;
no-agent)
    record end no-agent
    echo "guest agent is not connected: ${action} of ${namespace}/${name} did nothing"
    ;;
*)
    record end ok
    echo "${action} of ${namespace}/${name} done"
    ;;
esac
exit 0
