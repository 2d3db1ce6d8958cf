/**
 * Hostile references through the adapter, the one gate between every action and Velero
 * (src/plugin/adapter.ts admitRefs, rules in src/kube/refcheck.ts): a VM or VMI whose spec or recorded
 * restore graph names objects outside its namespace or outside the graph's resources loses those
 * references, each with a warning naming the item and the field; the good references and the item go through.
 */
import { vmItemBlockAction } from '../../../src/item-block-actions/itemblock';
import { vmBackupAction } from '../../../src/backup-item-actions/vm';
import { vmiBackupAction } from '../../../src/backup-item-actions/vmi';
import { StaticCluster } from '../../support/static-cluster';
import type { KubeObject } from '../../../src/kube/object';
import { groupResourceString } from '../../../src/kube/resources';
import { Logger } from '../../../src/logging/logger';
import { admitRefs, backupDeclaration, MAX_REF_WARNINGS, itemBlockDeclaration, restoreDeclaration } from '../../../src/plugin/adapter';
import type { ResourceIdentifier } from '../../../src/protocol/types';
import { vmRestoreAction } from '../../../src/restore-item-actions/vm';
import { vmiRestoreAction } from '../../../src/restore-item-actions/vmi';

const NS = 'tenant';
const GRAPH = 'velero.kubevirt.io/restore-graph';

function capture(): { log: Logger; warnings: string[] } {
    const warnings: string[] = [];
    const log = new Logger('debug', (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry['@level'] === 'warn') warnings.push(String(entry['@message']));
    });
    return { log, warnings };
}

const keys = (ids: readonly ResourceIdentifier[]): string[] => ids.map((r) => `${groupResourceString(r)}/${r.namespace}/${r.name}`);
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/**
 * A VMI spec with one good reference of each kind and the hostile names a tenant can write (the API
 * server does not validate these fields; KubeVirt's webhook does not either for most of them).
 */
function hostileSpec(): Record<string, unknown> {
    return {
        domain: { devices: {} },
        networks: [
            { name: 'default', pod: {} },
            { name: 'good', multus: { networkName: 'good-net' } },
            { name: 'evil', multus: { networkName: `${NS}/../x` } },
        ],
        accessCredentials: [{ sshPublicKey: { source: { secret: { secretName: 'k'.repeat(254) } }, propagationMethod: { noCloud: {} } } }],
        volumes: [
            { name: 'root', dataVolume: { name: 'root-dv' } },
            { name: 'cloudinit', cloudInitNoCloud: { secretRef: { name: '../victim/db-creds' } } },
            { name: 'creds', secret: { secretName: '../../victim/secrets/db-creds' } },
            { name: 'slash', configMap: { name: 'a/b' } },
            { name: 'dotdot', persistentVolumeClaim: { claimName: '..' } },
            { name: 'dot', persistentVolumeClaim: { claimName: '.' } },
            { name: 'upper', dataVolume: { name: 'UPPER' } },
            { name: 'empty', secret: { secretName: '' } },
            { name: 'cm', configMap: { name: 'good-cm' } },
            { name: 'userdata', cloudInitConfigDrive: { secretRef: { name: 'good-userdata' } } },
        ],
    };
}

function hostileVm(annotations: Record<string, string> = {}): KubeObject {
    return {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: 'vm1', namespace: NS, annotations },
        spec: { runStrategy: 'Halted', template: { spec: hostileSpec() } },
        status: { printableStatus: 'Stopped' },
    };
}

function hostileVmi(annotations: Record<string, string> = {}): KubeObject {
    return {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        metadata: { name: 'vmi1', namespace: NS, uid: 'u-1', annotations },
        spec: hostileSpec(),
        status: { phase: 'Succeeded' },
    };
}

/** What the good half of hostileSpec() gives, in graph order. */
const GOOD_RESTORE_GRAPH = [
    'datavolumes.cdi.kubevirt.io/tenant/root-dv',
    'persistentvolumeclaims/tenant/root-dv',
    'configmaps/tenant/good-cm',
    'secrets/tenant/good-userdata',
    'network-attachment-definitions.k8s.cni.cncf.io/tenant/good-net',
];

/** Every hostile field of hostileSpec(), under the VMI spec path `at`, as the warnings must name them. */
function hostileFields(at: string): string[] {
    return [
        `${at}.volumes[1].cloudInitNoCloud.secretRef.name`,
        `${at}.volumes[2].secret.secretName`,
        `${at}.volumes[3].configMap.name`,
        `${at}.volumes[4].persistentVolumeClaim.claimName`,
        `${at}.volumes[5].persistentVolumeClaim.claimName`,
        `${at}.volumes[6].dataVolume.name`,
        `${at}.accessCredentials[0].sshPublicKey.source.secret.secretName`,
        `${at}.networks[2].multus.networkName`,
    ];
}

async function restoreVm(item: KubeObject): Promise<{ ids: ResourceIdentifier[]; warnings: string[]; skip: boolean; restored: KubeObject }> {
    const { log, warnings } = capture();
    const declaration = restoreDeclaration(vmRestoreAction, () => new StaticCluster([]), {});
    const out = await declaration.execute({ item: json(item), itemFromBackup: json(item), restore: json({ metadata: { name: 'r1' }, spec: {} }) }, { log });
    return { ids: out.additionalItems, warnings, skip: out.skipRestore, restored: JSON.parse(out.item.toString('utf8')) as KubeObject };
}

describe('restore of a VM whose spec names objects outside its namespace', () => {
    it('returns only the good references and restores the VM', async () => {
        const { ids, skip, restored } = await restoreVm(hostileVm());
        expect(keys(ids)).toEqual(GOOD_RESTORE_GRAPH);
        expect(skip).toBe(false);
        expect(restored.metadata?.name).toBe('vm1');
    });

    it.each(hostileFields('spec.template.spec').map((f) => [f]))('warns naming the VM and the field %s', async (field) => {
        const { warnings } = await restoreVm(hostileVm());
        const line = warnings.find((w) => w.includes(`(from ${field})`));
        expect(line).toMatch(/^VirtualMachine tenant\/vm1: dropping additional item /);
    });

    it('drops nothing silently: one warning per hostile reference, in graph order', async () => {
        const { warnings } = await restoreVm(hostileVm());
        const fields = hostileFields('spec.template.spec');
        // A DataVolume volume names the DataVolume and its PVC: two references from one field.
        const expected = [...fields.slice(0, 6), fields[5], ...fields.slice(6)];
        expect(warnings.map((w) => /\(from ([^)]*)\)/.exec(w)?.[1])).toEqual(expected);
    });
});

describe('restore of a VM whose recorded restore graph (annotation) was edited', () => {
    it.each([
        ['a path into another namespace', 'secrets/../victim/db-creds', 'secrets "../victim/db-creds"'],
        ['a rolebinding', 'rolebindings.rbac.authorization.k8s.io/admin', 'is not one the plugin ever refers to'],
        ['a persistent volume', 'persistentvolumes/pv-1', 'resource "persistentvolumes"'],
        ['a cluster-scoped instancetype', 'virtualmachineclusterinstancetypes.instancetype.kubevirt.io/u1', 'cluster-scoped'],
        ['dot-dot', 'persistentvolumeclaims/..', 'is ".."'],
        ['an upper-case name', 'secrets/DB', 'DNS-1123'],
        ['a 254-character name', `secrets/${'s'.repeat(254)}`, 'longer than 253'],
    ])('%s is not trusted, the other entries are', async (_what, entry, problem) => {
        const recorded = ['secrets/good-secret', entry, 'persistentvolumeclaims/good-pvc'];
        const { ids, warnings, restored } = await restoreVm(hostileVm({ [GRAPH]: JSON.stringify(recorded) }));
        expect(keys(ids)).toEqual(['secrets/tenant/good-secret', 'persistentvolumeclaims/tenant/good-pvc']);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain('VirtualMachine tenant/vm1: dropping additional item');
        expect(warnings[0]).toContain(`(from metadata.annotations[${GRAPH}][1])`);
        expect(warnings[0]).toContain(problem);
        expect(restored.metadata?.annotations?.[GRAPH]).toBeUndefined();
    });
});

describe('restore of a standalone VMI with hostile references', () => {
    it('returns only the good references, warns for each field, restores the VMI', async () => {
        const { log, warnings } = capture();
        const declaration = restoreDeclaration(vmiRestoreAction, () => new StaticCluster([]), {});
        const item = hostileVmi();
        const out = await declaration.execute({ item: json(item), itemFromBackup: json(item), restore: json({ spec: {} }) }, { log });
        expect(keys(out.additionalItems)).toEqual(GOOD_RESTORE_GRAPH);
        expect(out.skipRestore).toBe(false);
        for (const field of hostileFields('spec')) {
            expect(warnings.some((w) => w.startsWith('VirtualMachineInstance tenant/vmi1: dropping additional item') && w.includes(`(from ${field})`))).toBe(true);
        }
    });
});

describe('backup of a VM or VMI with hostile references', () => {
    it('a stopped VM: additional items without the hostile refs, the VM backed up', async () => {
        const { log, warnings } = capture();
        const declaration = backupDeclaration(vmBackupAction, () => new StaticCluster([]));
        const out = await declaration.execute({ item: json(hostileVm()), backup: json({ metadata: { name: 'b1' }, spec: {} }) }, { log });
        expect(keys(out.additionalItems)).toEqual(GOOD_RESTORE_GRAPH);
        expect((JSON.parse(out.item.toString('utf8')) as KubeObject).metadata?.name).toBe('vm1');
        expect(warnings.filter((w) => w.startsWith('VirtualMachine tenant/vm1: dropping additional item'))).toHaveLength(9);
    });

    it('a standalone VMI: the same', async () => {
        const { log, warnings } = capture();
        const declaration = backupDeclaration(vmiBackupAction, () => new StaticCluster([]));
        const out = await declaration.execute({ item: json(hostileVmi()), backup: json({ metadata: { name: 'b1' }, spec: {} }) }, { log });
        expect(keys(out.additionalItems)).toEqual(GOOD_RESTORE_GRAPH);
        expect(warnings.filter((w) => w.startsWith('VirtualMachineInstance tenant/vmi1: dropping additional item'))).toHaveLength(9);
    });

    it('ItemBlock related items of a VM: storage without the hostile names', async () => {
        const { log, warnings } = capture();
        const declaration = itemBlockDeclaration(vmItemBlockAction, () => new StaticCluster([]));
        const ids = await declaration.relatedItems({ item: json(hostileVm()), backup: json({ spec: {} }) }, { log });
        expect(keys(ids)).toEqual(['datavolumes.cdi.kubevirt.io/tenant/root-dv', 'persistentvolumeclaims/tenant/root-dv']);
        expect(warnings.map((w) => /\(from ([^)]*)\)/.exec(w)?.[1])).toEqual([
            'spec.template.spec.volumes[4].persistentVolumeClaim.claimName',
            'spec.template.spec.volumes[5].persistentVolumeClaim.claimName',
            'spec.template.spec.volumes[6].dataVolume.name',
            'spec.template.spec.volumes[6].dataVolume.name',
        ]);
        expect(warnings.every((w) => w.startsWith('VirtualMachine tenant/vm1: dropping related item'))).toBe(true);
    });
});

describe('admitRefs', () => {
    it('an item with thousands of hostile names costs a bounded number of warning lines', () => {
        const { log, warnings } = capture();
        const refs = Array.from({ length: 5000 }, (_, i) => ({
            group: '',
            resource: 'secrets',
            namespace: NS,
            name: `../victim/s${i}`,
            field: `spec.volumes[${i}].secret.secretName`,
        }));
        const ids = admitRefs(hostileVm(), [...refs, { group: '', resource: 'secrets', namespace: NS, name: 'good' }], log, 'additional item');
        expect(keys(ids)).toEqual(['secrets/tenant/good']);
        expect(warnings).toHaveLength(MAX_REF_WARNINGS + 1);
        expect(warnings[MAX_REF_WARNINGS - 1]).toContain(`(from spec.volumes[${MAX_REF_WARNINGS - 1}].secret.secretName)`);
        expect(warnings[MAX_REF_WARNINGS]).toBe(`VirtualMachine tenant/vm1: dropping ${5000 - MAX_REF_WARNINGS} more invalid additional items (5000 in all)`);
    });

    it('sends only the four wire fields', () => {
        const { log } = capture();
        const ids = admitRefs(hostileVm(), [{ group: '', resource: 'secrets', namespace: NS, name: 'a', field: 'spec.x' }], log, 'additional item');
        expect(ids).toStrictEqual([{ group: '', resource: 'secrets', namespace: NS, name: 'a' }]);
    });
});
