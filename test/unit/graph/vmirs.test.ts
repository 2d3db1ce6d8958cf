/** VMIRS graph: its VMIs by the kubevirt.io/vmReplicaSet label, each with pods and spec graph; ItemBlock. */
import { itemBlockGraph, replicaSetVmis, vmirsBackupGraph } from '../../../src/graph';
import { backupGraph } from '../../support/graph';
import { nameOf } from '../../../src/kube/object';
import { keys, scenario } from './helpers';

const NS = 'kvp-rs';
const VMI = (n: string): string => `virtualmachineinstances.kubevirt.io/${NS}/${n}`;
const POD = (n: string): string => `pods/${NS}/${n}`;
const DV = (n: string): string => `datavolumes.cdi.kubevirt.io/${NS}/${n}`;
const PVC = (n: string): string => `persistentvolumeclaims/${NS}/${n}`;
const CM = (n: string): string => `configmaps/${NS}/${n}`;
const SECRET = (n: string): string => `secrets/${NS}/${n}`;

const s = scenario('vmirs.yaml');

describe('VirtualMachineInstanceReplicaSet', () => {
    it('its VMIs are the ones labelled with its name, sorted by name', () => {
        expect(replicaSetVmis(s.item('VirtualMachineInstanceReplicaSet/pool'), s.view).map(nameOf)).toEqual(['poola4k7c', 'poolx9t2m']);
    });

    it.each([
        [
            'backup: each VMI with its launcher pod and spec graph; other replica sets excluded',
            'pool',
            [
                VMI('poola4k7c'),
                POD('virt-launcher-poola4k7c-m2n8p'),
                SECRET('pool-userdata'),
                CM('pool-config'),
                DV('poola4k7c-scratch'),
                PVC('poola4k7c-scratch'),
                VMI('poolx9t2m'),
                POD('virt-launcher-poolx9t2m-hh4tr'),
            ],
        ],
        ['backup without VMIs: the template references', 'empty-pool', [CM('empty-pool-config')]],
    ])('%s', (_name, rsName, expected) => {
        const rs = s.item(`VirtualMachineInstanceReplicaSet/${rsName}`);
        expect(keys(vmirsBackupGraph(rs, s.view))).toEqual(expected);
        expect(keys(backupGraph(rs, s.view))).toEqual(expected);
    });

    it('ItemBlock: VMIs, their pods, DataVolumes and PVCs only', () => {
        expect(keys(itemBlockGraph(s.item('VirtualMachineInstanceReplicaSet/pool'), s.view))).toEqual([
            VMI('poola4k7c'),
            POD('virt-launcher-poola4k7c-m2n8p'),
            DV('poola4k7c-scratch'),
            PVC('poola4k7c-scratch'),
            VMI('poolx9t2m'),
            POD('virt-launcher-poolx9t2m-hh4tr'),
        ]);
    });
});
