/**
 * Preflight against the real thing (issue 14, "Proven"): for each partner scenario and each refusal
 * case, `kubevirt-velero-plugin preflight backup|restore` runs first (the shipped executable, against
 * the lab's kube-apiserver), then the real `velero backup create` / `velero restore create` with the
 * same flags, and the preflight's verdicts are compared with what Velero then did:
 *  - backup: the set of refusal texts = the plugin errors in Velero's backup log; a refusal means the
 *    backup ends PartiallyFailed; every VM/VMI included (not refused) is in the tarball with the
 *    consistency level the preflight predicted, every object it said travels is in the tarball, every
 *    object it said is missing or filtered is not; a VM it said is not included is not in the tarball;
 *  - restore (the tarball of that backup, into a mapped namespace): the VMs/VMIs it said are restored
 *    exist afterwards and the others do not; the objects it said come with them exist, the ones a
 *    restore action skips do not; failures it predicted are Velero's restore errors, with the same texts;
 *    identity values it said are kept/cleared/replaced are so in the restored VM.
 * Nothing here states an expected verdict by hand except where a case exists to produce one (the
 * `expect` column says which way the case must go, so a preflight that said nothing would fail).
 * Prefix of every name here: pf-.
 */
import type { KubeObject } from '../../src/kube/object';
import type { BackupReport, RestoreReport } from '../../src/preflight/report';
import { connectLab, DEFAULT_PLUGIN_BINARY, type Lab } from './lab';
import { errorLines, parseLog } from './backup/log';
import { backupItems } from './backup/store';
import { run } from './proc';
import { SCENARIOS, restoredResourceList, type Scenario } from './scenarios/partner';
import { createVmScenario, loadSample } from './simulate';

let lab: Lab;
beforeAll(() => {
    lab = connectLab();
});

const STAMP = Date.now().toString(36);

interface Preflight<T> {
    code: number;
    report: T;
    stderr: string;
}

async function preflight<T>(args: string[]): Promise<Preflight<T>> {
    const r = await run(DEFAULT_PLUGIN_BINARY, ['preflight', ...args, '--kubeconfig', lab.kubeconfig, '-o', 'json'], {
        env: { ...process.env, VELERO_NAMESPACE: lab.veleroNamespace, KUBECONFIG: '' },
    });
    if (r.code === 2) throw new Error(`preflight usage error: ${r.stderr}`);
    let report: T;
    try {
        report = JSON.parse(r.stdout) as T;
    } catch {
        throw new Error(`preflight printed no JSON (exit ${r.code}): ${r.stderr}\n${r.stdout}`);
    }
    return { code: r.code, report, stderr: r.stderr };
}

function edit(kind: string, name: string | undefined, change: (o: KubeObject) => void): (objs: KubeObject[]) => KubeObject[] {
    return (objs) => {
        const hit = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
        if (hit.length === 0) throw new Error(`edit: no ${kind} ${name ?? ''}`);
        hit.forEach(change);
        return objs;
    };
}
const labelled =
    (key: string, value: string) =>
    (o: KubeObject): void => {
        o.metadata = { ...o.metadata, labels: { ...(o.metadata?.labels ?? {}), [key]: value } };
    };
const EXCLUDE = 'velero.io/exclude-from-backup';

interface BackupCase {
    id: string;
    sample: string;
    edit?: (objs: KubeObject[]) => KubeObject[];
    flags: string[];
    /** The case exists to produce a refusal (true), or to show there is none (false); partner scenarios: undefined. */
    refused?: boolean;
    /** Restore the backup into a mapped namespace and compare (partner scenarios). */
    restore: boolean;
}

const partner = (s: Scenario): BackupCase => ({ id: s.id, sample: s.sample, ...(s.edit ? { edit: s.edit } : {}), flags: [], restore: true });

const CASES: BackupCase[] = [
    ...SCENARIOS.map(partner),
    { id: 'nopods', sample: '02-vm-with-pvc.yaml', flags: ['--exclude-resources', 'pods'], refused: true, restore: false },
    { id: 'novmis', sample: '02-vm-with-pvc.yaml', flags: ['--exclude-resources', 'virtualmachineinstances'], refused: true, restore: false },
    { id: 'dvlabel', sample: '01-vm-with-dv-and-dvtemplate.yaml', edit: edit('DataVolume', 'test-dv', labelled(EXCLUDE, 'true')), flags: [], refused: true, restore: false },
    {
        id: 'dvmeta',
        sample: '01-vm-with-dv-and-dvtemplate.yaml',
        edit: edit('DataVolume', 'test-dv', labelled(EXCLUDE, 'true')),
        flags: ['--labels', 'velero.kubevirt.io/metadataBackup=true'],
        refused: false,
        restore: false,
    },
    { id: 'podlabel', sample: '07-vmi-with-dv.yaml', edit: edit('Pod', undefined, labelled(EXCLUDE, 'true')), flags: [], refused: true, restore: false },
    { id: 'podsel', sample: '02-vm-with-pvc.yaml', flags: ['--selector', 'kubevirt.io=virt-launcher'], restore: false },
];

interface BackupRun {
    c: BackupCase;
    ns: string;
    name: string;
    pre: Preflight<BackupReport>;
    phase: string | undefined;
    /** The texts after "desc = " of Velero's "Error backing up item" lines (the plugin's errors). */
    pluginErrors: string[];
    /** Other error lines (hooks fail in the lab: no kubelet). */
    otherErrors: string[];
    items: Map<string, KubeObject>;
}

const runs = new Map<string, BackupRun>();

async function runBackupCase(c: BackupCase): Promise<BackupRun> {
    const ns = `pf-${c.id}`;
    const name = `pf-${c.id}-${STAMP}`;
    let objs = loadSample(c.sample);
    if (c.edit) objs = c.edit(objs);
    await createVmScenario(lab, ns, objs);
    const scope = ['--include-namespaces', ns, '--snapshot-volumes=false'];
    const preFlags = c.flags.map((f) => (f === '--labels' ? '--label' : f));
    const pre = await preflight<BackupReport>(['backup', ...scope, ...preFlags]);
    await lab.velero(['backup', 'create', name, ...scope, ...c.flags, '--wait']);
    const phase = await lab.phase('backup', name);
    const lines = parseLog(await lab.backupLog(name));
    const errors = errorLines(lines);
    const pluginErrors = errors.filter((l) => l.msg === 'Error backing up item').map((l) => (l.fields['error'] ?? '').replace(/^.*? desc = /, ''));
    const otherErrors = errors.filter((l) => l.msg !== 'Error backing up item').map((l) => `${l.msg}: ${l.fields['error'] ?? ''}`);
    return { c, ns, name, pre, phase, pluginErrors, otherErrors, items: backupItems(await lab.readBackup(name)) };
}

function itemKey(resource: string, ns: string, name: string): string {
    return `${resource} ${ns}/${name}`;
}
const RESOURCE = { VirtualMachine: 'virtualmachines.kubevirt.io', VirtualMachineInstance: 'virtualmachineinstances.kubevirt.io' } as const;

describe.each(CASES.map((c) => [c.id, c] as const))('backup %s: preflight verdict = what velero backup create does', (_id, c) => {
    let r: BackupRun;
    beforeAll(async () => {
        r = await runBackupCase(c);
        runs.set(c.id, r);
    });

    it("the refusals are exactly the plugin errors in Velero's backup log, and a refusal makes the backup PartiallyFailed", () => {
        const refusals = [...new Set(r.pre.report.subjects.flatMap((s) => s.refusals))].sort();
        expect(refusals).toEqual([...new Set(r.pluginErrors)].sort());
        if (c.refused !== undefined) expect(refusals.length > 0).toBe(c.refused);
        if (refusals.length > 0) expect(r.phase).toBe('PartiallyFailed');
        // Anything else that failed is the lab's missing kubelet (hooks), never an unexplained error.
        expect(r.otherErrors.filter((e) => !/^Error executing hook: pods "node01" not found$/.test(e))).toEqual([]);
        if (r.otherErrors.length === 0 && refusals.length === 0) expect(r.phase).toBe('Completed');
        expect(r.pre.code).toBe(refusals.length > 0 || r.pre.report.summary.errors > 0 ? 1 : 0);
    });

    it('included VMs/VMIs are in the tarball with the predicted consistency; the others are not', () => {
        expect(r.pre.report.subjects.length).toBeGreaterThan(0);
        for (const s of r.pre.report.subjects) {
            const stored = r.items.get(itemKey(RESOURCE[s.kind], s.namespace, s.name));
            if (!s.included) {
                expect({ subject: s.name, stored: stored !== undefined }).toEqual({ subject: s.name, stored: false });
                continue;
            }
            if (s.refusals.length > 0) continue; // the refused item's fate is the error above
            expect({ subject: s.name, stored: stored !== undefined }).toEqual({ subject: s.name, stored: true });
            const recorded = JSON.parse(stored?.metadata?.annotations?.['velero.kubevirt.io/backup-consistency'] ?? '{}') as { level?: string; reasons?: string[] };
            expect({ subject: s.name, level: recorded.level, reasons: recorded.reasons }).toEqual({
                subject: s.name,
                level: s.consistency?.level,
                reasons: s.consistency?.reasons,
            });
        }
    });

    it('what it said travels is in the tarball; what it said is missing or filtered is not', () => {
        for (const s of r.pre.report.subjects.filter((x) => x.included && x.refusals.length === 0)) {
            for (const o of s.related) {
                const stored = r.items.has(itemKey(o.resource, o.namespace, o.name));
                expect({ subject: s.name, object: `${o.resource} ${o.name}`, status: o.status, stored }).toEqual({
                    subject: s.name,
                    object: `${o.resource} ${o.name}`,
                    status: o.status,
                    stored: o.status === 'included',
                });
            }
        }
    });
});

// ---- restore ----------------------------------------------------------------------------------------

interface RestoreRun {
    pre: Preflight<RestoreReport>;
    name: string;
    target: string;
    phase: string | undefined;
    errors: string[];
    resourceList: Record<string, string[]>;
}

async function runRestore(b: BackupRun, target: string, suffix: string, flags: string[], mapped = true): Promise<RestoreRun> {
    const name = `pf-${b.c.id}-${suffix}-${STAMP}`;
    const mapping = mapped ? ['--namespace-mappings', `${b.ns}:${target}`] : [];
    const preFlags = flags.map((f) => (f === '--labels' ? '--label' : f));
    const pre = await preflight<RestoreReport>(['restore', lab.backupTarball(b.name), ...mapping, ...preFlags]);
    await lab.velero(['restore', 'create', name, '--from-backup', b.name, ...mapping, ...flags, '--wait']);
    const phase = await lab.phase('restore', name);
    const results = await lab.restoreResults(name);
    const errors = Object.values(results.errors?.namespaces ?? {})
        .flat()
        .map((e) => String(e));
    return { pre, name, target, phase, errors, resourceList: await restoredResourceList(lab, name) };
}

async function exists(resource: string, ns: string, name: string): Promise<boolean> {
    return (await lab.getJson(resource, ns, name)) !== undefined;
}

/** The restore-side comparison shared by every restore case. */
async function compareRestore(r: RestoreRun): Promise<void> {
    expect(r.pre.report.subjects.length).toBeGreaterThan(0);
    const refusals = r.pre.report.subjects.flatMap((s) => s.refusals);
    for (const text of refusals) expect(r.errors.some((e) => e.includes(text))).toBe(true);
    expect(r.phase).toBe(refusals.length > 0 ? 'PartiallyFailed' : 'Completed');
    for (const s of r.pre.report.subjects) {
        const present = await exists(RESOURCE[s.kind], s.targetNamespace, s.name);
        const created = Object.values(r.resourceList).flat().includes(`${s.targetNamespace}/${s.name}(created)`);
        expect({ subject: s.name, restored: s.restored && s.refusals.length === 0 }).toEqual({ subject: s.name, restored: created });
        if (s.restored && s.refusals.length === 0) expect({ subject: s.name, present }).toEqual({ subject: s.name, present: true });
        for (const o of s.related) {
            if (o.status !== 'restored' && o.status !== 'skipped') continue;
            const there = await exists(o.resource, o.namespace, o.name);
            expect({ subject: s.name, object: `${o.resource} ${o.name}`, status: o.status, there }).toEqual({
                subject: s.name,
                object: `${o.resource} ${o.name}`,
                status: o.status,
                there: o.status === 'restored',
            });
        }
    }
}

describe.each(SCENARIOS.map((s) => [s.id, s] as const))('restore of partner scenario %s: preflight verdict = what velero restore create does', (id) => {
    let r: RestoreRun;
    beforeAll(async () => {
        const b = runs.get(id);
        if (!b) throw new Error(`backup of scenario ${id} did not run`);
        r = await runRestore(b, `pf-${id}-r`, 'r', []);
    });

    it('restored VMs/VMIs and their objects, skipped objects, errors and phase agree', async () => {
        await compareRestore(r);
    });

    it('identity values it reports as colliding are kept as it says (no identity policy requested)', async () => {
        for (const s of r.pre.report.subjects) {
            for (const v of s.identity) {
                expect(v.requested).toBe('kept (collides)');
                const restored = await lab.getJson(RESOURCE[s.kind], s.targetNamespace, s.name);
                expect(JSON.stringify(restored)).toContain(v.value);
            }
        }
    });
});

describe('restore refusal cases: preflight verdict = what velero restore create does', () => {
    it("an invalid restore-run-strategy label fails each VM with the action's message", async () => {
        const b = runs.get('01');
        if (!b) throw new Error('backup 01 did not run');
        const r = await runRestore(b, 'pf-01-badrs', 'badrs', ['--labels', 'velero.kubevirt.io/restore-run-strategy=Sometimes']);
        expect(r.pre.code).toBe(1);
        expect(r.pre.report.subjects.flatMap((s) => s.refusals)).toEqual([
            'VirtualMachine pf-01/test-vm-with-dv-and-dvtemplate: Restore label velero.kubevirt.io/restore-run-strategy has invalid value "Sometimes": allowed values are Always, Halted, Manual, RerunOnFailure, Once',
        ]);
        await compareRestore(r);
    });

    it('restoring over the original is a name collision: Velero does not create the VM', async () => {
        const b = runs.get('01');
        if (!b) throw new Error('backup 01 did not run');
        const before = await lab.getJson(RESOURCE.VirtualMachine, 'pf-01', 'test-vm-with-dv-and-dvtemplate');
        const r = await runRestore(b, 'pf-01', 'same', [], false);
        expect(r.pre.code).toBe(1);
        const vm = r.pre.report.subjects.find((s) => s.kind === 'VirtualMachine');
        expect(vm?.findings.map((f) => f.code)).toContain('NameCollision');
        await compareRestore(r);
        const after = await lab.getJson(RESOURCE.VirtualMachine, 'pf-01', 'test-vm-with-dv-and-dvtemplate');
        expect(after?.metadata?.uid).toBe(before?.metadata?.uid);
    });

    it('MAC and serial collisions: kept without a policy, cleared/replaced with identity-policy=auto, as predicted', async () => {
        const c: BackupCase = {
            id: 'ident',
            sample: '01-vm-with-dv-and-dvtemplate.yaml',
            edit: edit('VirtualMachine', undefined, (o) => {
                const spec = (o.spec as { template: { spec: { domain: Record<string, unknown> } } }).template.spec;
                const devices = (spec.domain['devices'] ?? {}) as Record<string, unknown>;
                devices['interfaces'] = [{ name: 'default', masquerade: {}, macAddress: '02:70:66:00:00:01' }];
                spec.domain['devices'] = devices;
                spec.domain['firmware'] = { serial: 'pf-serial-0001' };
                const s = o.spec as Record<string, unknown>;
                if (!Array.isArray((spec as unknown as { networks?: unknown[] }).networks)) (spec as unknown as { networks: unknown[] }).networks = [{ name: 'default', pod: {} }];
                void s;
            }),
            flags: [],
            restore: false,
        };
        const b = await runBackupCase(c);
        const kept = await runRestore(b, 'pf-ident-keep', 'keep', []);
        const vmKept = kept.pre.report.subjects.find((s) => s.kind === 'VirtualMachine');
        expect(vmKept?.identity.map((i) => [i.field, i.requested])).toEqual([
            ['spec.template.spec.domain.devices.interfaces[0].macAddress', 'kept (collides)'],
            ['spec.template.spec.domain.firmware.serial', 'kept (collides)'],
        ]);
        await compareRestore(kept);
        const auto = await runRestore(b, 'pf-ident-auto', 'auto', ['--labels', 'velero.kubevirt.io/identity-policy=auto']);
        const vmAuto = auto.pre.report.subjects.find((s) => s.kind === 'VirtualMachine');
        expect(vmAuto?.identity.map((i) => i.requested)).toEqual(['cleared', 'replaced']);
        expect(auto.pre.code).toBe(0);
        await compareRestore(auto);
        const restored = await lab.getJson(RESOURCE.VirtualMachine, 'pf-ident-auto', vmAuto?.name ?? '');
        const domain = (restored?.spec as { template: { spec: { domain: { devices: { interfaces: Record<string, unknown>[] }; firmware: { serial?: string } } } } }).template.spec
            .domain;
        expect(domain.devices.interfaces[0]?.['macAddress']).toBeUndefined();
        expect(domain.firmware.serial).toBeDefined();
        expect(domain.firmware.serial).not.toBe('pf-serial-0001');
        const keptVm = await lab.getJson(RESOURCE.VirtualMachine, 'pf-ident-keep', vmKept?.name ?? '');
        expect(JSON.stringify(keptVm?.spec)).toContain('02:70:66:00:00:01');
        expect(JSON.stringify(keptVm?.spec)).toContain('pf-serial-0001');
    });
});
