/**
 * Our own kubeconfig loader (decision 008): reads the files client-go would read, merges them with
 * client-go's rules, resolves one context and returns everything needed to reach the API server, with
 * every referenced file read and every value checked. Nothing here sends a request or runs a program.
 *
 * Every error names the file and the problem, never the content: no YAML excerpt, no token, password,
 * certificate or key, no server URL (it may carry credentials). Names of contexts, clusters and users
 * are quoted; they are identifiers, and the operator needs them.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { parseDocument } from 'yaml';
import { PluginError, registerCredential } from '../errors';

/** One exec credential plugin (users[].user.exec). */
export interface ExecConfig {
    command: string;
    args: string[];
    env: { name: string; value: string }[];
    apiVersion: ExecApiVersion;
    installHint: string;
    provideClusterInfo: boolean;
    /** Where the user entry was defined and its name: for messages. */
    origin: string;
}

export type ExecApiVersion = 'client.authentication.k8s.io/v1' | 'client.authentication.k8s.io/v1beta1';
export const EXEC_API_VERSIONS: readonly ExecApiVersion[] = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];

export type Auth =
    | { kind: 'none' }
    | { kind: 'token'; token: string }
    /** Re-read when the file changes (projected service-account tokens rotate). `token` is the first read. */
    | { kind: 'tokenFile'; path: string; token: string; origin: string }
    | { kind: 'basic'; username: string; password: string }
    | { kind: 'exec'; exec: ExecConfig };

export interface Impersonation {
    user: string;
    uid: string;
    groups: string[];
    extra: Record<string, string[]>;
}

/** Everything needed to reach the API server. */
export interface ClusterAccess {
    /** "KUBECONFIG (/a:/b)", "--kubeconfig (/x)", "~/.kube/config (/home/u/.kube/config)", "in-cluster". */
    source: string;
    context: string;
    /** Scheme, host, port and path prefix; no credentials, no trailing slash. */
    server: string;
    tls: {
        ca?: Buffer | undefined;
        insecure: boolean;
        serverName?: string | undefined;
        cert?: Buffer | undefined;
        key?: Buffer | undefined;
    };
    auth: Auth;
    proxy?: URL | undefined;
    /** The cluster's disable-compression: responses are asked for without gzip (client-go's DisableCompression). */
    disableCompression?: boolean | undefined;
    impersonate?: Impersonation | undefined;
    /** The cluster entry as the exec plugin may see it (provideClusterInfo). */
    execCluster: Record<string, unknown>;
}

export function configError(where: string, problem: string): PluginError {
    return new PluginError('NoCluster', `cannot load the Kubernetes configuration from ${where}: ${problem}`);
}

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

interface Entry {
    file: string;
    value: Dict;
}

/** The merged view of one or more kubeconfig files. */
export interface MergedConfig {
    files: string[];
    currentContext: string;
    /** The file that set current-context. */
    currentContextFile: string;
    clusters: Map<string, Entry>;
    users: Map<string, Entry>;
    contexts: Map<string, Entry>;
}

function errnoCode(error: unknown): string {
    return isDict(error) && typeof error['code'] === 'string' ? error['code'] : 'unreadable';
}

/** Reads a file that a configuration refers to; the message names the file and the errno, nothing else. */
function readReferenced(path: string, what: string, where: string, file: string, entry: string): Buffer {
    try {
        return readFileSync(path);
    } catch (error) {
        throw configError(where, `${file}: ${entry}: cannot read the ${what} ${path} (${errnoCode(error)})`);
    }
}

/** Parses one kubeconfig file. An empty file is an empty configuration, as in client-go. */
export function parseKubeconfigFile(file: string, text: string, where: string): Dict {
    const doc = parseDocument(text, { schema: 'yaml-1.1', uniqueKeys: false, prettyErrors: true, strict: false });
    const problem = doc.errors[0];
    if (problem) {
        // The yaml package's message quotes the offending lines: only its code and position are used.
        const at = problem.linePos?.[0];
        const position = at ? ` at line ${at.line}, column ${at.col}` : '';
        throw configError(where, `${file}: not valid YAML${position} (${problem.code})`);
    }
    let content: unknown;
    try {
        content = doc.toJS({ maxAliasCount: 100 });
    } catch {
        throw configError(where, `${file}: not valid YAML (unresolvable aliases)`);
    }
    if (content === null || content === undefined) return {};
    if (!isDict(content)) throw configError(where, `${file}: not a kubeconfig (the document is not a mapping)`);
    return content;
}

function namedList(doc: Dict, key: string, field: string, file: string, where: string): Map<string, Dict> {
    const list = doc[key];
    const out = new Map<string, Dict>();
    if (list === undefined || list === null) return out;
    if (!Array.isArray(list)) throw configError(where, `${file}: ${key} is not a list`);
    list.forEach((item: unknown, index) => {
        if (!isDict(item)) throw configError(where, `${file}: ${key}[${index}] is not a mapping`);
        const name = item['name'];
        if (typeof name !== 'string' || name === '') throw configError(where, `${file}: ${key}[${index}] has no name`);
        const value = item[field] ?? {};
        if (!isDict(value)) throw configError(where, `${file}: ${key}[${index}] ("${name}"): ${field} is not a mapping`);
        if (!out.has(name)) out.set(name, value);
    });
    return out;
}

/**
 * Merges files with client-go's rules: the first file to set a map key (a cluster, user or context
 * name) wins and its value is never changed by later files; current-context comes from the first
 * file that sets it.
 */
export function mergeKubeconfigs(files: readonly { file: string; doc: Dict }[], where: string): MergedConfig {
    const merged: MergedConfig = {
        files: files.map((f) => f.file),
        currentContext: '',
        currentContextFile: '',
        clusters: new Map(),
        users: new Map(),
        contexts: new Map(),
    };
    for (const { file, doc } of files) {
        const current = doc['current-context'];
        if (current !== undefined && current !== null && typeof current !== 'string') throw configError(where, `${file}: current-context is not a string`);
        if (merged.currentContext === '' && typeof current === 'string' && current !== '') {
            merged.currentContext = current;
            merged.currentContextFile = file;
        }
        for (const [key, field, target] of [
            ['clusters', 'cluster', merged.clusters],
            ['users', 'user', merged.users],
            ['contexts', 'context', merged.contexts],
        ] as const) {
            for (const [name, value] of namedList(doc, key, field, file, where)) {
                if (!target.has(name)) target.set(name, { file, value });
            }
        }
    }
    return merged;
}

/**
 * Reads and merges kubeconfig files; missing files are skipped unless none exists.
 * @lazy required at first use by src/cluster/config.ts (knip cannot follow that require)
 */
export function readKubeconfigs(paths: readonly string[], where: string, options: { skipMissing: boolean }): MergedConfig {
    const files: { file: string; doc: Dict }[] = [];
    const missing: string[] = [];
    for (const path of paths) {
        let text: string;
        try {
            text = readFileSync(path, 'utf8');
        } catch (error) {
            const code = errnoCode(error);
            if (code === 'ENOENT' && options.skipMissing) {
                missing.push(path);
                continue;
            }
            throw configError(where, `cannot read ${path} (${code})`);
        }
        files.push({ file: path, doc: parseKubeconfigFile(path, text, where) });
    }
    if (files.length === 0) {
        throw configError(where, missing.length === 1 ? `${missing[0]} does not exist` : `none of the files exists (${missing.join(', ')})`);
    }
    return mergeKubeconfigs(files, where);
}

class Fields {
    constructor(
        private readonly dict: Dict,
        private readonly where: string,
        /** "<file>: user \"u\"" */
        readonly label: string,
    ) {}

    fail(problem: string): PluginError {
        return configError(this.where, `${this.label}: ${problem}`);
    }

    /** The fields of a nested mapping, labelled "<label>: <key>". */
    nested(dict: Dict, key: string): Fields {
        return new Fields(dict, this.where, `${this.label}: ${key}`);
    }

    string(key: string): string {
        const v = this.dict[key];
        if (v === undefined || v === null) return '';
        if (typeof v !== 'string') throw this.fail(`${key} is not a string`);
        return v;
    }

    bool(key: string): boolean {
        const v = this.dict[key];
        if (v === undefined || v === null) return false;
        if (typeof v !== 'boolean') throw this.fail(`${key} is not true or false`);
        return v;
    }

    strings(key: string): string[] {
        const v = this.dict[key];
        if (v === undefined || v === null) return [];
        if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw this.fail(`${key} is not a list of strings`);
        return v;
    }

    dictOf(key: string): Dict | undefined {
        const v = this.dict[key];
        if (v === undefined || v === null) return undefined;
        if (!isDict(v)) throw this.fail(`${key} is not a mapping`);
        return v;
    }

    has(key: string): boolean {
        const v = this.dict[key];
        return v !== undefined && v !== null && v !== '';
    }

    /** A base64 field (certificate-authority-data, client-certificate-data, client-key-data). */
    base64(key: string): Buffer | undefined {
        const text = this.string(key).replace(/[\r\n]/g, '');
        if (text === '') return undefined;
        if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw this.fail(`${key} is not valid base64`);
        return Buffer.from(text, 'base64');
    }

    /** A path relative to the file that defined the entry, as client-go resolves them. */
    path(key: string, file: string): string {
        const p = this.string(key);
        return p === '' || isAbsolute(p) ? p : resolve(dirname(file), p);
    }
}

function checkCertificates(pem: Buffer, fields: Fields, what: string): void {
    try {
        createSecureContext({ ca: pem });
    } catch {
        throw fields.fail(`${what} holds no usable PEM certificate`);
    }
    if (!pem.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) throw fields.fail(`${what} holds no usable PEM certificate`);
}

function checkKeyPair(cert: Buffer, key: Buffer, fields: Fields, certWhat: string, keyWhat: string): void {
    try {
        createSecureContext({ cert });
    } catch {
        throw fields.fail(`${certWhat} holds no usable PEM certificate`);
    }
    try {
        createSecureContext({ cert, key });
    } catch {
        throw fields.fail(`${keyWhat} is not a usable PEM private key for ${certWhat}`);
    }
}

/** auth-provider names that are safe to quote (client-go's former in-tree providers). */
const KNOWN_AUTH_PROVIDERS = ['oidc', 'gcp', 'azure'];

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** The server URL as client-go's DefaultServerURL reads it; refuses what it cannot use, never quoting it. */
function serverUrl(raw: string, defaultTls: boolean, fields: Fields): string {
    if (raw.trim() === '') throw fields.fail('server is empty');
    const withScheme = SCHEME.test(raw) ? raw : `${defaultTls ? 'https' : 'http'}://${raw}`;
    let url: URL;
    try {
        url = new URL(withScheme);
    } catch {
        throw fields.fail('server is not a URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw fields.fail('server is not an https or http URL');
    }
    if (url.username !== '' || url.password !== '') {
        throw fields.fail('server URL carries credentials (user:password@); put them in the user entry instead');
    }
    if (url.hostname === '') throw fields.fail('server URL has no host');
    return `${url.protocol}//${url.host}${url.pathname}`.replace(/\/+$/, '');
}

function proxyUrl(raw: string, fields: Fields): URL | undefined {
    if (raw === '') return undefined;
    let url: URL;
    try {
        url = new URL(raw);
    } catch {
        throw fields.fail('proxy-url is not a URL');
    }
    const scheme = url.protocol.slice(0, -1);
    if (!['http', 'https', 'socks5'].includes(scheme)) {
        throw fields.fail('proxy-url is not an http, https or socks5 URL');
    }
    if (url.hostname === '') throw fields.fail('proxy-url has no host');
    return url;
}

function execConfig(exec: Dict, fields: Fields, file: string): ExecConfig {
    const f = fields.nested(exec, 'exec');
    const fail = (problem: string): PluginError => f.fail(problem);
    let command = f.string('command');
    if (command === '') throw fail('command is empty');
    if (command.includes('/') && !isAbsolute(command)) command = resolve(dirname(file), command);
    const apiVersion = f.string('apiVersion');
    if (!EXEC_API_VERSIONS.includes(apiVersion as ExecApiVersion)) {
        throw fail(
            apiVersion === ''
                ? 'apiVersion is not set (expected client.authentication.k8s.io/v1 or v1beta1)'
                : 'apiVersion is not supported (expected client.authentication.k8s.io/v1 or v1beta1; v1alpha1 is gone from client-go too)',
        );
    }
    const rawEnv = exec['env'];
    const env: { name: string; value: string }[] = [];
    if (rawEnv !== undefined && rawEnv !== null) {
        if (!Array.isArray(rawEnv)) throw fail('env is not a list');
        rawEnv.forEach((e: unknown, i) => {
            if (!isDict(e) || typeof e['name'] !== 'string' || typeof e['value'] !== 'string') throw fail(`env[${i}] needs a name and a value (strings)`);
            env.push({ name: e['name'], value: e['value'] });
        });
    }
    const interactive = f.string('interactiveMode');
    if (apiVersion === 'client.authentication.k8s.io/v1' && interactive === '') throw fail('interactiveMode must be set with apiVersion client.authentication.k8s.io/v1');
    if (interactive !== '' && !['Never', 'IfAvailable', 'Always'].includes(interactive)) throw fail('interactiveMode is not Never, IfAvailable or Always');
    if (interactive === 'Always') throw fail('interactiveMode is Always, but a Velero plugin has no terminal');
    return {
        command,
        args: f.strings('args'),
        env,
        apiVersion: apiVersion as ExecApiVersion,
        installHint: f.string('installHint'),
        provideClusterInfo: f.bool('provideClusterInfo'),
        origin: fields.label,
    };
}

/**
 * Resolves a context of a merged configuration into ClusterAccess; reads every referenced file.
 * @lazy required at first use by src/cluster/config.ts (knip cannot follow that require)
 */
// eslint-disable-next-line complexity -- client-go's precedence rules for every kubeconfig field, in the order client-go applies them; split, the order would be harder to check
export function resolveAccess(merged: MergedConfig, where: string, explicitContext = ''): ClusterAccess {
    const contextName = explicitContext !== '' ? explicitContext : merged.currentContext;
    if (contextName === '') throw configError(where, `no current-context is set in ${merged.files.join(', ')}`);
    const context = merged.contexts.get(contextName);
    if (!context) {
        const origin = explicitContext !== '' ? '--kubecontext' : `current-context in ${merged.currentContextFile}`;
        throw configError(where, `the context "${contextName}" (${origin}) is not defined`);
    }
    const ctx = new Fields(context.value, where, `${context.file}: context "${contextName}"`);
    const clusterName = ctx.string('cluster');
    const userName = ctx.string('user');
    if (clusterName === '') throw ctx.fail('names no cluster');
    const clusterEntry = merged.clusters.get(clusterName);
    if (!clusterEntry) throw ctx.fail(`names the cluster "${clusterName}", which is not defined`);
    const userEntry = userName === '' ? undefined : merged.users.get(userName);
    if (userName !== '' && !userEntry) throw ctx.fail(`names the user "${userName}", which is not defined`);

    // Cluster.
    const cf = new Fields(clusterEntry.value, where, `${clusterEntry.file}: cluster "${clusterName}"`);
    const insecure = cf.bool('insecure-skip-tls-verify');
    const caData = cf.base64('certificate-authority-data');
    const caPath = cf.path('certificate-authority', clusterEntry.file);
    if (insecure && (caData || caPath !== '')) throw cf.fail('insecure-skip-tls-verify cannot be combined with certificate-authority or certificate-authority-data');
    let ca: Buffer | undefined;
    if (caData) {
        ca = caData;
        checkCertificates(ca, cf, 'certificate-authority-data');
    } else if (caPath !== '') {
        ca = readReferenced(caPath, 'certificate-authority', where, clusterEntry.file, `cluster "${clusterName}"`);
        checkCertificates(ca, cf, `certificate-authority file ${caPath}`);
    }

    // User.
    const user = userEntry?.value ?? {};
    const uf = new Fields(user, where, userEntry ? `${userEntry.file}: user "${userName}"` : `${context.file}: context "${contextName}"`);
    const userFile = userEntry?.file ?? context.file;
    const authProvider = uf.dictOf('auth-provider');
    if (authProvider) {
        const name = typeof authProvider['name'] === 'string' && KNOWN_AUTH_PROVIDERS.includes(authProvider['name']) ? authProvider['name'] : '';
        throw uf.fail(
            `auth-provider${name ? ` "${name}"` : ''} is not supported by this plugin; use an exec credential plugin (for OIDC, e.g. kubelogin; for GKE, gke-gcloud-auth-plugin) or a token`,
        );
    }
    const certData = uf.base64('client-certificate-data');
    const keyData = uf.base64('client-key-data');
    const certPath = uf.path('client-certificate', userFile);
    const keyPath = uf.path('client-key', userFile);
    let cert: Buffer | undefined;
    let key: Buffer | undefined;
    let certWhat = '';
    let keyWhat = '';
    if (certData) {
        cert = certData;
        certWhat = 'client-certificate-data';
    } else if (certPath !== '') {
        cert = readReferenced(certPath, 'client-certificate', where, userFile, `user "${userName}"`);
        certWhat = `client-certificate file ${certPath}`;
    }
    if (keyData) {
        key = keyData;
        keyWhat = 'client-key-data';
    } else if (keyPath !== '') {
        key = readReferenced(keyPath, 'client-key', where, userFile, `user "${userName}"`);
        keyWhat = `client-key file ${keyPath}`;
    }
    if (cert && !key) throw uf.fail('has a client certificate but no client-key or client-key-data');
    if (key && !cert) throw uf.fail('has a client key but no client-certificate or client-certificate-data');
    if (cert && key) checkKeyPair(cert, key, uf, certWhat, keyWhat);

    const token = uf.string('token');
    const tokenFile = uf.path('tokenFile', userFile);
    const username = uf.string('username');
    const password = uf.string('password');
    const exec = uf.dictOf('exec');
    const methods = [...(token !== '' || tokenFile !== '' ? ['token'] : []), ...(username !== '' || password !== '' ? ['basic auth'] : []), ...(exec ? ['exec'] : [])];
    if (methods.length > 1) throw uf.fail(`more than one authentication method (${methods.join(', ')}); only one is allowed`);
    for (const value of [token, password]) registerCredential(value);
    let auth: Auth = { kind: 'none' };
    if (token !== '') {
        auth = { kind: 'token', token };
    } else if (tokenFile !== '') {
        const first = readReferenced(tokenFile, 'tokenFile', where, userFile, `user "${userName}"`).toString('utf8').trim();
        if (first === '') throw uf.fail(`tokenFile ${tokenFile} is empty`);
        registerCredential(first);
        auth = { kind: 'tokenFile', path: tokenFile, token: first, origin: uf.label };
    } else if (username !== '' || password !== '') {
        auth = { kind: 'basic', username, password };
    } else if (exec) {
        auth = { kind: 'exec', exec: execConfig(exec, uf, userFile) };
    }

    const impersonateUser = uf.string('as');
    const groups = uf.strings('as-groups');
    const uid = uf.string('as-uid');
    const extraDict = uf.dictOf('as-user-extra') ?? {};
    const extra: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(extraDict)) {
        if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw uf.fail('as-user-extra has a value that is not a list of strings');
        extra[k] = v;
    }
    const impersonating = impersonateUser !== '' || groups.length > 0 || uid !== '' || Object.keys(extra).length > 0;
    if (impersonating && impersonateUser === '') throw uf.fail('as-groups, as-uid or as-user-extra need "as" (the user to impersonate)');

    const defaultTls = ca !== undefined || cert !== undefined || insecure;
    const server = serverUrl(cf.string('server'), defaultTls, cf);
    const serverName = cf.string('tls-server-name');
    const proxy = proxyUrl(cf.string('proxy-url'), cf);
    if (proxy) registerCredential(decodeURIComponent(proxy.password));
    const disableCompression = cf.bool('disable-compression');
    const execCluster: Record<string, unknown> = {
        server,
        ...(serverName !== '' ? { 'tls-server-name': serverName } : {}),
        ...(insecure ? { 'insecure-skip-tls-verify': true } : {}),
        ...(ca ? { 'certificate-authority-data': ca.toString('base64') } : {}),
        ...(proxy ? { 'proxy-url': proxy.href } : {}),
        ...(disableCompression ? { 'disable-compression': true } : {}),
    };
    const extensions = clusterEntry.value['extensions'];
    if (Array.isArray(extensions)) {
        const ext = extensions.find((e: unknown) => isDict(e) && e['name'] === 'client.authentication.k8s.io/exec') as Dict | undefined;
        if (ext && ext['extension'] !== undefined) execCluster['config'] = ext['extension'];
    }
    return {
        source: where,
        context: contextName,
        server,
        tls: { ca, insecure, serverName: serverName === '' ? undefined : serverName, cert, key },
        auth,
        proxy,
        ...(disableCompression ? { disableCompression } : {}),
        impersonate: impersonating ? { user: impersonateUser, uid, groups, extra } : undefined,
        execCluster,
    };
}

/**
 * In-cluster access: the service's environment, the pod's token (re-read as it rotates) and CA.
 * @lazy required at first use by src/cluster/config.ts (knip cannot follow that require)
 */
export function inClusterAccess(env: Record<string, string | undefined>, serviceAccountDir: string): ClusterAccess {
    const where = 'in-cluster';
    const host = env['KUBERNETES_SERVICE_HOST'] ?? '';
    const port = env['KUBERNETES_SERVICE_PORT'] ?? '';
    if (host === '' || port === '') throw configError(where, 'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set');
    const tokenPath = resolve(serviceAccountDir, 'token');
    let token: string;
    try {
        token = readFileSync(tokenPath, 'utf8').trim();
    } catch (error) {
        throw configError(where, `cannot read the service account token ${tokenPath} (${errnoCode(error)})`);
    }
    if (token === '') throw configError(where, `the service account token ${tokenPath} is empty`);
    registerCredential(token);
    let ca: Buffer | undefined;
    try {
        ca = readFileSync(resolve(serviceAccountDir, 'ca.crt'));
        createSecureContext({ ca });
    } catch {
        // client-go carries on without the CA (the system roots then apply).
        ca = undefined;
    }
    const hostPart = host.includes(':') ? `[${host}]` : host;
    const server = `https://${hostPart}:${port}`;
    return {
        source: where,
        context: '',
        server,
        tls: { ca, insecure: false },
        auth: { kind: 'tokenFile', path: tokenPath, token, origin: 'in-cluster' },
        execCluster: { server },
    };
}
