/** Malformed input never throws; it only yields fewer edges (fixtures: graph/malformed.yaml). */
import { itemBlockGraph, launcherPods } from '../../../src/graph';
import { backupGraph, restoreGraph } from '../../support/graph';
import { keys, scenario } from './helpers';

const s = scenario('malformed.yaml');

describe('malformed items', () => {
    it.each([
        ['VM with spec null (created) → only the VMI edge at backup', 'VirtualMachine/spec-null', ['virtualmachineinstances.kubevirt.io/kvp-bad/spec-null'], []],
        ['VM without template → nothing', 'VirtualMachine/no-template', [], []],
        ['VM with non-object matchers, volumes/credentials/networks of the wrong type, created as a string → nothing', 'VirtualMachine/volumes-not-array', [], []],
        [
            'VMI with null, string and half-filled entries → only the well-formed secret',
            'VirtualMachineInstance/odd-entries',
            ['secrets/kvp-bad/kept-secret'],
            ['secrets/kvp-bad/kept-secret'],
        ],
        ['VMI with a string spec → nothing', 'VirtualMachineInstance/spec-string', [], []],
        ['VMIRS without spec → nothing (and no restore graph for VMIRS)', 'VirtualMachineInstanceReplicaSet/rs-no-spec', [], []],
        ['VMI with metadata null → edges in namespace ""', 'VirtualMachineInstance/', ['configmaps//cm'], ['configmaps//cm']],
    ])('%s', (_name, item, backup, restore) => {
        const obj = s.item(item);
        expect(keys(backupGraph(obj, s.view))).toEqual(backup);
        expect(keys(restoreGraph(obj, s.view))).toEqual(restore);
        expect(() => itemBlockGraph(obj, s.view)).not.toThrow();
        expect(launcherPods(obj, s.view)).toEqual([]);
    });
});
