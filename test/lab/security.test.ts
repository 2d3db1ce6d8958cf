/**
 * Issue 10, "Restore must never pull objects from another namespace", replayed against a real
 * kube-apiserver and velero server (docs/decisions/007-trust-model.md).
 *
 * Namespace sec-victim holds Secret db-creds. In the tenant namespace sec-tenant, whose users may edit
 * their own VMs, two VMs try to steal it through a single-VM restore:
 *   (a) sec-vm names it in its spec (cloud-init secretRef "../sec-victim/db-creds"). An administrator backs
 *       up both namespaces with plain `velero backup create`; this plugin's backup action drops the
 *       reference from the additional items and records the restore graph as computed (the hostile entry
 *       included: the recording is a hint, the restore checks it);
 *   (b) sec-vm-edited has a clean spec, but its recorded restore graph in the backup tarball is edited (as
 *       anyone with write access to the object store, or a backup taken by another tool, could) to name the
 *       victim's Secret and a RoleBinding of the tenant namespace that is in the backup;
 *   (c) sec-vm-plain is clean in the cluster; in the tarball its spec gets a secret volume
 *       "../sec-victim/db-creds" and its recording is removed, as in a backup taken without this plugin
 *       (plain Velero, the Go plugin) of a VM the tenant had edited: the restore computes the graph from
 *       the spec.
 * Then the tenant namespace is gone and each VM is restored alone with
 * `velero restore create --selector velero.kubevirt.io/vm=<name>` (docs/decisions/004-single-vm-restore.md).
 * Nothing of sec-victim, and no RoleBinding, may appear in sec-tenant; the VMs and their good references
 * must; the restore log must carry our warning naming the VM and the field.
 *
 * KVP_SEC_PLUGIN=<binary> runs the backup and the restores with that plugin build instead (for example one
 * built from a commit before the validation), to show that these tests fail without it. Namespaces,
 * backups and restores start with "sec-".
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../src/kube/object';
import { connectLab, DEFAULT_PLUGIN_BINARY, pluginLogLines, type Lab } from './lab';
import { backupItem, messages, pluginErrors } from './restore/checks';

const TENANT = 'sec-tenant';
const VICTIM = 'sec-victim';
const VM = 'sec-vm';
const VM_EDITED = 'sec-vm-edited';
const VM_PLAIN = 'sec-vm-plain';
const BACKUP = 'sec-ns';
const VM_LABEL = 'velero.kubevirt.io/vm';
const RESTORE_GRAPH = 'velero.kubevirt.io/restore-graph';
/** The victim's password: it must never show up in the tenant namespace. */
const PASSWORD = 'victim-password-7f3a';
const PASSWORD_B64 = Buffer.from(PASSWORD).toString('base64');
const PLUGIN = process.env['KVP_SEC_PLUGIN'];

function vm(name: string, volumes: unknown[]): KubeObject {
    return {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name, namespace: TENANT },
        spec: {
            runStrategy: 'Halted',
            template: { metadata: { labels: { app: name } }, spec: { domain: { devices: {}, resources: { requests: { memory: '64Mi' } } }, volumes } },
        },
    };
}

const OBJECTS: KubeObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: VICTIM } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TENANT } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db-creds', namespace: VICTIM }, type: 'Opaque', data: { password: PASSWORD_B64 } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec-userdata', namespace: TENANT }, type: 'Opaque', stringData: { userdata: '#cloud-config\n' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'sec-config', namespace: TENANT }, data: { a: 'b' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'sec-edited-config', namespace: TENANT }, data: { a: 'b' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'sec-plain-config', namespace: TENANT }, data: { a: 'b' } },
    {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'sec-admin', namespace: TENANT },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'mallory' }],
    },
    vm(VM, [
        { name: 'cloudinit', cloudInitNoCloud: { secretRef: { name: `../${VICTIM}/db-creds` } } },
        { name: 'userdata', secret: { secretName: 'sec-userdata' } },
        { name: 'config', configMap: { name: 'sec-config' } },
    ]),
    vm(VM_EDITED, [{ name: 'config', configMap: { name: 'sec-edited-config' } }]),
    vm(VM_PLAIN, [{ name: 'config', configMap: { name: 'sec-plain-config' } }]),
];

/** What the attacker writes into sec-vm-edited's recorded restore graph. */
const EDITED_GRAPH = ['configmaps/sec-edited-config', `secrets/../${VICTIM}/db-creds`, 'rolebindings.rbac.authorization.k8s.io/sec-admin'];

/** Rewrites the tarball of a backup in the local object store, changing the JSON of the files `edit` names. */
function editBackup(lab: Lab, name: string, edit: (path: string, obj: KubeObject) => KubeObject | undefined): string[] {
    const tarball = lab.backupTarball(name);
    const dir = mkdtempSync(join(process.env['TMPDIR'] ?? tmpdir(), 'sec-backup-'));
    try {
        execFileSync('tar', ['-xzf', tarball, '-C', dir]);
        const files = execFileSync('find', ['.', '-type', 'f', '-name', '*.json'], { cwd: dir, encoding: 'utf8' })
            .split('\n')
            .filter((f) => f !== '')
            .map((f) => f.replace(/^\.\//, ''));
        const changed: string[] = [];
        for (const file of files) {
            const out = edit(file, JSON.parse(readFileSync(join(dir, file), 'utf8')) as KubeObject);
            if (out === undefined) continue;
            writeFileSync(join(dir, file), JSON.stringify(out));
            changed.push(file);
        }
        // Velero's own layout: top-level entries "metadata/…", "resources/…" (no "./" prefix).
        execFileSync('tar', ['-czf', tarball, '-C', dir, ...readdirSync(dir).sort()]);
        return changed.sort();
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

interface Outcome {
    phase: string | undefined;
    errors: string[];
    pluginWarnings: string[];
    pluginErrors: string[];
    secrets: KubeObject[];
    configMaps: string[];
    roleBindings: string[];
    vm: KubeObject | undefined;
}

async function restoreOne(lab: Lab, vmName: string, restore: string): Promise<Outcome> {
    await lab.deleteNamespace(TENANT);
    await lab.velero(['restore', 'create', restore, '--from-backup', BACKUP, '--selector', `${VM_LABEL}=${vmName}`, '--wait']);
    const log = await lab.restoreLog(restore);
    const results = await lab.restoreResults(restore);
    return {
        phase: await lab.phase('restore', restore),
        errors: messages(results.errors),
        pluginWarnings: pluginLogLines(log).filter((l) => l.includes('level=warn')),
        pluginErrors: pluginErrors(log),
        secrets: await lab.list('secrets', TENANT),
        configMaps: (await lab.list('configmaps', TENANT)).map((c) => c.metadata?.name ?? '').sort(),
        roleBindings: (await lab.list('rolebindings.rbac.authorization.k8s.io', TENANT)).map((r) => r.metadata?.name ?? '').sort(),
        vm: await lab.getJson('virtualmachines.kubevirt.io', TENANT, vmName),
    };
}

/** Whether any Secret carries the victim's password, under any key or name. */
function leaks(secrets: readonly KubeObject[]): string[] {
    return secrets
        .filter((s) => Object.values((s['data'] ?? {}) as Record<string, string>).some((v) => v === PASSWORD_B64))
        .map((s) => `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`);
}

let lab: Lab;
let files: Map<string, unknown>;
let edited: string[];
let spec: Outcome;
let annotation: Outcome;
let plain: Outcome;

beforeAll(async () => {
    lab = connectLab();
    if (PLUGIN !== undefined && PLUGIN !== '') await lab.restartVelero({ pluginBinary: PLUGIN });
    for (const ns of [TENANT, VICTIM]) await lab.deleteNamespace(ns);
    await lab.apply(OBJECTS);
    // The administrator's backup of both namespaces; nothing the tenant controls beyond its VMs.
    await lab.velero(['backup', 'create', BACKUP, '--include-namespaces', `${TENANT},${VICTIM}`, '--snapshot-volumes=false', '--wait']);
    files = await lab.readBackup(BACKUP);
    edited = editBackup(lab, BACKUP, (path, obj) => {
        if (!path.startsWith('resources/virtualmachines.kubevirt.io/') || obj.metadata === undefined) return undefined;
        const annotations = { ...(obj.metadata.annotations ?? {}) };
        if (obj.metadata.name === VM_EDITED) annotations[RESTORE_GRAPH] = JSON.stringify(EDITED_GRAPH);
        else if (obj.metadata.name === VM_PLAIN) {
            delete annotations[RESTORE_GRAPH];
            const template = (obj.spec as { template: { spec: { volumes: unknown[] } } }).template.spec;
            template.volumes = [{ name: 'creds', secret: { secretName: `../${VICTIM}/db-creds` } }, ...template.volumes];
        } else return undefined;
        obj.metadata.annotations = annotations;
        return obj;
    });
    spec = await restoreOne(lab, VM, 'sec-one-spec');
    annotation = await restoreOne(lab, VM_EDITED, 'sec-one-edited');
    plain = await restoreOne(lab, VM_PLAIN, 'sec-one-plain');
});

afterAll(async () => {
    for (const ns of [TENANT, VICTIM]) await lab.deleteNamespace(ns);
    if (PLUGIN !== undefined && PLUGIN !== '') await lab.restartVelero({ pluginBinary: DEFAULT_PLUGIN_BINARY });
});

describe("the attacker's preconditions", () => {
    it("the administrator's backup completes: a VM with a hostile name is backed up without it, not failed", async () => {
        expect(await lab.phase('backup', BACKUP)).toBe('Completed');
    });

    it("the backup holds the victim's Secret and both VMs, labelled for single-VM restore", () => {
        expect(backupItem(files, 'secrets', VICTIM, 'db-creds')['data']).toEqual({ password: PASSWORD_B64 });
        for (const name of [VM, VM_EDITED, VM_PLAIN]) {
            expect(backupItem(files, 'virtualmachines.kubevirt.io', TENANT, name).metadata?.labels?.[VM_LABEL]).toBe(name);
        }
        expect(backupItem(files, 'rolebindings.rbac.authorization.k8s.io', TENANT, 'sec-admin')).toBeDefined();
    });

    it('the recording of sec-vm names the hostile Secret: the backup action recorded it as a hint', () => {
        const recorded = backupItem(files, 'virtualmachines.kubevirt.io', TENANT, VM).metadata?.annotations?.[RESTORE_GRAPH];
        expect(JSON.parse(recorded ?? '[]')).toContain(`secrets/../${VICTIM}/db-creds`);
    });

    it('the recordings of sec-vm-edited and sec-vm-plain were rewritten in the tarball', () => {
        expect(edited.filter((p) => p.endsWith(`/namespaces/${TENANT}/${VM_EDITED}.json`)).length).toBeGreaterThanOrEqual(1);
        expect(edited.filter((p) => p.endsWith(`/namespaces/${TENANT}/${VM_PLAIN}.json`)).length).toBeGreaterThanOrEqual(1);
        expect(edited.every((p) => p.endsWith(`${VM_EDITED}.json`) || p.endsWith(`${VM_PLAIN}.json`))).toBe(true);
    });
});

describe.each([
    [
        '(a) a VM naming ../sec-victim/db-creds in its spec, backed up with this plugin',
        () => spec,
        VM,
        ['sec-config'],
        ['sec-userdata'],
        `metadata.annotations[${RESTORE_GRAPH}][0]`,
    ],
    ['(b) a VM whose recorded restore graph was edited', () => annotation, VM_EDITED, ['sec-edited-config'], [], `metadata.annotations[${RESTORE_GRAPH}][1]`],
    ['(c) a VM naming ../sec-victim/db-creds in its spec, without a recording', () => plain, VM_PLAIN, ['sec-plain-config'], [], 'spec.template.spec.volumes[0].secret.secretName'],
])('%s, restored alone by --selector', (_what, outcome, vmName, configMaps, secrets, field) => {
    it("creates nothing of the victim's namespace in the tenant's", () => {
        const o = outcome();
        expect(leaks(o.secrets)).toEqual([]);
        expect(o.secrets.map((s) => s.metadata?.name ?? '').sort()).toEqual(secrets);
    });

    it('restores no RoleBinding', () => {
        expect(outcome().roleBindings).toEqual([]);
    });

    it('restores the VM and its good references', () => {
        const o = outcome();
        expect(o.vm?.metadata?.name).toBe(vmName);
        expect(o.configMaps).toEqual(configMaps);
    });

    it('warns in the restore log, naming the VM and the field', () => {
        const line = outcome().pluginWarnings.find((l) => l.includes(`dropping additional item secrets`) && l.includes(`../${VICTIM}/db-creds`));
        expect(line).toBeDefined();
        expect(line).toContain(`VirtualMachine ${TENANT}/${vmName}`);
        expect(line).toContain(`(from ${field})`);
    });

    it('completes without errors', () => {
        const o = outcome();
        expect([o.phase, o.errors, o.pluginErrors]).toEqual(['Completed', [], []]);
    });
});

describe('(b) the edited restore graph', () => {
    it('is not trusted for the RoleBinding either: one warning for it', () => {
        const line = annotation.pluginWarnings.find((l) => l.includes('rolebindings.rbac.authorization.k8s.io'));
        expect(line).toContain(`(from metadata.annotations[${RESTORE_GRAPH}][2])`);
    });
});

describe("the victim's namespace", () => {
    it('keeps its Secret, unchanged', async () => {
        const secret = await lab.getJson('secrets', VICTIM, 'db-creds');
        expect(secret?.['data']).toEqual({ password: PASSWORD_B64 });
    });

    it('the backup log warns about the hostile reference of sec-vm too', async () => {
        const log = await lab.backupLog(BACKUP);
        const line = pluginLogLines(log).find((l) => l.includes('level=warn') && l.includes(`VirtualMachine ${TENANT}/${VM}: dropping additional item`));
        expect(line).toContain(`secrets \\"../${VICTIM}/db-creds\\"`);
        expect(line).toContain('(from spec.template.spec.volumes[0].cloudInitNoCloud.secretRef.name)');
    });
});
