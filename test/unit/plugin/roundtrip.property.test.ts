/**
 * Every action, through the adapter (bytes in, bytes out), over fixture items decorated with generated
 * JSON (keys __proto__/constructor/prototype, integer-like keys, unicode, big integers, deep nesting) in
 * the places the API server keeps unknown fields:
 * - an item the action does not change comes back byte-identical (also when Velero's Go encoder wrote
 *   it: escaped <>&, other spacing);
 * - a changed item differs only in fields the action owns (derived from each action's code, below), and
 *   the generated fields come back exactly;
 * - the decoration never changes what the action does.
 */
import fc from 'fast-check';
import { StaticCluster } from '../../support/static-cluster';
import { ANN, LABEL, RESTRICTED_VMI_LABELS } from '../../../src/kube/annotations';
import { isRawNumber, parseLossless, stringifyLossless } from '../../../src/kube/json';
import type { KubeObject } from '../../../src/kube/object';
import { Logger } from '../../../src/logging/logger';
import { buildActions } from '../../../src/plugin/actions';
import type { ActionDeclaration } from '../../../src/protocol/types';
import { fromValue, jvArb, keyArb, nest, objectAt, stringArb, toText, type Jv, type Style } from '../../support/json-arbitrary';
import { loadFixtures } from '../fixtures';

const quiet = new Logger('error', () => undefined);

const FIXTURE_FILES = [
    'backup/vm-running.yaml',
    'backup/vm-novolumes.yaml',
    'backup/vm-instancetype.yaml',
    'backup/vmi-standalone.yaml',
    'backup/vmi-replicaset.yaml',
    'backup/storage.yaml',
    'backup/dv-unfinished.yaml',
    'backup/volumesnapshots.yaml',
    'backup/launcher-pods-migration.yaml',
    'backup/templates-pools.yaml',
    'restore/vms.yaml',
    'restore/vmis.yaml',
    'restore/pvcs.yaml',
    'restore/datavolumes.yaml',
    'restore/pods.yaml',
    'restore/volumesnapshots.yaml',
    'restore/nads.yaml',
];
const objects: KubeObject[] = FIXTURE_FILES.flatMap((f) => loadFixtures(f));
const actions = buildActions({ log: quiet, env: {}, cluster: () => new StaticCluster(objects) });

const KIND_OF_RESOURCE: Record<string, string> = {
    'virtualmachines.kubevirt.io': 'VirtualMachine',
    'virtualmachineinstances.kubevirt.io': 'VirtualMachineInstance',
    persistentvolumeclaims: 'PersistentVolumeClaim',
    'datavolumes.cdi.kubevirt.io': 'DataVolume',
    'volumesnapshots.snapshot.storage.k8s.io': 'VolumeSnapshot',
    pods: 'Pod',
    'virtualmachinetemplates.template.kubevirt.io': 'VirtualMachineTemplate',
    'virtualmachinetemplaterequests.template.kubevirt.io': 'VirtualMachineTemplateRequest',
    'virtualmachinepools.pool.kubevirt.io': 'VirtualMachinePool',
    'network-attachment-definitions.k8s.cni.cncf.io': 'NetworkAttachmentDefinition',
};

function itemsFor(action: ActionDeclaration): KubeObject[] {
    const kinds = new Set((action.selector.includedResources ?? []).map((r) => KIND_OF_RESOURCE[r] ?? r));
    const seen = new Set<string>();
    return objects.filter((o) => {
        const key = `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`;
        if (!kinds.has(o.kind ?? '') || seen.has(key)) return false;
        seen.add(key);
        return true;
    });
}

const BACKUP = Buffer.from(JSON.stringify({ apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'b1', namespace: 'velero' }, spec: {} }));
const RESTORE = Buffer.from(
    JSON.stringify({
        apiVersion: 'velero.io/v1',
        kind: 'Restore',
        metadata: { name: 'r1', namespace: 'velero' },
        spec: { namespaceMapping: { src: 'dst', ns1: 'ns2', tpl: 'tpl2' } },
    }),
);

type Outcome = { ok: true; item: Buffer } | { ok: false; error: string };

async function run(action: ActionDeclaration, item: Buffer): Promise<Outcome> {
    try {
        if (action.kind === 'BackupItemActionV2') return { ok: true, item: (await action.execute({ item, backup: BACKUP }, { log: quiet })).item };
        if (action.kind === 'RestoreItemActionV2') {
            return { ok: true, item: (await action.execute({ item, restore: RESTORE, itemFromBackup: item }, { log: quiet })).item };
        }
        await action.relatedItems({ item, backup: BACKUP }, { log: quiet });
        return { ok: true, item };
    } catch (error) {
        return { ok: false, error: (error as Error).message };
    }
}

// ---- Fields each action owns (what its code writes), as patterns over dotted paths. ----
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const annotations = (...keys: string[]): RegExp[] => keys.map((k) => new RegExp(`^metadata\\.annotations\\.${esc(k)}$`));
const labels = (...keys: string[]): RegExp[] => keys.map((k) => new RegExp(`^metadata\\.labels\\.${esc(k)}$`));
const UID_MARKS = [...labels(LABEL.pvcUid), ...annotations(ANN.originalPvcUid, ANN.originalVolumeSnapshotUid)];
const IDENTITY = (prefix: string): RegExp[] => [
    new RegExp(`^${esc(prefix)}domain\\.firmware\\.(uuid|serial)$`),
    new RegExp(`^${esc(prefix)}domain\\.devices\\.interfaces\\.\\d+\\.macAddress$`),
    new RegExp(`^${esc(prefix)}networks\\.\\d+\\.multus\\.networkName$`),
];
const DV_SPEC = (prefix: string): RegExp[] => [
    new RegExp(`^${esc(prefix)}(sourceRef|source\\.(pvc|snapshot))\\.namespace$`),
    new RegExp(`^${esc(prefix)}(pvc|storage)\\.storageClassName$`),
];
const OWNED: Record<string, RegExp[]> = {
    'backup-virtualmachine-action': [...labels(LABEL.vmName), ...annotations(ANN.backupConsistency, ANN.restoreGraph), /^spec\.(instancetype|preference)\.revisionName$/],
    'backup-virtualmachineinstance-action': annotations(ANN.isOwned, ANN.backupConsistency, ANN.restoreGraph),
    'backup-datavolume-action': [...UID_MARKS, ...annotations(ANN.populatedFor, ANN.inProgress, ANN.prePopulated)],
    'backup-pvc-action': UID_MARKS,
    'backup-volumesnapshot-action': UID_MARKS,
    'restore-vm-action': [
        ...labels(LABEL.vmName),
        ...annotations(ANN.restoreGraph),
        /^spec\.(runStrategy|running)$/,
        // A pool's VM comes back without the pool's owner reference and finalizer.
        /^metadata\.(finalizers|ownerReferences)(\.\d+(\..*)?)?$/,
        ...IDENTITY('spec.template.spec.'),
        ...DV_SPEC('spec.dataVolumeTemplates.N.spec.').map((r) => new RegExp(r.source.replace('\\.N\\.', '\\.\\d+\\.'))),
    ],
    'restore-vmi-action': [...labels(...RESTRICTED_VMI_LABELS), ...annotations(ANN.restoreGraph), ...IDENTITY('spec.')],
    'restore-pvc-action': [...UID_MARKS, /^spec\.storageClassName$/],
    'restore-pod-action': [],
    'restore-volumesnapshot-action': UID_MARKS,
    'restore-datavolume-action': [...UID_MARKS, ...DV_SPEC('spec.')],
    'backup-virtualmachinetemplate-action': annotations(ANN.restoreGraph),
    'backup-virtualmachinepool-action': annotations(ANN.restoreGraph),
    'restore-nad-action': [/^spec\.config$/],
    'restore-virtualmachinetemplate-action': [
        ...annotations(ANN.restoreGraph),
        ...IDENTITY('spec.virtualMachine.spec.template.spec.'),
        ...DV_SPEC('spec.virtualMachine.spec.dataVolumeTemplates.N.spec.').map((r) => new RegExp(r.source.replace('\\.N\\.', '\\.\\d+\\.'))),
    ],
    'restore-virtualmachinetemplaterequest-action': [],
    'restore-virtualmachinepool-action': [
        ...annotations(ANN.restoreGraph),
        ...IDENTITY('spec.virtualMachineTemplate.spec.template.spec.'),
        ...DV_SPEC('spec.virtualMachineTemplate.spec.dataVolumeTemplates.N.spec.').map((r) => new RegExp(r.source.replace('\\.N\\.', '\\.\\d+\\.'))),
    ],
    'block-vm-action': [],
    'block-launcher-pod-action': [],
};

function ownedBy(action: ActionDeclaration): RegExp[] {
    const patterns = OWNED[action.name.split('/')[1] ?? ''];
    if (!patterns) throw new Error(`no owned-field list for ${action.name}: add one from its code`);
    return patterns;
}

/** Leaf paths where two parsed values differ (a missing subtree reports its leaves). */
function diff(a: unknown, b: unknown, path = '', out: string[] = []): string[] {
    const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !isRawNumber(v);
    if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
        const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
        for (const k of keys) diff(a[k], b[k], path ? `${path}.${k}` : k, out);
        return out;
    }
    if (a === undefined && isObj(b)) return diff({}, b, path, out);
    if (b === undefined && isObj(a)) return diff(a, {}, path, out);
    if (stringifyLossless(a) !== stringifyLossless(b)) out.push(path);
    return out;
}

// ---- Decoration: generated fields where the API server keeps unknown fields. ----
interface Insertion {
    path: (string | number)[];
    key: string;
    value: Jv;
}

const PLACES: { path: (string | number)[]; strings: boolean }[] = [
    { path: [], strings: false },
    { path: ['metadata'], strings: false },
    { path: ['metadata', 'annotations'], strings: true },
    { path: ['metadata', 'labels'], strings: true },
    { path: ['spec'], strings: false },
    { path: ['spec', 'template', 'metadata'], strings: false },
    { path: ['spec', 'template', 'spec', 'nodeSelector'], strings: true },
    { path: ['spec', 'template', 'spec', 'volumes', 0], strings: false },
    { path: ['spec', 'template', 'spec', 'domain', 'devices', 'interfaces', 0], strings: false },
    { path: ['spec', 'nodeSelector'], strings: true },
    { path: ['spec', 'volumes', 0], strings: false },
    { path: ['status'], strings: false },
];

const insertionArb = fc.record({
    place: fc.nat(PLACES.length - 1),
    key: keyArb,
    value: jvArb,
    str: stringArb,
    depth: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 300 }) }),
});

/** The item text with the insertions that fit (existing object, key not already there). */
interface RawInsertion {
    place: number;
    key: string;
    value: Jv;
    str: string;
    depth: number;
}

function decorate(item: KubeObject, raw: readonly RawInsertion[]): { tree: Jv; done: Insertion[] } {
    const tree = fromValue(item);
    const done: Insertion[] = [];
    for (const r of raw) {
        const place = PLACES[r.place];
        if (!place) continue;
        const entries = objectAt(tree, place.path);
        if (!entries || entries.some(([k]) => k === r.key)) continue;
        const value: Jv = place.strings ? { t: 'str', s: r.str } : nest(r.value, r.depth);
        entries.push([r.key, value]);
        done.push({ path: place.path, key: r.key, value });
    }
    return { tree, done };
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
    let cur: unknown = root;
    for (const seg of path) cur = cur === null || typeof cur !== 'object' ? undefined : (cur as Record<string | number, unknown>)[seg];
    return cur;
}

const cases = actions.flatMap((action) =>
    itemsFor(action).map((item) => [action.name.split('/')[1], `${item.kind} ${item.metadata?.namespace ?? ''}/${item.metadata?.name}`, action, item] as const),
);

describe('every action keeps what it does not own', () => {
    it('every action has fixture items to run on', () => {
        const covered = new Set(cases.map((c) => c[0]));
        expect(actions.filter((a) => !covered.has(a.name.split('/')[1] ?? ''))).toEqual([]);
    });

    it.each(cases)('%s on %s', async (_name, _item, action, item) => {
        const owned = ownedBy(action);
        const plain = Buffer.from(toText(fromValue(item)));
        const base = await run(action, plain);
        const baseChanges = base.ok && !base.item.equals(plain) ? diff(parseLossless(plain), parseLossless(base.item)).sort() : [];
        for (const path of baseChanges) expect({ path, owned: owned.some((p) => p.test(path)) }).toEqual({ path, owned: true });

        await fc.assert(
            fc.asyncProperty(fc.array(insertionArb, { minLength: 1, maxLength: 6 }), fc.constantFrom<Style>('canonical', 'go'), async (raw, style) => {
                const { tree, done } = decorate(item, raw);
                const input = Buffer.from(toText(tree, style));
                const outcome = await run(action, input);
                // The decoration never changes what the action does.
                expect(outcome.ok).toBe(base.ok);
                if (!outcome.ok || !base.ok) {
                    if (!outcome.ok && !base.ok) expect(outcome.error).toBe(base.error);
                    return;
                }
                if (outcome.item.equals(input)) {
                    expect(baseChanges).toEqual([]);
                    return;
                }
                const before = parseLossless(input);
                const after = parseLossless(outcome.item);
                const changes = diff(before, after).sort();
                // Changed for a reason: the same owned fields as without decoration, and nothing else.
                expect(changes).toEqual(baseChanges);
                expect(changes.length).toBeGreaterThan(0);
                for (const ins of done) {
                    expect(stringifyLossless(valueAt(after, [...ins.path, ins.key]))).toBe(toText(ins.value));
                }
            }),
            { numRuns: 20 },
        );
    });
});
