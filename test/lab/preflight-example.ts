/**
 * The README's preflight example (not a test): a lab of its own, three namespaces (a running VM with a
 * fixed MAC and serial, a VM whose DataVolume carries velero.io/exclude-from-backup, a standalone VMI),
 * `preflight backup`, a real backup, then `preflight restore` of its tarball with a change-storage-class
 * ConfigMap pointing at a storage class the cluster lacks. Writes build/pf-example.txt.
 * Run: bash scripts/preflight-example.sh
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PLUGIN_BINARY, REPO, startLab } from './lab';
import { run } from './proc';
import { createVmScenario, loadSample } from './simulate';

async function main(): Promise<void> {
    const lab = await startLab({ logDir: join(REPO, 'build', 'pf-example-logs') });
    const out: string[] = [];
    try {
        const shop = loadSample('02-vm-with-pvc.yaml').map((o) => {
            if (o.kind !== 'VirtualMachine') return o;
            const spec = (o.spec as { template: { spec: { domain: Record<string, unknown> } } }).template.spec;
            const devices = (spec.domain['devices'] ?? {}) as Record<string, unknown>;
            devices['interfaces'] = [{ name: 'default', masquerade: {}, macAddress: '02:70:66:00:00:01' }];
            spec.domain['devices'] = devices;
            spec.domain['firmware'] = { serial: 'shop-serial-0001' };
            return o;
        });
        await createVmScenario(lab, 'shop', shop);
        await lab.apply([
            {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: {
                    name: 'change-storage-class',
                    namespace: lab.veleroNamespace,
                    labels: { 'velero.io/plugin-config': '', 'velero.io/change-storage-class': 'RestoreItemAction' },
                },
                data: { 'rook-ceph-block': 'fast-ssd' },
            },
        ]);
        const legacy = loadSample('01-vm-with-dv-and-dvtemplate.yaml').map((o) => {
            if (o.kind === 'DataVolume' && o.metadata?.name === 'test-dv') o.metadata.labels = { ...(o.metadata.labels ?? {}), 'velero.io/exclude-from-backup': 'true' };
            return o;
        });
        await createVmScenario(lab, 'legacy', legacy);
        await createVmScenario(lab, 'batch', '07-vmi-with-dv.yaml');
        const pf = async (args: string[]): Promise<void> => {
            const r = await run(DEFAULT_PLUGIN_BINARY, ['preflight', ...args, '--kubeconfig', lab.kubeconfig], {
                env: { ...process.env, KUBECONFIG: '', VELERO_NAMESPACE: lab.veleroNamespace },
            });
            out.push(`$ kubevirt-velero-plugin preflight ${args.join(' ')}`, r.stdout.trimEnd(), `(exit code ${r.code})`, '');
        };
        await pf(['backup', '--include-namespaces', 'shop,legacy,batch']);
        await lab.velero(['backup', 'create', 'ex', '--include-namespaces', 'shop,batch', '--snapshot-volumes=false', '--wait']);
        const tar = join(REPO, 'build', 'ex.tar.gz');
        copyFileSync(lab.backupTarball('ex'), tar);
        await pf(['restore', tar, '--namespace-mappings', 'shop:shop-copy,batch:batch-copy', '--label', 'velero.kubevirt.io/restore-run-strategy=Halted']);
        await pf(['restore', tar, '--namespace-mappings', 'shop:shop-copy', '--label', 'velero.kubevirt.io/restore-run-strategy=Stopped']);
        await pf(['restore', tar, '--namespace-mappings', 'shop:shop-copy,batch:batch-copy', '--label', 'velero.kubevirt.io/identity-policy=auto']);
    } finally {
        writeFileSync(join(REPO, 'build', 'pf-example.txt'), out.join('\n'));
        await lab.stop();
    }
}
main().catch((e: unknown) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e));
    process.exitCode = 1;
});
