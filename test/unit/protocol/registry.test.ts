import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PluginError } from '../../../src/errors';
import { Logger } from '../../../src/logging/logger';
import { buildActions } from '../../../src/plugin/actions';
import { Registry, validatePluginName } from '../../../src/protocol/registry';
import type { ActionDeclaration } from '../../../src/protocol/types';
import { FIXTURES_DIR } from '../fixtures';

const quiet = new Logger('error', () => undefined);

function declaration(name: string, kind: ActionDeclaration['kind'] = 'BackupItemActionV2'): ActionDeclaration {
    if (kind === 'ItemBlockAction') return { kind, name, selector: {}, relatedItems: async () => [] };
    if (kind === 'RestoreItemActionV2') {
        return { kind, name, selector: {}, execute: async (r) => ({ item: r.item, additionalItems: [], skipRestore: false }) };
    }
    return { kind, name, selector: {}, execute: async (r) => ({ item: r.item, additionalItems: [] }) };
}

interface Declared {
    kind: string;
    name: string;
    selector: { includedResources: string[]; selector?: string };
}

describe('the action registry', () => {
    it('lists exactly the actions of test/fixtures/conformance/plugins.yaml, in Velero’s order, with their selectors', () => {
        const declared = parse(readFileSync(join(FIXTURES_DIR, 'conformance', 'plugins.yaml'), 'utf8')) as Declared[];
        const listed = new Registry(buildActions({ log: quiet, env: {} })).list();
        expect(listed.map((d) => ({ kind: d.kind, name: d.name, selector: d.selector }))).toEqual(declared.map((d) => ({ kind: d.kind, name: d.name, selector: d.selector })));
    });

    it('dispatches on the plugin name and kind', () => {
        const registry = new Registry([declaration('a.io/x'), declaration('a.io/y', 'RestoreItemActionV2')]);
        expect(registry.get('BackupItemActionV2', 'a.io/x').name).toBe('a.io/x');
        expect(registry.get('RestoreItemActionV2', 'a.io/y').name).toBe('a.io/y');
    });

    it.each([
        ['an unknown name', 'BackupItemActionV2', 'a.io/nope'],
        ['a known name under another kind', 'ItemBlockAction', 'a.io/x'],
    ] as const)('%s is an UnknownPlugin error', (_name, kind, plugin) => {
        const registry = new Registry([declaration('a.io/x')]);
        expect(() => registry.get(kind, plugin)).toThrow(PluginError);
        expect(() => registry.get(kind, plugin)).toThrow(`${kind} plugin: ${plugin} was not found or has an invalid name format`);
    });

    it('refuses one name under two kinds (Velero would run it twice per item)', () => {
        expect(() => new Registry([declaration('a.io/x'), declaration('a.io/x', 'RestoreItemActionV2')])).toThrow('plugin name a.io/x already exists');
    });

    it.each([
        ['kubevirt-velero-plugin/backup-pvc-action', undefined],
        ['example.io/a/b', /exactly two parts/],
        ['noslash', /exactly two parts/],
        ['/name', /both parts/],
        ['example.io/', /both parts/],
        ['Example.io/x', /valid DNS subdomain/],
        ['-bad.io/x', /valid DNS subdomain/],
        [`${'a'.repeat(254)}/x`, /valid DNS subdomain/],
    ])('name %p → %p', (name, problem) => {
        const found = validatePluginName(name);
        if (problem === undefined) expect(found).toBeUndefined();
        else expect(found).toMatch(problem);
    });

    it('an invalid name is caught when the registry is built, not by Velero at start-up', () => {
        expect(() => new Registry([declaration('not a name')])).toThrow(/exactly two parts/);
    });
});
