/**
 * The reads the plugin makes for a scope, as access-review questions (what manifests/rbac grants), and
 * the verdict on the answers. Pure; the reviews themselves are src/cluster/access.ts.
 */
import type { AccessAnswer, AccessQuestion } from '../cluster/access';
import { R, type GroupResource } from '../kube/resources';
import type { MissingPermission } from './report';

const READS = ['get', 'list'] as const;

function ask(resources: readonly GroupResource[], namespace: string): AccessQuestion[] {
    return resources.flatMap((r) => READS.map((verb) => ({ verb, group: r.group, resource: r.resource, namespace })));
}

/** Backup actions: pods, PVCs, VMs, VMIs, DataVolumes of every namespace in scope. */
export function backupQuestions(namespaces: readonly string[]): AccessQuestion[] {
    return namespaces.flatMap((ns) => ask([R.pods, R.pvcs, R.vms, R.vmis, R.dataVolumes], ns));
}

/**
 * Restore actions: VMs and VMIs of the whole cluster (identity-policy=auto), PVCs of each target
 * namespace (TPM/EFI state), ConfigMaps of Velero's namespace (change-storage-class).
 */
export function restoreQuestions(targetNamespaces: readonly string[], veleroNamespace: string): AccessQuestion[] {
    return [...ask([R.vms, R.vmis], ''), ...targetNamespaces.flatMap((ns) => ask([R.pvcs], ns)), ...ask([R.configMaps], veleroNamespace)];
}

export function missingPermissions(answers: readonly AccessAnswer[]): MissingPermission[] {
    return answers
        .filter((a) => !a.allowed)
        .map((a) => ({
            verb: a.verb,
            resource: a.group ? `${a.resource}.${a.group}` : a.resource,
            namespace: a.namespace,
            reason: a.reason || 'not allowed',
        }));
}
