import { decodeRefs, encodeRefs } from '../../../src/graph/index';
import type { ObjectRef } from '../../../src/kube/resources';

const refs: ObjectRef[] = [
    { group: '', resource: 'persistentvolumeclaims', namespace: 'ns', name: 'persistent-state-for-vm-x9k2m' },
    { group: 'cdi.kubevirt.io', resource: 'datavolumes', namespace: 'ns', name: 'root' },
    { group: 'k8s.cni.cncf.io', resource: 'network-attachment-definitions', namespace: 'ns', name: 'br.1' },
    { group: 'apps', resource: 'controllerrevisions', namespace: 'ns', name: 'vm-it-1' },
];

describe('a restore graph recorded inside the backup', () => {
    it('is compact text naming group-resource and name', () => {
        expect(encodeRefs(refs)).toBe(
            '["persistentvolumeclaims/persistent-state-for-vm-x9k2m","datavolumes.cdi.kubevirt.io/root","network-attachment-definitions.k8s.cni.cncf.io/br.1","controllerrevisions.apps/vm-it-1"]',
        );
    });

    it('reads back in the namespace the restore action sees, in order', () => {
        // Each ref names its entry, for the warning that drops it if the rules forbid it (src/kube/refcheck.ts).
        const fields = refs.map((r, i) => ({ ...r, field: `metadata.annotations[velero.kubevirt.io/restore-graph][${i}]` }));
        expect(decodeRefs(encodeRefs(refs), 'ns')).toEqual(fields);
        expect(decodeRefs(encodeRefs(refs), 'other')?.every((r) => r.namespace === 'other')).toBe(true);
    });

    it('an empty recording is an empty graph, not a missing one', () => {
        expect(decodeRefs('[]', 'ns')).toEqual([]);
    });

    it.each([[undefined], ['not json'], ['{}'], ['[1]'], ['["/x"]'], ['["pvc/"]'], ['["noslash"]']])('%p is not a recording', (text) => {
        expect(decodeRefs(text, 'ns')).toBeUndefined();
    });
});
