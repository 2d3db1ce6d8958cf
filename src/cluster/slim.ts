/**
 * What the cluster reader keeps of an object it read (decision 020). Objects read from the cluster only
 * inform decisions; no action returns one to Velero (every item an action returns is a copy of the item
 * Velero sent), so fields no reader consults are dropped when a LIST page or a GET is parsed, before the
 * object is cached for the rest of the process:
 *
 *  - every object: `metadata.managedFields` (server-side apply bookkeeping, often the largest part of an
 *    object) and the annotation `kubectl.kubernetes.io/last-applied-configuration` (a JSON copy of the
 *    whole object as last applied by kubectl). No reader looks at either.
 *  - pods: everything but `metadata` and `status.phase`. Pods are read only to find a VMI's launcher
 *    pods and judge them: labels (kubevirt.io/created-by, velero.io/exclude-from-backup, the backup's
 *    label selectors), annotations (kubevirt.io/domain, the Velero hook annotations), name, namespace,
 *    ownerReferences and status.phase (finished pods are not launcher pods): src/graph/launcher.ts,
 *    src/graph/itemblock.ts, src/backup-item-actions/consistency.ts and vmi.ts, src/preflight/backup.ts.
 *    A launcher pod's spec and status (containers, volumes, conditions, container statuses) are most of
 *    its size.
 *
 * Every other field is kept as the server sent it (VMIs are read with their whole spec: a VMIRS's VMIs
 * go through the VMI spec graph; VMs, PVCs and DataVolumes are read for labels, owners, annotations,
 * status.phase and spec fields).
 */
import { emptyObject } from '../kube/json';
import { isRecord, type KubeObject, type ObjectMeta } from '../kube/object';
import type { GroupResource } from '../kube/resources';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function slimMetadata(metadata: Record<string, unknown>): ObjectMeta {
    const out = emptyObject();
    for (const key of Object.keys(metadata)) {
        if (key === 'managedFields') continue;
        const value = metadata[key];
        if (key === 'annotations' && isRecord(value) && LAST_APPLIED in value) {
            const rest = emptyObject();
            for (const name of Object.keys(value)) if (name !== LAST_APPLIED) rest[name] = value[name];
            out[key] = rest;
        } else {
            out[key] = value;
        }
    }
    return out;
}

function isPods(resource: GroupResource): boolean {
    return resource.group === '' && resource.resource === 'pods';
}

/**
 * The cached form of an object read from the cluster: the fields above dropped, and (for LIST items,
 * which carry none) the list's apiVersion and item kind put first, so that it looks like a GET answer.
 * Builds a new object; `item` is a freshly parsed value nothing else holds.
 */
export function slimObject(resource: GroupResource, item: Record<string, unknown>, apiVersion?: string, kind?: string): KubeObject {
    const out = emptyObject() as KubeObject;
    if (apiVersion !== undefined) out.apiVersion = apiVersion;
    if (kind !== undefined) out.kind = kind;
    const pod = isPods(resource);
    for (const key of Object.keys(item)) {
        const value = item[key];
        if (key === 'metadata') {
            out.metadata = isRecord(value) ? slimMetadata(value) : (value as ObjectMeta);
        } else if (!pod || key === 'apiVersion' || key === 'kind') {
            out[key] = value;
        } else if (key === 'status' && isRecord(value) && value['phase'] !== undefined) {
            const status = emptyObject();
            status['phase'] = value['phase'];
            out.status = status;
        }
    }
    return out;
}
