import { parseLossless, stringifyLossless } from '../../../src/kube/json';
import { annotationOf, labelOf, ownerReferencesOf, setAnnotation, setLabel, type KubeObject } from '../../../src/kube/object';

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

describe('one label or annotation of an untrusted item is a string or nothing', () => {
    const item = (values: Record<string, unknown>): KubeObject => ({ kind: 'Pod', metadata: { labels: values, annotations: values } }) as KubeObject;
    it.each<[string, unknown, string | undefined]>([
        ['a string', 'virt-launcher', 'virt-launcher'],
        ['an empty string', '', ''],
        ['a number', 7, undefined],
        ['a boolean', true, undefined],
        ['null', null, undefined],
        ['an object', { name: 'x' }, undefined],
        ['an array', ['x'], undefined],
    ])('%s', (_name, value, expected) => {
        expect(labelOf(item({ k: value }), 'k')).toBe(expected);
        expect(annotationOf(item({ k: value }), 'k')).toBe(expected);
    });
    it('absent maps and inherited names are no label', () => {
        expect(labelOf({ kind: 'Pod', metadata: {} }, 'k')).toBeUndefined();
        expect(labelOf({ kind: 'Pod', metadata: { labels: 'x' } } as unknown as KubeObject, 'k')).toBeUndefined();
        expect(annotationOf(parseLossless(Buffer.from('{"kind":"Pod","metadata":{"annotations":{}}}')) as KubeObject, 'constructor')).toBeUndefined();
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
