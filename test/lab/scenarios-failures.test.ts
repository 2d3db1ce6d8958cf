/**
 * Failure scenarios of the freeze → snapshot → thaw sequence, with real parts: the virt-freezer hooks
 * exec through kube-apiserver and kwok's kubelet API into the lab's recorder (which is told to fail or
 * to hang), and the snapshots go through snapshot-controller and csi-snapshotter to the mock CSI driver.
 * Each case asserts Velero's phase, the error text Velero reports, and the plugin's per-VM record (the
 * backup-consistency annotation on the VM in the backup).
 *
 *  - freeze fails: virt-freezer --freeze exits 1 → the pre hook fails (on-error Fail) → PartiallyFailed;
 *  - freeze hangs past the hook timeout (the launcher pod's pre.hook.backup.velero.io/timeout, here 3s)
 *    → Velero gives up on the exec → PartiallyFailed with the timeout error;
 *  - the guest agent is not connected: virt-freezer succeeds without freezing → Completed, and the
 *    plugin records crash consistency with that reason;
 *  - a snapshot never becomes ready: the claim's driver has a VolumeSnapshotClass but no CSI sidecar
 *    serves it → Velero times out (--csi-snapshot-timeout) → the backup is not Completed.
 *
 * Needs the local lab with kwok and CSI (the default); names: namespaces and backups scf-<case>.
 */
import type { KubeObject } from '../../src/kube/object';
import { join } from 'node:path';
import { REPO, startLab, type Lab } from './lab';
import { createVmScenario, loadSample } from './simulate';
import { vmTimelines, type VmTimeline } from './cluster-timeline';
import { logFields } from './scenarios/partner';
import type { FreezerEvent } from './cluster';

const STAMP = Date.now().toString(36);
const VM = 'test-vm-with-pvc';
const UNSERVED_DRIVER = 'unserved.csi.kvp-lab.example.com';
const UNSERVED_CLASS = 'kvp-lab-unserved';

/** This file's own full lab (kwok, CSI machinery; no provisioner: nothing here restores): the shared lab of the other suites runs without. */
let lab: Lab;
beforeAll(async () => {
    lab = await startLab({ logDir: join(REPO, 'build', 'lab', 'logs-failures'), provisioner: false });
}, 300_000);
afterAll(async () => {
    await lab.stop();
}, 120_000);

interface Outcome {
    ns: string;
    backup: string;
    phase?: string;
    errors: number;
    /** [msg, error] of every error line of the backup log. */
    errorLines: [string, string][];
    log: string;
    events: FreezerEvent[];
    timeline?: VmTimeline;
    vmsnapshots: KubeObject[];
}

interface Case {
    id: string;
    behaviour: string;
    /** Changes to the sample 02 objects (running VM with a PVC, no guest agent). */
    edit?: (objs: KubeObject[]) => KubeObject[];
    /** Renames for createVmScenario. */
    renames?: Record<string, string>;
    /** Before the backup (the namespace exists). */
    arrange?: (lab: Lab, ns: string) => Promise<void>;
    backupArgs?: string[];
    verify: (o: Outcome) => void;
}

/** Sample 02's VMI with the guest agent connected (so that the freeze would really reach the guest). */
function withAgent(objs: KubeObject[]): KubeObject[] {
    return objs.map((o) => {
        if (o.kind !== 'VirtualMachineInstance') return o;
        const st = (o.status ?? {}) as { conditions?: unknown[] };
        const cond = { type: 'AgentConnected', status: 'True', lastProbeTime: null, lastTransitionTime: null };
        return { ...o, status: { ...st, conditions: [...(st.conditions ?? []), cond] } };
    });
}

function launcherPod(objs: KubeObject[]): KubeObject | undefined {
    return objs.find((o) => o.kind === 'Pod' && o.metadata?.name?.startsWith('virt-launcher-'));
}

const CASES: Case[] = [
    {
        id: 'freeze-fails',
        behaviour: 'freeze fails: the pre hook fails, the backup is PartiallyFailed with the exec error, and the plugin had recorded filesystem consistency',
        edit: withAgent,
        arrange: async (l, ns) => l.freezer?.set(ns, VM, 'freeze', 'fail'),
        verify: (o) => {
            expect(o.phase).toBe('PartiallyFailed');
            // kwok's kubelet API reports the exit status through the apiserver.
            expect(o.errorLines).toEqual([
                [
                    'Error executing hook',
                    `Internal error occurred: error executing command in container: cmd wait: /usr/bin/virt-freezer --freeze --name ${VM} --namespace ${o.ns}: exit status 1`,
                ],
            ]);
            expect(o.log).toContain('kvp-lab recorder told to fail');
            expect(o.events.filter((e) => e.event === 'end' && e.action === 'freeze').map((e) => e.result)).toEqual(['fail']);
            expect(o.timeline?.consistency?.level).toBe('filesystem');
        },
    },
    {
        id: 'freeze-hangs',
        behaviour: "freeze hangs past the hook timeout: Velero stops waiting after the pod's 3s timeout, the backup is PartiallyFailed with a timeout error",
        edit: (objs) =>
            withAgent(objs).map((o) =>
                o === launcherPod(objs) || (o.kind === 'Pod' && o.metadata?.name === launcherPod(objs)?.metadata?.name)
                    ? { ...o, metadata: { ...o.metadata, annotations: { ...(o.metadata?.annotations ?? {}), 'pre.hook.backup.velero.io/timeout': '3s' } } }
                    : o,
            ),
        arrange: async (l, ns) => l.freezer?.set(ns, VM, 'freeze', 'hang', 20),
        verify: (o) => {
            expect(o.phase).toBe('PartiallyFailed');
            expect(o.errorLines).toEqual([['Error executing hook', 'timed out after 3s']]);
            const freeze = o.events.filter((e) => e.action === 'freeze');
            expect(freeze.map((e) => e.event)).toContain('start');
            expect(freeze.filter((e) => e.event === 'end' && e.result === 'ok')).toEqual([]);
            expect(o.timeline?.consistency?.level).toBe('filesystem');
        },
    },
    {
        id: 'no-agent',
        behaviour: 'guest agent not connected: virt-freezer runs but cannot freeze, the backup is Completed with snapshots, and the plugin records crash consistency',
        verify: (o) => {
            expect([o.phase, o.errors, o.errorLines]).toEqual(['Completed', 0, []]);
            expect(o.events.filter((e) => e.event === 'end').map((e) => `${e.action} ${e.result}`)).toEqual(['freeze no-agent', 'unfreeze no-agent']);
            expect(o.timeline?.consistency).toEqual({
                level: 'crash',
                reasons: ['guest agent not connected: virt-freezer cannot freeze the filesystems'],
                launcherPods: [expect.stringMatching(/^virt-launcher-test-vm-with-pvc-/)],
            });
            expect(o.timeline?.snapshots.map((s) => [s.pvc, s.readyToUse])).toEqual([['test-pvc', true]]);
        },
    },
    {
        id: 'snapshot-never-ready',
        behaviour: 'a snapshot never becomes ready (no CSI sidecar serves the driver): Velero times out on it and the backup is not Completed',
        edit: withAgent,
        renames: { 'rook-ceph.rbd.csi.ceph.com': UNSERVED_DRIVER, 'rook-ceph-block': UNSERVED_CLASS },
        arrange: async (l) => {
            await l.apply([
                {
                    apiVersion: 'snapshot.storage.k8s.io/v1',
                    kind: 'VolumeSnapshotClass',
                    metadata: { name: 'kvp-lab-unserved-snapclass', labels: { 'velero.io/csi-volumesnapshot-class': 'true' } },
                    driver: UNSERVED_DRIVER,
                    deletionPolicy: 'Delete',
                },
            ]);
        },
        backupArgs: ['--csi-snapshot-timeout=10s'],
        verify: (o) => {
            expect(['PartiallyFailed', 'Failed']).toContain(o.phase);
            // Velero's wait ends on the deadline either in its poll or in its client's rate limiter: the
            // error ends "context deadline exceeded" or "... would exceed context deadline".
            const prefix = `error executing custom action (groupResource=persistentvolumeclaims, namespace=${o.ns}, name=test-pvc): rpc error: code = Unknown desc = `;
            expect(o.errorLines).toContainEqual([
                'Error backing up item',
                expect.stringMatching(new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*(context deadline exceeded|would exceed context deadline)$`)),
            ]);
            expect(o.log).toMatch(new RegExp(`Failed to wait for VolumeSnapshot ${o.ns}/velero-test-pvc-\\w+ to become ReadyToUse within timeout 10s`));
            // The hooks ran around it: freeze and thaw both succeeded.
            expect(o.events.filter((e) => e.event === 'end').map((e) => `${e.action} ${e.result}`)).toEqual(['freeze ok', 'unfreeze ok']);
            expect(o.timeline?.consistency?.level).toBe('filesystem');
        },
    },
];

async function runCase(c: Case): Promise<Outcome> {
    const ns = `scf-${c.id}`;
    const backup = `scf-${c.id}-${STAMP}`;
    await lab.deleteNamespace(ns);
    lab.freezer?.clear(ns);
    let objs = loadSample('02-vm-with-pvc.yaml');
    if (c.edit !== undefined) objs = c.edit(objs);
    await createVmScenario(lab, ns, objs, c.renames === undefined ? {} : { renames: c.renames });
    await c.arrange?.(lab, ns);
    await lab.velero(['backup', 'create', backup, '--include-namespaces', ns, ...(c.backupArgs ?? []), '--wait']);
    const b = await lab.getJson('backups.velero.io', lab.veleroNamespace, backup);
    const st = (b?.status ?? {}) as { phase?: string; errors?: number };
    const log = await lab.backupLog(backup);
    const events = lab.freezer?.events(ns) ?? [];
    const files = await lab.readBackup(backup);
    const timeline = vmTimelines(files, events).find((t) => t.vm === VM);
    return {
        ns,
        backup,
        ...(st.phase === undefined ? {} : { phase: st.phase }),
        errors: st.errors ?? 0,
        errorLines: log
            .split('\n')
            .filter((l) => /\blevel=(error|fatal)\b/.test(l))
            .map(logFields)
            .map((f): [string, string] => [f['msg'] ?? '', f['error'] ?? f['error.message'] ?? '']),
        log,
        events,
        ...(timeline === undefined ? {} : { timeline }),
        vmsnapshots: [...files.entries()].filter(([p]) => p.includes('/volumesnapshots.snapshot.storage.k8s.io/')).map(([, v]) => v as KubeObject),
    };
}

describe('failure scenarios around freeze, snapshot and thaw (kwok hooks, CSI snapshots)', () => {
    const outcomes = new Map<string, Outcome | Error>();

    beforeAll(async () => {
        if (lab.state.kwok === undefined || lab.state.csi === undefined) {
            throw new Error('these scenarios need the local lab with kwok and the CSI machinery (startLab defaults; build-go-tools.sh builds them)');
        }
        for (const c of CASES) {
            try {
                outcomes.set(c.id, await runCase(c));
            } catch (e) {
                outcomes.set(c.id, e instanceof Error ? e : new Error(String(e)));
            }
        }
    }, 400_000);

    afterAll(async () => {
        for (const c of CASES) {
            lab.freezer?.clear(`scf-${c.id}`);
            await lab.deleteNamespace(`scf-${c.id}`);
        }
    }, 120_000);

    it.each(CASES.map((c) => ({ id: c.id, behaviour: c.behaviour, c })))('$behaviour', ({ id, c }) => {
        const o = outcomes.get(id);
        if (o === undefined) throw new Error(`case ${id} did not run`);
        if (o instanceof Error) throw o;
        c.verify(o);
    });
});
