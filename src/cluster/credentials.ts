/**
 * Credentials per request: static tokens and basic auth, token files re-read when they change
 * (projected service-account tokens rotate), and exec credential plugins run on demand and cached until
 * their expirationTimestamp. Nothing here logs or quotes a credential: an exec plugin's output and its
 * stderr are never shown, only a summary (exit status, byte counts).
 */
import { spawn } from 'node:child_process';
import { stat, readFile } from 'node:fs/promises';
import { PluginError, registerCredential } from '../errors';
import type { Auth, ExecConfig } from './kubeconfig';

export interface Credential {
    /** Headers to add (Authorization, Impersonate-*). */
    headers: Record<string, string | string[]>;
    /** A client certificate from an exec plugin, when it returned one. */
    clientCert?: { cert: string; key: string } | undefined;
    /**
     * The server rejected this credential (401): forget it if it can be obtained afresh (an exec plugin's,
     * as client-go does); true when the next get() will not return it again. Absent for fixed credentials.
     */
    rejected?: () => boolean;
}

export interface CredentialSource {
    get(): Promise<Credential>;
}

const EXEC_TIMEOUT_MS = 60_000;

/** A token file, re-read whenever its identity, size or mtime changes; a failed re-read keeps the last token. */
export class FileToken {
    private token: string;
    private signature = '';

    constructor(
        private readonly path: string,
        first: string,
    ) {
        this.token = first;
    }

    async get(): Promise<string> {
        try {
            const s = await stat(this.path);
            const signature = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
            if (signature !== this.signature) {
                const fresh = (await readFile(this.path, 'utf8')).trim();
                if (fresh !== '') {
                    registerCredential(fresh);
                    this.token = fresh;
                }
                this.signature = signature;
            }
        } catch {
            // Keep the last token, as client-go does while a rotation is in progress.
        }
        return this.token;
    }
}

interface ExecCredentialStatus {
    token?: string;
    clientCert?: { cert: string; key: string };
    /** Milliseconds since the epoch; undefined: valid for the life of the process. */
    expires?: number;
}

function execFailure(exec: ExecConfig, problem: string): PluginError {
    return new PluginError('NoCluster', `the exec credential plugin ${JSON.stringify(exec.command)} of ${exec.origin} ${problem}`);
}

/** Parses the ExecCredential an exec plugin printed; errors say what is wrong, never what was printed. */
// eslint-disable-next-line complexity -- one check per ExecCredential field, each with its own message
export function parseExecCredential(exec: ExecConfig, stdout: string): ExecCredentialStatus {
    let parsed: unknown;
    try {
        parsed = JSON.parse(stdout);
    } catch {
        throw execFailure(exec, `printed something that is not JSON (${Buffer.byteLength(stdout)} bytes, not shown)`);
    }
    const rec = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
    const doc = rec(parsed);
    if (!doc || doc['kind'] !== 'ExecCredential') throw execFailure(exec, 'printed JSON that is not an ExecCredential');
    if (doc['apiVersion'] !== exec.apiVersion) throw execFailure(exec, `returned an ExecCredential of another apiVersion than ${exec.apiVersion}`);
    const status = rec(doc['status']);
    if (!status) throw execFailure(exec, 'returned an ExecCredential without a status');
    const token = status['token'];
    const cert = status['clientCertificateData'];
    const key = status['clientKeyData'];
    const out: ExecCredentialStatus = {};
    if (token !== undefined && token !== '') {
        if (typeof token !== 'string') throw execFailure(exec, 'returned a token that is not a string');
        registerCredential(token);
        out.token = token;
    }
    const hasCert = typeof cert === 'string' && cert !== '';
    const hasKey = typeof key === 'string' && key !== '';
    if (hasCert !== hasKey) throw execFailure(exec, 'returned only one of clientCertificateData and clientKeyData');
    if (hasCert && hasKey) out.clientCert = { cert: cert, key: key };
    if (out.token === undefined && out.clientCert === undefined) throw execFailure(exec, 'returned neither a token nor a client certificate');
    const expiry = status['expirationTimestamp'];
    if (expiry !== undefined && expiry !== null && expiry !== '') {
        const ms = typeof expiry === 'string' ? Date.parse(expiry) : NaN;
        if (Number.isNaN(ms)) throw execFailure(exec, 'returned an expirationTimestamp that is not a time');
        out.expires = ms;
    }
    return out;
}

/** Runs an exec credential plugin once. */
export function runExecPlugin(exec: ExecConfig, cluster: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Promise<ExecCredentialStatus> {
    const info = {
        apiVersion: exec.apiVersion,
        kind: 'ExecCredential',
        spec: { interactive: false, ...(exec.provideClusterInfo ? { cluster } : {}) },
    };
    const childEnv: NodeJS.ProcessEnv = { ...env };
    for (const { name, value } of exec.env) childEnv[name] = value;
    childEnv['KUBERNETES_EXEC_INFO'] = JSON.stringify(info);
    return new Promise((resolve, reject) => {
        let stdout = '';
        let stderrBytes = 0;
        let settled = false;
        const finish = (fn: () => void): void => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            fn();
        };
        const child = spawn(exec.command, exec.args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
        const timer = setTimeout(() => {
            child.kill('SIGKILL');
            finish(() => reject(execFailure(exec, `did not finish within ${EXEC_TIMEOUT_MS / 1000} s`)));
        }, EXEC_TIMEOUT_MS);
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (chunk: string) => {
            if (stdout.length < 4 * 1024 * 1024) stdout += chunk;
        });
        child.stderr.on('data', (chunk: Buffer) => {
            stderrBytes += chunk.length;
        });
        child.on('error', (error: NodeJS.ErrnoException) => {
            finish(() => {
                if (error.code === 'ENOENT') {
                    const hint = exec.installHint.trim().replace(/\s+/g, ' ').slice(0, 300);
                    reject(execFailure(exec, `was not found${hint !== '' ? `; ${hint}` : ''}`));
                } else {
                    reject(execFailure(exec, `could not be started (${error.code ?? 'error'})`));
                }
            });
        });
        child.on('close', (code, signal) => {
            finish(() => {
                if (code !== 0) {
                    const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
                    reject(execFailure(exec, `${how} (it wrote ${Buffer.byteLength(stdout)} bytes to stdout and ${stderrBytes} to stderr, not shown: they may hold credentials)`));
                    return;
                }
                try {
                    resolve(parseExecCredential(exec, stdout));
                } catch (error) {
                    reject(error);
                }
            });
        });
    });
}

/** An exec plugin's credential, cached until it expires; concurrent callers share one run. */
export class ExecCredentials {
    private cached: ExecCredentialStatus | undefined;
    private running: Promise<ExecCredentialStatus> | undefined;

    constructor(
        private readonly exec: ExecConfig,
        private readonly cluster: Record<string, unknown>,
        private readonly now: () => number = Date.now,
    ) {}

    async get(): Promise<ExecCredentialStatus> {
        const cached = this.cached;
        if (cached && (cached.expires === undefined || this.now() < cached.expires)) return cached;
        this.running ??= runExecPlugin(this.exec, this.cluster).finally(() => {
            this.running = undefined;
        });
        const fresh = await this.running;
        this.cached = fresh;
        return fresh;
    }

    /**
     * The server answered 401 to `used`: it is not asked for again. Only that credential is forgotten, so
     * that many requests rejected at once run the plugin once (a credential got since is kept).
     */
    forget(used: ExecCredentialStatus): void {
        if (this.cached === used) this.cached = undefined;
    }
}

/**
 * The credential source of one Auth, with the impersonation headers.
 * @lazy required at first use by src/cluster/config.ts (knip cannot follow that require)
 */
export function credentialSource(
    auth: Auth,
    cluster: Record<string, unknown>,
    impersonate?: { user: string; uid: string; groups: string[]; extra: Record<string, string[]> },
): CredentialSource {
    const fixed: Record<string, string | string[]> = {};
    if (impersonate) {
        fixed['Impersonate-User'] = impersonate.user;
        if (impersonate.uid !== '') fixed['Impersonate-Uid'] = impersonate.uid;
        if (impersonate.groups.length > 0) fixed['Impersonate-Group'] = impersonate.groups;
        for (const [k, v] of Object.entries(impersonate.extra)) fixed[`Impersonate-Extra-${encodeURIComponent(k)}`] = v;
    }
    const bearer = (token: string): Credential => ({ headers: { ...fixed, Authorization: `Bearer ${token}` } });
    switch (auth.kind) {
        case 'none':
            return { get: async () => ({ headers: { ...fixed } }) };
        case 'token': {
            const credential = bearer(auth.token);
            return { get: async () => credential };
        }
        case 'basic': {
            const credential: Credential = {
                headers: { ...fixed, Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` },
            };
            return { get: async () => credential };
        }
        case 'tokenFile': {
            const file = new FileToken(auth.path, auth.token);
            return { get: async () => bearer(await file.get()) };
        }
        case 'exec': {
            const exec = new ExecCredentials(auth.exec, cluster);
            return {
                get: async () => {
                    const status = await exec.get();
                    return {
                        headers: status.token !== undefined ? bearer(status.token).headers : { ...fixed },
                        clientCert: status.clientCert,
                        rejected: () => {
                            exec.forget(status);
                            return true;
                        },
                    };
                },
            };
        }
    }
}
