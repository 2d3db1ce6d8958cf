import { ownerReferencesOf } from '../../../src/kube/object';

describe('reading untrusted items', () => {
    it('owner references keep only fields of the declared types', () => {
        const item = {
            kind: 'PersistentVolumeClaim',
            metadata: { ownerReferences: [{ apiVersion: 7, kind: 'DataVolume', name: 'dv', uid: ['x'], controller: 'yes' }, 'junk', { kind: 'VirtualMachine', controller: true }] },
        };
        expect(ownerReferencesOf(item as never)).toEqual([
            { kind: 'DataVolume', name: 'dv' },
            { kind: 'VirtualMachine', controller: true },
        ]);
    });
});
