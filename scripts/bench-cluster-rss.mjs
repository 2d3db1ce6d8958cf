// RSS of the plugin process idle and after its first cluster read (decision 008). Spawns the built
// binary as go-plugin does, against a local HTTP API server that answers every GET with an empty list,
// reads VmRSS once the process is idle, calls backup-virtualmachine-action on a running VM (which lists
// the namespace's pods, PVCs, DataVolumes: the first cluster read loads the configuration), then reads
// VmRSS and VmHWM again. RUNS runs (default 5); prints the medians.
// Usage: node scripts/bench-cluster-rss.mjs [dist/kubevirt-velero-plugin]
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const binary = resolve(process.argv[2] ?? join(repo, 'dist', 'kubevirt-velero-plugin'));
const runs = Number(process.env.RUNS ?? 5);

mkdirSync(join(repo, 'build'), { recursive: true });
const support = join(repo, 'build', 'bench-plugin-process.cjs');
await build({ entryPoints: [join(repo, 'test', 'support', 'plugin-process.ts')], outfile: support, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
const { startPlugin } = require(support);
const { parse } = require('yaml');

const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: {}, items: [] }));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const dir = mkdtempSync(join(tmpdir(), 'kvp-bench-rss-'));
const kubeconfig = join(dir, 'config');
writeFileSync(
    kubeconfig,
    [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: c',
        '  cluster:',
        `    server: http://127.0.0.1:${server.address().port}`,
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: u',
        '  user:',
        '    token: bench-token',
        'contexts:',
        '- name: c',
        '  context: {cluster: c, user: u}',
        'current-context: c',
        '',
    ].join('\n'),
);

const vm = parse(readFileSync(join(repo, 'test', 'fixtures', 'backup', 'vm-running.yaml'), 'utf8').split('\n---')[0]);
const backup = { metadata: { name: 'b', namespace: 'velero' }, spec: {} };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function status(pid) {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(/\s(\d+) kB/.exec(text.split('\n').find((l) => l.startsWith(key)) ?? '')?.[1] ?? NaN);
    return { rss: kb('VmRSS:') / 1024, hwm: kb('VmHWM:') / 1024 };
}

const rows = [];
for (let i = 0; i < runs; i++) {
    const plugin = await startPlugin(binary, { KUBECONFIG: kubeconfig }, ['--log-level=error']);
    await sleep(500);
    const idle = status(plugin.pid);
    const t0 = process.hrtime.bigint();
    let outcome = 'ok';
    try {
        await plugin.call('v2.BackupItemAction', 'Execute', {
            plugin: 'kubevirt-velero-plugin/backup-virtualmachine-action',
            item: Buffer.from(JSON.stringify(vm)),
            backup: Buffer.from(JSON.stringify(backup)),
        });
    } catch (error) {
        outcome = `error: ${error.details ?? error.message}`;
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    await sleep(200);
    const after = status(plugin.pid);
    rows.push({ idle: idle.rss, after: after.rss, hwm: after.hwm, ms, outcome });
    await plugin.shutdown();
}
server.close();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
for (const r of rows)
    console.log(
        `run: idle ${r.idle.toFixed(1)} MiB, after first cluster read ${r.after.toFixed(1)} MiB (peak ${r.hwm.toFixed(1)} MiB), first call ${r.ms.toFixed(1)} ms, ${r.outcome}`,
    );
console.log(
    `${binary}: ${runs} runs, median RSS idle ${median(rows.map((r) => r.idle)).toFixed(1)} MiB, after first cluster read ${median(rows.map((r) => r.after)).toFixed(1)} MiB, peak ${median(rows.map((r) => r.hwm)).toFixed(1)} MiB, first cluster call ${median(rows.map((r) => r.ms)).toFixed(1)} ms`,
);
