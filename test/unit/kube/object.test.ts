import { parseLossless, stringifyLossless } from '../../../src/kube/json';
import { ownerReferencesOf, setAnnotation, setLabel, type KubeObject } from '../../../src/kube/object';

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

describe('setting labels and annotations', () => {
    const text = '{"kind":"PersistentVolumeClaim","metadata":{"name":"p","labels":{"b":"1","10":"x","a":"2"},"annotations":{"k":"v","7":"y"}}}';

    it.each([
        ['a label set again to its value', (o: KubeObject) => setLabel(o, 'b', '1')],
        ['an annotation set again to its value', (o: KubeObject) => setAnnotation(o, 'k', 'v')],
        ['removing a label that is not there', (o: KubeObject) => setLabel(o, 'missing', undefined)],
    ])('%s leaves the item serialising as it was read (integer-like keys in written order)', (_name, change) => {
        const item = parseLossless(Buffer.from(text)) as KubeObject;
        change(item);
        expect(stringifyLossless(item)).toBe(text);
    });

    it.each([
        ['a new value', (o: KubeObject) => setLabel(o, 'b', '3'), '3'],
        ['a new key', (o: KubeObject) => setLabel(o, 'c', '4'), '4'],
    ])('%s changes the item', (_name, change, expected) => {
        const item = parseLossless(Buffer.from(text)) as KubeObject;
        change(item);
        expect(stringifyLossless(item)).not.toBe(text);
        expect(Object.values(item.metadata?.labels ?? {})).toContain(expected);
    });
});
