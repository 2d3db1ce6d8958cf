/**
 * The local lab: etcd + kube-apiserver on loopback (ports chosen at run time), an admin kubeconfig
 * (client certificate in group system:masters), the Velero/KubeVirt/CDI/snapshot CRDs, and a real
 * `velero server` whose plugin directory holds our plugin and the filesystem object store. Port of
 * test/tools/smoke-lab.sh. With KVP_LAB_KUBECONFIG set, the same API drives an existing cluster instead.
 *
 * API summary (details in test/lab/README.md):
 *   const lab = await startLab({});            // owner: starts processes, stop() ends them
 *   const lab = connectLab();                  // a client of the lab the jest globalSetup started
 */
import { generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/kube/object';
import { freePorts, processAlive, registeredGroups, run, runOk, startDaemon, startWatchdog, stopGroup, stopRegistered, stopRegisteredSync, unregister } from './proc';
import { readTarGz } from './tar';
import { apiserverKubeletFlags, FreezerRecorder, kubeletPki, startCsi, startKwok, type CsiState, type KwokState } from './cluster';

/** The repository root (found upwards from this file, so that a bundled copy under build/ works too). */
export const REPO = findRepo(__dirname);

declare global {
    /** The lab the jest globalSetup started (read by the globalTeardown in the same process). */
    var __KVP_LAB__: Lab | undefined;
}
function findRepo(start: string): string {
    for (let d = start; ; d = dirname(d)) {
        if (existsSync(join(d, 'scripts', 'build-go-tools.sh'))) return d;
        if (dirname(d) === d) return resolve(__dirname, '..', '..');
    }
}
export const DEFAULT_PLUGIN_BINARY = join(REPO, 'dist', 'kubevirt-velero-plugin');
/** Where the jest globalSetup writes the connection info of the shared lab. */
export const SHARED_LAB_FILE = join(REPO, 'build', 'lab', 'lab.json');
export const BSL_NAME = 'default';
export const BSL_BUCKET = 'velero';
export const FS_PROVIDER = 'kvp-test.io/filesystem';

export interface StartLabOptions {
    /** The plugin executable put into the plugin directory (default dist/kubevirt-velero-plugin). */
    pluginBinary?: string;
    /** Start the velero server (default true). */
    velero?: boolean;
    /** More plugin executables for the plugin directory. */
    extraPlugins?: string[];
    /** Where the process logs go (default: the work directory). Kept after stop(). */
    logDir?: string;
    /** Keep the work directory after stop() (also KVP_LAB_KEEP=1). */
    keep?: boolean;
    /** velero server --log-level (default debug, so that plugin debug lines are in the log). */
    veleroLogLevel?: string;
    /** Extra flags for velero server. */
    veleroArgs?: string[];
    /**
     * Run kwok: node node01 with a kubelet API, pods Running, exec hooks through the apiserver (default:
     * when the tools dir has bin/kwok).
     */
    kwok?: boolean;
    /**
     * Run the CSI snapshot machinery (snapshot-controller, csi-snapshotter, mock CSI driver) and velero
     * server with --features=EnableCSI (default: when the tools dir has bin/snapshot-controller).
     */
    csi?: boolean;
    /**
     * With the CSI machinery, also run csi-provisioner and kube-controller-manager's PersistentVolume
     * binder, so restored claims are provisioned from their VolumeSnapshots and bound (default: on with
     * `csi`; the tools come from KVP_PV_TOOLS_DIR or scripts/build-go-tools-pv.sh, which builds them).
     */
    provisioner?: boolean;
    /**
     * A command the velero server is started through, e.g. a wrapper that puts it into a memory cgroup
     * before exec'ing it (its plugin processes inherit the cgroup). The server's own command follows it.
     */
    veleroCommandPrefix?: string[];
}

/** Everything a second handle needs to drive a running lab (serialised by the jest globalSetup). */
export interface LabState {
    mode: 'local' | 'existing';
    workDir: string;
    kubeconfig: string;
    apiServer: string;
    objectStoreRoot: string;
    veleroNamespace: string;
    pluginDir: string;
    /** Our plugin's file in the plugin directory (a copy of the binary given to startLab). */
    pluginFile?: string;
    veleroServerLog: string;
    toolsDir: string;
    /** The file listing every process group of the lab ("<pgid> <name>" lines). */
    registry: string;
    ownerPid: number;
    veleroPid?: number;
    veleroCmd: string[];
    veleroEnv: Record<string, string>;
    kubectlCacheDir: string;
    caCert?: string;
    caKey?: string;
    apiServerCa?: string;
    keep: boolean;
    /** Seconds spent in each start-up step. */
    timings: Record<string, number>;
    /** kwok (node01, kubelet API, virt-freezer recorder), when it runs. */
    kwok?: KwokState;
    /** The CSI snapshot machinery, when it runs. */
    csi?: CsiState;
}

export type Predicate<T> = () => Promise<T | undefined | null | false> | T | undefined | null | false;

function log(msg: string): void {
    if (process.env['KVP_LAB_QUIET'] !== '1') process.stderr.write(`lab: ${msg}\n`);
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

function tail(path: string, lines = 30): string {
    try {
        return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
        return '(no log)';
    }
}

/** Parses multi-document YAML into objects (Lists are flattened). */
export function parseYamlObjects(text: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const doc of parseAllDocuments(text)) {
        if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message ?? ''}`);
        const v: unknown = doc.toJS();
        if (v === null || v === undefined) continue;
        const obj = v as KubeObject & { items?: KubeObject[] };
        if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) out.push(...obj.items);
        else out.push(obj);
    }
    return out;
}

/** The tools cache directory: KVP_TOOLS_DIR, or whatever scripts/build-go-tools.sh prints (it builds if needed). */
export function toolsDir(): string {
    return cachedToolsDir('KVP_TOOLS_DIR', 'build-go-tools.sh');
}

/** The provisioning tools' cache directory: KVP_PV_TOOLS_DIR, or what scripts/build-go-tools-pv.sh prints. */
export function pvToolsDir(): string {
    return cachedToolsDir('KVP_PV_TOOLS_DIR', 'build-go-tools-pv.sh');
}

function cachedToolsDir(envName: string, script: string): string {
    const env = process.env[envName];
    if (env !== undefined && env !== '') return env;
    const out = execFileSync('bash', [join(REPO, 'scripts', script)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
    });
    const dir = out.trim().split('\n').pop() ?? '';
    if (!existsSync(join(dir, '.complete'))) throw new Error(`${script} printed no complete tools dir: ${out}`);
    process.env[envName] = dir;
    return dir;
}

function httpGet(url: string, tls?: https.RequestOptions): Promise<number> {
    return new Promise((res) => {
        const mod = url.startsWith('https:') ? https : http;
        const req = mod.get(url, { ...tls, timeout: 2000 }, (r) => {
            r.resume();
            res(r.statusCode ?? 0);
        });
        req.on('error', () => res(0));
        req.on('timeout', () => {
            req.destroy();
            res(0);
        });
    });
}

export class Lab {
    private exitHandlers: { exit: () => void; sigint: () => void; sigterm: () => void } | undefined;
    private stopped = false;

    constructor(
        readonly state: LabState,
        /** True for the handle that started the processes (only it stops them). */
        readonly owner: boolean,
    ) {}

    get workDir(): string {
        return this.state.workDir;
    }
    get kubeconfig(): string {
        return this.state.kubeconfig;
    }
    get apiServer(): string {
        return this.state.apiServer;
    }
    get objectStoreRoot(): string {
        return this.state.objectStoreRoot;
    }
    get veleroNamespace(): string {
        return this.state.veleroNamespace;
    }
    get pluginDir(): string {
        return this.state.pluginDir;
    }
    get veleroServerLog(): string {
        return this.state.veleroServerLog;
    }
    get isExistingCluster(): boolean {
        return this.state.mode === 'existing';
    }
    /** The virt-freezer recorder (undefined without kwok). */
    get freezer(): FreezerRecorder | undefined {
        return this.state.kwok === undefined ? undefined : new FreezerRecorder(this.state.kwok);
    }
    get bin(): (name: string) => string {
        return (name) => join(this.state.toolsDir, 'bin', name);
    }

    // ---- commands --------------------------------------------------------------------------------

    private kubectlArgs(args: readonly string[]): string[] {
        const base = [`--kubeconfig=${this.kubeconfig}`];
        if (this.state.kubectlCacheDir !== '') base.push(`--cache-dir=${this.state.kubectlCacheDir}`);
        return [...base, ...args];
    }

    /** kubectl with the admin kubeconfig; resolves to stdout, throws with stderr on failure. */
    kubectl(args: string[], input?: string): Promise<string> {
        return runOk(this.bin('kubectl'), this.kubectlArgs(args), input === undefined ? {} : { input });
    }

    /** kubectl without throwing: { stdout, stderr, code }. */
    kubectlRaw(args: string[], input?: string): ReturnType<typeof run> {
        return run(this.bin('kubectl'), this.kubectlArgs(args), input === undefined ? {} : { input });
    }

    /** The real velero CLI with --kubeconfig and --namespace set; throws with stderr on failure. */
    velero(args: string[]): Promise<string> {
        return runOk(this.bin('velero'), [`--kubeconfig=${this.kubeconfig}`, `--namespace=${this.veleroNamespace}`, ...args], {
            env: { ...process.env, KUBECONFIG: this.kubeconfig },
        });
    }

    // ---- objects -----------------------------------------------------------------------------------

    /** Server-side apply (field manager kvp-lab, conflicts forced); resolves to the objects as stored. */
    async apply(objs: KubeObject[] | string): Promise<KubeObject[]> {
        const items = typeof objs === 'string' ? parseYamlObjects(objs) : objs;
        if (items.length === 0) return [];
        const out = await this.kubectl(
            ['apply', '--server-side', '--force-conflicts', '--field-manager=kvp-lab', '-o', 'json', '-f', '-'],
            JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
        );
        const parsed = JSON.parse(out) as KubeObject & { items?: KubeObject[] };
        return Array.isArray(parsed.items) ? parsed.items : [parsed];
    }

    /** Creates one object (fails if it exists); resolves to the stored object (with its uid). */
    async create(obj: KubeObject): Promise<KubeObject> {
        return JSON.parse(await this.kubectl(['create', '-o', 'json', '-f', '-'], JSON.stringify(obj))) as KubeObject;
    }

    /**
     * Writes obj.status through the status subresource (merge patch; lists are replaced). For kinds without
     * a status subresource the patch goes to the object itself. Resolves to the stored object.
     */
    async applyStatus(obj: KubeObject): Promise<KubeObject> {
        const patch = JSON.stringify({ status: obj.status ?? {} });
        const ident = JSON.stringify({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata });
        const r = await this.kubectlRaw(['patch', '-f', '-', '--subresource=status', '--type=merge', '-p', patch, '-o', 'json'], ident);
        if (r.code === 0) return JSON.parse(r.stdout) as KubeObject;
        if (!/the server could not find the requested resource|NotFound|does not support subresource/i.test(r.stderr)) {
            throw new Error(`status of ${obj.kind ?? '?'} ${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}: ${r.stderr.trim()}`);
        }
        return JSON.parse(await this.kubectl(['patch', '-f', '-', '--type=merge', '-p', patch, '-o', 'json'], ident)) as KubeObject;
    }

    /** One object, or undefined when it does not exist. ns '' for cluster-scoped resources. */
    async getJson(resource: string, ns: string, name: string): Promise<KubeObject | undefined> {
        const args = ['get', resource, name, '-o', 'json', '--ignore-not-found'];
        if (ns !== '') args.push('-n', ns);
        const out = await this.kubectl(args);
        return out.trim() === '' ? undefined : (JSON.parse(out) as KubeObject);
    }

    /** All objects of a resource in a namespace; ns '' = cluster-scoped or all namespaces. */
    async list(resource: string, ns = ''): Promise<KubeObject[]> {
        const args = ['get', resource, '-o', 'json'];
        args.push(...(ns === '' ? ['--all-namespaces'] : ['-n', ns]));
        const parsed = JSON.parse(await this.kubectl(args)) as { items?: KubeObject[] };
        return parsed.items ?? [];
    }

    /** Polls fn until it returns a truthy value (returned), or throws after timeoutMs naming `what`. */
    async waitFor<T>(fn: Predicate<T>, timeoutMs: number, what: string, intervalMs = 250): Promise<T> {
        const start = Date.now();
        let last: unknown;
        for (;;) {
            try {
                const v = await fn();
                if (v !== undefined && v !== null && v !== false) return v;
                last = undefined;
            } catch (e) {
                last = e;
            }
            this.checkAlive();
            if (Date.now() - start >= timeoutMs) {
                const why = last instanceof Error ? `: ${last.message}` : '';
                throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${why}`);
            }
            await sleep(intervalMs);
        }
    }

    /** Throws (with the log tail) when a lab process has died. */
    checkAlive(): void {
        if (this.state.mode !== 'local' || this.stopped) return;
        for (const d of registeredGroups(this.state.registry)) {
            if (d.name === 'watchdog') continue;
            if (!processAlive(d.pid)) {
                const logFile = d.name === 'velero' ? this.veleroServerLog : join(dirname(this.veleroServerLog), `${d.name}.log`);
                throw new Error(`${d.name} (pid ${d.pid}) is not running; last log lines:\n${tail(logFile)}`);
            }
        }
    }

    /**
     * Deletes a namespace and everything in it, and waits until it is gone. Without kube-controller-manager
     * there is no namespace controller, so the local lab does its work: deletes every namespaced object
     * (pods with grace period 0: no kubelet confirms), removes finalizers, deletes the PVs a Delete reclaim
     * policy would remove, and finalizes the namespace. On an existing cluster: kubectl delete --wait.
     */
    async deleteNamespace(ns: string): Promise<void> {
        if (this.state.mode === 'existing') {
            await this.kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=true', '--timeout=10m']);
            return;
        }
        if ((await this.getJson('namespace', '', ns)) === undefined) return;
        await this.kubectl(['delete', 'namespace', ns, '--wait=false']);
        const types = (await this.kubectl(['api-resources', '--namespaced=true', '--verbs=list,delete', '-o', 'name']))
            .split('\n')
            .map((s) => s.trim())
            .filter((s) => s !== '' && s !== 'events' && s !== 'events.events.k8s.io');
        const contents = async (): Promise<KubeObject[]> => {
            const out = await this.kubectl(['get', types.join(','), '-n', ns, '-o', 'json', '--ignore-not-found']);
            return out.trim() === '' ? [] : ((JSON.parse(out) as { items?: KubeObject[] }).items ?? []);
        };
        await this.kubectlRaw(['delete', types.join(','), '--all', '-n', ns, '--grace-period=0', '--force', '--wait=false', '--ignore-not-found']);
        for (const obj of await contents()) {
            if (!(obj.metadata?.['finalizers'] as unknown[] | undefined)?.length) continue;
            const ident = JSON.stringify({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata?.name, namespace: ns } });
            await this.kubectlRaw(['patch', '-f', '-', '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], ident);
        }
        // The PV controller's part: a claim's Delete-policy volume goes with it.
        for (const pv of await this.list('persistentvolumes')) {
            const spec = pv.spec as { claimRef?: { namespace?: string }; persistentVolumeReclaimPolicy?: string } | undefined;
            if (spec?.claimRef?.namespace !== ns || spec.persistentVolumeReclaimPolicy === 'Retain') continue;
            const name = pv.metadata?.name ?? '';
            await this.kubectlRaw(['patch', 'pv', name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
            await this.kubectlRaw(['delete', 'pv', name, '--wait=false', '--ignore-not-found']);
        }
        await this.waitFor(async () => (await contents()).length === 0, 60_000, `namespace ${ns} to be empty`);
        const nsObj = await this.getJson('namespace', '', ns);
        if (nsObj !== undefined) {
            const fin = { ...nsObj, spec: { finalizers: [] } };
            await this.kubectl(['replace', '--raw', `/api/v1/namespaces/${ns}/finalize`, '-f', '-'], JSON.stringify(fin));
        }
        await this.waitFor(async () => (await this.getJson('namespace', '', ns)) === undefined, 60_000, `namespace ${ns} to be gone`);
    }

    // ---- backups -------------------------------------------------------------------------------------

    private objectPath(...parts: string[]): string {
        if (this.state.mode !== 'local') throw new Error('the object store is not local (existing-cluster mode)');
        return join(this.objectStoreRoot, BSL_BUCKET, ...parts);
    }

    /** The backup tarball in the local object store. */
    backupTarball(name: string): string {
        return this.objectPath('backups', name, `${name}.tar.gz`);
    }

    /** The files of a backup tarball: path inside the tar (resources/<gr>/namespaces/<ns>/<name>.json) -> parsed JSON. */
    async readBackup(name: string): Promise<Map<string, unknown>> {
        let files: Map<string, Buffer>;
        if (this.state.mode === 'local') {
            files = readTarGz(this.backupTarball(name));
        } else {
            const dir = mkdtempSync(join(tmpdir(), 'kvp-lab-download-'));
            try {
                const file = join(dir, `${name}.tar.gz`);
                await this.velero(['backup', 'download', name, '-o', file]);
                files = readTarGz(file);
            } finally {
                rmSync(dir, { recursive: true, force: true });
            }
        }
        const out = new Map<string, unknown>();
        for (const [path, data] of files) {
            const text = data.toString('utf8');
            let value: unknown = text;
            if (path.endsWith('.json')) {
                try {
                    value = JSON.parse(text);
                } catch {
                    value = text;
                }
            }
            out.set(path, value);
        }
        return out;
    }

    private async objectText(kind: 'backups' | 'restores', name: string, file: string, cli: string[]): Promise<string> {
        if (this.state.mode === 'existing') return this.velero(cli);
        const p = this.objectPath(kind, name, file);
        if (!existsSync(p)) throw new Error(`${kind} ${name}: no ${file} in the object store (${p})`);
        return gunzipSync(readFileSync(p)).toString('utf8');
    }

    /** The backup log Velero uploaded (the same text as `velero backup logs`). */
    backupLog(name: string): Promise<string> {
        return this.objectText('backups', name, `${name}-logs.gz`, ['backup', 'logs', name]);
    }

    /** The restore log Velero uploaded (the same text as `velero restore logs`). */
    restoreLog(name: string): Promise<string> {
        return this.objectText('restores', name, `restore-${name}-logs.gz`, ['restore', 'logs', name]);
    }

    /** The restore results (warnings and errors per namespace), as Velero uploaded them. */
    async restoreResults(name: string): Promise<RestoreResults> {
        if (this.state.mode === 'existing') {
            const out = await this.velero(['restore', 'describe', name, '--details', '-o', 'json']).catch(() => '{}');
            return (JSON.parse(out) as { results?: RestoreResults }).results ?? {};
        }
        return JSON.parse(await this.objectText('restores', name, `restore-${name}-results.gz`, [])) as RestoreResults;
    }

    /** The velero server log so far (local file, or kubectl logs of the deployment on an existing cluster). */
    async veleroLog(): Promise<string> {
        if (this.state.mode === 'existing') return this.kubectl(['logs', '-n', this.veleroNamespace, 'deployment/velero']);
        return readFileSync(this.veleroServerLog, 'utf8');
    }

    /** Backup or restore resource (velero.io) phase, or undefined. */
    async phase(kind: 'backup' | 'restore', name: string): Promise<string | undefined> {
        const obj = await this.getJson(`${kind}s.velero.io`, this.veleroNamespace, name);
        return (obj?.['status'] as { phase?: string } | undefined)?.phase;
    }

    // ---- identities ------------------------------------------------------------------------------------

    /**
     * A kubeconfig for a non-admin identity bound (ClusterRoleBinding) to the ClusterRole in the YAML file
     * (applied first). `name`: "user:<name>" = an X.509 client certificate with CN=<name> (local lab only);
     * "<ns>/<sa>" or "<sa>" (velero namespace) = a ServiceAccount with a TokenRequest token.
     */
    async kubeconfigFor(name: string, clusterRoleYamlPath: string): Promise<string> {
        const roles = parseYamlObjects(readFileSync(clusterRoleYamlPath, 'utf8'));
        const role = roles.find((o) => o.kind === 'ClusterRole');
        if (role?.metadata?.name === undefined) throw new Error(`${clusterRoleYamlPath} has no ClusterRole`);
        await this.apply(roles);
        const dir = join(this.workDir, 'identities');
        mkdirSync(dir, { recursive: true });
        const cluster = await this.clusterEntry();
        let subject: Record<string, string>;
        let user: Record<string, string>;
        let slug: string;
        if (name.startsWith('user:')) {
            if (this.state.caCert === undefined || this.state.caKey === undefined) {
                throw new Error('client-certificate identities need the local lab');
            }
            const cn = name.slice('user:'.length);
            slug = `user-${cn}`.replace(/[^a-z0-9-]/gi, '-').toLowerCase();
            const { cert, key } = await issueClientCert(dir, slug, `/CN=${cn}`, this.state.caCert, this.state.caKey);
            subject = { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: cn };
            user = { 'client-certificate': cert, 'client-key': key };
        } else {
            const [saNs, saName] = name.includes('/') ? (name.split('/', 2) as [string, string]) : [this.veleroNamespace, name];
            slug = `sa-${saNs}-${saName}`.replace(/[^a-z0-9-]/gi, '-').toLowerCase();
            await this.apply([
                { apiVersion: 'v1', kind: 'Namespace', metadata: { name: saNs } },
                { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: saName, namespace: saNs } },
            ]);
            const token = (await this.kubectl(['create', 'token', saName, '-n', saNs, '--duration=24h'])).trim();
            subject = { kind: 'ServiceAccount', name: saName, namespace: saNs };
            user = { token };
        }
        await this.apply([
            {
                apiVersion: 'rbac.authorization.k8s.io/v1',
                kind: 'ClusterRoleBinding',
                metadata: { name: `kvp-lab-${slug}-${role.metadata.name}`.slice(0, 250) },
                roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name },
                subjects: [subject],
            },
        ]);
        const path = join(dir, `${slug}.kubeconfig`);
        writeFileSync(
            path,
            JSON.stringify({
                apiVersion: 'v1',
                kind: 'Config',
                clusters: [{ name: 'kvp-lab', cluster }],
                contexts: [{ name: slug, context: { cluster: 'kvp-lab', user: slug } }],
                'current-context': slug,
                users: [{ name: slug, user }],
            }),
        );
        return path;
    }

    private async clusterEntry(): Promise<Record<string, unknown>> {
        if (this.state.apiServerCa !== undefined) return { server: this.apiServer, 'certificate-authority': this.state.apiServerCa };
        const cfg = JSON.parse(await this.kubectl(['config', 'view', '--raw', '--minify', '--flatten', '-o', 'json'])) as {
            clusters?: { cluster?: Record<string, unknown> }[];
        };
        return cfg.clusters?.[0]?.cluster ?? { server: this.apiServer };
    }

    // ---- velero server -------------------------------------------------------------------------------------

    /** Whether the BackupStorageLocation is Available. */
    async bslAvailable(): Promise<boolean> {
        const bsl = await this.getJson('backupstoragelocations.velero.io', this.veleroNamespace, BSL_NAME);
        return (bsl?.['status'] as { phase?: string } | undefined)?.phase === 'Available';
    }

    /**
     * Stops the velero server (its plugin processes with it) and starts it again; waits for BSL Available.
     * With pluginBinary, that executable replaces ours in the plugin directory first (e.g. a deliberately
     * broken build; on the shared lab, put the real one back afterwards: restartVelero({ pluginBinary:
     * DEFAULT_PLUGIN_BINARY })). Local lab only for pluginBinary.
     */
    async restartVelero(opts: { pluginBinary?: string } = {}): Promise<void> {
        if (this.state.mode === 'existing') {
            await this.kubectl(['rollout', 'restart', '-n', this.veleroNamespace, 'deployment/velero']);
            await this.kubectl(['rollout', 'status', '-n', this.veleroNamespace, 'deployment/velero', '--timeout=5m']);
            return;
        }
        if (this.state.veleroPid !== undefined) {
            await stopGroup(this.state.veleroPid);
            unregister(this.state.registry, this.state.veleroPid);
        }
        if (opts.pluginBinary !== undefined) {
            // Replace the plugin under the same file name, so that the server finds exactly one.
            const current = this.state.pluginFile ?? join(this.pluginDir, basename(DEFAULT_PLUGIN_BINARY));
            rmSync(current, { force: true });
            const installed = installPlugin(resolve(opts.pluginBinary), this.pluginDir);
            if (installed !== current) renameSync(installed, current);
        }
        await this.startVeleroServer();
    }

    /** Starts the velero server (local lab) and waits until the BSL is Available. */
    async startVeleroServer(): Promise<void> {
        const [cmd, ...args] = this.state.veleroCmd;
        if (cmd === undefined) throw new Error('no velero command');
        // Availability is checked again after the start: reset it so that the wait below sees the new server.
        await this.applyStatus({
            apiVersion: 'velero.io/v1',
            kind: 'BackupStorageLocation',
            metadata: { name: BSL_NAME, namespace: this.veleroNamespace },
            status: { phase: 'Unavailable' },
        });
        writeFileSync(this.veleroServerLog, `---- velero server start ${new Date().toISOString()}\n`, { flag: 'a' });
        const d = startDaemon(this.state.registry, 'velero', cmd, args, this.veleroServerLog, { ...process.env, ...this.state.veleroEnv });
        this.state.veleroPid = d.pid;
        this.saveState();
        await this.waitFor(() => this.bslAvailable(), 120_000, `BackupStorageLocation ${BSL_NAME} Available`);
    }

    /** Rewrites the shared state file when this handle serves the shared lab. */
    private saveState(): void {
        const file = join(this.workDir, 'lab.json');
        writeFileSync(file, JSON.stringify(this.state, null, 2));
        if (existsSync(SHARED_LAB_FILE)) {
            try {
                const shared = JSON.parse(readFileSync(SHARED_LAB_FILE, 'utf8')) as LabState;
                if (shared.workDir === this.workDir) writeFileSync(SHARED_LAB_FILE, JSON.stringify(this.state, null, 2));
            } catch {
                // not ours
            }
        }
    }

    // ---- lifecycle ---------------------------------------------------------------------------------------

    /** Writes the connection info for connectLab(). */
    writeStateFile(path: string): void {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, JSON.stringify(this.state, null, 2));
    }

    /** Installs the exit, SIGINT and SIGTERM handlers that stop every process (owner only). */
    installExitHandlers(): void {
        if (this.exitHandlers !== undefined || this.state.mode !== 'local') return;
        const stopNow = (): void => {
            if (this.stopped) return;
            this.stopped = true;
            stopRegisteredSync(this.state.registry);
            this.removeWorkDir();
        };
        const onSignal = (code: number) => (): void => {
            log(`signal: stopping the lab (${this.workDir})`);
            stopNow();
            process.exit(code);
        };
        this.exitHandlers = { exit: stopNow, sigint: onSignal(130), sigterm: onSignal(143) };
        process.on('exit', this.exitHandlers.exit);
        process.on('SIGINT', this.exitHandlers.sigint);
        process.on('SIGTERM', this.exitHandlers.sigterm);
    }

    private removeExitHandlers(): void {
        if (this.exitHandlers === undefined) return;
        process.off('exit', this.exitHandlers.exit);
        process.off('SIGINT', this.exitHandlers.sigint);
        process.off('SIGTERM', this.exitHandlers.sigterm);
        this.exitHandlers = undefined;
    }

    private removeWorkDir(): void {
        if (this.state.keep || process.env['KVP_LAB_KEEP'] === '1') {
            log(`work directory kept: ${this.workDir}`);
            return;
        }
        rmSync(this.workDir, { recursive: true, force: true });
    }

    /**
     * Stops every lab process (velero and its plugins, kube-apiserver, etcd, the watchdog) and removes the
     * work directory (unless kept). Only the owner stops; on a connectLab() handle this does nothing.
     */
    async stop(): Promise<void> {
        if (!this.owner || this.stopped) return;
        this.stopped = true;
        this.removeExitHandlers();
        if (this.state.mode === 'local') await stopRegistered(this.state.registry);
        this.removeWorkDir();
    }
}

/**
 * The lines of a velero log (server, backup or restore log) that come from our plugin: logged by its
 * process (cmd=<plugin dir>/kubevirt-velero-plugin, pluginName= or logSource=kubevirt-velero-plugin)
 * or about one of its actions (action=/name=kubevirt-velero-plugin/...).
 */
export function pluginLogLines(log: string, binaryName = 'kubevirt-velero-plugin'): string[] {
    const esc = binaryName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const re = new RegExp(`(cmd=\\S*/${esc}(\\s|$)|pluginName=${esc}(\\s|$)|logSource=${esc}(\\s|$)|(action|name)=${esc}/)`);
    return log.split('\n').filter((l) => re.test(l));
}

export interface RestoreResults {
    warnings?: ResultBucket;
    errors?: ResultBucket;
}
export interface ResultBucket {
    velero?: string[];
    cluster?: string[];
    namespaces?: Record<string, string[]>;
}

/**
 * Copies a plugin executable into the plugin directory, with the shared libraries next to it (the single
 * executable finds libstdc++/libgcc_s through an $ORIGIN rpath). A copy, not a symlink: a rebuild of
 * dist/ while the lab runs must not change (or half-write) the plugin under a running velero server.
 * The libraries are not executable, so Velero does not take them for plugins.
 */
export function installPlugin(binary: string, pluginDir: string): string {
    if (!existsSync(binary)) throw new Error(`no plugin binary ${binary} (build: node scripts/build.mjs)`);
    const target = join(pluginDir, basename(binary));
    rmSync(target, { force: true });
    copyFileSync(binary, target);
    chmodSync(target, 0o755);
    for (const f of readdirSync(dirname(binary))) {
        if (!/\.so(\.\d+)*$/.test(f)) continue;
        rmSync(join(pluginDir, f), { force: true });
        copyFileSync(join(dirname(binary), f), join(pluginDir, f));
        chmodSync(join(pluginDir, f), 0o644);
    }
    return target;
}

/**
 * The Deployment `velero install` would create, with no replicas (the server runs outside the cluster).
 * Velero's own restore actions read it (pod-volume-restore takes the helper image from it) and the CLI's
 * plugin add/remove look for it by its labels.
 */
function veleroDeployment(ns: string): KubeObject {
    const labels = { component: 'velero' };
    return {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'velero', namespace: ns, labels },
        spec: {
            replicas: 0,
            selector: { matchLabels: { deploy: 'velero' } },
            template: {
                metadata: { labels: { ...labels, deploy: 'velero' } },
                spec: {
                    containers: [{ name: 'velero', image: 'velero/velero:v1.18.1', command: ['/velero'], args: ['server'] }],
                },
            },
        },
    };
}

async function openssl(args: string[]): Promise<void> {
    await runOk('openssl', args);
}

async function issueClientCert(dir: string, name: string, subject: string, caCert: string, caKey: string): Promise<{ cert: string; key: string }> {
    const key = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const cert = join(dir, `${name}.crt`);
    const ext = join(dir, `${name}.ext`);
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', subject, '-keyout', key, '-out', csr]);
    writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
    await openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', cert]);
    return { cert, key };
}

async function timed<T>(timings: Record<string, number>, step: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
        return await fn();
    } finally {
        timings[step] = (Date.now() - t0) / 1000;
    }
}

/** Starts a lab (or connects to the existing cluster named by KVP_LAB_KUBECONFIG). */
// eslint-disable-next-line complexity -- the lab's start sequence, one step per process, in start order
export async function startLab(opts: StartLabOptions = {}): Promise<Lab> {
    const existing = process.env['KVP_LAB_KUBECONFIG'];
    if (existing !== undefined && existing !== '') return connectExisting(existing);
    const t0 = Date.now();
    const timings: Record<string, number> = {};
    const tools = await timed(timings, 'tools', () => Promise.resolve(toolsDir()));
    const bin = (n: string): string => join(tools, 'bin', n);
    const workDir = mkdtempSync(join(tmpdir(), 'kvp-lab-'));
    const logDir = resolve(opts.logDir ?? workDir);
    for (const d of ['etcd', 'certs', 'pki', 'objstore', 'plugins', 'kube-cache']) mkdirSync(join(workDir, d), { recursive: true });
    mkdirSync(logDir, { recursive: true });
    const registry = join(workDir, 'processes');
    writeFileSync(registry, '');
    const pluginBinary = resolve(opts.pluginBinary ?? DEFAULT_PLUGIN_BINARY);
    const state: LabState = {
        mode: 'local',
        workDir,
        kubeconfig: join(workDir, 'kubeconfig'),
        apiServer: '',
        objectStoreRoot: join(workDir, 'objstore'),
        veleroNamespace: 'velero',
        pluginDir: join(workDir, 'plugins'),
        veleroServerLog: join(logDir, 'velero.log'),
        toolsDir: tools,
        registry,
        ownerPid: process.pid,
        veleroCmd: [],
        veleroEnv: {},
        kubectlCacheDir: join(workDir, 'kube-cache'),
        caCert: join(workDir, 'pki', 'ca.crt'),
        caKey: join(workDir, 'pki', 'ca.key'),
        apiServerCa: join(workDir, 'certs', 'apiserver.crt'),
        keep: opts.keep ?? false,
        timings,
    };
    const lab = new Lab(state, true);
    lab.installExitHandlers();
    log(`work dir ${workDir}, logs in ${logDir}`);
    try {
        startWatchdog(registry, process.pid, join(logDir, 'watchdog.log'));
        const [etcdPort, peerPort, apiPort, metricsPort, kubeletPort] = (await freePorts(5)) as [number, number, number, number, number];
        const useKwok = opts.kwok ?? existsSync(bin('kwok'));
        const useCsi = opts.csi ?? existsSync(bin('snapshot-controller'));
        state.apiServer = `https://127.0.0.1:${apiPort}`;

        await timed(timings, 'etcd', async () => {
            startDaemon(
                registry,
                'etcd',
                bin('etcd'),
                [
                    '--name=kvp-lab',
                    `--data-dir=${join(workDir, 'etcd')}`,
                    `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
                    `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
                    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
                    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
                    `--initial-cluster=kvp-lab=http://127.0.0.1:${peerPort}`,
                    '--unsafe-no-fsync=true',
                    '--log-level=warn',
                ],
                join(logDir, 'etcd.log'),
            );
            await lab.waitFor(async () => (await httpGet(`http://127.0.0.1:${etcdPort}/health`)) === 200, 30_000, 'etcd healthy', 100);
        });

        let kubelet: Awaited<ReturnType<typeof kubeletPki>> | undefined;
        await timed(timings, 'pki', async () => {
            const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
            writeFileSync(join(workDir, 'pki', 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
            await openssl([
                'req',
                '-x509',
                '-newkey',
                'ec',
                '-pkeyopt',
                'ec_paramgen_curve:prime256v1',
                '-nodes',
                '-days',
                '2',
                '-subj',
                '/CN=kvp-lab-client-ca',
                '-keyout',
                join(workDir, 'pki', 'ca.key'),
                '-out',
                join(workDir, 'pki', 'ca.crt'),
            ]);
            await issueClientCert(join(workDir, 'pki'), 'admin', '/O=system:masters/CN=kvp-lab-admin', join(workDir, 'pki', 'ca.crt'), join(workDir, 'pki', 'ca.key'));
            if (useKwok) kubelet = await kubeletPki(join(workDir, 'pki'), join(workDir, 'pki', 'ca.crt'), join(workDir, 'pki', 'ca.key'));
        });

        await timed(timings, 'apiserver', async () => {
            const sa = join(workDir, 'pki', 'sa.key');
            startDaemon(
                registry,
                'kube-apiserver',
                bin('kube-apiserver'),
                [
                    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
                    '--bind-address=127.0.0.1',
                    '--advertise-address=127.0.0.1',
                    `--secure-port=${apiPort}`,
                    `--cert-dir=${join(workDir, 'certs')}`,
                    '--service-cluster-ip-range=10.0.0.0/24',
                    '--allow-privileged=true',
                    '--disable-admission-plugins=ServiceAccount',
                    '--authorization-mode=RBAC',
                    `--service-account-issuer=https://127.0.0.1:${apiPort}/`,
                    `--service-account-key-file=${sa}`,
                    `--service-account-signing-key-file=${sa}`,
                    '--endpoint-reconciler-type=none',
                    `--client-ca-file=${join(workDir, 'pki', 'ca.crt')}`,
                    ...(kubelet === undefined ? [] : apiserverKubeletFlags(join(workDir, 'pki', 'ca.crt'), kubelet)),
                ],
                join(logDir, 'kube-apiserver.log'),
            );
            const crt = join(workDir, 'certs', 'apiserver.crt');
            await lab.waitFor(() => existsSync(crt) && readFileSync(crt, 'utf8').includes('END CERTIFICATE'), 30_000, 'serving certificate', 100);
            writeFileSync(
                state.kubeconfig,
                [
                    'apiVersion: v1',
                    'kind: Config',
                    'clusters:',
                    '- name: kvp-lab',
                    '  cluster:',
                    `    server: ${state.apiServer}`,
                    `    certificate-authority: ${crt}`,
                    'contexts:',
                    '- name: kvp-lab',
                    '  context: {cluster: kvp-lab, user: kvp-lab-admin, namespace: default}',
                    'current-context: kvp-lab',
                    'users:',
                    '- name: kvp-lab-admin',
                    '  user:',
                    `    client-certificate: ${join(workDir, 'pki', 'admin.crt')}`,
                    `    client-key: ${join(workDir, 'pki', 'admin.key')}`,
                    '',
                ].join('\n'),
            );
            const tls: https.RequestOptions = {
                ca: readFileSync(crt),
                cert: readFileSync(join(workDir, 'pki', 'admin.crt')),
                key: readFileSync(join(workDir, 'pki', 'admin.key')),
            };
            await lab.waitFor(async () => (await httpGet(`${state.apiServer}/readyz`, tls)) === 200, 60_000, 'kube-apiserver /readyz', 100);
        });

        await timed(timings, 'crds', async () => {
            await lab.kubectl(['apply', '--server-side', '--field-manager=kvp-lab', '-f', join(tools, 'crds')]);
            await lab.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
        });

        if (useKwok && kubelet !== undefined) {
            const k = kubelet;
            state.kwok = await timed(timings, 'kwok', () => startKwok(lab, { port: kubeletPort, logDir, serverCert: k.serverCert, serverKey: k.serverKey, repo: REPO }));
        }
        if (useCsi) {
            const pvTools = opts.provisioner === false ? undefined : pvToolsDir();
            state.csi = await timed(timings, 'csi', () => startCsi(lab, { logDir, pvToolsDir: pvTools }));
        }

        await timed(timings, 'bsl', async () => {
            await lab.apply([
                { apiVersion: 'v1', kind: 'Namespace', metadata: { name: state.veleroNamespace } },
                {
                    apiVersion: 'velero.io/v1',
                    kind: 'BackupStorageLocation',
                    metadata: { name: BSL_NAME, namespace: state.veleroNamespace },
                    spec: {
                        provider: FS_PROVIDER,
                        default: true,
                        objectStorage: { bucket: BSL_BUCKET },
                        config: { root: state.objectStoreRoot },
                    },
                },
                veleroDeployment(state.veleroNamespace),
            ]);
        });

        // Plugin directory: only executable plugin files (Velero recurses and runs every one).
        symlinkSync(bin('kvp-fsobjectstore'), join(state.pluginDir, 'kvp-fsobjectstore'));
        state.pluginFile = installPlugin(pluginBinary, state.pluginDir);
        for (const p of opts.extraPlugins ?? []) installPlugin(resolve(p), state.pluginDir);

        state.veleroCmd = [
            ...(opts.veleroCommandPrefix ?? []),
            bin('velero'),
            'server',
            `--kubeconfig=${state.kubeconfig}`,
            `--namespace=${state.veleroNamespace}`,
            `--plugin-dir=${state.pluginDir}`,
            `--metrics-address=127.0.0.1:${metricsPort}`,
            '--profiler-address=',
            `--log-level=${opts.veleroLogLevel ?? 'debug'}`,
            '--store-validation-frequency=10s',
            ...(useCsi ? ['--features=EnableCSI'] : []),
            // Restored claims of an Immediate class are waited for (bound) before a restore completes:
            // with the provisioner, a failure to provision shows in 2 minutes, not Velero's default 10.
            ...(state.csi?.provisioning === true ? ['--resource-timeout=2m'] : []),
            ...(opts.veleroArgs ?? []),
        ];
        // Plugin processes inherit the server's environment: KUBECONFIG is how our plugin finds the cluster.
        state.veleroEnv = {
            KUBECONFIG: state.kubeconfig,
            KVP_FS_OBJECT_STORE_ROOT: state.objectStoreRoot,
            // Velero's CSI action waits for each VolumeSnapshot's content in turn, polling every 5 s; this
            // Velero switch polls every second for the first 10 s. Backups of many VMs otherwise spend
            // about 5 s per disk waiting (100 VMs: 9.5 minutes).
            ...(useCsi ? { CSI_SNAPSHOT_EARLY_FREQUENT_POLLING: 'true' } : {}),
        };
        if (opts.velero !== false) await timed(timings, 'velero', () => lab.startVeleroServer());
        timings['total'] = (Date.now() - t0) / 1000;
        writeFileSync(join(workDir, 'lab.json'), JSON.stringify(state, null, 2));
        log(`ready in ${timings['total'].toFixed(1)}s: ${state.apiServer} (${JSON.stringify(timings)})`);
        return lab;
    } catch (e) {
        state.keep = true;
        await lab.stop();
        throw new Error(`lab start failed (logs in ${logDir}, work dir kept: ${workDir}): ${(e as Error).message}`, { cause: e });
    }
}

async function connectExisting(kubeconfig: string): Promise<Lab> {
    const tools = toolsDir();
    const workDir = mkdtempSync(join(tmpdir(), 'kvp-lab-existing-'));
    const state: LabState = {
        mode: 'existing',
        workDir,
        kubeconfig: resolve(kubeconfig),
        apiServer: '',
        objectStoreRoot: '',
        veleroNamespace: process.env['KVP_LAB_VELERO_NAMESPACE'] ?? 'velero',
        pluginDir: '',
        veleroServerLog: '',
        toolsDir: tools,
        registry: join(workDir, 'processes'),
        ownerPid: process.pid,
        veleroCmd: [],
        veleroEnv: {},
        kubectlCacheDir: '',
        keep: false,
        timings: {},
    };
    const lab = new Lab(state, true);
    state.apiServer = (await lab.kubectl(['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}'])).trim();
    await lab.waitFor(() => lab.bslAvailable(), 120_000, `BackupStorageLocation ${BSL_NAME} Available in ${state.veleroNamespace}`);
    log(`existing cluster ${state.apiServer}, velero namespace ${state.veleroNamespace}`);
    return lab;
}

/** A handle on the lab described by a state file (default: the one the jest globalSetup started). */
export function connectLab(stateFile: string = process.env['KVP_LAB_STATE'] ?? SHARED_LAB_FILE): Lab {
    if (!existsSync(stateFile)) throw new Error(`no lab state file ${stateFile}: is the lab jest globalSetup configured?`);
    return new Lab(JSON.parse(readFileSync(stateFile, 'utf8')) as LabState, false);
}

/** Exported for tests that read the backup tarball. */
export { readTarGz };
