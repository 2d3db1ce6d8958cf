/** Launcher-pod selection: created-by uid label + domain annotation, not finished, all of them, by name. */
import { launcherPods, vmiBackupGraph } from '../../../src/graph';
import { nameOf } from '../../../src/kube/object';
import { keys, scenario } from './helpers';

const s = scenario('launchers.yaml');

describe('launcherPods', () => {
    it.each([
        ['migration → both the source and the target pod, sorted by name', 'migrating', ['virt-launcher-migrating-a9k4f', 'virt-launcher-migrating-x2b7c']],
        ['Succeeded and Failed pods are excluded', 'migrated', ['virt-launcher-migrated-new02']],
        ['a pod of another VMI uid or another domain is excluded', 'lookalike', []],
        ['a VMI without uid has no launcher pod', 'no-uid', []],
    ])('%s', (_name, vmiName, expected) => {
        expect(launcherPods(s.item(`VirtualMachineInstance/${vmiName}`), s.view).map(nameOf)).toEqual(expected);
    });

    it('VMI backup graph lists every launcher pod first', () => {
        expect(keys(vmiBackupGraph(s.item('VirtualMachineInstance/migrating'), s.view))).toEqual([
            'pods/kvp-pods/virt-launcher-migrating-a9k4f',
            'pods/kvp-pods/virt-launcher-migrating-x2b7c',
        ]);
    });
});
