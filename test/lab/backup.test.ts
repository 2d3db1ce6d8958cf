/**
 * Backups of a namespace with running VMs through the real velero CLI (issue 5, "Must show", third bullet).
 *
 * One namespace holds five VMs (test/lab/backup/scenario.ts): three running (one with the guest agent
 * connected, two without), one stopped, one whose DataVolume is still importing. Backups:
 *  - bk-ns      --include-namespaces: the tarball's annotations/labels/items, the hook order, the ItemBlocks;
 *  - bk-sel     --selector on the VMs only: every VM opens its own ItemBlock, and what is in it comes from
 *               the plugin's block-vm-action (the related items are fetched by name);
 *  - bk-nopods  --exclude-resources pods: running VMs refused with our message, PartiallyFailed;
 *  - bk-short-* --include-resources with short names: the plugin decides as Velero does.
 * No kubelet in the lab: every launcher-pod hook fails with `pods "node01" not found` (test/lab/README.md),
 * so every backup of a running VM with its pods ends PartiallyFailed with exactly those hook errors.
 * Prefix of every name here: bk-.
 */
import type { KubeObject } from '../../src/kube/object';
import { connectLab, type Lab } from './lab';
import { backedUpAt, blockOf, errorLines, hookAttempts, itemBlocks, parseLog, type LogLine } from './backup/log';
import { ALL_VMS, AGENT_VM, INSTANCETYPE_VM, REVISIONS, RUNNING_VMS, createNamespace, type VmCase } from './backup/scenario';
import { backupItems, backupResults, keysOf } from './backup/store';

const NS = 'bk-vms';
const SELECT_LABEL = 'bk-select';
const NO_KUBELET = 'pods "node01" not found';

const VM = 'virtualmachines.kubevirt.io';
const VMI = 'virtualmachineinstances.kubevirt.io';
const DV = 'datavolumes.cdi.kubevirt.io';
const PVC = 'persistentvolumeclaims';
const PV = 'persistentvolumes';
const POD = 'pods';

let lab: Lab;
/** The objects as created (uids, PV names). */
let live: KubeObject[];

interface BackupRun {
    name: string;
    phase: string | undefined;
    items: Map<string, KubeObject>;
    lines: LogLine[];
    status: { errors?: number; warnings?: number };
}

async function runBackup(name: string, extra: string[]): Promise<BackupRun> {
    await lab.velero(['backup', 'create', name, '--include-namespaces', NS, '--snapshot-volumes=false', '--wait', ...extra]);
    const obj = await lab.getJson('backups.velero.io', lab.veleroNamespace, name);
    return {
        name,
        phase: (obj?.['status'] as { phase?: string } | undefined)?.phase,
        items: backupItems(await lab.readBackup(name)),
        lines: parseLog(await lab.backupLog(name)),
        status: (obj?.['status'] as { errors?: number; warnings?: number } | undefined) ?? {},
    };
}

function liveObject(kind: string, name: string): KubeObject {
    const o = live.find((x) => x.kind === kind && x.metadata?.name === name && x.metadata?.namespace === NS);
    if (o === undefined) throw new Error(`no live ${kind} ${name}`);
    return o;
}
function pvOf(pvc: string): string {
    return (liveObject('PersistentVolumeClaim', pvc).spec as { volumeName?: string }).volumeName ?? '';
}
/** PVs exist only for bound claims (the importing DataVolume's PVC is Pending). */
function boundPvs(c: VmCase): string[] {
    return c.pvcs.map(pvOf).filter((v) => v !== '');
}
function key(resource: string, name: string, ns = NS): string {
    return `${resource} ${ns}/${name}`;
}
function item(run: BackupRun, resource: string, name: string): KubeObject {
    const o = run.items.get(key(resource, name));
    if (o === undefined) throw new Error(`${run.name}: ${key(resource, name)} not in the tarball`);
    return o;
}
function labels(o: KubeObject): Record<string, string> {
    return o.metadata?.labels ?? {};
}
function annotations(o: KubeObject): Record<string, string> {
    return o.metadata?.annotations ?? {};
}
/** Only the keys of a map that match a prefix (the plugin's own labels/annotations). */
function ours(m: Record<string, string>): Record<string, string> {
    return Object.fromEntries(
        Object.entries(m).filter(([k]) => /^(velero\.kubevirt\.io|cdi\.kubevirt\.io\/(storage\.prePopulated|storage\.populatedFor|velero\.)|kvp\.kubevirt\.io)/.test(k)),
    );
}

/** The error field Velero logs for an item our action refused. */
function refusal(resource: string, kind: string, name: string, text: string): string {
    return `error executing custom action (groupResource=${resource}, namespace=${NS}, name=${name}): rpc error: code = Unknown desc = ${kind} ${NS}/${name}: ${text}`;
}
const PODS_EXCLUDED_VM =
    "VM cannot be safely backed up: the VM is running and the backup includes PVCs but its resource filters exclude pods, so the launcher pod's freeze hooks cannot run";
const PODS_EXCLUDED_VMI = 'VM is running but launcher pod is not included in the backup: the backup includes PVCs but its resource filters exclude pods';
const VMIS_EXCLUDED_VM = "VM cannot be safely backed up: the VM is running and the backup's resource filters exclude virtualmachineinstances";

/** Every error line of a log, as [msg, error field]; hook errors as ["Error executing hook <phase>", error]. */
function errors(run: BackupRun): [string, string][] {
    return errorLines(run.lines)
        .map((l): [string, string] => [l.msg === 'Error executing hook' ? `${l.msg} ${l.fields['hookPhase'] ?? ''}` : l.msg, l.fields['error'] ?? ''])
        .sort();
}
const hookErrors = (vms: readonly VmCase[]): [string, string][] =>
    vms.flatMap((): [string, string][] => [
        ['Error executing hook post', NO_KUBELET],
        ['Error executing hook pre', NO_KUBELET],
    ]);
const podRefusals = (vms: readonly VmCase[]): [string, string][] =>
    vms.flatMap((c): [string, string][] => [
        ['Error backing up item', refusal(VM, 'VirtualMachine', c.vm, PODS_EXCLUDED_VM)],
        ['Error backing up item', refusal(VMI, 'VirtualMachineInstance', c.vm, PODS_EXCLUDED_VMI)],
    ]);

/** Hook attempts of one VM's launcher pod: [phase, action, error] in log order, and their log indices. */
function hooksOf(run: BackupRun, c: VmCase): { seq: [string, string, string | undefined][]; pre: number; post: number } {
    const attempts = hookAttempts(run.lines).filter((h) => h.vm === c.vm);
    return {
        seq: attempts.map((h) => [h.phase, h.action, h.error]),
        pre: attempts.find((h) => h.phase === 'pre')?.index ?? -1,
        post: attempts.find((h) => h.phase === 'post')?.index ?? -1,
    };
}

/** Every object of a VM that the plugin's ItemBlockAction must put in (or bring into) the VM's block. */
function vmBlockItems(c: VmCase): string[] {
    return [
        key(VM, c.vm),
        ...(c.launcherPod === undefined ? [] : [key(VMI, c.vm), key(POD, c.launcherPod)]),
        ...c.dataVolumes.map((d) => key(DV, d.name)),
        ...c.pvcs.map((p) => key(PVC, p)),
        ...boundPvs(c).map((pv) => key(PV, pv, '')),
    ].sort();
}

beforeAll(async () => {
    lab = connectLab();
    live = await createNamespace(lab, NS);
    for (const c of ALL_VMS) await lab.kubectl(['label', 'vm', c.vm, '-n', NS, `${SELECT_LABEL}=yes`]);
});

describe('namespace backup (--include-namespaces) of running, stopped and importing VMs', () => {
    let run: BackupRun;
    beforeAll(async () => {
        run = await runBackup('bk-ns', []);
    });

    it('ends PartiallyFailed, and only because each launcher pod hook (pre and post) cannot exec without a kubelet', () => {
        expect(run.phase).toBe('PartiallyFailed');
        expect(errors(run)).toEqual(hookErrors(RUNNING_VMS).sort());
        expect(run.status.errors).toBe(2 * RUNNING_VMS.length);
    });

    it('the tarball holds every object of the namespace: VMs, VMIs, launcher pods, DVs, PVCs, their PVs, secrets, instancetypes', () => {
        const namespaced = [...run.items.keys()].filter((k) => k.includes(` ${NS}/`)).sort();
        const expected = [
            ...ALL_VMS.flatMap((c) => [
                key(VM, c.vm),
                ...(c.launcherPod === undefined ? [] : [key(VMI, c.vm), key(POD, c.launcherPod)]),
                ...c.dataVolumes.map((d) => key(DV, d.name)),
                ...c.pvcs.map((p) => key(PVC, p)),
                ...c.extra.map(([r, n]) => key(r, n)),
            ]),
        ].sort();
        expect(namespaced).toEqual(expected);
        expect(keysOf(run.items, PV, '')).toEqual(
            ALL_VMS.flatMap(boundPvs)
                .map((pv) => key(PV, pv, ''))
                .sort(),
        );
        expect(run.items.has(key('namespaces', NS, ''))).toBe(true);
    });

    it.each(ALL_VMS.map((c) => [c.vm, c] as const))('VM %s is labelled with its name and records its consistency level and restore graph', (_name, c) => {
        const vm = item(run, VM, c.vm);
        expect(ours(labels(vm))).toEqual({ 'velero.kubevirt.io/vm': c.vm });
        const anns = ours(annotations(vm));
        expect(Object.keys(anns).sort()).toEqual(['velero.kubevirt.io/backup-consistency', 'velero.kubevirt.io/restore-graph']);
        expect(JSON.parse(anns['velero.kubevirt.io/backup-consistency'] ?? '')).toEqual({
            level: c.level,
            reasons: c.reasons,
            launcherPods: c.launcherPod === undefined ? [] : [c.launcherPod],
        });
        expect(JSON.parse(anns['velero.kubevirt.io/restore-graph'] ?? '')).toEqual(c.restoreGraph);
    });

    it('the agent VM is filesystem-consistent, the no-agent VMs crash-consistent with the reason, the others offline', () => {
        const levels = ALL_VMS.map((c) => {
            const rec = JSON.parse(annotations(item(run, VM, c.vm))['velero.kubevirt.io/backup-consistency'] ?? '{}') as { level: string; reasons: string[] };
            return [c.vm, rec.level, rec.reasons.join('; ')];
        });
        expect(levels).toEqual([
            [AGENT_VM.vm, 'filesystem', 'virt-freezer hooks on the launcher pod; guest agent connected'],
            ['test-vm-with-pvc', 'crash', 'guest agent not connected: virt-freezer cannot freeze the filesystems'],
            [INSTANCETYPE_VM.vm, 'crash', 'guest agent not connected: virt-freezer cannot freeze the filesystems'],
            ['test-vm-with-dv-and-dvtemplate', 'offline', 'VM is not running'],
            ['test-vm-importing', 'offline', 'VM is not running'],
        ]);
    });

    it.each(RUNNING_VMS.map((c) => [c.vm] as const))('VMI %s (owned by its VM) is annotated cdi.kubevirt.io/velero.isOwned=true', (name) => {
        expect(ours(annotations(item(run, VMI, name)))).toEqual({ 'cdi.kubevirt.io/velero.isOwned': 'true' });
    });

    const dvs = ALL_VMS.flatMap((c) => c.dataVolumes.map((d) => [d.name, d.phase] as const));
    it.each(dvs)('DataVolume %s (%s): prePopulated only when Succeeded', (name, phase) => {
        expect(ours(annotations(item(run, DV, name)))).toEqual(phase === 'Succeeded' ? { 'cdi.kubevirt.io/storage.prePopulated': name } : {});
    });

    it.each(dvs)('PVC %s owned by a %s DataVolume: populatedFor or inprogress, and labelled with its own uid', (name, phase) => {
        const pvc = item(run, PVC, name);
        const uid = liveObject('PersistentVolumeClaim', name).metadata?.uid ?? '';
        expect(uid).not.toBe('');
        expect(ours(labels(pvc))).toEqual({ 'velero.kubevirt.io/pvc-uid': uid });
        expect(ours(annotations(pvc))).toEqual(phase === 'Succeeded' ? { 'cdi.kubevirt.io/storage.populatedFor': name } : { 'kvp.kubevirt.io/storage.inprogress': name });
    });

    it('the instancetype VM has the revision names of its status copied into spec (the sample was created without them)', () => {
        expect(liveObject('VirtualMachine', INSTANCETYPE_VM.vm).spec).toMatchObject({
            instancetype: { name: 'test-vm-instancetype' },
            preference: { name: 'test-vm-preference' },
        });
        expect((liveObject('VirtualMachine', INSTANCETYPE_VM.vm).spec as { instancetype: Record<string, unknown> }).instancetype['revisionName']).toBeUndefined();
        expect(item(run, VM, INSTANCETYPE_VM.vm).spec).toMatchObject({
            instancetype: { name: 'test-vm-instancetype', revisionName: REVISIONS.instancetype },
            preference: { name: 'test-vm-preference', revisionName: REVISIONS.preference },
        });
    });

    it('only the backed-up copies change: the live VM and PVC carry none of the labels', async () => {
        const vm = await lab.getJson(VM, NS, AGENT_VM.vm);
        const pvc = await lab.getJson(PVC, NS, 'creds-dv');
        expect([ours(labels(vm ?? {})), ours(annotations(vm ?? {})), ours(labels(pvc ?? {}))]).toEqual([{}, {}, {}]);
    });

    it('every launcher pod hook was attempted exactly once per phase: the virt-freezer freeze (pre), then the unfreeze (post)', () => {
        const byVm = RUNNING_VMS.map((c) => [c.vm, hooksOf(run, c).seq]);
        expect(byVm).toEqual(
            RUNNING_VMS.map((c) => [
                c.vm,
                [
                    ['pre', '--freeze', NO_KUBELET],
                    ['post', '--unfreeze', NO_KUBELET],
                ],
            ]),
        );
    });

    it.each(RUNNING_VMS.map((c) => [c.vm, c] as const))('VM %s: the pre hook runs before its PVCs are backed up, the post hook after', (_name, c) => {
        const { pre, post } = hooksOf(run, c);
        const pvcs = c.pvcs.map((p) => backedUpAt(run.lines, PVC, NS, p));
        expect(pre).toBeGreaterThanOrEqual(0);
        for (const at of pvcs) {
            expect(at).toBeGreaterThan(pre);
            expect(at).toBeLessThan(post);
        }
    });

    // Velero collects pods first, then PVCs, then the other groups (pkg/backup/item_collector.go), so in a
    // namespace backup each launcher pod opens the first block. block-launcher-pod-action brings the VM, the
    // VMI, the DataVolumes and PVCs into it (Velero's own pod/PVC actions add the PVs), so the block the hooks
    // bracket is the whole VM; block-vm-action runs on the VM as it joins (its debug line).
    it.each(RUNNING_VMS.map((c) => [c.vm, c] as const))('VM %s: its launcher pod opens one block holding the VM, VMI, DVs, PVCs and PVs', (_name, c) => {
        const blocks = itemBlocks(run.lines);
        const podBlock = blockOf(blocks, key(POD, c.launcherPod ?? ''));
        expect(podBlock?.opener).toBe(key(POD, c.launcherPod ?? ''));
        expect([...(podBlock?.items ?? [])].sort()).toEqual(vmBlockItems(c));
    });

    it.each(ALL_VMS.map((c) => [c.vm, c] as const))('VM %s: every object of its graph is in exactly one ItemBlock, and block-vm-action named them', (_name, c) => {
        const blocks = itemBlocks(run.lines);
        const all = blocks.flatMap((b) => b.items);
        expect(vmBlockItems(c).map((k) => [k, all.filter((x) => x === k).length])).toEqual(vmBlockItems(c).map((k) => [k, 1]));
        const related = c.dataVolumes.length + c.pvcs.length + (c.launcherPod === undefined ? 0 : 2);
        const debug = run.lines.filter((l) => l.fields['action'] === 'kubevirt-velero-plugin/block-vm-action' && l.msg.startsWith(`VirtualMachine ${NS}/${c.vm}:`));
        expect(debug.map((l) => l.msg)).toEqual([`VirtualMachine ${NS}/${c.vm}: ${related} related items`]);
    });
});

describe('label-selected VMs (--selector): block-vm-action builds each VM ItemBlock', () => {
    let run: BackupRun;
    beforeAll(async () => {
        run = await runBackup('bk-sel', ['--selector', `${SELECT_LABEL}=yes`]);
    });

    it('Velero collects only the VMs (and the namespace); the rest comes in through the plugin', () => {
        const collected = run.lines.find((l) => l.msg.startsWith('Collected '))?.msg ?? '';
        expect(collected).toMatch(new RegExp(`^Collected ${ALL_VMS.length + 1} items matching the backup spec`));
        expect(run.phase).toBe('PartiallyFailed');
        expect(errors(run)).toEqual(hookErrors(RUNNING_VMS).sort());
    });

    it.each(ALL_VMS.map((c) => [c.vm, c] as const))('VM %s opens a block holding its VMI, launcher pod, DVs, PVCs and PVs', (_name, c) => {
        const block = blockOf(itemBlocks(run.lines), key(VM, c.vm));
        expect(block?.opener).toBe(key(VM, c.vm));
        expect(block?.items[0]).toBe(key(VM, c.vm));
        expect([...(block?.items ?? [])].sort()).toEqual(vmBlockItems(c));
    });

    it.each(RUNNING_VMS.map((c) => [c.vm, c] as const))('VM %s: freeze before its PVCs are backed up, thaw after, within its block', (_name, c) => {
        const { seq, pre, post } = hooksOf(run, c);
        expect(seq).toEqual([
            ['pre', '--freeze', NO_KUBELET],
            ['post', '--unfreeze', NO_KUBELET],
        ]);
        for (const p of c.pvcs) {
            const at = backedUpAt(run.lines, PVC, NS, p);
            expect([p, at > pre, at < post]).toEqual([p, true, true]);
        }
        // The VM and VMI of the block are backed up inside the same freeze window.
        expect(backedUpAt(run.lines, VM, NS, c.vm)).toBeGreaterThan(pre);
        expect(backedUpAt(run.lines, VMI, NS, c.vm)).toBeLessThan(post);
    });

    it('the tarball has the same annotations as the namespace backup (consistency of the agent VM)', () => {
        const rec = JSON.parse(annotations(item(run, VM, AGENT_VM.vm))['velero.kubevirt.io/backup-consistency'] ?? '{}') as { level?: string };
        expect(rec.level).toBe('filesystem');
        expect(ours(annotations(item(run, PVC, 'creds-dv')))).toEqual({ 'cdi.kubevirt.io/storage.populatedFor': 'creds-dv' });
    });
});

describe('pods excluded (--exclude-resources pods) while VMs run', () => {
    let run: BackupRun;
    beforeAll(async () => {
        run = await runBackup('bk-nopods', ['--exclude-resources', 'pods']);
    });

    it('ends PartiallyFailed with our refusal for each running VM and its VMI, and nothing else', () => {
        expect(run.phase).toBe('PartiallyFailed');
        expect(errors(run)).toEqual(podRefusals(RUNNING_VMS).sort());
        expect(run.status.errors).toBe(2 * RUNNING_VMS.length);
    });

    // Velero logs "Error backing up item" with the item's name only (pkg/backup/backup.go backupItem), so its
    // results file files these errors under "velero", not under the namespace.
    it('the backup results file lists each refusal with the VM name and the reason', () => {
        const entry = (name: string, error: string): string => ` name: /${name} message: /Error backing up item error: /${error}`;
        const got = backupResults(lab, 'bk-nopods').errors ?? {};
        expect({ ...got, velero: [...(got.velero ?? [])].sort() }).toEqual({
            velero: RUNNING_VMS.flatMap((c) => [
                entry(c.vm, refusal(VM, 'VirtualMachine', c.vm, PODS_EXCLUDED_VM)),
                entry(c.vm, refusal(VMI, 'VirtualMachineInstance', c.vm, PODS_EXCLUDED_VMI)),
            ]).sort(),
        });
    });

    it('the running VMs and their VMIs are not in the tarball; the stopped and importing VMs are, and no pod is', () => {
        expect(keysOf(run.items, VM, NS)).toEqual(['test-vm-importing', 'test-vm-with-dv-and-dvtemplate'].map((n) => key(VM, n)));
        expect(keysOf(run.items, VMI, NS)).toEqual([]);
        expect(keysOf(run.items, POD, NS)).toEqual([]);
        expect(keysOf(run.items, PVC, NS)).toEqual(
            ALL_VMS.flatMap((c) => c.pvcs)
                .map((p) => key(PVC, p))
                .sort(),
        );
    });
});

describe('--include-resources with short names: the plugin reads the filters as Velero does', () => {
    interface ShortCase {
        backup: string;
        include: string;
        /** VMs Velero writes into the tarball. */
        vms: string[];
        vmis: number;
        pods: number;
        errors: [string, string][];
    }
    const running = RUNNING_VMS.map((c) => c.vm);
    const stopped = ['test-vm-importing', 'test-vm-with-dv-and-dvtemplate'];
    const cases: ShortCase[] = [
        // Velero includes all five: nothing is refused (the Go plugin took "vmi" for "not VMIs" and refused).
        { backup: 'bk-short-all', include: 'vm,vmi,dv,pvc,po', vms: [...running, ...stopped], vmis: 3, pods: 3, errors: hookErrors(RUNNING_VMS) },
        // No pods: running VMs would lose their freeze hooks.
        { backup: 'bk-short-nopo', include: 'vm,vmi,dv,pvc', vms: stopped, vmis: 0, pods: 0, errors: podRefusals(RUNNING_VMS) },
        // No VMIs: a running VM cannot be restored running.
        {
            backup: 'bk-short-novmi',
            include: 'vm,dv,pvc,po',
            vms: stopped,
            vmis: 0,
            pods: 3,
            errors: [...hookErrors(RUNNING_VMS), ...RUNNING_VMS.map((c): [string, string] => ['Error backing up item', refusal(VM, 'VirtualMachine', c.vm, VMIS_EXCLUDED_VM)])],
        },
    ];

    it.each(cases.map((c) => [c.include, c] as const))('--include-resources %s', async (_include, c) => {
        const run = await runBackup(c.backup, ['--include-resources', c.include]);
        expect(run.phase).toBe('PartiallyFailed');
        expect(errors(run)).toEqual([...c.errors].sort());
        expect({
            vms: keysOf(run.items, VM, NS),
            vmis: keysOf(run.items, VMI, NS).length,
            pods: keysOf(run.items, POD, NS).length,
            dvs: keysOf(run.items, DV, NS).length,
            pvcs: keysOf(run.items, PVC, NS).length,
        }).toEqual({
            vms: c.vms.map((n) => key(VM, n)).sort(),
            vmis: c.vmis,
            pods: c.pods,
            dvs: 6,
            pvcs: 6,
        });
    });
});
