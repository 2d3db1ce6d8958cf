/**
 * A real-pod memory check (issue 12): Velero's default pod limit (`velero install`, the Helm chart) is
 * 512 MiB for the velero server and every plugin process it starts. This test starts a lab of its own
 * whose velero server runs inside a 512 MiB cgroup v1 memory cgroup (the server is exec'd by a wrapper
 * that first moves itself into the cgroup, so every plugin process inherits it), creates a namespace of
 * 1,000 running VMs (VM, VMI, launcher pod, cloud-init Secret, a template DataVolume with its Bound PVC),
 * backs it up with the real velero CLI and restores it under a namespace mapping, and shows that both
 * complete with no OOM kill in the cgroup. The cgroup's peak usage is printed.
 *
 * Needs root (creating a memory cgroup): run without it, the test FAILS with the reason, it does not skip.
 * `npm test` as another user does not start it and says so: a `not run:` line and `, 2 skipped` on its
 * last line, never counted as passed (scripts/test.sh; CI runs as root). KVP_MEMORY_VMS overrides the VM count (default 1000); KVP_PLUGIN_BINARY
 * another plugin build (default dist/kubevirt-velero-plugin, as everywhere in the lab).
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { KubeObject } from '../../src/kube/object';
import { startLab, type Lab } from './lab';
import { CSI_DRIVER, STORAGE_CLASS } from './cluster';

const CGROUP_ROOT = '/sys/fs/cgroup/memory';
const LIMIT = 512 * 1024 * 1024;
const VMS = Number(process.env['KVP_MEMORY_VMS'] ?? '1000');
/**
 * KVP_MEMORY_CLUSTER=1: run on the kwok/CSI lab (launcher pods Running on node01, CSI snapshots taken).
 * Each claim then gets its CSI PersistentVolume: with snapshots on, Velero looks up the volume of every
 * claim a pod mounts (its volume policy), and a claim whose status says Bound without a volume behind it
 * fails twice per VM ("fail to get PV for PVC …" and "Error backing up item" for the launcher pod:
 * 2,000 errors for 1,000 VMs, issue 11). Without snapshots Velero never asks, so the default run keeps
 * the fixture it was measured with. Time: Velero's CSI action waits for each claim's snapshot in turn.
 * Polling every 5 s (Velero's default) the backup took 5.7 s per VM on the shared 2-core host (100 VMs:
 * 9 min 27 s); with the lab's CSI_SNAPSHOT_EARLY_FREQUENT_POLLING (1 s for the first 10 s) 2.1 s per VM
 * (100 VMs: 3 min 27 s, 0 errors, cgroup peak 117 MiB backup / 164 MiB restore), so 1,000 VMs need
 * about 35 minutes of this test's 60 on that host.
 */
const CLUSTER = process.env['KVP_MEMORY_CLUSTER'] === '1';
const NS = 'mem-vms';
const MAPPED = 'mem-vms-restored';
const MINUTES = 60_000;

let lab: Lab | undefined;
let cgroup = '';

function cgroupFile(name: string): string {
    return readFileSync(join(cgroup, name), 'utf8').trim();
}

/** The OOM kills counted by the cgroup (memory.oom_control "oom_kill N"; kernels before 4.13 lack it). */
function oomKills(): number {
    const m = /^oom_kill (\d+)$/m.exec(cgroupFile('memory.oom_control'));
    return m ? Number(m[1]) : 0;
}

function mib(bytes: number): string {
    return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

// ---- creating the namespace fast: straight HTTPS with the lab's admin certificate ------------------------

class Api {
    private readonly agent: https.Agent;
    constructor(
        private readonly server: URL,
        tls: https.AgentOptions,
    ) {
        this.agent = new https.Agent({ ...tls, keepAlive: true, maxSockets: 16 });
    }

    request(method: string, path: string, body: unknown, contentType = 'application/json'): Promise<KubeObject> {
        const data = Buffer.from(JSON.stringify(body));
        const once = (): Promise<{ status: number; text: string }> =>
            new Promise((resolve, reject) => {
                const req = https.request(
                    {
                        agent: this.agent,
                        hostname: this.server.hostname,
                        port: this.server.port,
                        method,
                        path,
                        timeout: 120_000,
                        headers: { accept: 'application/json', 'content-type': contentType, 'content-length': data.length },
                    },
                    (res) => {
                        const chunks: Buffer[] = [];
                        res.on('data', (c: Buffer) => chunks.push(c));
                        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
                        res.on('error', reject);
                    },
                );
                req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
                req.on('error', reject);
                req.end(data);
            });
        const attempt = async (n: number): Promise<KubeObject> => {
            const res = await once().catch((e: unknown) => ({ status: 0, text: String(e) }));
            if (res.status >= 200 && res.status < 300) return JSON.parse(res.text) as KubeObject;
            if ((res.status === 0 || res.status === 429 || res.status >= 500) && n < 8) {
                await new Promise((r) => setTimeout(r, 250 * n));
                return attempt(n + 1);
            }
            throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.text.slice(0, 300)}`);
        };
        return attempt(1);
    }

    close(): void {
        this.agent.destroy();
    }
}

async function pool(count: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
        while (next < count) await fn(next++);
    };
    await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

const STAMP = '2026-05-04T09:14:05Z';

function owner(o: KubeObject): Record<string, unknown> {
    return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata?.name, uid: o.metadata?.uid, controller: true, blockOwnerDeletion: true };
}

function vmiSpec(name: string): Record<string, unknown> {
    return {
        domain: {
            devices: {
                disks: [
                    { name: 'rootdisk', disk: { bus: 'virtio' } },
                    { name: 'cloudinitdisk', disk: { bus: 'virtio' } },
                ],
            },
            resources: { requests: { memory: '1Gi' } },
        },
        volumes: [
            { name: 'rootdisk', dataVolume: { name: `${name}-root` } },
            { name: 'cloudinitdisk', cloudInitNoCloud: { secretRef: { name: `${name}-cloudinit` } } },
        ],
    };
}

const DV_SPEC = { source: { blank: {} }, storage: { resources: { requests: { storage: '1Gi' } } } };

async function createNamespace(api: Api, ns: string, count: number): Promise<void> {
    await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const p = {
        secrets: `/api/v1/namespaces/${ns}/secrets`,
        pods: `/api/v1/namespaces/${ns}/pods`,
        pvcs: `/api/v1/namespaces/${ns}/persistentvolumeclaims`,
        pvs: '/api/v1/persistentvolumes',
        vms: `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`,
        vmis: `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances`,
        dvs: `/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes`,
    };
    const merge = 'application/merge-patch+json';
    await pool(count, 12, async (i) => {
        const name = `vm-${String(i).padStart(4, '0')}`;
        await api.request('POST', p.secrets, {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: `${name}-cloudinit`, namespace: ns },
            type: 'Opaque',
            data: { userdata: Buffer.from(`#cloud-config\nhostname: ${name}\n`).toString('base64') },
        });
        const vm = await api.request('POST', p.vms, {
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachine',
            metadata: { name, namespace: ns },
            spec: {
                runStrategy: 'Always',
                dataVolumeTemplates: [{ metadata: { name: `${name}-root` }, spec: DV_SPEC }],
                template: { metadata: { labels: { 'kubevirt.io/domain': name } }, spec: vmiSpec(name) },
            },
        });
        await api.request('PATCH', `${p.vms}/${name}/status`, { status: { created: true, ready: true, printableStatus: 'Running' } }, merge);
        const dv = await api.request('POST', p.dvs, {
            apiVersion: 'cdi.kubevirt.io/v1beta1',
            kind: 'DataVolume',
            metadata: { name: `${name}-root`, namespace: ns, ownerReferences: [owner(vm)] },
            spec: DV_SPEC,
        });
        await api.request('PATCH', `${p.dvs}/${name}-root/status`, { status: { phase: 'Succeeded', progress: '100.0%', claimName: `${name}-root` } }, merge);
        const pv = `pv-${ns}-${name}-root`;
        if (CLUSTER) {
            await api.request('POST', p.pvs, {
                apiVersion: 'v1',
                kind: 'PersistentVolume',
                metadata: { name: pv },
                spec: {
                    capacity: { storage: '1Gi' },
                    accessModes: ['ReadWriteOnce'],
                    persistentVolumeReclaimPolicy: 'Delete',
                    storageClassName: STORAGE_CLASS,
                    csi: { driver: CSI_DRIVER, volumeHandle: `mem-${name}-root` },
                    claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: `${name}-root` },
                },
            });
            await api.request('PATCH', `${p.pvs}/${pv}/status`, { status: { phase: 'Bound' } }, merge);
        }
        await api.request('POST', p.pvcs, {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: {
                name: `${name}-root`,
                namespace: ns,
                ownerReferences: [owner(dv)],
                annotations: { 'cdi.kubevirt.io/createdForDataVolume': dv.metadata?.uid ?? '', 'cdi.kubevirt.io/storage.pod.phase': 'Succeeded' },
            },
            spec: {
                accessModes: ['ReadWriteOnce'],
                resources: { requests: { storage: '1Gi' } },
                ...(CLUSTER ? { storageClassName: STORAGE_CLASS, volumeName: pv } : {}),
            },
        });
        await api.request('PATCH', `${p.pvcs}/${name}-root/status`, { status: { phase: 'Bound', capacity: { storage: '1Gi' } } }, merge);
        const vmi = await api.request('POST', p.vmis, {
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachineInstance',
            metadata: { name, namespace: ns, labels: { 'kubevirt.io/domain': name }, ownerReferences: [owner(vm)] },
            spec: vmiSpec(name),
            status: { phase: 'Running', nodeName: 'node01', conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: STAMP }] },
        });
        await api.request('POST', p.pods, {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
                name: `virt-launcher-${name}-${i.toString(36).padStart(5, 'x')}`,
                namespace: ns,
                labels: { 'kubevirt.io': 'virt-launcher', 'kubevirt.io/created-by': vmi.metadata?.uid ?? '', 'vm.kubevirt.io/name': name },
                annotations: { 'kubevirt.io/domain': name },
                ownerReferences: [owner(vmi)],
            },
            spec: {
                nodeName: 'node01',
                restartPolicy: 'Never',
                automountServiceAccountToken: false,
                containers: [{ name: 'compute', image: 'quay.io/kubevirt/virt-launcher:v1.7.1' }],
                volumes: [{ name: 'rootdisk', persistentVolumeClaim: { claimName: `${name}-root` } }],
            },
        });
    });
}

describe('inside a 512 MiB memory cgroup (Velero’s default pod limit)', () => {
    beforeAll(async () => {
        if (process.getuid?.() !== 0) {
            throw new Error('the memory check needs root: it creates a cgroup v1 memory cgroup under /sys/fs/cgroup/memory (run the lab suite as root)');
        }
        if (!existsSync(join(CGROUP_ROOT, 'cgroup.procs'))) {
            throw new Error(`the memory check needs the cgroup v1 memory controller at ${CGROUP_ROOT} (not mounted here)`);
        }
        cgroup = join(CGROUP_ROOT, `kvp-memory-${process.pid}`);
        mkdirSync(cgroup);
        writeFileSync(join(cgroup, 'memory.limit_in_bytes'), String(LIMIT));
        const binary = process.env['KVP_PLUGIN_BINARY'];
        lab = await startLab({
            ...(binary !== undefined && binary !== '' ? { pluginBinary: binary } : {}),
            veleroLogLevel: 'info',
            // The world this check was written for (as the shared lab): no kubelet, no CSI snapshots,
            // so the memory measured is the plugin's and Velero's, not 2,000 hook execs and snapshots.
            kwok: CLUSTER,
            csi: CLUSTER,
            provisioner: false,
            // The wrapper moves itself into the cgroup, then becomes the velero server.
            veleroCommandPrefix: ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', join(cgroup, 'cgroup.procs')],
        });
        const tls = {
            ca: readFileSync(lab.state.apiServerCa ?? ''),
            cert: readFileSync(join(lab.workDir, 'pki', 'admin.crt')),
            key: readFileSync(join(lab.workDir, 'pki', 'admin.key')),
        };
        const api = new Api(new URL(lab.apiServer), tls);
        try {
            const t0 = Date.now();
            await createNamespace(api, NS, VMS);
            process.stderr.write(`memory: ${VMS} running VMs created in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
        } finally {
            api.close();
        }
    }, 45 * MINUTES);

    afterAll(async () => {
        await lab?.stop();
        if (cgroup !== '' && existsSync(cgroup)) {
            for (let i = 0; i < 50; i++) {
                try {
                    rmdirSync(cgroup);
                    break;
                } catch {
                    await new Promise((r) => setTimeout(r, 200));
                }
            }
        }
    }, 5 * MINUTES);

    test('the velero server runs in the cgroup with its 512 MiB limit', () => {
        const pid = lab?.state.veleroPid ?? 0;
        expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toMatch(new RegExp(`memory:/kvp-memory-${process.pid}$`, 'm'));
        expect(Number(cgroupFile('memory.limit_in_bytes'))).toBe(LIMIT);
    });

    test(
        `a backup of ${VMS} running VMs and its restore complete without an OOM kill`,
        async () => {
            const l = lab as Lab;
            // Our plugin's processes live only while a backup or restore runs: look for them in the cgroup then.
            let pluginSeen = false;
            const poll = setInterval(() => {
                for (const pid of cgroupFile('cgroup.procs').split('\n')) {
                    try {
                        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]?.endsWith('/kubevirt-velero-plugin')) pluginSeen = true;
                    } catch {
                        // exited meanwhile
                    }
                }
            }, 100);
            writeFileSync(join(cgroup, 'memory.max_usage_in_bytes'), '0');
            await l.velero(['backup', 'create', 'mem-backup', '--include-namespaces', NS, ...(CLUSTER ? [] : ['--snapshot-volumes=false']), '--wait']);
            const backupPeak = Number(cgroupFile('memory.max_usage_in_bytes'));
            const backup = await l.getJson('backups.velero.io', l.veleroNamespace, 'mem-backup');
            const bs = (backup?.['status'] ?? {}) as { phase?: string; errors?: number; progress?: { itemsBackedUp?: number } };

            writeFileSync(join(cgroup, 'memory.max_usage_in_bytes'), '0');
            await l.velero(['restore', 'create', 'mem-restore', '--from-backup', 'mem-backup', '--namespace-mappings', `${NS}:${MAPPED}`, '--wait']);
            const restorePeak = Number(cgroupFile('memory.max_usage_in_bytes'));
            const restore = await l.getJson('restores.velero.io', l.veleroNamespace, 'mem-restore');
            const rs = (restore?.['status'] ?? {}) as { phase?: string; errors?: number };
            clearInterval(poll);
            const restoredVms = (await l.list('virtualmachines.kubevirt.io', MAPPED)).length;
            process.stderr.write(
                `memory: cgroup peak (velero server + plugins, page cache included): backup ${mib(backupPeak)}, restore ${mib(restorePeak)}; ` +
                    `limit hit ${cgroupFile('memory.failcnt')} times; OOM kills ${oomKills()}; ` +
                    `plugin process seen in the cgroup: ${pluginSeen}; backup ${bs.phase ?? '?'} (${bs.progress?.itemsBackedUp ?? '?'} items, ${bs.errors ?? 0} errors), restore ${rs.phase ?? '?'} (${restoredVms} VMs)\n`,
            );

            expect(pluginSeen).toBe(true);
            expect(oomKills()).toBe(0);
            expect({ phase: bs.phase, errors: bs.errors ?? 0 }).toEqual({ phase: 'Completed', errors: 0 });
            // VM, VMI, pod, Secret, DataVolume, PVC per VM.
            expect(bs.progress?.itemsBackedUp).toBeGreaterThanOrEqual(6 * VMS);
            expect({ phase: rs.phase, errors: rs.errors ?? 0 }).toEqual({ phase: 'Completed', errors: 0 });
            expect(restoredVms).toBe(VMS);
            expect(backupPeak).toBeLessThan(LIMIT);
            expect(restorePeak).toBeLessThan(LIMIT);
        },
        60 * MINUTES,
    );
});
