/**
 * `npm start`: the demo. Brings the lab up (etcd, kube-apiserver, kwok with node01, the CSI snapshot
 * machinery, velero server with the plugin), creates namespace "demo" with three VMs from the samples
 * (stopped with a DataVolume and a DataVolume template; running without guest agent; running with guest
 * agent and access credentials), backs it up with CSI snapshots and restores it with the real velero
 * CLI, and prints what happened: items in the backup tarball, annotations the plugin set, per VM the
 * freeze, the snapshots of its disks and the thaw (virt-freezer really exec'd through the apiserver and
 * kwok's kubelet API), the consistency reached, what the restore skipped and what came back, and what
 * CDI can adopt. Logs: build/demo/logs/. Run by scripts/start.sh.
 */
import { join } from 'node:path';
import type { KubeObject } from '../../src/kube/object';
import { pluginLogLines, REPO, startLab, type Lab } from './lab';
import { createVmScenario } from './simulate';
import { orderingViolations, vmTimelines, type VmTimeline } from './cluster-timeline';
import { restoredDisk } from './cluster';

const NS = 'demo';
const BACKUP = 'demo';
const ANNOTATIONS = [
    'cdi.kubevirt.io/storage.prePopulated',
    'cdi.kubevirt.io/storage.populatedFor',
    'cdi.kubevirt.io/velero.isOwned',
    'velero.kubevirt.io/backup-consistency',
    'kvp.kubevirt.io/storage.inprogress',
    'backup.velero.io/must-include-additional-items',
];

const out = (s = ''): void => {
    process.stdout.write(`${s}\n`);
};
const heading = (s: string): void => out(`\n== ${s}`);
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
    const t = Date.now();
    const v = await fn();
    return [v, Date.now() - t];
}

function itemsOf(files: Map<string, unknown>): Map<string, string[]> {
    const byResource = new Map<string, string[]>();
    for (const path of files.keys()) {
        const m = /^resources\/([^/]+)\/(?:namespaces\/([^/]+)|cluster)\/([^/]+)\.json$/.exec(path);
        if (m === null || m[1] === undefined || m[3] === undefined) continue;
        const list = byResource.get(m[1]) ?? [];
        list.push(m[2] !== undefined ? m[3] : `${m[3]} (cluster)`);
        byResource.set(m[1], list);
    }
    return byResource;
}

function field(line: string, key: string): string {
    const m = new RegExp(`${key}=("((?:[^"\\\\]|\\\\.)*)"|\\S+)`).exec(line);
    return m === null ? '' : (m[2] ?? m[1] ?? '').replace(/\\"/g, '"');
}

/** key=value fields of a logrus line other than the usual ones. */
function otherFields(line: string): string {
    const skip = new Set(['time', 'level', 'msg', 'logSource', 'restore', 'backup']);
    const parts: string[] = [];
    for (const m of line.matchAll(/(\w[\w.-]*)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
        if (m[1] !== undefined && m[2] !== undefined && !skip.has(m[1])) parts.push(`${m[1]}=${m[2]}`);
    }
    return parts.join(' ');
}

// eslint-disable-next-line complexity -- the demo's script, step by step as the user reads it on stdout
async function demo(lab: Lab): Promise<void> {
    heading('1. demo namespace (objects as KubeVirt and CDI leave them; no KVM: kwok runs the launcher pods on node01)');
    const [, createMs] = await timed(async () => {
        await createVmScenario(lab, NS, '01-vm-with-dv-and-dvtemplate.yaml');
        await createVmScenario(lab, NS, '02-vm-with-pvc.yaml');
        await createVmScenario(lab, NS, '05-vm-with-access-credentials.yaml', { renames: { 'test-dv': 'test-dv-creds' } });
    });
    out((await lab.kubectl(['get', 'vm,vmi,dv,pvc,pod,secret', '-n', NS])).trimEnd());
    out(`(created in ${secs(createMs)})`);

    const csi = lab.state.csi !== undefined;
    const snapFlag = csi ? [] : ['--snapshot-volumes=false'];
    heading(`2. velero backup create ${BACKUP} --include-namespaces ${NS}${csi ? '' : ' --snapshot-volumes=false'} --wait`);
    const [, backupMs] = await timed(() => lab.velero(['backup', 'create', BACKUP, '--include-namespaces', NS, ...snapFlag, '--wait']));
    const backupObj = await lab.getJson('backups.velero.io', lab.veleroNamespace, BACKUP);
    const bst = (backupObj?.['status'] ?? {}) as { phase?: string; errors?: number; warnings?: number; csiVolumeSnapshotsCompleted?: number; csiVolumeSnapshotsAttempted?: number };
    out(`phase: ${String(bst['phase'] ?? '?')} (${secs(backupMs)}), errors ${String(bst['errors'] ?? 0)}, warnings ${String(bst['warnings'] ?? 0)}`);
    if (csi) out(`  CSI: ${String(bst['csiVolumeSnapshotsCompleted'] ?? 0)} of ${String(bst['csiVolumeSnapshotsAttempted'] ?? 0)} VolumeSnapshots completed`);
    const files = await lab.readBackup(BACKUP);
    const log = await lab.backupLog(BACKUP);

    heading('3. backed up (from the tarball)');
    for (const [res, names] of [...itemsOf(files)].sort(([a], [b]) => a.localeCompare(b))) out(`  ${res}: ${names.sort().join(', ')}`);

    heading('4. annotations the plugin set on backed-up items');
    let any = false;
    for (const [path, value] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
        if (!/^resources\/[^/]+\/namespaces\//.test(path) || typeof value !== 'object' || value === null) continue;
        const obj = value as KubeObject;
        const anns = Object.entries(obj.metadata?.annotations ?? {}).filter(([k]) => ANNOTATIONS.includes(k));
        if (anns.length === 0) continue;
        any = true;
        out(`  ${obj.kind ?? '?'} ${obj.metadata?.name ?? '?'}`);
        for (const [k, v] of anns) out(`      ${k}: ${v}`);
    }
    if (!any) out('  (none)');

    heading('5. per VM: freeze, snapshots of its disks, thaw (recorder log and snapshot objects), consistency');
    const timelines = vmTimelines(files, lab.freezer?.events(NS) ?? []);
    for (const t of timelines) printTimeline(t);
    const warnings = pluginLogLines(log).filter((l) => l.includes('level=warning'));
    for (const w of warnings) out(`  plugin warning: ${field(w, 'msg')}`);

    heading('6. backup hooks (virt-freezer on the launcher pods, exec through kube-apiserver and the kubelet API of kwok)');
    const hooks = log.split('\n').filter((l) => /msg="(running exec hook|Error executing hook)"/.test(l));
    if (hooks.length === 0) out('  (no hook ran: no running VM)');
    for (const h of hooks) {
        if (h.includes('running exec hook')) out(`  ${field(h, 'hookPhase')}: ${field(h, 'hookCommand')} (on error: ${field(h, 'hookOnError')})`);
        else out(`      failed: ${field(h, 'error')}`);
    }
    if (hooks.some((h) => h.includes('level=error')) && lab.state.kwok === undefined) {
        out('  The lab runs without kwok (no kubelet), so the exec of a hook fails: the hooks were attempted in');
        out('  order, and the backup is PartiallyFailed for that reason alone. On a real cluster virt-freezer runs.');
    }
    for (const e of lab.freezer?.events(NS) ?? []) if (e.event === 'end') out(`  recorder: ${e.time} ${e.action} ${e.name}: ${e.result}`);

    heading(`7. delete namespace ${NS}`);
    const [, deleteMs] = await timed(() => lab.deleteNamespace(NS));
    out(`  gone (${secs(deleteMs)})`);

    heading(`8. velero restore create ${BACKUP} --from-backup ${BACKUP} --wait`);
    const [, restoreMs] = await timed(() => lab.velero(['restore', 'create', BACKUP, '--from-backup', BACKUP, '--wait']));
    out(`phase: ${(await lab.phase('restore', BACKUP)) ?? '?'} (${secs(restoreMs)})`);
    const rlog = await lab.restoreLog(BACKUP);
    const skipped = rlog.split('\n').filter((l) => l.includes('because a registered plugin discarded it'));
    out('  skipped at restore by the plugin (KubeVirt recreates these):');
    if (skipped.length === 0) out('    (nothing)');
    for (const l of skipped) out(`    ${otherFields(l)}`);
    const results = await lab.restoreResults(BACKUP);
    for (const [kind, bucket] of [
        ['warning', results.warnings],
        ['error', results.errors],
    ] as const) {
        for (const [scope, msgs] of Object.entries(bucket?.namespaces ?? {})) for (const m of msgs) out(`  ${kind} (${scope}): ${m}`);
        for (const m of [...(bucket?.cluster ?? []), ...(bucket?.velero ?? [])]) out(`  ${kind}: ${m}`);
    }

    heading('9. after the restore');
    out((await lab.kubectl(['get', 'vm,vmi,dv,pvc,pod,secret', '-n', NS])).trimEnd());
    if (csi) out((await lab.kubectl(['get', 'volumesnapshot,volumesnapshotcontent', '-n', NS])).trimEnd());
    out('  (no KubeVirt or CDI controllers here, see docs/decisions/010-lab-controllers.md: VMs get no status,');
    out('  DVs no phase; on a cluster they resume)');
    const provisioning = lab.state.csi?.provisioning === true;
    if (provisioning) {
        heading('10. per disk on restore: provisioned from its VolumeSnapshot (csi-provisioner, PV binder, mock CSI driver)');
        let unbound = 0;
        for (const t of timelines) {
            for (const claim of t.claims) {
                const d = await restoredDisk(lab, NS, claim);
                const cut = t.snapshots.find((x) => x.pvc === claim)?.snapshotHandle;
                const calls = [
                    ...new Set(
                        d.createVolume.map((c) => `CreateVolume(from snapshot ${c.fromSnapshot ?? '-'}) -> volume ${c.volumeId ?? '-'}${c.error ? ` error ${c.error}` : ''}`),
                    ),
                ];
                if (d.phase !== 'Bound') unbound++;
                out(`  ${t.vm}/${claim}: PVC ${d.phase ?? '?'}, dataSource ${d.dataSource ?? '-'}`);
                out(
                    `      snapshot handle at backup ${cut ?? '-'}, of the restored snapshot ${d.snapshotHandle ?? '-'}${cut !== undefined && cut === d.snapshotHandle ? ' (same)' : ''}`,
                );
                out(`      driver: ${calls.length === 0 ? 'no CreateVolume for this claim' : calls.join('; ')}`);
                out(`      PV ${d.pv ?? '-'} (${d.pvDriver ?? '-'}, volumeHandle ${d.volumeHandle ?? '-'}, claimRef ${d.pvClaimRefMatches ? 'this claim' : 'NOT this claim'})`);
            }
        }
        if (unbound > 0) out(`  ${unbound} restored claim(s) not Bound: see build/demo/logs/csi-provisioner.log and kube-controller-manager.log`);
    }
    heading(`${provisioning ? '11' : '10'}. per VM on restore: what CDI adopts instead of importing again`);
    for (const t of timelines) {
        const marks: string[] = [];
        for (const claim of t.claims) {
            const dv = await lab.getJson('datavolumes.cdi.kubevirt.io', NS, claim);
            const pvc = await lab.getJson('persistentvolumeclaims', NS, claim);
            const dvAnn = dv?.metadata?.annotations ?? {};
            const pvcAnn = pvc?.metadata?.annotations ?? {};
            const src = (pvc?.spec as { dataSource?: { kind?: string; name?: string } } | undefined)?.dataSource;
            const parts: string[] = [];
            if (dv !== undefined) parts.push(`DataVolume prePopulated=${dvAnn['cdi.kubevirt.io/storage.prePopulated'] ?? '-'}`);
            if (pvc !== undefined) {
                parts.push(`PVC populatedFor=${pvcAnn['cdi.kubevirt.io/storage.populatedFor'] ?? '-'}`);
                parts.push(`from ${src?.kind ?? 'no data source'}${src?.name ? ` ${src.name}` : ''}`);
                parts.push(`phase ${String((pvc['status'] as { phase?: string } | undefined)?.phase ?? '?')}`);
            } else parts.push('PVC not restored');
            marks.push(`${claim}: ${parts.join(', ')}`);
        }
        out(`  ${t.vm}: ${marks.length === 0 ? 'no disks' : ''}`);
        for (const m of marks) out(`      ${m}`);
    }
    if (csi && !provisioning) {
        out('  Closing note: the restored claims carry their VolumeSnapshot as data source and wait, Pending, for');
        out('  their first consumer (StorageClass WaitForFirstConsumer). Binding them needs a provisioner (and the');
        out('  PV binder): run with the provisioning tools (scripts/build-go-tools-pv.sh) to see them bound.');
    }
    out('  Adoption: each restored DataVolume carries cdi.kubevirt.io/storage.prePopulated and its claim');
    out('  cdi.kubevirt.io/storage.populatedFor, which is what makes CDI adopt the volume instead of importing');
    out('  again; no cdi-controller runs in the lab to act on them (docs/decisions/010-lab-controllers.md).');

    heading('timings');
    out(
        `  lab start ${lab.state.timings['total']?.toFixed(1) ?? '?'}s, create ${secs(createMs)}, backup ${secs(backupMs)}, delete namespace ${secs(deleteMs)}, restore ${secs(restoreMs)}`,
    );
}

function printTimeline(t: VmTimeline): void {
    out(`  ${t.vm}`);
    const c = t.consistency;
    if (t.freezeEnd === undefined) out('      freeze at:    - (no freeze: no running guest, or the hook did not run)');
    else out(`      freeze at:    ${t.freezeStart ?? '?'} .. ${t.freezeEnd} (${t.freezeResult ?? '?'})`);
    if (t.snapshots.length === 0) out(`      snapshots at: - (${t.claims.length} disk(s), no VolumeSnapshot)`);
    for (const s of t.snapshots) {
        out(`      snapshots at: ${s.cutAt ?? s.created}  ${s.pvc} -> ${s.volumeSnapshot}${s.readyToUse === true ? ' (ready)' : ''}`);
    }
    if (t.thawStart === undefined) out('      thaw at:      -');
    else out(`      thaw at:      ${t.thawStart} .. ${t.thawEnd ?? '?'} (${t.thawResult ?? '?'})`);
    if (t.freezeEnd !== undefined && t.snapshots.length > 0) {
        const bad = orderingViolations(t);
        out(`      order:        ${bad.length === 0 ? 'freeze < every snapshot < thaw' : bad.join('; ')}`);
    }
    out(`      consistency:  ${c?.level ?? 'not recorded'}${c?.reasons?.length ? ` (${c.reasons.join('; ')})` : ''}`);
}

async function main(): Promise<void> {
    const logDir = join(REPO, 'build', 'demo', 'logs');
    out('kubevirt-velero-plugin demo: local lab (etcd, kube-apiserver, kwok, CSI snapshots, velero server with the plugin)');
    const lab = await startLab({ logDir });
    try {
        await demo(lab);
        out(`\nlogs: ${logDir} (velero.log: server and plugin)`);
    } finally {
        await lab.stop();
    }
}

main().catch((e: unknown) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});
