/**
 * The built binary and kubeconfigs (decision 008), end to end over gRPC:
 *  - a plain-http server (kubectl proxy) that client-go accepts is read, with the token of the file;
 *  - each bad kubeconfig with a planted secret (test/unit/cluster/bad-kubeconfigs.ts) fails the item
 *    that needs the cluster with an error naming the file, and the secret appears neither in the gRPC
 *    error nor anywhere on the plugin's stderr (debug logging on).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { startPlugin } from '../support/plugin-process';
import { secretForms, writeBadConfigs } from '../unit/cluster/bad-kubeconfigs';
import { RecordingServer } from '../unit/cluster/pki';
import { tempDir } from '../support/temp-dir';

const REPO = join(__dirname, '..', '..');
const BINARY = process.env['KVP_PLUGIN_BINARY'] ?? join(REPO, 'dist', 'kubevirt-velero-plugin');
const VM = parseAllDocuments(readFileSync(join(REPO, 'test', 'fixtures', 'backup', 'vm-running.yaml'), 'utf8'))[0]?.toJS() as Record<string, unknown>;
const BACKUP = { metadata: { name: 'b', namespace: 'velero' }, spec: {} };

/** Runs the VM backup action (it lists the namespace's pods, PVCs and DataVolumes) with KUBECONFIG. */
async function backupVm(kubeconfig: string): Promise<{ error: string; stderr: string }> {
    const plugin = await startPlugin(BINARY, { KUBECONFIG: kubeconfig }, ['--log-level=debug']);
    let error = '';
    try {
        await plugin.call('v2.BackupItemAction', 'Execute', {
            plugin: 'kubevirt-velero-plugin/backup-virtualmachine-action',
            item: Buffer.from(JSON.stringify(VM)),
            backup: Buffer.from(JSON.stringify(BACKUP)),
        });
    } catch (thrown) {
        const e = thrown as { message?: string; details?: string; metadata?: unknown };
        error = [e.message ?? '', e.details ?? '', JSON.stringify(e.metadata ?? {})].join('\n');
    }
    await plugin.shutdown();
    return { error, stderr: plugin.stderr() };
}

describe('the binary reads a plain-http server', () => {
    it('kubectl proxy style: http:// and a token, no TLS settings', async () => {
        const server = await RecordingServer.start();
        try {
            const file = join(tempDir('kvp-kc-e2e-'), 'config');
            writeFileSync(
                file,
                stringify({
                    clusters: [{ name: 'c', cluster: { server: server.url } }],
                    users: [{ name: 'u', user: { token: 'e2e-token' } }],
                    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
                    'current-context': 'ctx',
                }),
            );
            const { error } = await backupVm(file);
            expect(error).toBe('');
            expect(server.seen.length).toBeGreaterThan(0);
            expect(new Set(server.seen.map((s) => s.authorization))).toEqual(new Set(['Bearer e2e-token']));
        } finally {
            await server.close();
        }
    });
});

describe('a planted secret never reaches a gRPC error or the stderr of the binary', () => {
    const cases = writeBadConfigs(tempDir('kvp-secrets-e2e-'));
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, bad) => {
        const { error, stderr } = await backupVm(bad.files.join(':'));
        expect(error).not.toBe('');
        for (const form of secretForms()) {
            expect(error).not.toContain(form);
            expect(stderr).not.toContain(form);
        }
        if (bad.names !== '') expect(error).toContain(bad.names);
    });
});
