/**
 * A restore graph recorded inside the backup. Some edges can only be seen in the cluster at backup
 * time (the vTPM/EFI state PVC whose name KubeVirt generates, the DataVolume owning a PVC volume);
 * after the namespace is gone, a restore cannot find them again. The backup actions therefore store
 * the restore graph on the backed-up VM or VMI as compact text, and the restore actions read it back.
 * Entries are `<resource>[.<group>]/<name>` in the object's own namespace.
 */
import { groupResourceString, type ObjectRef } from '../kube/resources';

export function encodeRefs(refs: readonly ObjectRef[]): string {
    return JSON.stringify(refs.map((r) => `${groupResourceString(r)}/${r.name}`));
}

/** The recorded refs, or undefined when the text is absent or not a recording of ours. */
export function decodeRefs(text: string | undefined, namespace: string): ObjectRef[] | undefined {
    if (text === undefined) return undefined;
    let entries: unknown;
    try {
        entries = JSON.parse(text);
    } catch {
        return undefined;
    }
    if (!Array.isArray(entries)) return undefined;
    const refs: ObjectRef[] = [];
    for (const entry of entries) {
        if (typeof entry !== 'string') return undefined;
        const slash = entry.indexOf('/');
        const groupResource = entry.slice(0, slash);
        const name = entry.slice(slash + 1);
        if (slash <= 0 || name === '') return undefined;
        const dot = groupResource.indexOf('.');
        const resource = dot < 0 ? groupResource : groupResource.slice(0, dot);
        const group = dot < 0 ? '' : groupResource.slice(dot + 1);
        refs.push({ group, resource, namespace, name });
    }
    return refs;
}
