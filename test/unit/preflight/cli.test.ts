/** The preflight command line: Velero's flags become the Backup/Restore, usage errors exit 2, verdicts 0/1. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePreflightArgs, UsageError } from '../../../src/cli/preflight';
import { parseOrSelector, parseSelector } from '../../../src/cli/selector';
import { runPreflight } from '../../../src/preflight/run';
import type { BackupReport, RestoreReport } from '../../../src/preflight/report';
import type { AccessQuestion } from '../../../src/cluster/access';
import { cluster, fixtureObjects, itemPath, ns, tarGz } from './helpers';
import { tempDir } from '../../support/temp-dir';

describe('selectors', () => {
    it.each([
        ['app=web', { matchLabels: { app: 'web' } }],
        ['app==web,tier!=db', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] }],
        [
            'env in (a, b),!legacy,velero.kubevirt.io/vm',
            {
                matchExpressions: [
                    { key: 'env', operator: 'In', values: ['a', 'b'] },
                    { key: 'legacy', operator: 'DoesNotExist' },
                    { key: 'velero.kubevirt.io/vm', operator: 'Exists' },
                ],
            },
        ],
        ['x notin (y)', { matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['y'] }] }],
    ])('%s', (text, expected) => {
        expect(parseSelector(text)).toEqual(expected);
    });

    it('or-selectors split on " or "', () => {
        expect(parseOrSelector('a=1 or b=2')).toEqual([{ matchLabels: { a: '1' } }, { matchLabels: { b: '2' } }]);
    });

    it.each([['a=(b'], ['=x'], ['a in (b'], ['']])('rejects %p', (text) => {
        expect(() => parseSelector(text)).toThrow();
    });
});

describe('preflight arguments', () => {
    it('backup flags become the Backup Velero would create', () => {
        const cmd = parsePreflightArgs([
            'backup',
            '--include-namespaces',
            'a,b',
            '--exclude-resources=pods',
            '-l',
            'app=web',
            '--label',
            'velero.kubevirt.io/metadataBackup=true',
            '--snapshot-volumes=false',
            '-o',
            'json',
        ]);
        expect(cmd).toMatchObject({
            command: 'backup',
            output: 'json',
            backup: {
                metadata: { labels: { 'velero.kubevirt.io/metadataBackup': 'true' } },
                spec: { includedNamespaces: ['a', 'b'], excludedResources: ['pods'], labelSelector: { matchLabels: { app: 'web' } }, snapshotVolumes: false },
            },
        });
    });

    it('restore flags become the Restore; the tarball is the one argument', () => {
        const cmd = parsePreflightArgs(['restore', 'b.tar.gz', '--namespace-mappings', 'a:b,c:d', '--labels', 'velero.kubevirt.io/identity-policy=auto']);
        expect(cmd).toMatchObject({
            command: 'restore',
            backupFile: 'b.tar.gz',
            restore: { metadata: { labels: { 'velero.kubevirt.io/identity-policy': 'auto' } }, spec: { namespaceMapping: { a: 'b', c: 'd' } } },
        });
    });

    it.each([
        [['backup', '--selector', 'a=b', '--or-selector', 'c=d'], "either a 'selector' or an 'or-selector' can be specified, but not both"],
        [['backup', '--include-resources', 'vm', '--include-namespace-scoped-resources', 'pods'], /old filter parameters/],
        [['backup', '--output', 'yaml'], /expected table or json/],
        [['backup', '--nope'], /unknown flag --nope/],
        [['backup', 'extra'], /takes no arguments/],
        [['restore'], /exactly one argument/],
        [['restore', 'x', '--namespace-mappings', 'a'], /not src:dst/],
        [['backup', '--namespace-mappings', 'a:b'], /restore flag/],
        [['backup', '--include-namespaces'], /needs a value/],
        [['frobnicate'], /unknown preflight command/],
    ])('%p is a usage error', (argv, message) => {
        expect(() => parsePreflightArgs(argv)).toThrow(UsageError);
        expect(() => parsePreflightArgs(argv)).toThrow(message);
    });
});

interface Captured {
    code: number;
    stdout: string;
    stderr: string;
    questions: AccessQuestion[];
}

async function run(argv: string[], objects = [ns('kvp-ns'), ...fixtureObjects('backup/vm-running.yaml', 'backup/storage.yaml')], denied: string[] = []): Promise<Captured> {
    let stdout = '';
    let stderr = '';
    const questions: AccessQuestion[] = [];
    const code = await runPreflight(argv, {
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        env: {},
        cluster: cluster(objects),
        reviewer: {
            review: async (qs) => {
                questions.push(...qs);
                return qs.map((q) => ({ ...q, allowed: !denied.includes(q.resource), reason: '' }));
            },
            whoAmI: async () => 'system:serviceaccount:velero:velero',
            close: () => undefined,
        },
    });
    return { code, stdout, stderr, questions };
}

describe('preflight command', () => {
    it('exit 0 with a table and a summary line when all is well', async () => {
        const r = await run(['backup', '--include-namespaces', 'kvp-ns', '--snapshot-volumes=false']);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^NAMESPACE\s+KIND\s+NAME\s+BACKUP\s+CONSISTENCY\s+TRAVELS\s+PROBLEMS\nkvp-ns\s+VM\s+test-vm\s+included\s+filesystem\s+\d+\s+-\n/);
        expect(r.stdout).toMatch(/backup preflight: 1 VM\/VMI in 1 namespace: 1 included, 0 refused \(1 filesystem-consistent\), 0 errors, 0 warnings — OK\n$/);
        expect(r.questions).toHaveLength(10);
    });

    it('exit 1 when a VM would be refused; the JSON report carries the refusal', async () => {
        const r = await run(['backup', '--include-namespaces', 'kvp-ns', '--exclude-resources', 'pods', '-o', 'json']);
        expect(r.code).toBe(1);
        const report = JSON.parse(r.stdout) as BackupReport;
        expect(report).toMatchObject({ schema: 'preflight.kubevirt.io/v1', kind: 'BackupPreflight', summary: { refused: 1, exitCode: 1 } });
        expect(report.subjects[0]?.refusals[0]).toMatch(/^VirtualMachine kvp-ns\/test-vm: VM cannot be safely backed up/);
    });

    it('exit 1 when the plugin lacks a permission, naming it', async () => {
        const r = await run(['backup', '--include-namespaces', 'kvp-ns'], undefined, ['datavolumes']);
        expect(r.code).toBe(1);
        expect(r.stdout).toContain(
            'Permissions of system:serviceaccount:velero:velero: missing\n    get datavolumes.cdi.kubevirt.io in namespace kvp-ns\n    list datavolumes.cdi.kubevirt.io in namespace kvp-ns',
        );
    });

    it('exit 2 for a usage error, and for a tarball that cannot be read', async () => {
        expect((await run(['backup', '--bogus'])).code).toBe(2);
        const missing = await run(['restore', '/nonexistent/b.tar.gz']);
        expect(missing.code).toBe(2);
        expect(missing.stderr).toMatch(/cannot read \/nonexistent\/b.tar.gz/);
    });

    it('restore from a tarball: table and JSON', async () => {
        const dir = tempDir('pf-cli-');
        const path = join(dir, 'b.tar.gz');
        const vm = fixtureObjects('backup/vm-running.yaml')[0];
        if (!vm) throw new Error('fixture');
        writeFileSync(path, tarGz([{ name: itemPath(vm), data: JSON.stringify(vm) }]));
        const r = await run(['restore', path, '--namespace-mappings', 'kvp-ns:copy', '-o', 'json'], [ns('copy')]);
        const report = JSON.parse(r.stdout) as RestoreReport;
        expect(report.subjects.map((s) => [s.name, s.targetNamespace, s.restored])).toEqual([['test-vm', 'copy', true]]);
        // test-dv, test-dv-template and test-pvc are not in this tarball.
        expect(report.subjects[0]?.findings.filter((f) => f.code === 'NotInBackup')).toHaveLength(5);
        expect(r.code).toBe(0);
    });
});
