/** VM graphs: instancetype/preference edges, created vs not, the full running-VM order, restore, ItemBlock. */
import { itemBlockGraph, revisionName, vmBackupGraph, vmRestoreGraph } from '../../../src/graph';
import { EMPTY_VIEW, keys, scenario } from './helpers';

describe('instancetype and preference edges', () => {
    const NS = 'kvp-it';
    const IT = (n: string): string => `virtualmachineinstancetypes.instancetype.kubevirt.io/${NS}/${n}`;
    const PREF = (n: string): string => `virtualmachinepreferences.instancetype.kubevirt.io/${NS}/${n}`;
    const CR = (n: string): string => `controllerrevisions.apps/${NS}/${n}`;
    const s = scenario('instancetypes.yaml');

    it.each([
        [
            'status controllerRevisionRef wins over spec revisionName; CamelCase namespaced kind → object',
            'vm-it-status-ref',
            [IT('u1.small'), CR('vm-it-status-ref-u1.small-v1beta1-7f3c2')],
        ],
        ['no status ref → spec revisionName; lower-case kind → object', 'vm-it-spec-revision', [IT('u1.small'), CR('vm-it-spec-revision-u1.small-1')]],
        ['status ref without controllerRevisionRef → spec revisionName', 'vm-it-status-without-revision', [IT('u1.small'), CR('spec-revision')]],
        ['empty kind = cluster-scoped default → revision only', 'vm-it-default-kind', [CR('vm-it-default-kind-u1.medium-v1beta1-1')]],
        ['VirtualMachineClusterInstancetype → revision only', 'vm-it-cluster-kind', [CR('vm-it-cluster-kind-u1.medium-v1beta1-1')]],
        ['no revision anywhere → object only', 'vm-it-no-revision', [IT('u1.small')]],
        ['status ref without spec.instancetype → nothing', 'vm-it-status-only', []],
        ['namespaced preference → object, then revision', 'vm-pref-namespaced', [PREF('fedora'), CR('vm-pref-namespaced-fedora-v1beta1-1')]],
        ['preference with empty kind = VirtualMachineClusterPreference → revision only', 'vm-pref-default-kind', [CR('vm-pref-default-kind-fedora-1')]],
        ['VirtualMachineClusterPreference → revision only', 'vm-pref-cluster-kind', [CR('vm-pref-cluster-kind-fedora-1')]],
    ])('%s', (_name, vmName, expected) => {
        const vm = s.item(`VirtualMachine/${vmName}`);
        expect(keys(vmBackupGraph(vm, s.view))).toEqual(expected);
        expect(keys(vmRestoreGraph(vm, s.view))).toEqual(expected);
    });

    it.each([
        ['vm-it-status-ref', 'instancetype', 'vm-it-status-ref-u1.small-v1beta1-7f3c2'],
        ['vm-it-spec-revision', 'instancetype', 'vm-it-spec-revision-u1.small-1'],
        ['vm-it-status-only', 'instancetype', ''],
        ['vm-pref-namespaced', 'preference', 'vm-pref-namespaced-fedora-v1beta1-1'],
        ['vm-pref-namespaced', 'instancetype', ''],
    ] as const)('revisionName(%s, %s) = %j', (vmName, which, expected) => {
        expect(revisionName(s.item(`VirtualMachine/${vmName}`), which)).toBe(expected);
    });
});

describe('running VM "web" (migrating, every edge kind)', () => {
    const NS = 'kvp-vm';
    const IT = (n: string): string => `virtualmachineinstancetypes.instancetype.kubevirt.io/${NS}/${n}`;
    const CR = (n: string): string => `controllerrevisions.apps/${NS}/${n}`;
    const VMI = (n: string): string => `virtualmachineinstances.kubevirt.io/${NS}/${n}`;
    const POD = (n: string): string => `pods/${NS}/${n}`;
    const DV = (n: string): string => `datavolumes.cdi.kubevirt.io/${NS}/${n}`;
    const PVC = (n: string): string => `persistentvolumeclaims/${NS}/${n}`;
    const CM = (n: string): string => `configmaps/${NS}/${n}`;
    const SECRET = (n: string): string => `secrets/${NS}/${n}`;
    const NAD = (n: string): string => `network-attachment-definitions.k8s.cni.cncf.io/${NS}/${n}`;
    const s = scenario('vm-running.yaml');
    const web = s.item('VirtualMachine/web');

    const specEdges = [
        DV('web-root'),
        PVC('web-root'),
        PVC('web-data'),
        DV('web-data'),
        SECRET('web-userdata'),
        CM('web-config'),
        DV('web-hotplug'),
        PVC('web-hotplug'),
        PVC('persistent-state-for-web-q8x7z'),
        SECRET('web-ssh'),
        SECRET('web-password'),
        NAD('web-net'),
        NAD('web-net2'),
    ];
    const revisions = [IT('u1.small'), CR('web-u1.small-v1beta1-5d8f9c6e-1'), CR('web-fedora-v1beta1-5d8f9c6e-1')];

    it('backup: revisions, VMI, both running launcher pods, then the template graph, in this exact order', () => {
        expect(keys(vmBackupGraph(web, s.view))).toEqual([...revisions, VMI('web'), POD('virt-launcher-web-b2kcd'), POD('virt-launcher-web-q7wzt'), ...specEdges]);
    });

    it('restore: no VMI and no pod', () => {
        expect(keys(vmRestoreGraph(web, s.view))).toEqual([...revisions, ...specEdges]);
    });

    it('restore with an empty view: backend PVC by legacy name, no owning DataVolume known', () => {
        expect(keys(vmRestoreGraph(web, EMPTY_VIEW))).toEqual([
            ...revisions,
            DV('web-root'),
            PVC('web-root'),
            PVC('web-data'),
            SECRET('web-userdata'),
            CM('web-config'),
            DV('web-hotplug'),
            PVC('web-hotplug'),
            PVC('persistent-state-for-web'),
            SECRET('web-ssh'),
            SECRET('web-password'),
            NAD('web-net'),
            NAD('web-net2'),
        ]);
    });

    it.each([
        ['VM created but its VMI is not in the view → VMI edge, no pod', 'orphan', [VMI('orphan'), PVC('orphan-root')]],
        ['VM not created → no VMI and no pod, even with a stale VMI listed', 'stopped', [DV('stopped-root'), PVC('stopped-root')]],
    ])('%s', (_name, vmName, expected) => {
        expect(keys(vmBackupGraph(s.item(`VirtualMachine/${vmName}`), s.view))).toEqual(expected);
    });

    it.each([
        [
            'VM: VMI, launcher pods, DataVolumes and PVCs of its volumes, TPM/EFI PVC (no secrets, config maps, NADs, revisions)',
            'VirtualMachine/web',
            [
                VMI('web'),
                POD('virt-launcher-web-b2kcd'),
                POD('virt-launcher-web-q7wzt'),
                DV('web-root'),
                PVC('web-root'),
                PVC('web-data'),
                DV('web-data'),
                DV('web-hotplug'),
                PVC('web-hotplug'),
                PVC('persistent-state-for-web-q8x7z'),
            ],
        ],
        ['VM not created: storage only', 'VirtualMachine/stopped', [DV('stopped-root'), PVC('stopped-root')]],
        ['VMI: launcher pods, then storage (its spec here has none)', 'VirtualMachineInstance/web', [POD('virt-launcher-web-b2kcd'), POD('virt-launcher-web-q7wzt')]],
        ['PVC: nothing', 'PersistentVolumeClaim/web-data', []],
        ['Pod: nothing', 'Pod/virt-launcher-web-q7wzt', []],
    ])('ItemBlock %s', (_name, item, expected) => {
        expect(keys(itemBlockGraph(s.item(item), s.view))).toEqual(expected);
    });
});
