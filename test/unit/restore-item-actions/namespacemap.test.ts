import { parseNamespaceMapping as namespaceMappingOf } from '../../../src/plugin/options';
import { rewriteDataVolumeSpec, rewriteNetworks, targetNamespace } from '../../../src/restore-item-actions/namespacemap';
import { restoreWith } from './helpers';

describe('namespace mapping helpers', () => {
    it('reads restore.spec.namespaceMapping without identity or empty entries', () => {
        const mapping = namespaceMappingOf(restoreWith({ namespaceMapping: { a: 'b', same: 'same', empty: '' } }));
        expect([...mapping]).toEqual([['a', 'b']]);
        expect(targetNamespace(mapping, 'a')).toBe('b');
        expect(targetNamespace(mapping, 'c')).toBe('c');
        expect([...namespaceMappingOf(restoreWith())]).toEqual([]);
    });

    it.each([
        ['a/nad', 'b/nad'],
        ['golden/nad', 'golden/nad'],
        ['nad', 'nad'],
        ['/nad', '/nad'],
    ])('multus networkName %s becomes %s under a→b', (from, to) => {
        const spec = { networks: [{ name: 'n', multus: { networkName: from } }] };
        rewriteNetworks(spec, new Map([['a', 'b']]), 'spec');
        expect(spec.networks[0]?.multus.networkName).toBe(to);
    });

    it('tolerates malformed specs', () => {
        expect(rewriteNetworks({ networks: 'x' }, new Map([['a', 'b']]), 'spec')).toEqual([]);
        expect(rewriteNetworks(null, new Map([['a', 'b']]), 'spec')).toEqual([]);
        expect(rewriteDataVolumeSpec({ source: { pvc: 'x' }, sourceRef: { namespace: 3 } }, new Map([['a', 'b']]), 'spec')).toEqual([]);
    });
});
