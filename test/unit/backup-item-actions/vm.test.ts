import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { vmBackupAction } from '../../../src/backup-item-actions/vm';
import { parseLossless, stringifyLossless } from '../../../src/kube/json';
import { annotationOf, annotationsOf, labelsOf, pathGet, type KubeObject } from '../../../src/kube/object';
import type { ObjectRef } from '../../../src/kube/resources';
import type { Backup, BackupSpec } from '../../../src/kube/velero';
import { FIXTURES_DIR } from '../fixtures';
import { annotate, EXCLUDE, find, forbiddenCluster, label, makeBackup, refusal, runBackup, setPath, wire, world } from './helpers';
import { selectorOf } from '../../../src/plugin/adapter';

const NS = 'kvp-ns';
const vmi = (name: string): ObjectRef => ({ group: 'kubevirt.io', resource: 'virtualmachineinstances', namespace: NS, name });
const pod = (name: string): ObjectRef => ({ group: '', resource: 'pods', namespace: NS, name });
const dv = (name: string): ObjectRef => ({ group: 'cdi.kubevirt.io', resource: 'datavolumes', namespace: NS, name });
const pvc = (name: string): ObjectRef => ({ group: '', resource: 'persistentvolumeclaims', namespace: NS, name });
const rev = (name: string): ObjectRef => ({ group: 'apps', resource: 'controllerrevisions', namespace: NS, name });

const UNSAFE = 'Refused: VM cannot be safely backed up: ';
const NO_VMIS = `${UNSAFE}the VM is running and the backup's resource filters exclude virtualmachineinstances`;
const NO_PODS = `${UNSAFE}the VM is running and the backup includes PVCs but its resource filters exclude pods, so the launcher pod's freeze hooks cannot run`;
const VMI_LABELLED = `${UNSAFE}the VM is running and its VMI has label velero.io/exclude-from-backup=true`;

/** The container-disk-only VM (no volumes to restore), its VMI and launcher pod. */
function safetyWorld(status: string, vmiExcluded: boolean): { vm: KubeObject; objects: KubeObject[] } {
    const objects = world('vm-novolumes.yaml');
    const vm = setPath(find(objects, 'VirtualMachine', 'test-vm-nv'), ['status', 'printableStatus'], status);
    if (vmiExcluded) label(find(objects, 'VirtualMachineInstance', 'test-vm-nv'), EXCLUDE, 'true');
    return { vm, objects };
}

describe('VM backup: can the VM be safely backed up (upstream TestCanBeSafelyBackedUp, Migrating fixed)', () => {
    test.each<[string, string, BackupSpec, boolean, string | null]>([
        ['Stopped VM is safe with pods excluded', 'Stopped', { excludedResources: ['pods'] }, false, null],
        ['Provisioning VM is safe with pods excluded', 'Provisioning', { excludedResources: ['pods'] }, false, null],
        ['Paused VM is safe with pods excluded', 'Paused', { excludedResources: ['pods'] }, false, null],
        ['Stopping VM is safe with pods excluded', 'Stopping', { excludedResources: ['pods'] }, false, null],
        ['Terminating VM is safe with pods excluded', 'Terminating', { excludedResources: ['pods'] }, false, null],
        ['Unknown VM is safe with pods excluded', 'Unknown', { excludedResources: ['pods'] }, false, null],
        ['Paused VM is safe with its VMI labelled excluded', 'Paused', {}, true, null],
        ['Migrating VM is safe with empty filters', 'Migrating', {}, false, null],
        ['Running VM is safe with empty filters', 'Running', {}, false, null],
        ['Starting VM is safe with empty filters', 'Starting', {}, false, null],
        ['Running VM is unsafe when its VMI is labelled excluded', 'Running', {}, true, VMI_LABELLED],
        ['Running VM is safe when pods and VMIs are included', 'Running', { includedResources: ['pods', 'virtualmachineinstances'] }, false, null],
        ['Running VM is safe when pods and PVCs are excluded', 'Running', { excludedResources: ['pods', 'persistentvolumeclaims'] }, false, null],
        [
            'Running VM is unsafe when VMIs and PVCs but not pods are included',
            'Running',
            { includedResources: ['virtualmachineinstances', 'persistentvolumeclaims'] },
            false,
            NO_PODS,
        ],
        ['Running VM is safe when only VMIs are included', 'Running', { includedResources: ['virtualmachineinstances'] }, false, null],
        ['Running VM is unsafe when only pods are included', 'Running', { includedResources: ['pods'] }, false, NO_VMIS],
        ['Running VM is unsafe when pods are excluded', 'Running', { excludedResources: ['pods'] }, false, NO_PODS],
        ['Running VM is unsafe when VMIs are excluded', 'Running', { excludedResources: ['virtualmachineinstances'] }, false, NO_VMIS],
        ['Starting VM is unsafe when pods are excluded', 'Starting', { excludedResources: ['pods'] }, false, NO_PODS],
        // Fixes: Migrating counts as running; short names and scoped filters are understood.
        ['Migrating VM is unsafe when pods are excluded', 'Migrating', { excludedResources: ['pods'] }, false, NO_PODS],
        ['Migrating VM is unsafe when its VMI is labelled excluded', 'Migrating', {}, true, VMI_LABELLED],
        ['Running VM is unsafe when VMIs are excluded by short name', 'Running', { excludedResources: ['vmi'] }, false, NO_VMIS],
        ['Running VM is unsafe when pods are excluded by a scoped filter', 'Running', { excludedNamespaceScopedResources: ['po'] }, false, NO_PODS],
        ['Running VM is safe with a wildcard include', 'Running', { includedResources: ['*'] }, false, null],
    ])('%s', async (_name, status, spec, vmiExcluded, expected) => {
        const { vm, objects } = safetyWorld(status, vmiExcluded);
        if (expected === null) {
            const { out } = await runBackup(vmBackupAction, vm, makeBackup(spec), objects);
            expect(out.item).toBeDefined();
        } else {
            expect(await refusal(vmBackupAction, vm, makeBackup(spec), objects)).toBe(expected);
        }
    });

    it('Running VM whose VMI does not exist backs up as stopped (upstream failed the item)', async () => {
        const objects = world('vm-novolumes.yaml').filter((o) => o.kind !== 'VirtualMachineInstance');
        const vm = find(objects, 'VirtualMachine', 'test-vm-nv');
        const { out, log } = await runBackup(vmBackupAction, vm, makeBackup({ excludedResources: ['pods'] }), objects);
        expect(out.item).toBeDefined();
        expect(log.at('info')).toContain('VM kvp-ns/test-vm-nv reports Running but has no VMI; backing it up as stopped');
    });
});

describe('VM backup: restorability of volumes', () => {
    const RESTORE = 'Refused: VM would not be restored correctly: ';
    test.each<[string, BackupSpec, Record<string, string>, (o: KubeObject[]) => void, string | null]>([
        [
            'VM whose DataVolumes are excluded would not be restored',
            { excludedResources: ['datavolumes'] },
            {},
            () => undefined,
            `${RESTORE}DataVolume test-dv is excluded by the backup's resource filters`,
        ],
        [
            'VM whose DataVolume is labelled excluded would not be restored',
            {},
            {},
            (o) => void label(find(o, 'DataVolume', 'test-dv'), EXCLUDE, 'true'),
            `${RESTORE}DataVolume test-dv has label velero.io/exclude-from-backup=true`,
        ],
        [
            'VM whose PVC is labelled excluded would not be restored',
            {},
            {},
            (o) => void label(find(o, 'PersistentVolumeClaim', 'test-pvc'), EXCLUDE, 'true'),
            `${RESTORE}PVC test-pvc has label velero.io/exclude-from-backup=true`,
        ],
        [
            'VM whose PVCs are excluded by short name would not be restored',
            { excludedResources: ['pvc', 'pods'] },
            {},
            () => undefined,
            `${RESTORE}PVC test-pvc is excluded by the backup's resource filters`,
        ],
        [
            'VM whose garbage-collected DataVolume has an excluded PVC would not be restored',
            {},
            {},
            (o) => {
                o.splice(o.indexOf(find(o, 'DataVolume', 'test-dv')), 1);
                label(find(o, 'PersistentVolumeClaim', 'test-dv'), EXCLUDE, 'true');
            },
            `${RESTORE}DataVolume test-dv no longer exists and its PVC test-dv has label velero.io/exclude-from-backup=true`,
        ],
        ['VM whose garbage-collected DataVolume has its PVC is restorable', {}, {}, (o) => void o.splice(o.indexOf(find(o, 'DataVolume', 'test-dv')), 1), null],
        ['dataVolumeTemplates are not checked (the VM recreates them)', {}, {}, (o) => void label(find(o, 'DataVolume', 'test-dv-template'), EXCLUDE, 'true'), null],
        [
            'VM with excluded volumes passes with the metadataBackup label',
            { excludedResources: ['datavolumes'] },
            { 'velero.kubevirt.io/metadataBackup': 'true' },
            () => undefined,
            null,
        ],
        [
            'metadataBackup=false is off (upstream: presence only)',
            { excludedResources: ['datavolumes'] },
            { 'velero.kubevirt.io/metadataBackup': 'false' },
            () => undefined,
            `${RESTORE}DataVolume test-dv is excluded by the backup's resource filters`,
        ],
        ['a PVC that does not exist is not a refusal', {}, {}, (o) => void o.splice(o.indexOf(find(o, 'PersistentVolumeClaim', 'test-pvc')), 1), null],
    ])('%s', async (_name, spec, labels, change, expected) => {
        const objects = world('vm-running.yaml', 'storage.yaml');
        change(objects);
        const vm = find(objects, 'VirtualMachine', 'test-vm');
        if (expected === null) {
            expect((await runBackup(vmBackupAction, vm, makeBackup(spec, labels), objects)).out.item).toBeDefined();
        } else {
            expect(await refusal(vmBackupAction, vm, makeBackup(spec, labels), objects)).toBe(expected);
        }
    });
});

describe('VM backup: additional items (upstream TestVMBackupAction)', () => {
    it('Created VM needs to include VMI, launcher pod and all volumes, in graph order', async () => {
        const objects = world('vm-running.yaml', 'storage.yaml');
        const { out } = await runBackup(vmBackupAction, find(objects, 'VirtualMachine', 'test-vm'), makeBackup(), objects);
        expect(wire(out.additionalItems)).toEqual([
            vmi('test-vm'),
            pod('virt-launcher-test-vm-x7k2p'),
            dv('test-dv-template'),
            pvc('test-dv-template'),
            dv('test-dv'),
            pvc('test-dv'),
            pvc('test-pvc'),
        ]);
    });

    it('VM with excluded volumes and the metadataBackup label still returns the excluded DataVolume and PVC', async () => {
        const objects = world('vm-running.yaml', 'storage.yaml');
        label(find(objects, 'DataVolume', 'test-dv'), EXCLUDE, 'true');
        label(find(objects, 'PersistentVolumeClaim', 'test-pvc'), EXCLUDE, 'true');
        const backup = makeBackup({}, { 'velero.kubevirt.io/metadataBackup': 'true' });
        const { out } = await runBackup(vmBackupAction, find(objects, 'VirtualMachine', 'test-vm'), backup, objects);
        expect(wire(out.additionalItems)).toEqual(expect.arrayContaining([dv('test-dv'), pvc('test-dv'), pvc('test-pvc')]));
    });

    it('Stopped VM does not include a VMI or pod', async () => {
        const objects = world('vm-running.yaml', 'storage.yaml').filter((o) => o.kind !== 'VirtualMachineInstance' && o.kind !== 'Pod');
        const vm = find(objects, 'VirtualMachine', 'test-vm');
        setPath(vm, ['status'], { printableStatus: 'Stopped' });
        const { out } = await runBackup(vmBackupAction, vm, makeBackup(), objects);
        expect(wire(out.additionalItems)).toEqual([dv('test-dv-template'), pvc('test-dv-template'), dv('test-dv'), pvc('test-dv'), pvc('test-pvc')]);
    });

    it('Migrating VM includes both launcher pods and not the finished one', async () => {
        const objects = world('vm-running.yaml', 'storage.yaml', 'launcher-pods-migration.yaml');
        const vm = setPath(find(objects, 'VirtualMachine', 'test-vm'), ['status', 'printableStatus'], 'Migrating');
        const { out } = await runBackup(vmBackupAction, vm, makeBackup(), objects);
        expect(wire(out.additionalItems.filter((r) => r.resource === 'pods'))).toEqual([pod('virt-launcher-test-vm-m9r3t'), pod('virt-launcher-test-vm-x7k2p')]);
    });

    it('Created VM needs to include instancetype and preference revisions, copied from status to spec', async () => {
        const vm = world('vm-instancetype.yaml')[0] as KubeObject;
        const { out, item } = await runBackup(vmBackupAction, vm, makeBackup());
        expect(wire(out.additionalItems)).toEqual([rev('test-vm-it-test-vm-instancetype-v1beta1-1'), rev('test-vm-it-test-vm-preference-v1beta1-1')]);
        expect(pathGet(item, ['spec', 'instancetype'])).toEqual({
            kind: 'VirtualMachineClusterInstancetype',
            name: 'test-vm-instancetype',
            revisionName: 'test-vm-it-test-vm-instancetype-v1beta1-1',
        });
        expect(pathGet(item, ['spec', 'preference'])).toEqual({
            kind: 'VirtualMachineClusterPreference',
            name: 'test-vm-preference',
            revisionName: 'test-vm-it-test-vm-preference-v1beta1-1',
        });
    });
});

describe('VM backup: the backed-up item', () => {
    it('is labelled velero.kubevirt.io/vm=<name> for single-VM restore', async () => {
        const objects = world('vm-running.yaml', 'storage.yaml');
        const { item } = await runBackup(vmBackupAction, find(objects, 'VirtualMachine', 'test-vm'), makeBackup(), objects);
        expect(labelsOf(item)).toEqual({ app: 'demo', 'velero.kubevirt.io/vm': 'test-vm' });
    });

    it('a VM whose name does not fit in a label value is not labelled (the restored VM could not be created)', async () => {
        const objects = world('vm-running.yaml', 'storage.yaml');
        const vm = find(objects, 'VirtualMachine', 'test-vm');
        const long = `vm-${'x'.repeat(61)}`;
        setPath(vm, ['metadata', 'name'], long);
        const { item, log } = await runBackup(vmBackupAction, vm, makeBackup(), objects);
        expect(labelsOf(item)).toEqual({ app: 'demo' });
        expect(log.entries.some((e) => e.level === 'info' && e.message.includes('not labelled velero.kubevirt.io/vm'))).toBe(true);
    });

    it('records the restore graph seen at backup time, with the live-only edges', async () => {
        const objects = world('vm-running.yaml', 'storage.yaml');
        const { item, out } = await runBackup(vmBackupAction, find(objects, 'VirtualMachine', 'test-vm'), makeBackup(), objects);
        const recorded = JSON.parse(annotationsOf(item)['velero.kubevirt.io/restore-graph'] as string) as string[];
        const backedUp = out.additionalItems.map((r) => `${r.group ? `${r.resource}.${r.group}` : r.resource}/${r.name}`);
        // Everything recorded is also backed up (Velero finds it in the tarball); the VMI and pods never are.
        expect(recorded.length).toBeGreaterThan(0);
        expect(recorded.filter((r) => !backedUp.includes(r))).toEqual([]);
        expect(recorded.some((r) => r.startsWith('virtualmachineinstances') || r.startsWith('pods/'))).toBe(false);
    });

    it('keeps unknown fields and integers beyond 2^53 byte for byte', async () => {
        const text = readFileSync(join(FIXTURES_DIR, 'backup', 'vm-bigint.json'), 'utf8').trim();
        const vm = parseLossless(text) as KubeObject;
        const { item } = await runBackup(vmBackupAction, vm, makeBackup());
        const expected = text.replace(
            '"generation":12345678901234567890}',
            '"generation":12345678901234567890,"labels":{"velero.kubevirt.io/vm":"big-vm"},"annotations":{"velero.kubevirt.io/backup-consistency":"{\\"level\\":\\"offline\\",\\"reasons\\":[\\"VM is not running\\"],\\"launcherPods\\":[]}","velero.kubevirt.io/restore-graph":"[]"}}',
        );
        expect(stringifyLossless(item)).toBe(expected);
    });
});

describe('VM backup: consistency record', () => {
    const FS = { level: 'filesystem', reasons: ['virt-freezer hooks on the launcher pod', 'guest agent connected'], launcherPods: ['virt-launcher-test-vm-x7k2p'] };
    const crash = (...reasons: string[]): object => ({ level: 'crash', reasons, launcherPods: ['virt-launcher-test-vm-x7k2p'] });
    const POD = (o: KubeObject[]): KubeObject => find(o, 'Pod', 'virt-launcher-test-vm-x7k2p');
    const VMI = (o: KubeObject[]): KubeObject => find(o, 'VirtualMachineInstance', 'test-vm');
    const META = { 'velero.kubevirt.io/metadataBackup': 'true' };
    test.each<[string, (o: KubeObject[]) => void, Backup, object, string]>([
        ['running VM with hooks and guest agent is filesystem-consistent', () => undefined, makeBackup(), FS, 'info'],
        [
            'guest agent not connected gives crash consistency',
            (o) => void setPath(VMI(o), ['status', 'conditions'], [{ type: 'AgentConnected', status: 'False' }]),
            makeBackup(),
            crash('guest agent not connected: virt-freezer cannot freeze the filesystems'),
            'warn',
        ],
        [
            'launcher pod without hooks gives crash consistency',
            (o) => void setPath(POD(o), ['metadata', 'annotations'], { 'kubevirt.io/domain': 'test-vm' }),
            makeBackup(),
            crash('launcher pod virt-launcher-test-vm-x7k2p has no virt-freezer pre-backup hook'),
            'warn',
        ],
        [
            'skip-backup-hooks on the VM gives crash consistency',
            (o) => void annotate(find(o, 'VirtualMachine', 'test-vm'), 'kubevirt.io/skip-backup-hooks', 'true'),
            makeBackup(),
            crash('kubevirt.io/skip-backup-hooks is set on VirtualMachine test-vm'),
            'warn',
        ],
        [
            'skip-backup-hooks on the pod gives crash consistency',
            (o) => void annotate(POD(o), 'kubevirt.io/skip-backup-hooks', ''),
            makeBackup(),
            crash('kubevirt.io/skip-backup-hooks is set on Pod virt-launcher-test-vm-x7k2p'),
            'warn',
        ],
        ['skip-backup-hooks=false is not a skip', (o) => void annotate(VMI(o), 'kubevirt.io/skip-backup-hooks', 'false'), makeBackup(), FS, 'info'],
        [
            'launcher pod labelled excluded gives crash consistency',
            (o) => void label(POD(o), EXCLUDE, 'true'),
            makeBackup(),
            crash('launcher pod virt-launcher-test-vm-x7k2p is excluded by label, so its hooks do not run'),
            'warn',
        ],
        [
            'pods filtered out give crash consistency',
            () => undefined,
            makeBackup({ excludedResources: ['pods', 'persistentvolumeclaims'] }, META),
            crash("the backup's resource filters exclude pods, so the launcher pod's hooks do not run"),
            'warn',
        ],
        [
            'no launcher pod gives crash consistency',
            (o) => void o.splice(o.indexOf(POD(o)), 1),
            makeBackup(),
            { level: 'crash', reasons: ['no launcher pod found, so no freeze hook can run'], launcherPods: [] },
            'warn',
        ],
        [
            'paused VM gives crash consistency',
            (o) => {
                setPath(find(o, 'VirtualMachine', 'test-vm'), ['status', 'printableStatus'], 'Paused');
                setPath(
                    VMI(o),
                    ['status', 'conditions'],
                    [
                        { type: 'Paused', status: 'True' },
                        { type: 'AgentConnected', status: 'True' },
                    ],
                );
            },
            makeBackup(),
            crash('VM is paused: its filesystems cannot be frozen'),
            'warn',
        ],
        [
            'stopped VM is offline-consistent',
            (o) => {
                setPath(find(o, 'VirtualMachine', 'test-vm'), ['status'], { printableStatus: 'Stopped' });
                o.splice(o.indexOf(VMI(o)), 1);
            },
            makeBackup(),
            { level: 'offline', reasons: ['VM is not running'], launcherPods: [] },
            'debug',
        ],
    ])('%s', async (_name, change, backup, expected, level) => {
        const objects = world('vm-running.yaml', 'storage.yaml');
        change(objects);
        const { item, log } = await runBackup(vmBackupAction, find(objects, 'VirtualMachine', 'test-vm'), backup, objects);
        const annotation = annotationOf(item, 'velero.kubevirt.io/backup-consistency');
        expect(JSON.parse(annotation ?? 'null')).toEqual(expected);
        expect(annotation).toBe(JSON.stringify(expected));
        const lines = log.entries.filter((e) => e.message.startsWith('VM kvp-ns/test-vm: '));
        expect(lines.map((e) => e.level)).toEqual([level]);
    });

    it('logs the reasons of a degraded backup in one warn line', async () => {
        const objects = world('vm-running.yaml', 'storage.yaml');
        setPath(find(objects, 'VirtualMachineInstance', 'test-vm'), ['status', 'conditions'], []);
        annotate(find(objects, 'VirtualMachine', 'test-vm'), 'kubevirt.io/skip-backup-hooks', 'true');
        const { log } = await runBackup(vmBackupAction, find(objects, 'VirtualMachine', 'test-vm'), makeBackup(), objects);
        expect(log.at('warn')).toEqual([
            'VM kvp-ns/test-vm: backup will only be crash-consistent: kubevirt.io/skip-backup-hooks is set on VirtualMachine test-vm; guest agent not connected: virt-freezer cannot freeze the filesystems',
        ]);
    });
});

describe('VM backup: bad input is an item error, never a crash', () => {
    const base = (): KubeObject => find(world('vm-novolumes.yaml'), 'VirtualMachine', 'test-vm-nv');
    test.each<[string, () => KubeObject, string]>([
        ['wrong kind', () => ({ ...base(), kind: 'VirtualMachineInstance' }), 'InvalidItem: expected a VirtualMachine, got kind "VirtualMachineInstance"'],
        [
            'VirtualMachine of another API group',
            () => ({ ...base(), apiVersion: 'vmoperator.vmware.com/v1alpha1' }),
            'InvalidItem: expected apiVersion kubevirt.io/*, got "vmoperator.vmware.com/v1alpha1"',
        ],
        ['missing metadata', () => setPath(base(), ['metadata'], undefined), 'InvalidItem: metadata is missing'],
        ['missing name', () => setPath(base(), ['metadata', 'name'], undefined), 'InvalidItem: metadata.name is missing'],
        ['spec null', () => setPath(base(), ['spec'], null), 'InvalidItem: spec is null'],
        ['template missing', () => setPath(base(), ['spec', 'template'], undefined), 'InvalidItem: spec.template is missing'],
        ['template spec not an object', () => setPath(base(), ['spec', 'template', 'spec'], 'x'), 'InvalidItem: spec.template.spec is not an object'],
        ['volumes not a list', () => setPath(base(), ['spec', 'template', 'spec', 'volumes'], { a: 1 }), 'InvalidItem: spec.template.spec.volumes is not a list'],
        ['volume entry not an object', () => setPath(base(), ['spec', 'template', 'spec', 'volumes'], ['disk']), 'InvalidItem: spec.template.spec.volumes[0] is not an object'],
        ['volume without a name', () => setPath(base(), ['spec', 'template', 'spec', 'volumes'], [{ emptyDisk: {} }]), 'InvalidItem: spec.template.spec.volumes[0] has no name'],
    ])('%s', async (_name, make, expected) => {
        expect(await refusal(vmBackupAction, make(), makeBackup(), [])).toBe(expected);
    });

    it('an empty Backup object is an input error with the upstream text', async () => {
        expect(await refusal(vmBackupAction, base(), {})).toBe('InvalidItem: backup object nil!: the request carried no Backup object');
    });

    it('an unknown volume type passes and adds nothing', async () => {
        const vm = setPath(base(), ['spec', 'template', 'spec', 'volumes'], [{ name: 'x', futureDisk: { size: 1 } }]);
        setPath(vm, ['status'], { printableStatus: 'Stopped' });
        const { out } = await runBackup(vmBackupAction, vm, makeBackup());
        expect(wire(out.additionalItems)).toEqual([]);
    });

    it('a cluster error propagates unchanged', async () => {
        await expect(runBackup(vmBackupAction, base(), makeBackup(), forbiddenCluster)).rejects.toMatchObject({
            reason: 'Forbidden',
            detail: 'list pods in namespace kvp-ns is forbidden',
        });
    });
});

describe('VM backup: registration', () => {
    it('keeps the upstream name and applies to kubevirt.io VirtualMachines only', () => {
        expect(vmBackupAction.name).toBe('kubevirt-velero-plugin/backup-virtualmachine-action');
        expect(selectorOf(vmBackupAction.appliesTo)).toEqual({ includedResources: ['virtualmachines.kubevirt.io'] });
    });
});
