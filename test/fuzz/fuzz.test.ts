/**
 * Fuzz suite: the real plugin binary over gRPC, ≥ 10,000 generated and mutated items per run across
 * every action, with a fake API server behind it (fixture objects). Items: mutated fixture objects,
 * hostile names, wrong kinds, non-object JSON, truncated and corrupted bytes, invalid UTF-8, deep
 * nesting (beyond the bound too), huge arrays, empty bytes, and corrupt Backup/Restore objects.
 * The process never crashes, never writes to stdout and keeps answering; every failure is an item-level
 * gRPC error that names the problem, and the object when it has a name.
 *
 * KVP_FUZZ_SEED replays a run; KVP_FUZZ_ITEMS changes its size. Figures go to stderr and
 * build/fuzz-figures.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import * as grpc from '@grpc/grpc-js';
import { parseLossless } from '../../src/kube/json';
import type { KubeObject } from '../../src/kube/object';
import { serviceDefinition } from '../../src/protocol/codec';
import { wellFormed } from '../../src/protocol/server';
import type { UnaryClient } from '../support/grpc-client';
import { fromValue, jvArb, nest, SPECIAL_KEYS, toText, type Jv } from '../support/json-arbitrary';
import { isRunning, startPlugin, type PluginProcess } from '../support/plugin-process';
import { FakeApiServer, writeKubeconfig } from '../unit/cluster/fake-apiserver';
import { loadFixtures } from '../unit/fixtures';

const REPO = join(__dirname, '..', '..');
const BINARY = process.env['KVP_PLUGIN_BINARY'] ?? join(REPO, 'dist', 'kubevirt-velero-plugin');
const ITEMS = Number(process.env['KVP_FUZZ_ITEMS'] ?? 10_000);
const SEED = Number(process.env['KVP_FUZZ_SEED'] ?? Date.now() % 2 ** 31);
const CONCURRENCY = 8;
/** No item may take longer than this (a 100,000-volume item takes about 2 s on a loaded machine). */
const CALL_DEADLINE_MS = 30_000;
/** Items with 20,000 to 100,000 volumes: each takes seconds, and the suite must stay quick. */
const HUGE_ITEMS = 2;

const FIXTURES = [
    'backup/vm-running.yaml',
    'backup/vm-instancetype.yaml',
    'backup/vmi-standalone.yaml',
    'backup/storage.yaml',
    'backup/volumesnapshots.yaml',
    'backup/launcher-pods-migration.yaml',
    'restore/vms.yaml',
    'restore/vmis.yaml',
    'restore/pvcs.yaml',
    'restore/datavolumes.yaml',
    'restore/pods.yaml',
    'restore/volumesnapshots.yaml',
    'backup/templates-pools.yaml',
    'restore/nads.yaml',
];
const objects: KubeObject[] = FIXTURES.flatMap((f) => loadFixtures(f));
const ITEM_KINDS = new Set([
    'VirtualMachine',
    'VirtualMachineInstance',
    'PersistentVolumeClaim',
    'DataVolume',
    'VolumeSnapshot',
    'Pod',
    'VirtualMachineTemplate',
    'VirtualMachineTemplateRequest',
    'VirtualMachinePool',
    'NetworkAttachmentDefinition',
]);
const items = objects.filter((o) => ITEM_KINDS.has(o.kind ?? ''));
const others = objects.filter((o) => !ITEM_KINDS.has(o.kind ?? ''));

const ACTIONS: { service: string; method: string; plugin: string; kinds: string[] }[] = [
    { service: 'v2.BackupItemAction', method: 'Execute', plugin: 'backup-virtualmachine-action', kinds: ['VirtualMachine'] },
    { service: 'v2.BackupItemAction', method: 'Execute', plugin: 'backup-virtualmachineinstance-action', kinds: ['VirtualMachineInstance'] },
    { service: 'v2.BackupItemAction', method: 'Execute', plugin: 'backup-datavolume-action', kinds: ['DataVolume', 'PersistentVolumeClaim'] },
    { service: 'v2.BackupItemAction', method: 'Execute', plugin: 'backup-pvc-action', kinds: ['PersistentVolumeClaim'] },
    { service: 'v2.BackupItemAction', method: 'Execute', plugin: 'backup-volumesnapshot-action', kinds: ['VolumeSnapshot'] },
    { service: 'v2.RestoreItemAction', method: 'Execute', plugin: 'restore-vm-action', kinds: ['VirtualMachine'] },
    { service: 'v2.RestoreItemAction', method: 'Execute', plugin: 'restore-vmi-action', kinds: ['VirtualMachineInstance'] },
    { service: 'v2.RestoreItemAction', method: 'Execute', plugin: 'restore-pvc-action', kinds: ['PersistentVolumeClaim'] },
    { service: 'v2.RestoreItemAction', method: 'Execute', plugin: 'restore-pod-action', kinds: ['Pod'] },
    { service: 'v2.RestoreItemAction', method: 'Execute', plugin: 'restore-volumesnapshot-action', kinds: ['VolumeSnapshot'] },
    { service: 'v2.RestoreItemAction', method: 'Execute', plugin: 'restore-datavolume-action', kinds: ['DataVolume'] },
    { service: 'v2.BackupItemAction', method: 'Execute', plugin: 'backup-virtualmachinetemplate-action', kinds: ['VirtualMachineTemplate'] },
    { service: 'v2.BackupItemAction', method: 'Execute', plugin: 'backup-virtualmachinepool-action', kinds: ['VirtualMachinePool'] },
    { service: 'v2.RestoreItemAction', method: 'Execute', plugin: 'restore-nad-action', kinds: ['NetworkAttachmentDefinition'] },
    { service: 'v2.RestoreItemAction', method: 'Execute', plugin: 'restore-virtualmachinetemplate-action', kinds: ['VirtualMachineTemplate'] },
    { service: 'v2.RestoreItemAction', method: 'Execute', plugin: 'restore-virtualmachinetemplaterequest-action', kinds: ['VirtualMachineTemplateRequest'] },
    { service: 'v2.RestoreItemAction', method: 'Execute', plugin: 'restore-virtualmachinepool-action', kinds: ['VirtualMachinePool'] },
    { service: 'v1.ItemBlockAction', method: 'GetRelatedItems', plugin: 'block-vm-action', kinds: ['VirtualMachine'] },
    { service: 'v1.ItemBlockAction', method: 'GetRelatedItems', plugin: 'block-launcher-pod-action', kinds: ['Pod'] },
];

const HOSTILE_NAMES = [
    '../victim/db-creds',
    '..',
    '.',
    '/',
    'a/b',
    '',
    ' ',
    'x'.repeat(300),
    'n\u0000ul',
    'é😀',
    '%2e%2e',
    'line\nbreak',
    '__proto__',
    'constructor',
    '-leading',
    'UPPER',
    'a'.repeat(64),
    '../../etc/passwd',
    'ns/../x',
    '\u202e',
    '{{template}}',
    '${x}',
];

/** A small seeded generator (mulberry32): the run is replayable from its seed. */
function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const random = prng(SEED);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
const chance = (p: number): boolean => random() < p;
const samples: Jv[] = fc.sample(jvArb, { numRuns: 3000, seed: SEED });
/** A fresh copy of a sampled value (mutation must never reach into the pool). */
const fresh = (): Jv => structuredClone(pick(samples));

/** Every object/array node of a tree with its parent, for mutation. */
function nodes(root: Jv): Jv[] {
    const out: Jv[] = [];
    const stack = [root];
    while (stack.length > 0) {
        const n = stack.pop() as Jv;
        if (n.t === 'obj') {
            out.push(n);
            for (const [, v] of n.entries) stack.push(v);
        } else if (n.t === 'arr') {
            out.push(n);
            stack.push(...n.items);
        }
    }
    return out;
}

function mutate(tree: Jv, times: number): void {
    for (let i = 0; i < times; i++) {
        const node = pick(nodes(tree));
        if (node.t === 'obj') {
            const r = random();
            if (r < 0.4 && node.entries.length > 0) {
                const entry = pick(node.entries);
                entry[1] = fresh();
            } else if (r < 0.6 && node.entries.length > 0) node.entries.splice(Math.floor(random() * node.entries.length), 1);
            else {
                const key = chance(0.5) ? pick(SPECIAL_KEYS) : `x-${Math.floor(random() * 1000)}`;
                if (!node.entries.some(([k]) => k === key)) node.entries.push([key, fresh()]);
            }
        } else if (node.t === 'arr') {
            if (chance(0.5) && node.items.length > 0) node.items[Math.floor(random() * node.items.length)] = fresh();
            else node.items.push(fresh());
        }
    }
}

function setName(tree: Jv, field: 'name' | 'namespace', value: string): void {
    if (tree.t !== 'obj') return;
    const meta = tree.entries.find(([k]) => k === 'metadata')?.[1];
    if (meta?.t !== 'obj') return;
    const entry = meta.entries.find(([k]) => k === field);
    if (entry) entry[1] = { t: 'str', s: value };
    else meta.entries.push([field, { t: 'str', s: value }]);
}

/** Sets every string at a key named like a reference (claimName, name, secretRef...) to a hostile name. */
function hostileRefs(tree: Jv): void {
    for (const n of nodes(tree)) {
        if (n.t !== 'obj') continue;
        for (const entry of n.entries) {
            if (entry[1].t === 'str' && /^(claimName|name|namespace|secretName|networkName)$/.test(entry[0]) && chance(0.5)) entry[1] = { t: 'str', s: pick(HOSTILE_NAMES) };
        }
    }
}

function bigArray(kind: string, n: number): Jv {
    const names = Array.from({ length: n }, (_, i) => `v${i}`);
    return fromValue({
        apiVersion: 'kubevirt.io/v1',
        kind,
        metadata: { name: 'huge', namespace: 'src' },
        spec: {
            template: {
                spec: { domain: { devices: { disks: names.map((name) => ({ name })) } }, volumes: names.map((name) => ({ name, persistentVolumeClaim: { claimName: name } })) },
            },
            volumes: names.map((name) => ({ name, dataVolume: { name } })),
        },
    });
}

interface Case {
    category: string;
    action: (typeof ACTIONS)[number];
    item: Buffer<ArrayBufferLike>;
    owner: Buffer<ArrayBufferLike>;
    /** metadata.name when the item is a JSON object with a usable kind and metadata (errors must name it). */
    name?: string;
}

const BACKUP = Buffer.from(JSON.stringify({ apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'b1', namespace: 'velero' }, spec: {} }));
const RESTORE = Buffer.from(
    JSON.stringify({ apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name: 'r1', namespace: 'velero' }, spec: { namespaceMapping: { src: 'dst' } } }),
);

function nameOf(bytes: Buffer): string | undefined {
    try {
        // What the plugin itself can read: beyond its bounds or invalid, nothing can be named.
        const v = parseLossless(bytes) as { kind?: unknown; metadata?: { name?: unknown } };
        if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof v.kind !== 'string' || v.kind === '') return undefined;
        if (typeof v.metadata !== 'object' || v.metadata === null || Array.isArray(v.metadata)) return undefined;
        return typeof v.metadata.name === 'string' && v.metadata.name !== '' ? v.metadata.name : undefined;
    } catch {
        return undefined;
    }
}

function corrupt(text: string): Buffer {
    const bytes = Buffer.from(text);
    const r = random();
    if (r < 0.35) return bytes.subarray(0, Math.floor(random() * bytes.length));
    if (r < 0.55) {
        const out = Buffer.from(bytes);
        for (let i = 0; i < 1 + Math.floor(random() * 4); i++) out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
        return out;
    }
    if (r < 0.75) {
        const at = Math.floor(random() * bytes.length);
        return Buffer.concat([bytes.subarray(0, at), Buffer.from(pick([[0xff], [0xc3, 0x28], [0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]])), bytes.subarray(at)]);
    }
    if (r < 0.85) return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
    return Buffer.concat([bytes, Buffer.from(pick(['x', '}', ',', ' {"a":1}', '\u0000']))]);
}

// eslint-disable-next-line complexity -- the case generator: one branch per item shape, weighted
function makeCase(index: number, hugeBudget: { left: number }): Case {
    const action = ACTIONS[index % ACTIONS.length] as (typeof ACTIONS)[number];
    const own = items.filter((o) => action.kinds.includes(o.kind ?? ''));
    const base = (): Jv => fromValue(pick(own.length > 0 && chance(0.85) ? own : items));
    const owner = action.service === 'v2.RestoreItemAction' ? RESTORE : BACKUP;
    const r = random();
    let category: string;
    let item: Buffer<ArrayBufferLike>;
    let ownerBytes: Buffer<ArrayBufferLike> = owner;
    if (index % 5000 === 1234 && hugeBudget.left > 0) {
        category = 'huge-array';
        hugeBudget.left--;
        item = Buffer.from(toText(bigArray(pick(action.kinds), 20_000 + Math.floor(random() * 80_000))));
    } else if (r < 0.35) {
        category = 'mutated';
        const tree = base();
        mutate(tree, 1 + Math.floor(random() * 5));
        item = Buffer.from(toText(tree, chance(0.5) ? 'go' : 'canonical'));
    } else if (r < 0.5) {
        category = 'hostile-names';
        const tree = base();
        if (chance(0.6)) setName(tree, 'name', pick(HOSTILE_NAMES));
        if (chance(0.4)) setName(tree, 'namespace', pick(HOSTILE_NAMES));
        hostileRefs(tree);
        item = Buffer.from(toText(tree));
    } else if (r < 0.6) {
        category = 'wrong-kind';
        item = Buffer.from(toText(fromValue(pick(chance(0.5) ? others : items.filter((o) => !action.kinds.includes(o.kind ?? ''))))));
    } else if (r < 0.67) {
        category = 'non-object';
        const v = fresh();
        item = Buffer.from(v.t === 'obj' ? toText({ t: 'arr', items: [v] }) : toText(v));
    } else if (r < 0.85) {
        category = 'malformed';
        item = corrupt(toText(base()));
    } else if (r < 0.9) {
        category = 'deep';
        const tree = base();
        const spec = tree.t === 'obj' ? tree.entries.find(([k]) => k === 'spec') : undefined;
        const deep = nest(fresh(), 700 + Math.floor(random() * 600));
        if (spec) spec[1] = deep;
        else if (tree.t === 'obj') tree.entries.push(['spec', deep]);
        item = Buffer.from(toText(tree));
    } else if (r < 0.93) {
        category = 'corrupt-owner';
        item = Buffer.from(toText(base()));
        ownerBytes = pick([corrupt(owner.toString()), Buffer.from('[]'), Buffer.from('"x"'), Buffer.from(toText(fresh()))]);
    } else if (r < 0.96) {
        category = 'empty-or-tiny';
        item = Buffer.from(pick(['', '{}', '{"kind":""}', '{"kind":1}', '{"kind":"VirtualMachine","metadata":[]}', 'null', '{"kind":"Pod","metadata":null}']));
    } else {
        category = 'valid';
        item = Buffer.from(toText(base(), chance(0.5) ? 'go' : 'canonical'));
    }
    const name = ownerBytes === owner ? nameOf(item) : undefined;
    return { category, action, item, owner: ownerBytes, ...(name !== undefined ? { name } : {}) };
}

/** Texts that mean a bug escaped as an error message, not a clear item error. */
const UNCLEAR =
    /TypeError|ReferenceError|RangeError|Cannot read propert|is not a function|is not iterable|Maximum call stack|\[object Object\]|undefined \(reading|null \(reading|Unexpected token|JSON at position/;

interface Figures {
    seed: number;
    items: number;
    seconds: number;
    itemsPerSecond: number;
    answered: number;
    failures: number;
    unclear: number;
    unnamed: number;
    badOutput: number;
    byCategory: Record<string, { items: number; failures: number; ms: number }>;
    slowest: { ms: number; category: string; action: string; error: string }[];
    sampleErrors: Record<string, string>;
    maxRssMiB?: number;
}

let plugin: PluginProcess | undefined;
let api: FakeApiServer | undefined;

afterAll(async () => {
    if (plugin && isRunning(plugin.pid)) await plugin.shutdown();
    await api?.close();
});

it(`${ITEMS} generated items across every action: no crash, no stdout, clear item-level errors`, async () => {
    api = await FakeApiServer.start({ objects });
    plugin = await startPlugin(BINARY, { KUBECONFIG: writeKubeconfig(api.url) }, [`--log-level=${process.env['KVP_FUZZ_LOG_LEVEL'] ?? 'error'}`]);
    const clients = new Map<string, UnaryClient>();
    const client = (service: string): UnaryClient => {
        let c = clients.get(service);
        if (!c) {
            const Ctor = grpc.makeGenericClientConstructor(serviceDefinition(service), service);
            c = new Ctor(`unix://${plugin!.socket}`, grpc.credentials.createInsecure(), {
                'grpc.max_receive_message_length': 256 * 1024 * 1024,
                'grpc.max_send_message_length': 256 * 1024 * 1024,
            }) as unknown as UnaryClient;
            clients.set(service, c);
        }
        return c;
    };
    const call = (service: string, method: string, request: unknown): Promise<{ error: grpc.ServiceError | null; response: Record<string, unknown> }> =>
        new Promise((resolve) =>
            (
                client(service) as unknown as grpc.Client &
                    Record<string, (r: unknown, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void>
            )[method]!(request, new grpc.Metadata(), { deadline: Date.now() + CALL_DEADLINE_MS }, (error, response) => resolve({ error, response })),
        );

    const figures: Figures = {
        seed: SEED,
        items: 0,
        seconds: 0,
        itemsPerSecond: 0,
        answered: 0,
        failures: 0,
        unclear: 0,
        unnamed: 0,
        badOutput: 0,
        byCategory: {},
        slowest: [],
        sampleErrors: {},
    };
    const problems: string[] = [];
    // Generated up front, in order: the run is the same for the same seed whatever the timing.
    const hugeBudget = { left: HUGE_ITEMS };
    const cases = Array.from({ length: ITEMS }, (_, i) => makeCase(i, hugeBudget));
    const started = Date.now();
    let next = 0;
    let maxRss = 0;

    // eslint-disable-next-line complexity -- the fuzz worker: one branch per outcome class it counts
    const worker = async (): Promise<void> => {
        while (next < ITEMS) {
            const index = next++;
            const c = cases[index] as Case;
            const field = c.action.service === 'v2.RestoreItemAction' ? 'restore' : 'backup';
            const request = { plugin: `kubevirt-velero-plugin/${c.action.plugin}`, item: c.item, [field]: c.owner, ...(field === 'restore' ? { itemFromBackup: c.item } : {}) };
            const t0 = Date.now();
            const { error, response } = await call(c.action.service, c.action.method, request);
            const ms = Date.now() - t0;
            figures.items++;
            const bucket = (figures.byCategory[c.category] ??= { items: 0, failures: 0, ms: 0 });
            bucket.items++;
            bucket.ms += ms;
            figures.slowest.push({ ms, category: c.category, action: c.action.plugin, error: (error?.details ?? '').slice(0, 120) });
            figures.slowest = figures.slowest.sort((a, b) => b.ms - a.ms).slice(0, 8);
            if (ms > 3000 && c.category !== 'huge-array') {
                mkdirSync(join(REPO, 'build', 'fuzz-slow'), { recursive: true });
                writeFileSync(join(REPO, 'build', 'fuzz-slow', `${index}-${c.action.plugin}.json`), c.item);
            }
            if (error) {
                figures.failures++;
                bucket.failures++;
                const details = error.details ?? '';
                figures.sampleErrors[`${c.category}`] ??= details.slice(0, 200);
                if (error.code !== grpc.status.UNKNOWN || details.length === 0) problems.push(`${c.category} ${c.action.plugin}: gRPC ${error.code} ${details}`);
                if (UNCLEAR.test(details)) {
                    figures.unclear++;
                    problems.push(`unclear error (${c.category} ${c.action.plugin}): ${details.slice(0, 300)}`);
                }
                // Lone surrogates travel as U+FFFD (src/protocol/server.ts).
                if (c.name !== undefined && !details.includes(wellFormed(c.name))) {
                    figures.unnamed++;
                    problems.push(`error does not name ${JSON.stringify(c.name)} (${c.category} ${c.action.plugin}): ${details.slice(0, 300)}`);
                }
            } else {
                figures.answered++;
                const out = response['item'];
                if (Buffer.isBuffer(out) && !out.equals(c.item)) {
                    try {
                        const parsed: unknown = JSON.parse(out.toString('utf8'));
                        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
                    } catch (e) {
                        figures.badOutput++;
                        problems.push(`changed item is not a JSON object (${c.category} ${c.action.plugin}): ${(e as Error).message}`);
                    }
                }
            }
            if (index % 1000 === 999) {
                const health = await call('grpc.health.v1.Health', 'Check', { service: 'plugin' });
                if (health.error || health.response['status'] !== 'SERVING')
                    problems.push(`health check after ${index + 1} items: ${health.error?.message ?? String(health.response['status'])}`);
                if (!isRunning(plugin!.pid)) problems.push(`process gone after ${index + 1} items`);
                try {
                    const status = (await import('node:fs')).readFileSync(`/proc/${plugin!.pid}/status`, 'utf8');
                    maxRss = Math.max(maxRss, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
                } catch {
                    // gone: reported above
                }
            }
            if (problems.length > 50) return;
        }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));

    figures.seconds = (Date.now() - started) / 1000;
    figures.itemsPerSecond = Math.round(figures.items / figures.seconds);
    figures.maxRssMiB = Math.round(maxRss);
    const listed = await call('generated.PluginLister', 'ListPlugins', {});
    if (listed.error) problems.push(`ListPlugins after the run: ${listed.error.message}`);
    // Every action the binary serves is fuzzed (a new action must be added to ACTIONS).
    const served = ((listed.response?.['plugins'] ?? []) as { name: string }[]).map((p) => p.name.replace('kubevirt-velero-plugin/', '')).sort();
    expect(served).toEqual(ACTIONS.map((a) => a.plugin).sort());
    for (const c of clients.values()) c.close();

    mkdirSync(join(REPO, 'build'), { recursive: true });
    writeFileSync(join(REPO, 'build', 'fuzz-figures.json'), JSON.stringify(figures, null, 2));
    process.stderr.write(`figures: ${JSON.stringify(figures)}\n`);
    if (problems.length > 0) process.stderr.write(`problems:\n${problems.slice(0, 20).join('\n')}\n`);

    const stderr = plugin.stderr();
    if (process.env['KVP_FUZZ_STDERR']) writeFileSync(process.env['KVP_FUZZ_STDERR'], stderr);
    expect(problems).toEqual([]);
    expect(figures.items).toBe(ITEMS);
    expect(isRunning(plugin.pid)).toBe(true);
    expect(plugin.stdoutAfterHandshake()).toBe('');
    expect(stderr).not.toMatch(/unexpected error|unexpected rejection|action worker stopped/);
    // Every category was exercised, and each produced both answers and errors where it should.
    for (const category of ['mutated', 'hostile-names', 'wrong-kind', 'non-object', 'malformed', 'deep', 'corrupt-owner', 'huge-array', 'valid']) {
        expect(figures.byCategory[category]?.items ?? 0).toBeGreaterThan(0);
    }
    expect(figures.byCategory['non-object']?.failures).toBe(figures.byCategory['non-object']?.items);
    expect(figures.answered).toBeGreaterThan(ITEMS / 10);
});
