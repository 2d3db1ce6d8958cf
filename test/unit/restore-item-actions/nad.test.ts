import { pathGet, type KubeObject } from '../../../src/kube/object';
import { nadRestoreAction, rewriteNadConfig } from '../../../src/restore-item-actions/nad';
import { fixture, restoreWith, run } from './helpers';

const nad = (name: string): KubeObject => fixture('nads.yaml', name);
const configOf = (obj: KubeObject | undefined): unknown => pathGet(obj, ['spec', 'config']);
const mapped = restoreWith({ namespaceMapping: { src: 'dst' } });

describe('NetworkAttachmentDefinition restore action', () => {
    it('is registered under the upstream name for group-qualified NADs', () => {
        expect(nadRestoreAction.name).toBe('kubevirt-velero-plugin/restore-nad-action');
        expect(nadRestoreAction.appliesTo).toEqual({ includedResources: ['network-attachment-definitions.k8s.cni.cncf.io'] });
    });

    it('An OVN netAttachDefName naming the mapped namespace follows the mapping, every other byte kept', async () => {
        const item = nad('l2');
        const before = configOf(item) as string;
        const { output, messages } = await run(nadRestoreAction, item, mapped);
        const after = configOf(output.item) as string;
        expect(after).toBe(before.replace('"src/l2"', '"dst/l2"'));
        expect(after.length).toBe(before.length);
        expect(JSON.parse(after)).toEqual({ ...(JSON.parse(before) as object), netAttachDefName: 'dst/l2' });
        expect({ ...output.item, spec: {} }).toEqual({ ...item, spec: {} });
        expect(output.additionalItems).toEqual([]);
        expect(output.skipRestore).toBe(false);
        expect(messages).toEqual(['Mapping netAttachDefName of NetworkAttachmentDefinition src/l2 from src/l2 to dst/l2']);
    });

    it.each([
        ['no namespace mapping', 'l2', restoreWith()],
        ['a mapping of another namespace', 'l2', restoreWith({ namespaceMapping: { other: 'dst' } })],
        ['a config naming another namespace', 'elsewhere', mapped],
        ['a bridge config without netAttachDefName', 'bridge', mapped],
        ['no spec.config', 'noconfig', mapped],
    ])('Unchanged (item bytes returned as received): %s', async (_name, name, restore) => {
        const { output } = await run(nadRestoreAction, nad(name), restore);
        expect(output).toEqual({ additionalItems: [], skipRestore: false });
    });

    it('A config that is not JSON is kept, with a warning that does not quote the config', async () => {
        const { output, messages } = await run(nadRestoreAction, nad('broken'), mapped);
        expect(output).toEqual({ additionalItems: [], skipRestore: false });
        expect(messages).toEqual([
            'spec.config of NetworkAttachmentDefinition src/broken is not valid JSON; restoring it unchanged (a netAttachDefName in it keeps namespace src)',
        ]);
    });

    it('Only netAttachDefName values are rewritten, also inside a conflist, keeping escapes of the name part', async () => {
        const { output } = await run(nadRestoreAction, nad('conflist'), mapped);
        expect(configOf(output.item)).toBe(
            '{"cniVersion":"1.0.0","name":"src/conflist","plugins":[{"type":"ovn-k8s-cni-overlay","netAttachDefName":"dst/con\\u0066list","note":"src/x"},{"type":"tuning"}]}',
        );
    });
});

describe('rewriteNadConfig', () => {
    it.each([
        ['a key spelled with an escape still counts', '{"netAttachDef\\u004eame":"a/n"}', '{"netAttachDef\\u004eame":"b/n"}'],
        ['a namespace spelled with an escape is re-encoded', '{"netAttachDefName":"\\u0061/n"}', '{"netAttachDefName":"b/n"}'],
        ['strings containing quotes and brackets before the key are skipped correctly', '{"x":"\\"}{[","netAttachDefName" : "a/n"}', '{"x":"\\"}{[","netAttachDefName" : "b/n"}'],
        ['several occurrences are all rewritten', '[{"netAttachDefName":"a/n"},{"netAttachDefName":"a/m"}]', '[{"netAttachDefName":"b/n"},{"netAttachDefName":"b/m"}]'],
    ])('%s', (_name, config, expected) => {
        expect(rewriteNadConfig(config, 'a', 'b')?.config).toBe(expected);
    });

    it.each([
        ['a namespace that only starts like the mapped one', '{"netAttachDefName":"ab/n"}'],
        ['a value without a name part', '{"netAttachDefName":"a/"}'],
        ['a value with more than one slash', '{"netAttachDefName":"a/n/x"}'],
        ['a non-string value', '{"netAttachDefName":["a/n"]}'],
        ['a key whose value is a string elsewhere', '{"name":"a/n","list":["netAttachDefName","a/n"]}'],
    ])('No match: %s', (_name, config) => {
        expect(rewriteNadConfig(config, 'a', 'b')).toBeUndefined();
    });

    it('Throws on invalid JSON', () => {
        expect(() => rewriteNadConfig('{"netAttachDefName":"a/n"', 'a', 'b')).toThrow(SyntaxError);
    });
});
