/**
 * No credential in any error or log line (decision 008): each bad configuration carries a planted secret;
 * the read fails with an error that names the file and the problem, and neither the error (message,
 * detail, causes) nor any log line of the reader holds the secret in any form.
 */
import { join } from 'node:path';
import { chmodSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { tmpdir } from 'node:os';
import { inspect } from 'node:util';
import { defaultConfigLoader } from '../../../src/cluster/config';
import { KubeCluster } from '../../../src/cluster/kube';
import { RequestCounter } from '../../../src/cluster/stats';
import { PluginError, redactCredentials, registerCredential } from '../../../src/errors';
import { R } from '../../../src/kube/resources';
import { Logger } from '../../../src/logging/logger';
import { secretForms, writeBadConfigs } from './bad-kubeconfigs';
import { FakeApiServer, statusBody, writeKubeconfig } from './fake-apiserver';
import { rejection } from './harness';
import { tempDir } from '../../support/temp-dir';

const saved = process.env['KUBECONFIG'];
afterAll(() => {
    if (saved === undefined) delete process.env['KUBECONFIG'];
    else process.env['KUBECONFIG'] = saved;
});

/** Every text an error carries: message, detail, stack, and the same for each cause. */
function textsOf(error: unknown): string[] {
    const out: string[] = [];
    let current: unknown = error;
    for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
        if (current instanceof Error) {
            out.push(current.message, current.stack ?? '', String(current));
            if (current instanceof PluginError) out.push(current.detail);
            current = current.cause;
        } else {
            out.push(typeof current === 'string' ? current : inspect(current, { depth: 5 }));
            break;
        }
    }
    return out;
}

const cases = writeBadConfigs(tempDir('kvp-secrets-'));

describe('a planted secret never reaches an error or a log line', () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, bad) => {
        process.env['KUBECONFIG'] = bad.files.join(':');
        const lines: string[] = [];
        const reader = new KubeCluster({
            log: new Logger('debug', (line) => lines.push(line)),
            counter: new RequestCounter(),
            loadConfig: defaultConfigLoader(join(tmpdir(), 'no-service-account')),
            retry: { attempts: 1 },
            timeoutMs: 2000,
        });
        try {
            const thrown = await rejection(reader.list(R.pods, 'ns1'));
            expect(thrown).toBeInstanceOf(PluginError);
            const texts = textsOf(thrown).join('\n') + lines.join('\n');
            for (const form of secretForms()) expect(texts).not.toContain(form);
            if (bad.names !== '') expect((thrown as PluginError).message).toContain(bad.names);
        } finally {
            reader.close();
        }
    });

    it('covers every kind of bad configuration of test/unit/cluster/bad-kubeconfigs.ts (at least 30)', () => {
        expect(cases.length).toBeGreaterThanOrEqual(30);
    });
});

describe('a credential the server echoes back is redacted (second line of defence)', () => {
    function execKubeconfig(server: string, token: string): string {
        const dir = tempDir('kvp-echo-');
        const plugin = join(dir, 'plugin.sh');
        writeFileSync(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"${token}"}}'\n`);
        chmodSync(plugin, 0o755);
        const file = join(dir, 'config');
        writeFileSync(
            file,
            stringify({
                clusters: [{ name: 'c', cluster: { server } }],
                users: [{ name: 'u', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: plugin } } }],
                contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
                'current-context': 'ctx',
            }),
        );
        return file;
    }

    it.each([
        { name: 'a kubeconfig token', token: 'echoed-static-token-1', kubeconfig: (url: string, t: string): string => writeKubeconfig(url, { token: t }), requests: 1 },
        // After a 401 the exec plugin is run again and the request repeated once (it prints the same token).
        { name: 'an exec plugin token', token: 'echoed-exec-token-22', kubeconfig: execKubeconfig, requests: 2 },
    ])('$name in a 401 Status message', async ({ token, kubeconfig, requests }) => {
        const server = await FakeApiServer.start();
        try {
            server.reply('/api/v1/namespaces/ns1/pods', { status: 401, body: statusBody(401, 'Unauthorized', `the token ${token} is not valid`) });
            process.env['KUBECONFIG'] = kubeconfig(server.url, token);
            const reader = new KubeCluster({ log: new Logger('error', () => undefined), counter: new RequestCounter(), loadConfig: defaultConfigLoader(join(tmpdir(), 'none')) });
            const thrown = (await rejection(reader.list(R.pods, 'ns1'))) as PluginError;
            reader.close();
            expect(server.seen.map((r) => r.authorization)).toEqual(Array(requests).fill(`Bearer ${token}`));
            expect(thrown.message).toContain('the token [redacted] is not valid');
            expect(textsOf(thrown).join('\n')).not.toContain(token);
        } finally {
            await server.close();
        }
    });
});

describe('the credential registry', () => {
    it.each([
        {
            name: 'a registered credential is replaced wherever it appears',
            value: 'registered-token-abc',
            text: 'a registered-token-abc b registered-token-abc',
            out: 'a [redacted] b [redacted]',
        },
        { name: 'values shorter than 8 characters are not registered (they would mask words)', value: 'admin', text: 'user admin', out: 'user admin' },
    ])('$name', ({ value, text, out }) => {
        registerCredential(value);
        expect(new PluginError('NoCluster', text).message).toBe(out);
        expect(redactCredentials(text)).toBe(out);
    });
});
