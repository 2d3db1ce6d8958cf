import { additionalItemInBackup, entryMatches, excludedByLabel, listedItemInBackup, matchesBackupSelectors, resourceInBackup } from '../../../src/backup-item-actions/inclusion';
import type { KubeObject } from '../../../src/kube/object';
import { R, type GroupResource } from '../../../src/kube/resources';
import type { BackupSpec, LabelSelector } from '../../../src/kube/velero';
import { makeBackup } from './helpers';

describe('filter entries name resources as Velero resolves them', () => {
    test.each<[string, GroupResource, boolean]>([
        ['virtualmachines', R.vms, true],
        ['virtualmachine', R.vms, true],
        ['VirtualMachine', R.vms, true],
        ['VIRTUALMACHINES', R.vms, true],
        ['vm', R.vms, true],
        ['vms', R.vms, true],
        ['virtualmachines.kubevirt.io', R.vms, true],
        ['vm.kubevirt.io', R.vms, true],
        ['virtualmachines.example.com', R.vms, false],
        ['virtualmachineinstances', R.vms, false],
        ['vmi', R.vmis, true],
        ['vmis', R.vmis, true],
        ['VirtualMachineInstance', R.vmis, true],
        ['virtualmachineinstances.kubevirt.io', R.vmis, true],
        ['vm', R.vmis, false],
        ['dv', R.dataVolumes, true],
        ['dvs', R.dataVolumes, true],
        ['datavolume', R.dataVolumes, true],
        ['DataVolume', R.dataVolumes, true],
        ['datavolumes.cdi.kubevirt.io', R.dataVolumes, true],
        ['pvc', R.pvcs, true],
        ['pvcs', R.pvcs, true],
        ['PersistentVolumeClaim', R.pvcs, true],
        ['persistentvolumeclaims', R.pvcs, true],
        ['po', R.pods, true],
        ['pod', R.pods, true],
        ['Pods', R.pods, true],
        ['pods.metrics.k8s.io', R.pods, false],
        ['*', R.pods, true],
        ['*.kubevirt.io', R.vmis, true],
        ['*.kubevirt.io', R.pods, false],
        ['virtualmachine*', R.vmis, true],
        ['', R.pods, false],
        [' pvc ', R.pvcs, true],
    ])('entry %j names %j: %s', (entry, resource, expected) => {
        expect(entryMatches(entry, resource)).toBe(expected);
    });
});

describe('resource filters of a backup', () => {
    test.each<[string, BackupSpec, GroupResource, boolean]>([
        ['empty filters include everything', {}, R.pods, true],
        ['included by plural', { includedResources: ['pods', 'persistentvolumeclaims'] }, R.pods, true],
        ['not in the include list', { includedResources: ['persistentvolumeclaims'] }, R.pods, false],
        ['wildcard include', { includedResources: ['*'] }, R.vmis, true],
        ['short name include', { includedResources: ['vmi', 'pvc'] }, R.vmis, true],
        ['excluded by short name', { excludedResources: ['po'] }, R.pods, false],
        ['excluded by kind name', { excludedResources: ['VirtualMachineInstance'] }, R.vmis, false],
        ['exclusion wins over inclusion', { includedResources: ['*'], excludedResources: ['pods'] }, R.pods, false],
        ['exclude wildcard excludes everything', { excludedResources: ['*'] }, R.pvcs, false],
        ['exclude of another resource', { excludedResources: ['secrets'] }, R.pvcs, true],
        ['scoped include', { includedNamespaceScopedResources: ['pods', 'vmi'] }, R.vmis, true],
        ['scoped include misses', { includedNamespaceScopedResources: ['pods'] }, R.vmis, false],
        ['scoped exclude', { excludedNamespaceScopedResources: ['dv'] }, R.dataVolumes, false],
        ['scoped wildcard with exclusion', { includedNamespaceScopedResources: ['*'], excludedNamespaceScopedResources: ['pods'] }, R.pods, false],
        ['cluster-scoped filters never concern namespaced resources', { excludedClusterScopedResources: ['*'], includedClusterScopedResources: ['nodes'] }, R.pods, true],
        ['label selector does not filter resources', { labelSelector: { matchLabels: { app: 'x' } } }, R.pods, true],
    ])('%s', (_name, spec, resource, expected) => {
        expect(resourceInBackup(makeBackup(spec), resource)).toBe(expected);
    });
});

function obj(labels: Record<string, unknown>): KubeObject {
    return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', labels } } as KubeObject;
}

describe('the exclude label', () => {
    test.each<[Record<string, unknown>, boolean]>([
        [{ 'velero.io/exclude-from-backup': 'true' }, true],
        [{ 'velero.io/exclude-from-backup': 'True' }, false],
        [{ 'velero.io/exclude-from-backup': 'false' }, false],
        [{ other: 'true' }, false],
        [{}, false],
        [{ 'velero.io/exclude-from-backup': true }, false],
    ])('labels %j excluded: %s', (labels, expected) => {
        expect(excludedByLabel(obj(labels))).toBe(expected);
    });
});

describe('label selectors of a backup', () => {
    const sel = (s: LabelSelector): BackupSpec => ({ labelSelector: s });
    test.each<[string, BackupSpec, Record<string, string>, boolean]>([
        ['no selector matches all', {}, {}, true],
        ['empty selector matches all', sel({}), {}, true],
        ['matchLabels match', sel({ matchLabels: { app: 'demo' } }), { app: 'demo', x: 'y' }, true],
        ['matchLabels mismatch', sel({ matchLabels: { app: 'demo' } }), { app: 'other' }, false],
        ['In', sel({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] }), { tier: 'b' }, true],
        ['In without the label', sel({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] }), {}, false],
        ['NotIn without the label', sel({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a'] }] }), {}, true],
        ['NotIn with a listed value', sel({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a'] }] }), { tier: 'a' }, false],
        ['Exists', sel({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }), { tier: '' }, true],
        ['DoesNotExist', sel({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }), { tier: 'a' }, false],
        ['unknown operator matches nothing', sel({ matchExpressions: [{ key: 'tier', operator: 'Gt', values: ['1'] }] }), { tier: '2' }, false],
        ['orLabelSelectors: one matches', { orLabelSelectors: [{ matchLabels: { a: '1' } }, { matchLabels: { b: '2' } }] }, { b: '2' }, true],
        ['orLabelSelectors: none matches', { orLabelSelectors: [{ matchLabels: { a: '1' } }, { matchLabels: { b: '2' } }] }, { c: '3' }, false],
        ['orLabelSelectors empty list matches all', { orLabelSelectors: [] }, {}, true],
    ])('%s', (_name, spec, labels, expected) => {
        expect(matchesBackupSelectors(makeBackup(spec), obj(labels))).toBe(expected);
    });

    // An edited item may carry a label whose value is not a string: it is no label, for every operator.
    test.each<[string, BackupSpec, Record<string, unknown>, boolean]>([
        ['matchLabels against a number', sel({ matchLabels: { tier: '1' } }), { tier: 1 }, false],
        ['In against a number', sel({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['1'] }] }), { tier: 1 }, false],
        ['NotIn against an object', sel({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a'] }] }), { tier: { a: 1 } }, true],
        ['Exists against null', sel({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }), { tier: null }, false],
        ['DoesNotExist against a number', sel({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }), { tier: 2 }, true],
    ])('%s', (_name, spec, labels, expected) => {
        expect(matchesBackupSelectors(makeBackup(spec), obj(labels))).toBe(expected);
    });
});

describe('listed items are filtered by label selectors, additional items are not', () => {
    test.each<[string, BackupSpec, Record<string, string>, boolean, boolean]>([
        ['selector mismatch', { labelSelector: { matchLabels: { app: 'demo' } } }, {}, true, false],
        ['selector match', { labelSelector: { matchLabels: { app: 'demo' } } }, { app: 'demo' }, true, true],
        ['exclude label drops both', {}, { 'velero.io/exclude-from-backup': 'true' }, false, false],
        ['resource filter drops both', { excludedResources: ['pods'] }, {}, false, false],
    ])('%s', (_name, spec, labels, additional, listed) => {
        const backup = makeBackup(spec);
        expect(additionalItemInBackup(backup, R.pods, obj(labels))).toBe(additional);
        expect(listedItemInBackup(backup, R.pods, obj(labels))).toBe(listed);
    });
});
