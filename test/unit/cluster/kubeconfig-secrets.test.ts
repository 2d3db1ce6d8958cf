/**
 * No credential in any error or log line (issue 10): each bad configuration carries a planted secret;
 * the read fails with an error that names the file and the problem, and neither the error (message,
 * detail, causes) nor any log line of the reader holds the secret in any form.
 */
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { defaultConfigLoader } from '../../../src/cluster/config';
import { KubeCluster } from '../../../src/cluster/kube';
import { RequestCounter } from '../../../src/cluster/stats';
import { PluginError } from '../../../src/errors';
import { R } from '../../../src/kube/resources';
import { Logger } from '../../../src/logging/logger';
import { secretForms, writeBadConfigs } from './bad-kubeconfigs';
import { rejection } from './harness';

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
            out.push(String(current));
            break;
        }
    }
    return out;
}

const cases = writeBadConfigs(mkdtempSync(join(tmpdir(), 'kvp-secrets-')));

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

    it('covers every kind of bad configuration listed in issue 10', () => {
        expect(cases.length).toBeGreaterThanOrEqual(30);
    });
});
