/**
 * Bad kubeconfigs, each with a known secret planted where an operator would have a credential: in the
 * malformed YAML itself, next to a missing file, in certificate and key data, in an exec plugin's output
 * and arguments, in an auth-provider's config, in server and proxy URLs. Used by the unit test
 * (kubeconfig-secrets.test.ts) and by the end-to-end test on the built binary (test/packaging).
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export const SECRET = 'PLANTED-SECRET-7f3a9c';

/** Every form the secret could take in a message. */
export function secretForms(): string[] {
    return [SECRET, SECRET.toLowerCase(), Buffer.from(SECRET).toString('base64'), Buffer.from(`u:${SECRET}`).toString('base64'), encodeURIComponent(SECRET), 'PLANTED-SECRET'];
}

export interface BadConfig {
    name: string;
    /** The kubeconfig files (the value of KUBECONFIG, ':'-joined when several). */
    files: string[];
    /** The file the error must name ('' when the failure is not about a file, e.g. an unreachable proxy). */
    names: string;
}

type Dict = Record<string, unknown>;

const UNREACHABLE = 'http://127.0.0.1:1';

function config(cluster: Dict, user: Dict): Dict {
    return {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster }],
        users: [{ name: 'u', user }],
        contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'ctx',
    };
}

function script(dir: string, body: string): string {
    const path = join(dir, 'plugin.sh');
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
}

interface Case {
    name: string;
    /** Returns the text of the kubeconfig (and may write other files into dir). */
    write: (dir: string) => string | Dict;
    names?: boolean;
    /** Extra files of a KUBECONFIG list written before this one. */
    before?: (dir: string) => string;
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const FAKE_PEM_KEY = `-----BEGIN PRIVATE KEY-----\n${b64(`${SECRET}${'x'.repeat(80)}`)}\n-----END PRIVATE KEY-----\n`;

const CASES: Case[] = [
    { name: 'malformed YAML (bad indentation) after a token', write: () => `users:\n- name: u\n  user:\n    token: ${SECRET}\n   oops: [\n` },
    { name: 'an unclosed flow mapping holding a token', write: () => `{users: [{name: u, user: {token: ${SECRET}}}]\ncurrent-context: ctx\n` },
    { name: 'a tab-indented token', write: () => `users:\n- name: u\n  user:\n\ttoken: ${SECRET}\n` },
    { name: 'a document that is a list', write: () => `- token: ${SECRET}\n` },
    { name: 'users that is a string', write: () => `users: ${SECRET}\n` },
    { name: 'a token that is not a string', write: () => config({ server: UNREACHABLE }, { token: { value: SECRET } }) },
    {
        name: 'a missing certificate-authority file',
        write: (d) => config({ server: 'https://127.0.0.1:1', 'certificate-authority': join(d, 'missing-ca.crt') }, { token: SECRET }),
    },
    {
        name: 'a missing client-key file',
        write: (d) => config({ server: UNREACHABLE }, { token: SECRET, 'client-certificate': join(d, 'missing.crt'), 'client-key': join(d, 'missing.key') }),
    },
    {
        name: 'a missing tokenFile, proxy credentials in proxy-url',
        write: (d) => config({ server: UNREACHABLE, 'proxy-url': `http://u:${SECRET}@127.0.0.1:1` }, { tokenFile: join(d, 'missing-token') }),
    },
    { name: 'client-key-data that is not base64', write: () => config({ server: UNREACHABLE }, { 'client-certificate-data': b64('x'), 'client-key-data': `${SECRET}!!` }) },
    {
        name: 'client-key-data that is not a key',
        write: () =>
            config(
                { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true },
                { 'client-certificate-data': b64(`-----BEGIN CERTIFICATE-----\n${b64(SECRET)}\n-----END CERTIFICATE-----\n`), 'client-key-data': b64(FAKE_PEM_KEY) },
            ),
    },
    {
        name: 'certificate-authority-data that is not PEM',
        write: () => config({ server: 'https://127.0.0.1:1', 'certificate-authority-data': b64(`${SECRET} is not a certificate`) }, { token: SECRET }),
    },
    { name: 'a client certificate without its key, and a token', write: () => config({ server: UNREACHABLE }, { token: SECRET, 'client-certificate-data': b64(FAKE_PEM_KEY) }) },
    {
        name: 'insecure-skip-tls-verify with a CA, and a token',
        write: () => config({ server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true, 'certificate-authority-data': b64('x') }, { token: SECRET }),
    },
    { name: 'a token and a password (two methods)', write: () => config({ server: UNREACHABLE }, { token: SECRET, username: 'admin', password: SECRET }) },
    {
        name: 'an unknown auth-provider with a client secret',
        write: () => config({ server: UNREACHABLE }, { 'auth-provider': { name: `${SECRET}-provider`, config: { 'client-secret': SECRET } } }),
    },
    {
        name: 'the oidc auth-provider with tokens',
        write: () => config({ server: UNREACHABLE }, { 'auth-provider': { name: 'oidc', config: { 'id-token': SECRET, 'refresh-token': SECRET, 'client-secret': SECRET } } }),
    },
    { name: 'a server URL with credentials', write: () => config({ server: `https://admin:${SECRET}@127.0.0.1:6443` }, {}) },
    { name: 'a server URL that is not a URL', write: () => config({ server: `https://${SECRET} host:port` }, {}) },
    { name: 'a server URL with an unknown scheme', write: () => config({ server: `${SECRET}://127.0.0.1` }, {}) },
    { name: 'a proxy-url with an unknown scheme and credentials', write: () => config({ server: UNREACHABLE, 'proxy-url': `ftp://u:${SECRET}@127.0.0.1:21` }, {}) },
    { name: 'an unreachable proxy with credentials', write: () => config({ server: UNREACHABLE, 'proxy-url': `http://u:${SECRET}@127.0.0.1:1` }, { token: SECRET }), names: false },
    {
        name: 'an exec apiVersion that is not supported',
        write: () => config({ server: UNREACHABLE }, { exec: { apiVersion: `client.authentication.k8s.io/${SECRET}`, command: 'true' } }),
    },
    {
        name: 'an exec interactiveMode that is not known',
        write: () => config({ server: UNREACHABLE }, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true', interactiveMode: SECRET } }),
    },
    {
        name: 'an exec env entry without a value, secret args',
        write: () => config({ server: UNREACHABLE }, { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'true', args: [SECRET], env: [{ name: SECRET }] } }),
    },
    { name: 'as-user-extra with a value that is not a list', write: () => config({ server: UNREACHABLE }, { token: 't', as: 'x', 'as-user-extra': { [SECRET]: SECRET } }) },
    {
        name: 'an exec plugin that fails printing the token on stdout and stderr',
        write: (d) =>
            config(
                { server: UNREACHABLE },
                { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: script(d, `echo "token ${SECRET}"; echo "token ${SECRET}" >&2; exit 3`), args: [SECRET] } },
            ),
    },
    {
        name: 'an exec plugin that prints the token but not JSON',
        write: (d) => config({ server: UNREACHABLE }, { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: script(d, `echo "{token: ${SECRET}"`) } }),
    },
    {
        name: 'an exec plugin that answers with another apiVersion',
        write: (d) =>
            config(
                { server: UNREACHABLE },
                {
                    exec: {
                        apiVersion: 'client.authentication.k8s.io/v1beta1',
                        command: script(d, `echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${SECRET}"}}'`),
                    },
                },
            ),
    },
    {
        name: 'an exec plugin whose expirationTimestamp is not a time',
        write: (d) =>
            config(
                { server: UNREACHABLE },
                {
                    exec: {
                        apiVersion: 'client.authentication.k8s.io/v1beta1',
                        command: script(
                            d,
                            `echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"${SECRET}","expirationTimestamp":"${SECRET}"}}'`,
                        ),
                    },
                },
            ),
    },
    {
        name: 'an exec plugin that returns no status',
        write: (d) =>
            config(
                { server: UNREACHABLE },
                {
                    exec: {
                        apiVersion: 'client.authentication.k8s.io/v1beta1',
                        command: script(d, `echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"token":"${SECRET}"}}'`),
                    },
                },
            ),
    },
    {
        name: 'an exec plugin that is not installed, secret args and env',
        write: (d) =>
            config(
                { server: UNREACHABLE },
                {
                    exec: {
                        apiVersion: 'client.authentication.k8s.io/v1beta1',
                        command: join(d, 'no-such-plugin'),
                        args: [SECRET],
                        env: [{ name: 'T', value: SECRET }],
                        installHint: 'install it',
                    },
                },
            ),
    },
    {
        name: 'a KUBECONFIG list whose second file is malformed',
        before: (d) => {
            const first = join(d, 'first');
            writeFileSync(first, stringify({ 'current-context': 'ctx' }));
            return first;
        },
        write: () => `users:\n- name: u\n  user: {token: ${SECRET}\n`,
    },
];

/** Writes every bad configuration into a new directory under `root` (TMPDIR by default). */
export function writeBadConfigs(root = tmpdir()): BadConfig[] {
    const base = mkdtempSync(join(root, 'kvp-bad-kubeconfigs-'));
    return CASES.map((c, i) => {
        const dir = join(base, String(i));
        mkdirSync(dir);
        const file = join(dir, 'config');
        const content = c.write(dir);
        writeFileSync(file, typeof content === 'string' ? content : stringify(content));
        const files = c.before ? [c.before(dir), file] : [file];
        return { name: c.name, files, names: c.names === false ? '' : file };
    });
}
