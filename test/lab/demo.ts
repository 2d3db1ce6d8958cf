/**
 * `npm start`: the demo. Brings the lab up, creates namespace "demo" with three VMs from the samples
 * (stopped with a DataVolume and a DataVolume template; running without guest agent; running with guest
 * agent and access credentials), backs it up and restores it with the real velero CLI, and prints what
 * happened: items in the backup tarball, annotations the plugin set, per-VM consistency, the hooks,
 * what the restore skipped and what came back. Logs: build/demo/logs/. Run by scripts/start.sh.
 */
import { join } from 'node:path';
import type { KubeObject } from '../../src/kube/object';
import { pluginLogLines, REPO, startLab, type Lab } from './lab';
import { createVmScenario } from './simulate';

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

function consistencyOf(obj: KubeObject | undefined): { level?: string; reasons?: string[] } | undefined {
    const v = obj?.metadata?.annotations?.['velero.kubevirt.io/backup-consistency'];
    if (v === undefined) return undefined;
    try {
        return JSON.parse(v) as { level?: string; reasons?: string[] };
    } catch {
        return { level: v };
    }
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

async function demo(lab: Lab): Promise<void> {
    heading('1. demo namespace (objects as KubeVirt and CDI leave them; no KVM, no kubelet)');
    const [, createMs] = await timed(async () => {
        await createVmScenario(lab, NS, '01-vm-with-dv-and-dvtemplate.yaml');
        await createVmScenario(lab, NS, '02-vm-with-pvc.yaml');
        await createVmScenario(lab, NS, '05-vm-with-access-credentials.yaml', { renames: { 'test-dv': 'test-dv-creds' } });
    });
    out((await lab.kubectl(['get', 'vm,vmi,dv,pvc,pod,secret', '-n', NS])).trimEnd());
    out(`(created in ${secs(createMs)})`);

    heading(`2. velero backup create ${BACKUP} --include-namespaces ${NS} --snapshot-volumes=false --wait`);
    const [, backupMs] = await timed(() => lab.velero(['backup', 'create', BACKUP, '--include-namespaces', NS, '--snapshot-volumes=false', '--wait']));
    out(`phase: ${(await lab.phase('backup', BACKUP)) ?? '?'} (${secs(backupMs)})`);
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

    heading('5. consistency per VM');
    for (const [path, value] of files) {
        if (!/^resources\/virtualmachines\.kubevirt\.io\/namespaces\//.test(path)) continue;
        const vm = value as KubeObject;
        const c = consistencyOf(vm);
        out(`  ${vm.metadata?.name ?? '?'}: ${c?.level ?? 'not recorded'}${c?.reasons?.length ? ` — ${c.reasons.join('; ')}` : ''}`);
    }
    const warnings = pluginLogLines(log).filter((l) => l.includes('level=warning'));
    for (const w of warnings) out(`  plugin warning: ${field(w, 'msg')}`);

    heading('6. backup hooks (virt-freezer on the launcher pods)');
    const hooks = log.split('\n').filter((l) => /msg="(running exec hook|Error executing hook)"/.test(l));
    if (hooks.length === 0) out('  (no hook ran: no running VM)');
    for (const h of hooks) {
        if (h.includes('running exec hook')) out(`  ${field(h, 'hookPhase')}: ${field(h, 'hookCommand')} (on error: ${field(h, 'hookOnError')})`);
        else out(`      failed: ${field(h, 'error')}`);
    }
    if (hooks.some((h) => h.includes('level=error'))) {
        out('  The lab has no kubelet, so the exec of a hook fails: the hooks were attempted in order, and the');
        out('  backup is PartiallyFailed for that reason alone. On a real cluster virt-freezer runs.');
    }

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
    for (const [kind, bucket] of [['warning', results.warnings], ['error', results.errors]] as const) {
        for (const [scope, msgs] of Object.entries(bucket?.namespaces ?? {})) for (const m of msgs) out(`  ${kind} (${scope}): ${m}`);
        for (const m of [...(bucket?.cluster ?? []), ...(bucket?.velero ?? [])]) out(`  ${kind}: ${m}`);
    }

    heading('9. after the restore');
    out((await lab.kubectl(['get', 'vm,vmi,dv,pvc,pod,secret', '-n', NS])).trimEnd());
    out('  (no KubeVirt or CDI controllers here: VMs get no status, DVs no phase; on a cluster they resume)');
    const restoredAnns: string[] = [];
    for (const kind of ['datavolumes.cdi.kubevirt.io', 'persistentvolumeclaims']) {
        for (const o of await lab.list(kind, NS)) {
            const a = Object.entries(o.metadata?.annotations ?? {}).filter(([k]) => k.startsWith('cdi.kubevirt.io/storage.pre') || k.endsWith('populatedFor'));
            if (a.length > 0) restoredAnns.push(`  ${o.kind ?? ''} ${o.metadata?.name ?? ''}: ${a.map(([k, v]) => `${k}=${v}`).join(', ')}`);
        }
    }
    if (restoredAnns.length > 0) {
        out('  restored storage annotations (CDI adopts these volumes instead of importing again):');
        restoredAnns.forEach((l) => out(l));
    }

    heading('timings');
    out(`  lab start ${lab.state.timings['total']?.toFixed(1) ?? '?'}s, create ${secs(createMs)}, backup ${secs(backupMs)}, delete namespace ${secs(deleteMs)}, restore ${secs(restoreMs)}`);
}

async function main(): Promise<void> {
    const logDir = join(REPO, 'build', 'demo', 'logs');
    out('kubevirt-velero-plugin demo: local lab (etcd, kube-apiserver, velero server with the plugin)');
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
