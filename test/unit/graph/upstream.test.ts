/**
 * The exact-order cases of the Go plugin's graph tests (pkg/util/kvgraph/backup_graph_test.go and
 * restore_graph_test.go), replayed on our graph. Differences from the Go expectations are deliberate and
 * noted per case.
 */
import { dataVolumeBackupGraph, launcherPods, vmBackupGraph, vmiBackupGraph, vmiRestoreGraph, vmRestoreGraph } from '../../../src/graph';
import { nameOf } from '../../../src/kube/object';
import { backupGraph, restoreGraph } from '../../support/graph';
import { EMPTY_VIEW, keys, scenario } from './helpers';

const NS = 'test-namespace';
const IT = (n: string): string => `virtualmachineinstancetypes.instancetype.kubevirt.io/${NS}/${n}`;
const PREF = (n: string): string => `virtualmachinepreferences.instancetype.kubevirt.io/${NS}/${n}`;
const CR = (n: string): string => `controllerrevisions.apps/${NS}/${n}`;
const VMI = (n: string): string => `virtualmachineinstances.kubevirt.io/${NS}/${n}`;
const POD = (n: string): string => `pods/${NS}/${n}`;
const DV = (n: string): string => `datavolumes.cdi.kubevirt.io/${NS}/${n}`;
const PVC = (n: string): string => `persistentvolumeclaims/${NS}/${n}`;
const CM = (n: string): string => `configmaps/${NS}/${n}`;
const SECRET = (n: string): string => `secrets/${NS}/${n}`;
const SA = (n: string): string => `serviceaccounts/${NS}/${n}`;

describe('TestNewVirtualMachineBackupGraph', () => {
    // The spec kinds are the lower-case namespaced kinds, so the instancetype and preference objects are
    // emitted in front of their ControllerRevisions (upstream dropped them in PR #360; we keep namespaced ones).
    it.each([
        [
            'Should include all related resources',
            'upstream/vm-created.yaml',
            [
                IT('test-instancetype'),
                CR('controller-revision-instancetype'),
                PREF('test-preference'),
                CR('controller-revision-preference'),
                VMI('test-vm'),
                POD('test-vmi-launcher-pod'),
                DV('test-datavolume'),
                PVC('test-datavolume'),
                SECRET('test-ssh-secret'),
            ],
        ],
        [
            'Should not include vmi and launcher pod',
            'upstream/vm-not-created.yaml',
            [
                IT('test-instancetype'),
                CR('controller-revision-instancetype'),
                PREF('test-preference'),
                CR('controller-revision-preference'),
                DV('test-datavolume'),
                PVC('test-datavolume'),
                SECRET('test-ssh-secret'),
            ],
        ],
        [
            'Should include backend PVC',
            'upstream/vm-backend.yaml',
            [
                IT('test-instancetype'),
                CR('controller-revision-instancetype'),
                PREF('test-preference'),
                CR('controller-revision-preference'),
                VMI('test-vm'),
                POD('test-vmi-launcher-pod'),
                DV('test-datavolume'),
                PVC('test-datavolume'),
                PVC('backend-pvc'),
                SECRET('test-ssh-secret'),
            ],
        ],
    ])('%s', (_name, file, expected) => {
        const s = scenario(file);
        expect(keys(vmBackupGraph(s.item('VirtualMachine/test-vm'), s.view))).toEqual(expected);
    });
});

describe('TestNewVirtualMachineInstanceBackupGraph and RestoreGraph', () => {
    const volumes = [PVC('test-pvc'), DV('test-dv'), PVC('test-dv'), PVC('test-memoryDump'), CM('test-cm'), SECRET('test-secret'), SA('test-sa')];
    const credentials = [SECRET('test-ssh-public-key'), SECRET('test-user-password')];
    it.each([
        ['backup: Should include all volumes', 'upstream/vmi-volumes.yaml', 'backup', volumes],
        ['backup: Should include all access credentials', 'upstream/vmi-credentials.yaml', 'backup', credentials],
        ['restore: Should include all volumes', 'upstream/vmi-volumes.yaml', 'restore', volumes],
        ['restore: Should include all access credentials', 'upstream/vmi-credentials.yaml', 'restore', credentials],
    ])('%s', (_name, file, which, expected) => {
        const vmi = scenario(file).item('VirtualMachineInstance/test-vmi');
        const graph = which === 'backup' ? vmiBackupGraph(vmi, EMPTY_VIEW) : vmiRestoreGraph(vmi, EMPTY_VIEW);
        expect(keys(graph)).toEqual(expected);
    });
});

describe('TestAddLauncherPod', () => {
    it.each([
        ['Should include launcher pod if present', 'test-vmi', ['test-vmi-launcher-pod']],
        ['Should include only own launcher pod', 'another-vmi', ['another-vmi-launcher-pod']],
        ['Should not include other pods', 'lonely-vmi', []],
    ])('%s', (_name, vmiName, expected) => {
        const s = scenario('upstream/launcher-pods.yaml');
        expect(launcherPods(s.item(`VirtualMachineInstance/${vmiName}`), s.view).map(nameOf)).toEqual(expected);
    });
});

describe('TestNewDataVolumeBackupGraph', () => {
    it.each([
        ['DataVolume Succeeded', 'test-dv', ['persistentvolumeclaims/default/test-dv']],
        ['DataVolume Not Succeeded (ImportScheduled)', 'test-dv-scheduled', []],
        ['DataVolume Not Succeeded (ImportInProgress)', 'test-dv-importing', []],
        ['DataVolume without status', 'test-dv-no-status', []],
    ])('%s', (_name, dvName, expected) => {
        const dv = scenario('upstream/datavolumes.yaml').item(`DataVolume/${dvName}`);
        expect(keys(dataVolumeBackupGraph(dv))).toEqual(expected);
    });
});

describe('TestNewVirtualMachineRestoreGraph', () => {
    // v0.9.0 (PR #349) restores the PVC of a DataVolume volume too; namespaced instancetype objects are ours.
    it('Should include all related resources', () => {
        const vm = scenario('upstream/vm-restore.yaml').item('VirtualMachine/test-vm');
        expect(keys(vmRestoreGraph(vm, EMPTY_VIEW))).toEqual([
            IT('test-instancetype'),
            CR('controller-revision-instancetype'),
            PREF('test-preference'),
            CR('controller-revision-preference'),
            DV('test-datavolume'),
            PVC('test-datavolume'),
            SECRET('test-ssh-secret'),
        ]);
    });
});

describe('TestNewObjectBackupGraph / TestNewObjectRestoreGraph (dispatch by kind)', () => {
    it.each([
        ['VirtualMachine', 'upstream/vm-created.yaml', 'VirtualMachine/test-vm'],
        ['VirtualMachineInstance', 'upstream/vmi-volumes.yaml', 'VirtualMachineInstance/test-vmi'],
        ['DataVolume', 'upstream/datavolumes.yaml', 'DataVolume/test-dv'],
        ['Pod', 'upstream/launcher-pods.yaml', 'Pod/test-other-pod'],
    ])('backup of a %s equals its own graph', (kind, file, item) => {
        const s = scenario(file);
        const obj = s.item(item);
        const direct =
            kind === 'VirtualMachine'
                ? vmBackupGraph(obj, s.view)
                : kind === 'VirtualMachineInstance'
                  ? vmiBackupGraph(obj, s.view)
                  : kind === 'DataVolume'
                    ? dataVolumeBackupGraph(obj)
                    : [];
        expect(backupGraph(obj, s.view)).toEqual(direct);
        expect(direct.length > 0).toBe(kind !== 'Pod');
    });

    it.each([
        ['VirtualMachine', 'upstream/vm-restore.yaml', 'VirtualMachine/test-vm', 7],
        ['VirtualMachineInstance', 'upstream/vmi-credentials.yaml', 'VirtualMachineInstance/test-vmi', 2],
        ['Pod', 'upstream/launcher-pods.yaml', 'Pod/test-other-pod', 0],
        ['DataVolume', 'upstream/datavolumes.yaml', 'DataVolume/test-dv', 0],
    ])('restore of a %s equals its own graph', (kind, file, item, count) => {
        const s = scenario(file);
        const obj = s.item(item);
        const direct = kind === 'VirtualMachine' ? vmRestoreGraph(obj, s.view) : kind === 'VirtualMachineInstance' ? vmiRestoreGraph(obj, s.view) : [];
        expect(restoreGraph(obj, s.view)).toEqual(direct);
        expect(direct).toHaveLength(count);
    });
});
