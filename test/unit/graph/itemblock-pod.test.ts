/**
 * A KubeVirt pod's ItemBlock, on the realistic samples: in a namespace backup Velero reaches the pods
 * first, so the launcher pod (or a hotplug attachment pod) must bring its VM, VMI and volumes into the
 * block its freeze/thaw hooks wrap.
 */
import { viewOf } from '../../support/static-cluster';
import { podItemBlockGraph } from '../../../src/graph';
import { deepClone } from '../../../src/kube/json';
import { nameOf, setLabel, type KubeObject } from '../../../src/kube/object';
import { loadSamples } from '../fixtures';
import { keys } from './helpers';

function sample(file: string): { objects: KubeObject[]; pod(name: string): KubeObject } {
    const objects = loadSamples(file);
    return {
        objects,
        pod: (name) => {
            const found = objects.find((o) => o.kind === 'Pod' && nameOf(o) === name);
            if (!found) throw new Error(`${file}: no pod ${name}`);
            return found;
        },
    };
}

describe('the ItemBlock of a KubeVirt pod', () => {
    it.each([
        ['a launcher pod brings its VM, VMI and the VMI’s volumes, hotplugged ones included', '03-vm-for-hotplug.yaml', 'virt-launcher-test-vm-for-hotplug-r8v4c'],
        ['a hotplug attachment pod brings its launcher pod and the same', '03-vm-for-hotplug.yaml', 'hp-volume-x7kq2'],
        ['a standalone VMI’s launcher pod brings the VMI and its DataVolume', '07-vmi-with-dv.yaml', undefined],
        ['during a migration, each launcher pod brings the other', '09-vm-with-tpm-migrating.yaml', undefined],
    ])('%s', (_name, file, podName) => {
        const s = sample(file);
        const pods = s.objects.filter(
            (o) => o.kind === 'Pod' && (podName === undefined ? (o.status as { phase?: string } | undefined)?.phase === 'Running' : nameOf(o) === podName),
        );
        const view = viewOf(s.objects);
        for (const pod of pods) {
            const refs = keys(podItemBlockGraph(pod, view));
            expect(refs).toMatchSnapshot(`${file} ${nameOf(pod)}`);
            expect(refs).not.toContain(`pods/${pod.metadata?.namespace}/${nameOf(pod)}`);
        }
    });

    it('the launcher pod’s block holds the VM, the VMI and every PVC the VM’s block holds', () => {
        const s = sample('03-vm-for-hotplug.yaml');
        const refs = keys(podItemBlockGraph(s.pod('virt-launcher-test-vm-for-hotplug-r8v4c'), viewOf(s.objects)));
        expect(refs.slice(0, 2)).toEqual(['virtualmachines.kubevirt.io/kvp-hotplug/test-vm-for-hotplug', 'virtualmachineinstances.kubevirt.io/kvp-hotplug/test-vm-for-hotplug']);
        expect(refs).toEqual(expect.arrayContaining(['datavolumes.cdi.kubevirt.io/kvp-hotplug/test-dv', 'persistentvolumeclaims/kvp-hotplug/test-dv']));
    });

    it.each([
        ['a pod of another VMI (created-by uid does not match)', (p: KubeObject) => setLabel(p, 'kubevirt.io/created-by', 'someone-else')],
        ['a pod that is neither a launcher nor a hotplug pod', (p: KubeObject) => setLabel(p, 'kubevirt.io', 'virt-handler')],
        ['a launcher pod without the domain annotation', (p: KubeObject) => void delete p.metadata?.annotations?.['kubevirt.io/domain']],
    ])('%s brings nothing', (_name, change) => {
        const s = sample('03-vm-for-hotplug.yaml');
        const pod = deepClone(s.pod('virt-launcher-test-vm-for-hotplug-r8v4c'));
        change(pod);
        expect(podItemBlockGraph(pod, viewOf(s.objects))).toEqual([]);
    });

    it('a finished launcher pod (the source of a completed migration) brings nothing', () => {
        const s = sample('09-vm-with-tpm-migrating.yaml');
        expect(podItemBlockGraph(s.pod('virt-launcher-test-vm-with-tpm-a1old'), viewOf(s.objects))).toEqual([]);
    });

    it('a hotplug pod whose launcher pod is gone brings nothing', () => {
        const s = sample('03-vm-for-hotplug.yaml');
        const view = viewOf(s.objects.filter((o) => !nameOf(o).startsWith('virt-launcher-')));
        expect(podItemBlockGraph(s.pod('hp-volume-x7kq2'), view)).toEqual([]);
    });
});
