/**
 * Issue 13 (parity with upstream main, and ahead of it), through the real velero CLI and server and a real
 * kube-apiserver with the real CRDs (NetworkAttachmentDefinition from network-attachment-definition-client,
 * VirtualMachinePool from KubeVirt's generator, VirtualMachineTemplate/Request vendored from
 * kubevirt/virt-template):
 *   (a) a VM on a bridge NAD and a VM on an OVN-Kubernetes layer2 NAD whose config names its namespace,
 *       backed up and restored into a mapped namespace: the VMs' multus references and the NAD config
 *       follow the mapping, everything else in the config byte for byte;
 *   (b) a namespace with a VirtualMachineTemplate and a VirtualMachineTemplateRequest: a backup that
 *       selects only the template still holds the DataVolume and PVC it clones; a namespace restore into
 *       a mapped namespace restores the template with its source pointing at the new namespace and skips
 *       the request;
 *   (c) a VirtualMachinePool with its two VMs: a backup that selects only the pool holds its VMs and their
 *       disks; a restore into a mapped namespace restores the pool and the disks once each and no VM
 *       (the pool recreates them; docs/decisions/009-vm-pools.md), and a single-VM restore where no pool
 *       is restores that VM standalone, without the pool's finalizer.
 * Namespaces, backups and restores start with "par-".
 */
import type { KubeObject } from '../../src/kube/object';
import { connectLab, type Lab } from './lab';
import { at, backupItem, backupItems, pluginErrors, unexpectedWarnings } from './restore/checks';
import { createVmScenario } from './simulate';

const R = {
    vm: 'virtualmachines.kubevirt.io',
    dv: 'datavolumes.cdi.kubevirt.io',
    pvc: 'persistentvolumeclaims',
    nad: 'network-attachment-definitions.k8s.cni.cncf.io',
    vmt: 'virtualmachinetemplates.template.kubevirt.io',
    vmtr: 'virtualmachinetemplaterequests.template.kubevirt.io',
    pool: 'virtualmachinepools.pool.kubevirt.io',
} as const;

let lab: Lab;

beforeAll(() => {
    lab = connectLab();
});

const names = (objs: readonly KubeObject[]): string[] => objs.map((o) => o.metadata?.name ?? '').sort();

async function restoreClean(restore: string): Promise<string> {
    expect(await lab.phase('restore', restore)).toBe('Completed');
    const results = await lab.restoreResults(restore);
    expect(results.errors ?? {}).toEqual({});
    expect(unexpectedWarnings(results.warnings)).toEqual([]);
    const log = await lab.restoreLog(restore);
    expect(pluginErrors(log)).toEqual([]);
    return log;
}

function stoppedVm(ns: string, name: string, extra: { networks?: unknown[]; volumes?: unknown[]; dataVolumeTemplates?: unknown[] } = {}): KubeObject {
    return {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name, namespace: ns },
        spec: {
            runStrategy: 'Halted',
            ...(extra.dataVolumeTemplates ? { dataVolumeTemplates: extra.dataVolumeTemplates } : {}),
            template: {
                spec: {
                    domain: {
                        devices: { interfaces: [{ name: 'default', masquerade: {} }, ...(extra.networks ? [{ name: 'sec', bridge: {} }] : [])] },
                        memory: { guest: '128Mi' },
                    },
                    networks: [{ name: 'default', pod: {} }, ...(extra.networks ?? [])],
                    ...(extra.volumes ? { volumes: extra.volumes } : {}),
                },
            },
        },
        status: { printableStatus: 'Stopped' },
    };
}

describe('(a) NetworkAttachmentDefinitions follow the namespace mapping', () => {
    const NS = 'par-net';
    const TARGET = 'par-net-b';
    const BRIDGE_CONFIG = '{"cniVersion":"0.3.1","name":"br-net","type":"bridge","bridge":"br1","ipam":{}}';
    // Spacing and key order as a person wrote it: the restore must keep all of it.
    const L2_CONFIG = `{\n    "cniVersion": "0.3.1",\n    "name":  "tenant-l2",\n    "type": "ovn-k8s-cni-overlay",\n    "topology":"layer2",\n    "subnets": "10.100.200.0/24",\n    "netAttachDefName": "${NS}/l2-net"\n}\n`;

    beforeAll(async () => {
        const nad = (name: string, config: string): KubeObject => ({
            apiVersion: 'k8s.cni.cncf.io/v1',
            kind: 'NetworkAttachmentDefinition',
            metadata: { name, namespace: NS },
            spec: { config },
        });
        await createVmScenario(lab, NS, [
            nad('br-net', BRIDGE_CONFIG),
            nad('l2-net', L2_CONFIG),
            stoppedVm(NS, 'vm-bridge', { networks: [{ name: 'sec', multus: { networkName: `${NS}/br-net` } }] }),
            stoppedVm(NS, 'vm-l2', { networks: [{ name: 'sec', multus: { networkName: `${NS}/l2-net` } }] }),
        ]);
        await lab.velero(['backup', 'create', 'par-net', '--include-namespaces', NS, '--snapshot-volumes=false', '--wait']);
        expect(await lab.phase('backup', 'par-net')).toBe('Completed');
        await lab.velero(['restore', 'create', 'par-net', '--from-backup', 'par-net', '--namespace-mappings', `${NS}:${TARGET}`, '--wait']);
    }, 180000);

    it('the restore completes without errors or unexpected warnings', async () => {
        const log = await restoreClean('par-net');
        expect(log).toContain(`Mapping netAttachDefName of NetworkAttachmentDefinition ${NS}/l2-net from ${NS}/l2-net to ${TARGET}/l2-net`);
    });

    it.each([
        ['vm-bridge', 'br-net'],
        ['vm-l2', 'l2-net'],
    ])('%s: its multus reference points at the new namespace', async (vm, nad) => {
        const restored = await lab.getJson(R.vm, TARGET, vm);
        expect(at(restored, ['spec', 'template', 'spec', 'networks', 1, 'multus', 'networkName'])).toBe(`${TARGET}/${nad}`);
    });

    it('the OVN layer2 NAD names the new namespace, every other byte of its config as it was', async () => {
        const restored = await lab.getJson(R.nad, TARGET, 'l2-net');
        expect(at(restored, ['spec', 'config'])).toBe(L2_CONFIG.replace(`"${NS}/l2-net"`, `"${TARGET}/l2-net"`));
    });

    it('the bridge NAD comes back byte-identical', async () => {
        expect(at(await lab.getJson(R.nad, TARGET, 'br-net'), ['spec', 'config'])).toBe(BRIDGE_CONFIG);
    });

    it('the source namespace is untouched', async () => {
        expect(at(await lab.getJson(R.nad, NS, 'l2-net'), ['spec', 'config'])).toBe(L2_CONFIG);
    });
});

describe('(b) VirtualMachineTemplates and VirtualMachineTemplateRequests', () => {
    const NS = 'par-tpl';
    const TARGET = 'par-tpl-b';
    const UID = { template: '0e000000-0000-4000-8000-000000000001', dv: '0e000000-0000-4000-8000-000000000002' };
    let files: Map<string, unknown>;

    beforeAll(async () => {
        await createVmScenario(lab, NS, [
            {
                apiVersion: 'template.kubevirt.io/v1beta1',
                kind: 'VirtualMachineTemplate',
                metadata: { name: 'golden', namespace: NS, uid: UID.template, labels: { 'par.kvp/select': 'template' } },
                spec: {
                    parameters: [{ name: 'NAME', required: true }],
                    virtualMachine: {
                        apiVersion: 'kubevirt.io/v1',
                        kind: 'VirtualMachine',
                        metadata: { name: '${NAME}' },
                        spec: {
                            runStrategy: 'Halted',
                            dataVolumeTemplates: [{ metadata: { name: 'rootdisk-${NAME}' }, spec: { source: { pvc: { namespace: NS, name: 'golden-root' } }, storage: {} } }],
                            template: { spec: { domain: { devices: {} }, volumes: [{ name: 'rootdisk', dataVolume: { name: 'rootdisk-${NAME}' } }] } },
                        },
                    },
                },
            },
            {
                apiVersion: 'cdi.kubevirt.io/v1beta1',
                kind: 'DataVolume',
                metadata: {
                    name: 'golden-root',
                    namespace: NS,
                    uid: UID.dv,
                    ownerReferences: [{ apiVersion: 'template.kubevirt.io/v1beta1', kind: 'VirtualMachineTemplate', name: 'golden', uid: UID.template, controller: true }],
                },
                spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '1Gi' } } } },
                status: { phase: 'Succeeded', progress: '100.0%' },
            },
            {
                apiVersion: 'v1',
                kind: 'PersistentVolumeClaim',
                metadata: {
                    name: 'golden-root',
                    namespace: NS,
                    ownerReferences: [{ apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', name: 'golden-root', uid: UID.dv, controller: true }],
                },
                spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
            },
            {
                apiVersion: 'template.kubevirt.io/v1alpha1',
                kind: 'VirtualMachineTemplateRequest',
                metadata: { name: 'golden', namespace: NS },
                spec: { virtualMachineRef: { namespace: NS, name: 'source-vm' } },
            },
        ]);
        await lab.velero(['backup', 'create', 'par-tpl-sel', '--include-namespaces', NS, '--selector', 'par.kvp/select=template', '--snapshot-volumes=false', '--wait']);
        await lab.velero(['backup', 'create', 'par-tpl', '--include-namespaces', NS, '--snapshot-volumes=false', '--wait']);
        files = await lab.readBackup('par-tpl-sel');
        await lab.velero(['restore', 'create', 'par-tpl', '--from-backup', 'par-tpl', '--namespace-mappings', `${NS}:${TARGET}`, '--wait']);
    }, 240000);

    it('a backup selecting only the template holds the DataVolume and PVC it clones', async () => {
        expect(await lab.phase('backup', 'par-tpl-sel')).toBe('Completed');
        expect(names(backupItems(files, R.vmt, NS))).toEqual(['golden']);
        expect(names(backupItems(files, R.dv, NS))).toEqual(['golden-root']);
        expect(names(backupItems(files, R.pvc, NS))).toEqual(['golden-root']);
        expect(backupItems(files, R.vmtr, NS)).toEqual([]);
        expect(at(backupItem(files, R.vmt, NS, 'golden'), ['metadata', 'annotations', 'velero.kubevirt.io/restore-graph'])).toBe(
            '["datavolumes.cdi.kubevirt.io/golden-root","persistentvolumeclaims/golden-root"]',
        );
    });

    it('the namespace restore completes; the request is skipped with its reason logged', async () => {
        const log = await restoreClean('par-tpl');
        expect(log).toContain(`Skipping VirtualMachineTemplateRequest ${NS}/golden: a template request runs once`);
        expect(await lab.list(R.vmtr, TARGET)).toEqual([]);
    });

    it('the template is restored with its source pointing at the new namespace, and its source is there', async () => {
        const template = await lab.getJson(R.vmt, TARGET, 'golden');
        expect(at(template, ['spec', 'virtualMachine', 'spec', 'dataVolumeTemplates', 0, 'spec', 'source', 'pvc'])).toEqual({ namespace: TARGET, name: 'golden-root' });
        expect(at(template, ['metadata', 'annotations', 'velero.kubevirt.io/restore-graph'])).toBeUndefined();
        expect(names(await lab.list(R.dv, TARGET))).toEqual(['golden-root']);
        expect(names(await lab.list(R.pvc, TARGET))).toEqual(['golden-root']);
    });
});

describe('(c) a VirtualMachinePool and its VMs', () => {
    const NS = 'par-pool';
    const TARGET = 'par-pool-b';
    const SINGLE = 'par-pool-c';
    const POOL_UID = '0f000000-0000-4000-8000-000000000001';
    const FINALIZER = 'pool.kubevirt.io/finalizer';
    let files: Map<string, unknown>;

    function poolVm(index: number): KubeObject[] {
        const vmUid = `0f000000-0000-4000-8000-00000000010${index}`;
        const dvUid = `0f000000-0000-4000-8000-00000000020${index}`;
        const disk = `web-disk-${index}`;
        const vm = stoppedVm(NS, `web-${index}`, {
            dataVolumeTemplates: [{ metadata: { name: disk }, spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '1Gi' } } } } }],
            volumes: [{ name: 'disk', dataVolume: { name: disk } }],
        });
        vm.metadata = {
            ...vm.metadata,
            uid: vmUid,
            labels: { 'kubevirt.io/vmpool': 'web' },
            finalizers: [FINALIZER],
            ownerReferences: [{ apiVersion: 'pool.kubevirt.io/v1beta1', kind: 'VirtualMachinePool', name: 'web', uid: POOL_UID, controller: true }],
        };
        return [
            vm,
            {
                apiVersion: 'cdi.kubevirt.io/v1beta1',
                kind: 'DataVolume',
                metadata: {
                    name: disk,
                    namespace: NS,
                    uid: dvUid,
                    ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: `web-${index}`, uid: vmUid, controller: true }],
                },
                spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '1Gi' } } } },
                status: { phase: 'Succeeded', progress: '100.0%' },
            },
            {
                apiVersion: 'v1',
                kind: 'PersistentVolumeClaim',
                metadata: { name: disk, namespace: NS, ownerReferences: [{ apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', name: disk, uid: dvUid, controller: true }] },
                spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
            },
        ];
    }

    beforeAll(async () => {
        await createVmScenario(lab, NS, [
            {
                apiVersion: 'pool.kubevirt.io/v1beta1',
                kind: 'VirtualMachinePool',
                metadata: { name: 'web', namespace: NS, uid: POOL_UID, labels: { 'par.kvp/select': 'pool' } },
                spec: {
                    replicas: 2,
                    selector: { matchLabels: { 'kubevirt.io/vmpool': 'web' } },
                    virtualMachineTemplate: {
                        metadata: { labels: { 'kubevirt.io/vmpool': 'web' } },
                        spec: {
                            runStrategy: 'Halted',
                            dataVolumeTemplates: [{ metadata: { name: 'web-disk' }, spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '1Gi' } } } } }],
                            template: {
                                metadata: { labels: { 'kubevirt.io/vmpool': 'web' } },
                                spec: { domain: { devices: {} }, volumes: [{ name: 'disk', dataVolume: { name: 'web-disk' } }] },
                            },
                        },
                    },
                },
            },
            ...poolVm(0),
            ...poolVm(1),
        ]);
        await lab.velero(['backup', 'create', 'par-pool', '--include-namespaces', NS, '--selector', 'par.kvp/select=pool', '--snapshot-volumes=false', '--wait']);
        files = await lab.readBackup('par-pool');
        await lab.velero(['restore', 'create', 'par-pool', '--from-backup', 'par-pool', '--namespace-mappings', `${NS}:${TARGET}`, '--wait']);
        await lab.velero([
            'restore',
            'create',
            'par-pool-one',
            '--from-backup',
            'par-pool',
            '--namespace-mappings',
            `${NS}:${SINGLE}`,
            '--selector',
            'velero.kubevirt.io/vm=web-1',
            '--wait',
        ]);
    }, 240000);

    it('a backup selecting only the pool holds its VMs and their disks', async () => {
        expect(await lab.phase('backup', 'par-pool')).toBe('Completed');
        expect(names(backupItems(files, R.pool, NS))).toEqual(['web']);
        expect(names(backupItems(files, R.vm, NS))).toEqual(['web-0', 'web-1']);
        expect(names(backupItems(files, R.dv, NS))).toEqual(['web-disk-0', 'web-disk-1']);
        expect(names(backupItems(files, R.pvc, NS))).toEqual(['web-disk-0', 'web-disk-1']);
    });

    it('restored next to the original: the pool and each disk exactly once, no VM (the pool recreates them), reasons logged', async () => {
        const log = await restoreClean('par-pool');
        for (const vm of ['web-0', 'web-1']) {
            expect(log).toContain(`Skipping VirtualMachine ${NS}/${vm}: it belongs to VirtualMachinePool ${TARGET}/web, which recreates it under the same name`);
        }
        expect(names(await lab.list(R.pool, TARGET))).toEqual(['web']);
        expect(await lab.list(R.vm, TARGET)).toEqual([]);
        expect(names(await lab.list(R.dv, TARGET))).toEqual(['web-disk-0', 'web-disk-1']);
        expect(names(await lab.list(R.pvc, TARGET))).toEqual(['web-disk-0', 'web-disk-1']);
        const dv = await lab.getJson(R.dv, TARGET, 'web-disk-0');
        expect(at(dv, ['metadata', 'ownerReferences'])).toBeUndefined();
        expect(at(dv, ['metadata', 'annotations', 'cdi.kubevirt.io/storage.prePopulated'])).toBe('web-disk-0');
    });

    it('one VM restored where no pool is: restored standalone, without the pool finalizer, with its disk', async () => {
        await restoreClean('par-pool-one');
        expect(await lab.list(R.pool, SINGLE)).toEqual([]);
        expect(names(await lab.list(R.vm, SINGLE))).toEqual(['web-1']);
        const vm = await lab.getJson(R.vm, SINGLE, 'web-1');
        expect(at(vm, ['metadata', 'finalizers'])).toBeUndefined();
        expect(at(vm, ['metadata', 'ownerReferences'])).toBeUndefined();
        expect(at(vm, ['metadata', 'labels', 'kubevirt.io/vmpool'])).toBe('web');
        expect(names(await lab.list(R.dv, SINGLE))).toEqual(['web-disk-1']);
        expect(names(await lab.list(R.pvc, SINGLE))).toEqual(['web-disk-1']);
    });
});
