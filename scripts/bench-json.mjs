// Benchmark of the lossless JSON layer (src/kube/json.ts): parse and stringify time against input size
// for VMs with 1,000 to 100,000 volumes, 10^4 to 10^6 element arrays and deeply nested input, next to
// JSON.parse (not lossless) and JSON.parse with a source-text reviver (the previous implementation).
// Time per MB stays flat as input grows: the parser is linear. Usage: node scripts/bench-json.mjs
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'kvp-bench-json-'));
const out = join(dir, 'json.cjs');
await build({ entryPoints: [join(repo, 'src', 'kube', 'json.ts')], outfile: out, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
const { parseLossless, stringifyLossless, deepClone } = createRequire(import.meta.url)(out);
rmSync(dir, { recursive: true, force: true });

const reviver = function (_k, v, c) {
    return typeof v === 'number' && c?.source !== undefined && String(v) !== c.source ? JSON.rawJSON(c.source) : v;
};

function vm(n) {
    const names = Array.from({ length: n }, (_, i) => `disk${i}`);
    const text = JSON.stringify({
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: 'big', namespace: 'ns', labels: { a: 'b' }, generation: '12345678901234567890' },
        spec: {
            template: {
                metadata: { ['__proto__']: { k: 'v' }, labels: { x: 'y' } },
                spec: {
                    domain: { devices: { disks: names.map((name) => ({ name, disk: { bus: 'virtio' } })) } },
                    volumes: names.map((name, i) => ({ name, persistentVolumeClaim: { claimName: `pvc-${i}` } })),
                },
            },
        },
    });
    return text.replace('"12345678901234567890"', '12345678901234567890');
}

function best(fn, runs = 3) {
    let min = Infinity;
    for (let i = 0; i < runs; i++) {
        const s = performance.now();
        fn();
        min = Math.min(min, performance.now() - s);
    }
    return min;
}

const cases = [
    ...[1_000, 10_000, 100_000].map((n) => [`VM, ${n} volumes`, vm(n)]),
    ...[10_000, 100_000, 1_000_000].map((n) => [`array of ${n} numbers`, `[${Array(n).fill('1.0').join(',')}]`]),
    ['nested 999 deep', `${'{"a":['.repeat(499)}1${']}'.repeat(499)}`],
];
console.log(
    'case'.padEnd(28),
    'MB'.padStart(6),
    'ours parse ms'.padStart(14),
    'ms/MB'.padStart(7),
    'stringify'.padStart(10),
    'clone'.padStart(8),
    'JSON.parse'.padStart(11),
    'reviver'.padStart(9),
    ' round trip',
);
for (const [name, text] of cases) {
    const bytes = Buffer.from(text);
    const mb = bytes.length / 1e6;
    let value;
    const parse = best(() => (value = parseLossless(bytes)));
    const stringify = best(() => stringifyLossless(value));
    const clone = best(() => deepClone(value));
    const native = best(() => JSON.parse(text));
    const revived = best(() => JSON.parse(text, reviver));
    const exact = stringifyLossless(deepClone(parseLossless(bytes))) === text;
    console.log(
        name.padEnd(28),
        mb.toFixed(2).padStart(6),
        parse.toFixed(1).padStart(14),
        (parse / mb).toFixed(0).padStart(7),
        stringify.toFixed(1).padStart(10),
        clone.toFixed(1).padStart(8),
        native.toFixed(1).padStart(11),
        revived.toFixed(1).padStart(9),
        exact ? ' byte for byte' : ' DIFFERS',
    );
}
