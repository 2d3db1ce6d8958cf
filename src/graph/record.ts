/**
 * A restore graph recorded inside the backup. Some edges can only be seen in the cluster at backup
 * time (the vTPM/EFI state PVC whose name KubeVirt generates, the DataVolume owning a PVC volume);
 * after the namespace is gone, a restore cannot find them again. The backup actions therefore store
 * the restore graph on the backed-up VM or VMI as compact text, and the restore actions read it back.
 * Entries are `<resource>[.<group>]/<name>` in the object's own namespace.
 */
import { ANN } from '../kube/annotations';
import { groupResourceString, parseGroupResource, type ObjectRef } from '../kube/resources';

export function encodeRefs(refs: readonly ObjectRef[]): string {
    return JSON.stringify(refs.map((r) => `${groupResourceString(r)}/${r.name}`));
}

/**
 * The recorded refs, or undefined when the text is absent or not a recording of ours. The recording is a
 * hint, not a fact: it travels inside the item, which anyone who can edit the VM (or the backup) controls.
 * The refs carry their entry as `field`; the adapter drops every one that the rules of
 * src/kube/refcheck.ts do not allow (docs/decisions/007-trust-model.md).
 */
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
    for (const [index, entry] of entries.entries()) {
        if (typeof entry !== 'string') return undefined;
        const slash = entry.indexOf('/');
        const groupResource = entry.slice(0, slash);
        const name = entry.slice(slash + 1);
        if (slash <= 0 || name === '') return undefined;
        refs.push({ ...parseGroupResource(groupResource), namespace, name, field: `metadata.annotations[${ANN.restoreGraph}][${index}]` });
    }
    return refs;
}
