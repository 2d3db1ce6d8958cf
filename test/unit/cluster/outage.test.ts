/**
 * "A 3 s outage in the middle of a 100-VM backup loses only the items that were being read during it."
 * The backup action cores (ItemBlock, VM, VMI) run for 100 running VMs in 2 namespaces, in Velero's
 * order (namespace by namespace, one item after the other), against the real cluster reader with its
 * production deadline, retries and cool-down, over HTTP to the fake API server. In the middle of the
 * run every request gets 500 for 3 s. A VM is lost only if its actions ran while the outage (or the
 * cool-down of a failure it caused) lasted; every other VM's output is identical to a fault-free run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vmItemBlockAction } from '../../../src/item-block-actions/itemblock';
import { vmBackupAction } from '../../../src/backup-item-actions/vm';
import { runBackupAction, runItemBlockAction } from '../../../src/plugin/adapter';
import { vmiBackupAction } from '../../../src/backup-item-actions/vmi';
import { DEFAULT_COOL_DOWN_MS, KubeCluster } from '../../../src/cluster/kube';
import { RequestCounter } from '../../../src/cluster/stats';
import { errorMessage } from '../../../src/errors';
import type { KubeObject } from '../../../src/kube/object';
import type { Backup } from '../../../src/kube/velero';
import { Logger } from '../../../src/logging/logger';
import { loadFixtures } from '../fixtures';
import { FakeApiServer, statusBody, writeKubeconfig } from './fake-apiserver';

const NAMESPACES = 2;
const VMS_PER_NAMESPACE = 50;
/** Velero's own work per VM (its other items, the tarball); also spreads the run over time. */
const PACE_MS = 60;
const OUTAGE_AT_MS = 2000;
const OUTAGE_MS = 3000;

const BACKUP: Backup = { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'b100', namespace: 'velero' }, spec: {} };

/** One running VM with its VMI, launcher pod, DataVolumes and PVCs, renamed into (namespace, index). */
function vmWorld(namespace: string, index: number): KubeObject[] {
    const text = JSON.stringify([...loadFixtures('backup/vm-running.yaml'), ...loadFixtures('backup/storage.yaml')])
        .replaceAll('"kvp-ns"', JSON.stringify(namespace))
        .replaceAll('test-', `v${index}-`)
        .replaceAll('7c1c5d8e-', `${(0x10000000 + index).toString(16)}-`);
    return JSON.parse(text) as KubeObject[];
}

interface VmRun {
    vm: string;
    namespace: string;
    start: number;
    end: number;
    /** The outputs of the three actions, or the first error. */
    output?: string;
    error?: string;
}

interface World {
    vms: { vm: KubeObject; vmi: KubeObject }[];
    objects: KubeObject[];
}

function buildWorld(): World {
    const world: World = { vms: [], objects: [] };
    for (let n = 0; n < NAMESPACES; n++) {
        for (let i = 0; i < VMS_PER_NAMESPACE; i++) {
            const objects = vmWorld(`outage-${n}`, n * VMS_PER_NAMESPACE + i);
            world.objects.push(...objects);
            const vm = objects.find((o) => o.kind === 'VirtualMachine') as KubeObject;
            const vmi = objects.find((o) => o.kind === 'VirtualMachineInstance') as KubeObject;
            world.vms.push({ vm, vmi });
        }
    }
    return world;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the backup actions of every VM in order; `during` is started with the run (the fault schedule). */
async function backup(world: World, server: FakeApiServer, during: (t0: number) => Promise<void>): Promise<{ runs: VmRun[]; t0: number; counter: RequestCounter }> {
    process.env['KUBECONFIG'] = writeKubeconfig(server.url);
    const counter = new RequestCounter();
    const log = new Logger('info', () => undefined);
    const cluster = new KubeCluster({ log, counter });
    const deps = { cluster, log };
    const t0 = Date.now();
    const schedule = during(t0);
    const runs: VmRun[] = [];
    try {
        for (const [k, { vm, vmi }] of world.vms.entries()) {
            const due = t0 + k * PACE_MS;
            if (Date.now() < due) await delay(due - Date.now());
            const run: VmRun = { vm: vm.metadata?.name ?? '', namespace: vm.metadata?.namespace ?? '', start: Date.now() - t0, end: 0 };
            try {
                const block = await runItemBlockAction(vmItemBlockAction, vm, BACKUP, deps);
                const vmOut = await runBackupAction(vmBackupAction, vm, BACKUP, deps);
                const vmiOut = await runBackupAction(vmiBackupAction, vmi, BACKUP, deps);
                run.output = JSON.stringify({ block, vmOut, vmiOut });
            } catch (error) {
                run.error = errorMessage(error);
            }
            run.end = Date.now() - t0;
            runs.push(run);
        }
        await schedule;
    } finally {
        cluster.close();
    }
    return { runs, t0, counter };
}

describe('a 3 s API outage in the middle of a 100-VM backup', () => {
    const savedKubeconfig = process.env['KUBECONFIG'];
    afterAll(() => {
        if (savedKubeconfig === undefined) delete process.env['KUBECONFIG'];
        else process.env['KUBECONFIG'] = savedKubeconfig;
    });

    it('loses only the VMs read during it; every other VM is complete', async () => {
        const world = buildWorld();
        expect(world.vms).toHaveLength(100);

        const clean = await FakeApiServer.start({ objects: world.objects });
        const reference = await backup(world, clean, async () => undefined);
        await clean.close();
        expect(reference.runs.filter((r) => r.error !== undefined)).toEqual([]);

        const faulty = await FakeApiServer.start({ objects: world.objects });
        const outage = { from: 0, to: 0 };
        const result = await backup(world, faulty, async (t0) => {
            await delay(t0 + OUTAGE_AT_MS - Date.now());
            faulty.setFault({ status: 500, body: statusBody(500, 'InternalError', 'etcdserver: leader changed') });
            outage.from = Date.now() - t0;
            await delay(OUTAGE_MS);
            faulty.setFault(undefined);
            outage.to = Date.now() - t0;
        });
        await faulty.close();

        const failed = result.runs.filter((r) => r.error !== undefined);
        const complete = result.runs.filter((r) => r.error === undefined);
        const dir = join(__dirname, '..', '..', '..', 'build');
        mkdirSync(dir, { recursive: true });
        const byNs = [...new Set(result.runs.map((r) => r.namespace))].map(
            (ns) => `${ns}: ${result.runs.filter((r) => r.namespace === ns && r.error !== undefined).length} lost of ${VMS_PER_NAMESPACE}`,
        );
        writeFileSync(
            join(dir, 'outage-fake.md'),
            [
                `outage ${outage.from}-${outage.to} ms of a ${result.runs.at(-1)?.end ?? 0} ms run; cool-down ${DEFAULT_COOL_DOWN_MS} ms`,
                `lost ${failed.length} of 100 VMs: ${failed.map((r) => `${r.namespace}/${r.vm} [${r.start}-${r.end}]`).join(', ')}`,
                ...byNs,
                `requests: ${result.counter.snapshot().total.count} with the outage, ${reference.counter.snapshot().total.count} without`,
                ...failed.map((r) => `${r.vm} [${r.start}-${r.end}]: ${r.error ?? ''}`),
                '',
            ].join('\n'),
        );
        // Lost: only VMs whose actions overlapped the outage or the cool-down of a failure made in it.
        const windowEnd = outage.to + DEFAULT_COOL_DOWN_MS + 100;
        for (const run of failed) {
            expect(run.end).toBeGreaterThanOrEqual(outage.from);
            expect(run.start).toBeLessThanOrEqual(windowEnd);
            expect(run.error).toContain(`in namespace "${run.namespace}"`);
            expect(run.error).toMatch(/\(HTTP 500, 4 attempts\): etcdserver: leader changed/);
        }
        // Everything else is complete: the same output as without the outage.
        const expected = new Map(reference.runs.map((r) => [r.vm, r.output]));
        for (const run of complete) expect(run.output).toBe(expected.get(run.vm));
        // VMs before the outage and after its cool-down all went through.
        expect(result.runs.filter((r) => r.end < outage.from && r.error !== undefined)).toEqual([]);
        expect(result.runs.filter((r) => r.start > windowEnd && r.error !== undefined)).toEqual([]);
        // The outage did hit the run, and the namespace it hit recovered within the run.
        expect(failed.length).toBeGreaterThan(0);
        const hit = new Set(failed.map((r) => r.namespace));
        const recovered = [...hit].filter((ns) => complete.some((r) => r.namespace === ns && r.start > outage.to));
        expect(recovered.length).toBeGreaterThan(0);
    }, 60_000);
});
