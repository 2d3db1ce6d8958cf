/**
 * The house rules of src/, checked on the import graph (the layers of the README's layout section): no
 * import cycles; the protocol layer knows nothing of KubeVirt; src/kube is the lowest shared layer and
 * imports nothing of the layers above it (graph, cluster, the actions); the graph knows nothing of gRPC,
 * logging or I/O; only src/cluster talks to the API server; nothing but the commands (src/cli,
 * src/preflight, src/main.ts) imports the preflight or the command line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = join(__dirname, '..', '..', 'src');

function files(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
        const full = join(dir, name);
        if (statSync(full).isDirectory()) return name === 'generated' ? [] : files(full);
        return name.endsWith('.ts') ? [full] : [];
    });
}

const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|^\s*import\s+\w+\s*=\s*require\('([^']+)'\)|^\s*import\s+'([^']+)'/gm;

function importsOf(file: string): { local: string[]; packages: string[] } {
    const text = readFileSync(file, 'utf8');
    const local: string[] = [];
    const packages: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
        const spec = m[1] ?? m[2] ?? m[3] ?? '';
        if (spec.startsWith('.')) {
            const base = resolve(dirname(file), spec);
            const candidates = [`${base}.ts`, join(base, 'index.ts'), base];
            const found = candidates.find((c) => {
                try {
                    return statSync(c).isFile();
                } catch {
                    return false;
                }
            });
            if (found?.endsWith('.ts')) local.push(found);
        } else {
            packages.push(spec);
        }
    }
    return { local, packages };
}

const all = files(SRC);
const graph = new Map(all.map((f) => [f, importsOf(f)]));
const rel = (f: string): string => relative(SRC, f);

describe('the structure of src/', () => {
    it('has no import cycles', () => {
        const cycles: string[] = [];
        const state = new Map<string, 'visiting' | 'done'>();
        const stack: string[] = [];
        const visit = (file: string): void => {
            if (state.get(file) === 'done') return;
            if (state.get(file) === 'visiting') {
                cycles.push([...stack.slice(stack.indexOf(file)), file].map(rel).join(' → '));
                return;
            }
            state.set(file, 'visiting');
            stack.push(file);
            for (const next of graph.get(file)?.local ?? []) visit(next);
            stack.pop();
            state.set(file, 'done');
        };
        for (const file of all) visit(file);
        expect(cycles).toEqual([]);
    });

    it.each([
        ['protocol', ['backup-item-actions', 'restore-item-actions', 'item-block-actions', 'graph', 'cluster', 'kube', 'plugin', 'preflight', 'cli']],
        ['graph', ['protocol', 'plugin', 'backup-item-actions', 'restore-item-actions', 'item-block-actions', 'cluster', 'logging', 'preflight', 'cli']],
        ['kube', ['protocol', 'plugin', 'backup-item-actions', 'restore-item-actions', 'item-block-actions', 'graph', 'cluster', 'preflight', 'cli']],
        // Action cores see the contract (plugin/contract.ts, plugin/options.ts), never the adapter that runs them.
        ['backup-item-actions', ['protocol', 'restore-item-actions', 'item-block-actions', 'preflight', 'cli', 'plugin/adapter', 'plugin/actions']],
        ['restore-item-actions', ['protocol', 'backup-item-actions', 'item-block-actions', 'preflight', 'cli', 'plugin/adapter', 'plugin/actions']],
        ['item-block-actions', ['protocol', 'restore-item-actions', 'preflight', 'cli', 'plugin/adapter', 'plugin/actions']],
        ['cluster', ['protocol', 'plugin', 'backup-item-actions', 'restore-item-actions', 'item-block-actions', 'preflight', 'cli']],
        ['plugin', ['preflight', 'cli']],
        ['logging', ['protocol', 'plugin', 'backup-item-actions', 'restore-item-actions', 'item-block-actions', 'graph', 'cluster', 'kube', 'preflight', 'cli']],
    ])('src/%s imports nothing from %p', (folder, forbidden) => {
        const offending = all
            .filter((f) => rel(f).startsWith(`${folder}/`))
            .flatMap((f) =>
                (graph.get(f)?.local ?? []).filter((t) => forbidden.some((d) => rel(t) === `${d}.ts` || rel(t).startsWith(`${d}/`))).map((t) => `${rel(f)} → ${rel(t)}`),
            );
        expect(offending).toEqual([]);
    });

    it.each([
        ['@grpc/grpc-js', ['protocol']],
        // Tests may use client-node; the plugin reads kubeconfigs itself (decision 008).
        ['@kubernetes/client-node', []],
        ['yaml', ['cluster']],
        ['node:https', ['cluster']],
        ['node:http', ['cluster']],
    ])('only %s’s own layer imports %s', (pkg, allowed) => {
        const users = all.filter((f) => graph.get(f)?.packages.includes(pkg)).map(rel);
        expect(users.filter((f) => !allowed.some((a) => f.startsWith(`${a}/`)))).toEqual([]);
    });
});
