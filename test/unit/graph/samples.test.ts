/**
 * The realistic samples of manifests/samples: they must be valid, self-consistent Kubernetes objects the
 * way KubeVirt and CDI leave them, and the graph of each top-level object must name only objects that
 * the sample holds (plus the namespace's default ServiceAccount).
 */
import { readdirSync } from 'node:fs';
import { viewOf } from '../../support/static-cluster';
import { itemBlockGraph } from '../../../src/graph';
import { backupGraph, restoreGraph } from '../../support/graph';
import { kindToResource } from '../../support/static-cluster';
import { ANN, LABEL } from '../../../src/kube/annotations';
import { annotationsOf, labelsOf, nameOf, namespaceOf, ownerReferencesOf, type KubeObject } from '../../../src/kube/object';
import { refKey } from '../../../src/kube/resources';
import { loadSamples, SAMPLES_DIR } from '../fixtures';
import { keys } from './helpers';

const FILES = readdirSync(SAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
const CLUSTER_SCOPED = new Set(['Namespace', 'VirtualMachineClusterInstancetype', 'VirtualMachineClusterPreference']);
const TOP_LEVEL = new Set(['VirtualMachine', 'VirtualMachineInstance', 'VirtualMachineInstanceReplicaSet', 'DataVolume']);

function groupOf(apiVersion: string | undefined): string {
    const v = apiVersion ?? '';
    return v.includes('/') ? (v.split('/')[0] ?? '') : '';
}

function keyOf(obj: KubeObject): string {
    return refKey({ group: groupOf(obj.apiVersion), resource: kindToResource(obj.kind ?? ''), namespace: namespaceOf(obj), name: nameOf(obj) });
}

describe('manifests/samples', () => {
    it('holds the partner-suite scenarios', () => {
        expect(FILES).toHaveLength(11);
    });

    it.each(FILES)('%s: valid objects in one namespace, owners before dependents, consistent owner uids', (file) => {
        const objects = loadSamples(file);
        const namespaces = objects.filter((o) => o.kind === 'Namespace').map(nameOf);
        expect(namespaces.length).toBeLessThanOrEqual(1);
        const seen: KubeObject[] = [];
        for (const obj of objects) {
            expect(obj.apiVersion).toMatch(/^([a-z0-9.-]+\/)?v[0-9a-z]+$/);
            expect(obj.kind).toMatch(/^[A-Z][A-Za-z]+$/);
            expect(nameOf(obj)).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
            if (CLUSTER_SCOPED.has(obj.kind ?? '')) expect(obj.metadata?.namespace).toBeUndefined();
            else expect(namespaceOf(obj)).toBe(namespaces[0]);
            for (const owner of ownerReferencesOf(obj)) {
                const target = seen.find((o) => o.kind === owner.kind && nameOf(o) === owner.name);
                expect(target?.metadata?.uid).toBe(owner.uid);
                expect(target?.apiVersion).toBe(owner.apiVersion);
            }
            seen.push(obj);
        }
    });

    it.each(FILES)('%s: launcher pods carry created-by=<VMI uid>, domain=<VMI name> and the virt-freezer hooks', (file) => {
        const objects = loadSamples(file);
        for (const pod of objects.filter((o) => o.kind === 'Pod' && labelsOf(o)[LABEL.kubevirt] === 'virt-launcher')) {
            const vmi = objects.find((o) => o.kind === 'VirtualMachineInstance' && o.metadata?.uid === labelsOf(pod)[LABEL.createdBy]);
            expect(vmi).toBeDefined();
            const name = nameOf(vmi ?? {});
            const ns = namespaceOf(pod);
            const ann = annotationsOf(pod);
            expect(ann[ANN.domain]).toBe(name);
            expect(JSON.parse(String(ann[ANN.preHookCommand]))).toEqual(['/usr/bin/virt-freezer', '--freeze', '--name', name, '--namespace', ns]);
            expect(JSON.parse(String(ann[ANN.postHookCommand]))).toEqual(['/usr/bin/virt-freezer', '--unfreeze', '--name', name, '--namespace', ns]);
            expect(ann[ANN.preHookContainer]).toBe('compute');
            expect(ann[ANN.postHookContainer]).toBe('compute');
        }
    });

    it.each(FILES)('%s: every backup, restore and ItemBlock edge names an object of the sample', (file) => {
        const objects = loadSamples(file);
        const view = viewOf(objects);
        const present = new Set(objects.map(keyOf));
        for (const obj of objects.filter((o) => TOP_LEVEL.has(o.kind ?? ''))) {
            const refs = [...backupGraph(obj, view), ...restoreGraph(obj, view), ...itemBlockGraph(obj, view)];
            const missing = keys(refs).filter((k) => !present.has(k) && !k.startsWith('serviceaccounts/'));
            expect(missing).toEqual([]);
        }
    });

    it.each([
        [
            '02-vm-with-pvc.yaml',
            'VirtualMachine',
            [
                'virtualmachineinstances.kubevirt.io/kvp-pvc/test-vm-with-pvc',
                'pods/kvp-pvc/virt-launcher-test-vm-with-pvc-k2x9p',
                'persistentvolumeclaims/kvp-pvc/test-pvc',
                'datavolumes.cdi.kubevirt.io/kvp-pvc/test-pvc',
            ],
        ],
        [
            '04-vm-with-different-volume-types.yaml',
            'VirtualMachine',
            [
                'datavolumes.cdi.kubevirt.io/kvp-volume-types/test-dv',
                'persistentvolumeclaims/kvp-volume-types/test-dv',
                'configmaps/kvp-volume-types/test-configmap',
                'secrets/kvp-volume-types/test-secret',
                'serviceaccounts/kvp-volume-types/default',
            ],
        ],
        [
            '06-vm-with-instancetype-and-preference.yaml',
            'VirtualMachine',
            [
                'virtualmachineinstancetypes.instancetype.kubevirt.io/kvp-instancetype/test-vm-instancetype',
                'controllerrevisions.apps/kvp-instancetype/test-vm-with-instancetype-and-preference-test-vm-instancetype-ddfdf957-1',
                'virtualmachinepreferences.instancetype.kubevirt.io/kvp-instancetype/test-vm-preference',
                'controllerrevisions.apps/kvp-instancetype/test-vm-with-instancetype-and-preference-test-vm-preference-a2427364-1',
                'virtualmachineinstances.kubevirt.io/kvp-instancetype/test-vm-with-instancetype-and-preference',
                'pods/kvp-instancetype/virt-launcher-test-vm-with-instancetype-and-preference-g7m3s',
                'datavolumes.cdi.kubevirt.io/kvp-instancetype/test-dv',
                'persistentvolumeclaims/kvp-instancetype/test-dv',
            ],
        ],
        [
            '07-vmi-with-dv.yaml',
            'VirtualMachineInstance',
            ['pods/kvp-vmi/virt-launcher-test-vmi-with-dv-p4t6z', 'datavolumes.cdi.kubevirt.io/kvp-vmi/test-dv', 'persistentvolumeclaims/kvp-vmi/test-dv'],
        ],
        [
            '08-vmirs.yaml',
            'VirtualMachineInstanceReplicaSet',
            [
                'virtualmachineinstances.kubevirt.io/kvp-vmirs/test-vmirsbq8kz',
                'pods/kvp-vmirs/virt-launcher-test-vmirsbq8kz-c5n7d',
                'configmaps/kvp-vmirs/test-configmap',
                'virtualmachineinstances.kubevirt.io/kvp-vmirs/test-vmirsm2w4x',
                'pods/kvp-vmirs/virt-launcher-test-vmirsm2w4x-j9f3h',
            ],
        ],
        [
            '09-vm-with-tpm-migrating.yaml',
            'VirtualMachine',
            [
                'virtualmachineinstances.kubevirt.io/kvp-tpm/test-vm-with-tpm',
                'pods/kvp-tpm/virt-launcher-test-vm-with-tpm-q2zdw',
                'pods/kvp-tpm/virt-launcher-test-vm-with-tpm-vb7xm',
                'datavolumes.cdi.kubevirt.io/kvp-tpm/test-dv',
                'persistentvolumeclaims/kvp-tpm/test-dv',
                'secrets/kvp-tpm/test-userdata',
                'persistentvolumeclaims/kvp-tpm/persistent-state-for-test-vm-with-tpm-h6jq9',
                'secrets/kvp-tpm/test-ssh-key',
                'secrets/kvp-tpm/test-access-credentials-secret',
                'network-attachment-definitions.k8s.cni.cncf.io/kvp-tpm/test-bridge-net',
            ],
        ],
        ['10-vm-importing.yaml', 'DataVolume', []],
        ['01-vm-with-dv-and-dvtemplate.yaml', 'DataVolume', ['persistentvolumeclaims/kvp-dv-and-dvtemplate/test-dv']],
    ])('%s: backup graph of the %s', (file, kind, expected) => {
        const objects = loadSamples(file);
        const item = objects.find((o) => o.kind === kind);
        expect(keys(backupGraph(item ?? {}, viewOf(objects)))).toEqual(expected);
    });
});
