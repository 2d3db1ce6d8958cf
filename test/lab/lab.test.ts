/**
 * Proof of the lab harness: the shared lab (jest globalSetup) has the CRDs, an Available BSL and our
 * plugin in the velero server; the VM simulation leaves objects the way KubeVirt and CDI would; velero
 * backups and restores run through the real CLI; the server log has no error from our plugin.
 * Namespaces and backup names here start with "lab-" (other test files must use their own prefix).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { KubeObject } from '../../src/kube/object';
import { connectLab, DEFAULT_PLUGIN_BINARY, pluginLogLines, REPO, type Lab } from './lab';
import { createVmScenario, find, loadSample } from './simulate';

interface PluginEntry {
    kind: string;
    name: string;
}
const PLUGINS = parse(readFileSync(join(REPO, 'test', 'fixtures', 'conformance', 'plugins.yaml'), 'utf8')) as PluginEntry[];

let lab: Lab;
beforeAll(() => {
    lab = connectLab();
});

function status(o: KubeObject | undefined): Record<string, unknown> {
    return (o as { status?: Record<string, unknown> } | undefined)?.status ?? {};
}
function uidOf(o: KubeObject | undefined): string {
    return o?.metadata?.uid ?? '(none)';
}
function conditionTypes(o: KubeObject | undefined): string[] {
    return ((status(o)['conditions'] as { type: string; status: string }[] | undefined) ?? []).filter((c) => c.status === 'True').map((c) => c.type);
}

describe('lab control plane', () => {
    // As virt-operator, CDI, Velero and external-snapshotter install them: KubeVirt's VMI and Velero's
    // kinds have no status subresource (their controllers update the whole object).
    it.each([
        ['virtualmachines.kubevirt.io', true],
        ['virtualmachineinstances.kubevirt.io', false],
        ['virtualmachineinstancereplicasets.kubevirt.io', true],
        ['datavolumes.cdi.kubevirt.io', true],
        ['volumesnapshots.snapshot.storage.k8s.io', true],
        ['backups.velero.io', false],
        ['restores.velero.io', false],
    ])('CRD %s is established; status subresource: %s', async (crd, hasStatus) => {
        const obj = await lab.getJson('customresourcedefinitions', '', crd);
        const spec = obj?.spec as { versions: { storage: boolean; subresources?: { status?: unknown } }[] } | undefined;
        const storage = spec?.versions.find((v) => v.storage);
        expect(storage?.subresources?.status !== undefined).toBe(hasStatus);
        expect(conditionTypes(obj)).toContain('Established');
    });

    it.each([
        'virtualmachineclusterinstancetypes.instancetype.kubevirt.io',
        'virtualmachinepreferences.instancetype.kubevirt.io',
        'datasources.cdi.kubevirt.io',
        'network-attachment-definitions.k8s.cni.cncf.io',
        'virtualmachinepools.pool.kubevirt.io',
        'virtualmachinetemplates.template.kubevirt.io',
        'virtualmachinetemplaterequests.template.kubevirt.io',
    ])('CRD %s is established', async (crd) => {
        expect(conditionTypes(await lab.getJson('customresourcedefinitions', '', crd))).toContain('Established');
    });

    it('BackupStorageLocation default is Available', async () => {
        expect(await lab.bslAvailable()).toBe(true);
    });

    it('velero plugin get lists exactly our actions (plugins.yaml) with their kinds', async () => {
        const out = await lab.velero(['plugin', 'get']);
        const ours = out
            .split('\n')
            .map((l) => l.trim().split(/\s+/))
            .filter((f) => f[0]?.startsWith('kubevirt-velero-plugin/'))
            .map(([name = '', kind]) => ({ kind, name }));
        expect(ours).toHaveLength(PLUGINS.length);
        expect(ours.sort((a, b) => a.name.localeCompare(b.name))).toEqual(PLUGINS.map((p) => ({ kind: p.kind, name: p.name })).sort((a, b) => a.name.localeCompare(b.name)));
    });
});

describe('VM simulation', () => {
    const ns = 'lab-running';
    let objs: KubeObject[];
    beforeAll(async () => {
        objs = await createVmScenario(lab, ns, '02-vm-with-pvc.yaml');
    });

    it('creates every object of the sample plus the bound PV, and its StorageClass exists', async () => {
        // The StorageClass is created only when missing: other suites sharing this lab may have made it.
        const kinds = objs
            .map((o) => o.kind)
            .filter((k) => k !== 'StorageClass')
            .sort();
        expect(kinds).toEqual(['DataVolume', 'Namespace', 'PersistentVolume', 'PersistentVolumeClaim', 'Pod', 'VirtualMachine', 'VirtualMachineInstance']);
        const pvc = objs.find((o) => o.kind === 'PersistentVolumeClaim');
        const className = (pvc?.spec as { storageClassName?: string } | undefined)?.storageClassName ?? '';
        expect(className).not.toBe('');
        expect(await lab.getJson('storageclasses.storage.k8s.io', '', className)).toBeDefined();
    });

    // eslint-disable-next-line complexity -- optional chaining over the owner references it checks
    it('links owners by the uids the API server assigned', async () => {
        const vm = await lab.getJson('virtualmachines.kubevirt.io', ns, 'test-vm-with-pvc');
        const vmi = await lab.getJson('virtualmachineinstances.kubevirt.io', ns, 'test-vm-with-pvc');
        const pod = await lab.getJson('pods', ns, 'virt-launcher-test-vm-with-pvc-k2x9p');
        const dv = await lab.getJson('datavolumes.cdi.kubevirt.io', ns, 'test-pvc');
        const pvc = await lab.getJson('persistentvolumeclaims', ns, 'test-pvc');
        const pv = await lab.getJson('persistentvolumes', '', (pvc?.spec as { volumeName: string }).volumeName);
        expect(vmi?.metadata?.ownerReferences?.[0]?.uid).toBe(uidOf(vm));
        expect(pod?.metadata?.ownerReferences?.[0]?.uid).toBe(uidOf(vmi));
        expect(pod?.metadata?.labels?.['kubevirt.io/created-by']).toBe(uidOf(vmi));
        expect(Object.keys(status(vmi)['activePods'] as object)).toEqual([uidOf(pod)]);
        expect(pvc?.metadata?.ownerReferences?.[0]?.uid).toBe(uidOf(dv));
        expect(pvc?.metadata?.annotations?.['cdi.kubevirt.io/createdForDataVolume']).toBe(uidOf(dv));
        expect((pv?.spec as { claimRef: { uid: string; namespace: string } }).claimRef).toMatchObject({ uid: uidOf(pvc), namespace: ns });
        expect(vm?.metadata?.uid).not.toBe(find(loadSample('02-vm-with-pvc.yaml'), 'VirtualMachine', 'test-vm-with-pvc').metadata?.uid);
    });

    it('writes the statuses through the status subresource', async () => {
        const got = {
            vm: status(await lab.getJson('virtualmachines.kubevirt.io', ns, 'test-vm-with-pvc')),
            vmi: status(await lab.getJson('virtualmachineinstances.kubevirt.io', ns, 'test-vm-with-pvc')),
            pod: status(await lab.getJson('pods', ns, 'virt-launcher-test-vm-with-pvc-k2x9p')),
            dv: status(await lab.getJson('datavolumes.cdi.kubevirt.io', ns, 'test-pvc')),
            pvc: status(await lab.getJson('persistentvolumeclaims', ns, 'test-pvc')),
        };
        expect({
            vm: [got.vm['printableStatus'], got.vm['created'], got.vm['ready']],
            vmi: got.vmi['phase'],
            pod: got.pod['phase'],
            dv: got.dv['phase'],
            pvc: got.pvc['phase'],
        }).toEqual({ vm: ['Running', true, true], vmi: 'Running', pod: 'Running', dv: 'Succeeded', pvc: 'Bound' });
    });

    it('moves the sample into the namespace, hook commands included', async () => {
        const pod = await lab.getJson('pods', ns, 'virt-launcher-test-vm-with-pvc-k2x9p');
        expect(pod?.metadata?.labels?.['kubevirt.io']).toBe('virt-launcher');
        expect(pod?.metadata?.annotations?.['kubevirt.io/domain']).toBe('test-vm-with-pvc');
        expect(JSON.parse(pod?.metadata?.annotations?.['pre.hook.backup.velero.io/command'] ?? '[]')).toEqual([
            '/usr/bin/virt-freezer',
            '--freeze',
            '--name',
            'test-vm-with-pvc',
            '--namespace',
            ns,
        ]);
    });

    it.each([
        ['05-vm-with-access-credentials.yaml', 'VirtualMachineInstance', 'test-vm-with-access-credentials', 'AgentConnected'],
        ['07-vmi-with-dv.yaml', 'VirtualMachineInstance', 'test-vmi-with-dv', 'AgentConnected'],
    ])('%s: %s %s has condition %s', async (file, kind, name, condition) => {
        const got = await createVmScenario(lab, `lab-${file.slice(0, 2)}`, file);
        expect(conditionTypes(find(got, kind, name))).toContain(condition);
    });

    it('06: the VM status names its instancetype and preference revisions, which exist', async () => {
        const sns = 'lab-06';
        await createVmScenario(lab, sns, '06-vm-with-instancetype-and-preference.yaml');
        const vm = await lab.getJson('virtualmachines.kubevirt.io', sns, 'test-vm-with-instancetype-and-preference');
        const it = status(vm)['instancetypeRef'] as { controllerRevisionRef?: { name: string } } | undefined;
        const pref = status(vm)['preferenceRef'] as { controllerRevisionRef?: { name: string } } | undefined;
        const names = [it?.controllerRevisionRef?.name ?? '', pref?.controllerRevisionRef?.name ?? ''];
        for (const n of names) expect((await lab.getJson('controllerrevisions', sns, n))?.metadata?.name).toBe(n);
    });

    it('the same sample twice (two namespaces) gets two PersistentVolumes', async () => {
        const a = await createVmScenario(lab, 'lab-twice-a', '10-vm-importing.yaml');
        const b = await createVmScenario(lab, 'lab-twice-b', '01-vm-with-dv-and-dvtemplate.yaml');
        const c = await createVmScenario(lab, 'lab-twice-c', '01-vm-with-dv-and-dvtemplate.yaml');
        expect(a.filter((o) => o.kind === 'PersistentVolume')).toHaveLength(0); // importing: PVC Pending
        const pvs = [...b, ...c].filter((o) => o.kind === 'PersistentVolume').map((o) => o.metadata?.name);
        expect(new Set(pvs).size).toBe(4);
    });
});

describe('velero backup and restore through the CLI', () => {
    it('a namespace with a stopped VM backs up Completed, and the tarball holds the VM, DVs and PVCs', async () => {
        const ns = 'lab-stopped';
        await createVmScenario(lab, ns, '01-vm-with-dv-and-dvtemplate.yaml');
        await lab.velero(['backup', 'create', 'lab-stopped', '--include-namespaces', ns, '--snapshot-volumes=false', '--wait']);
        expect(await lab.phase('backup', 'lab-stopped')).toBe('Completed');
        const files = await lab.readBackup('lab-stopped');
        for (const p of [
            `resources/virtualmachines.kubevirt.io/namespaces/${ns}/test-vm-with-dv-and-dvtemplate.json`,
            `resources/datavolumes.cdi.kubevirt.io/namespaces/${ns}/test-dv.json`,
            `resources/datavolumes.cdi.kubevirt.io/namespaces/${ns}/test-dv-template.json`,
            `resources/persistentvolumeclaims/namespaces/${ns}/test-dv.json`,
        ]) {
            expect([p, files.has(p)]).toEqual([p, true]);
        }
        const vm = files.get(`resources/virtualmachines.kubevirt.io/namespaces/${ns}/test-vm-with-dv-and-dvtemplate.json`) as KubeObject;
        expect(vm.metadata?.name).toBe('test-vm-with-dv-and-dvtemplate');
    });

    it('a running VM: hooks are attempted (pre before post) and fail only for want of a kubelet', async () => {
        const ns = 'lab-running'; // created by the VM simulation tests above
        await lab.velero(['backup', 'create', 'lab-running', '--include-namespaces', ns, '--snapshot-volumes=false', '--wait']);
        const log = await lab.backupLog('lab-running');
        const errors = log.split('\n').filter((l) => l.includes('level=error'));
        expect(errors.map((l) => /hookPhase=(\w+)/.exec(l)?.[1] ?? l)).toEqual(['pre', 'post']);
        expect(errors.every((l) => l.includes('msg="Error executing hook"'))).toBe(true);
        expect(await lab.phase('backup', 'lab-running')).toBe('PartiallyFailed');
        const files = await lab.readBackup('lab-running');
        for (const p of [
            `resources/virtualmachines.kubevirt.io/namespaces/${ns}/test-vm-with-pvc.json`,
            `resources/virtualmachineinstances.kubevirt.io/namespaces/${ns}/test-vm-with-pvc.json`,
            `resources/pods/namespaces/${ns}/virt-launcher-test-vm-with-pvc-k2x9p.json`,
            `resources/datavolumes.cdi.kubevirt.io/namespaces/${ns}/test-pvc.json`,
            `resources/persistentvolumeclaims/namespaces/${ns}/test-pvc.json`,
        ]) {
            expect([p, files.has(p)]).toEqual([p, true]);
        }
    });

    it('deleteNamespace empties and removes the namespace; the restore brings the VM back, Completed', async () => {
        const ns = 'lab-stopped';
        await lab.deleteNamespace(ns);
        expect(await lab.getJson('namespaces', '', ns)).toBeUndefined();
        expect(await lab.list('persistentvolumeclaims', ns)).toEqual([]);
        await lab.velero(['restore', 'create', 'lab-stopped', '--from-backup', 'lab-stopped', '--wait']);
        expect(await lab.phase('restore', 'lab-stopped')).toBe('Completed');
        expect((await lab.restoreResults('lab-stopped')).errors ?? {}).toEqual({});
        expect((await lab.getJson('virtualmachines.kubevirt.io', ns, 'test-vm-with-dv-and-dvtemplate'))?.metadata?.name).toBe('test-vm-with-dv-and-dvtemplate');
        expect(await lab.restoreLog('lab-stopped')).toContain('restore completed');
    });

    it('the velero server log has no error-level line from our plugin', async () => {
        const log = await lab.veleroLog();
        const ours = pluginLogLines(log);
        expect(ours.length).toBeGreaterThan(0); // the plugin ran and logged
        expect(ours.filter((l) => l.includes('level=error'))).toEqual([]);
    });
});

describe('identities and restarts', () => {
    const role = join(REPO, 'test', 'lab', 'testdata', 'namespace-reader.clusterrole.yaml');

    it.each(['user:lab-alice', 'lab-reader', 'default/lab-reader'])('kubeconfigFor(%s) is bound to the ClusterRole and nothing more', async (who) => {
        const kc = await lab.kubeconfigFor(who, role);
        const can = async (verb: string, res: string): Promise<string> => (await lab.kubectlRaw(['--kubeconfig', kc, 'auth', 'can-i', verb, res])).stdout.trim();
        expect([await can('list', 'namespaces'), await can('get', 'secrets'), await can('create', 'namespaces')]).toEqual(['yes', 'no', 'no']);
        expect(await lab.kubectlRaw(['--kubeconfig', kc, 'get', 'namespaces', '-o', 'name'])).toMatchObject({ code: 0 });
    });

    it('restartVelero brings the server back with the BSL Available and our plugins listed', async () => {
        const before = lab.state.veleroPid;
        await lab.restartVelero({ pluginBinary: DEFAULT_PLUGIN_BINARY }); // also re-copies the plugin
        const after = connectLab();
        expect(after.state.veleroPid).not.toBe(before);
        expect(await lab.bslAvailable()).toBe(true);
        expect((await lab.velero(['plugin', 'get'])).match(/kubevirt-velero-plugin\//g)).toHaveLength(PLUGINS.length);
    });
});
