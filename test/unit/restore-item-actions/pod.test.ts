import { labelsOf, nameOf } from '../../../src/kube/object';
import { podRestoreAction } from '../../../src/restore-item-actions/pod';
import { fixture, run } from './helpers';
import { selectorOf } from '../../../src/plugin/adapter';

/**
 * The one selector form the action uses, `key in (v1, v2)`, evaluated as Velero would: the label must
 * be present with one of the values.
 */
function selectorMatches(selector: string, labels: Readonly<Record<string, unknown>>): boolean {
    const parsed = /^\s*([^\s]+)\s+in\s+\(([^)]*)\)\s*$/.exec(selector);
    if (!parsed) throw new Error(`unsupported selector ${selector}`);
    const [, key, values] = parsed as unknown as [string, string, string];
    const allowed = values.split(',').map((v) => v.trim());
    return key in labels && allowed.includes(labels[key] as string);
}

describe('Pod restore action', () => {
    it('keeps the Go plugin name and selector', () => {
        expect(podRestoreAction.name).toBe('kubevirt-velero-plugin/restore-pod-action');
        expect(selectorOf(podRestoreAction.appliesTo)).toEqual({ includedResources: ['pods'], selector: 'kubevirt.io in (virt-launcher, hotplug-disk)' });
    });

    it.each([
        ['Match launcher pod', 'virt-launcher-web-abcde', true],
        ['Match hotplug pod', 'hp-volume-fghij', true],
        ["Don't match non-launcher pods", 'nginx', false],
    ])('%s (upstream TestPodRestoreApplyTo)', (_name, podName, matches) => {
        const pod = fixture('pods.yaml', podName);
        expect(nameOf(pod)).toBe(podName);
        expect(selectorMatches(podRestoreAction.appliesTo.selector as string, labelsOf(pod))).toBe(matches);
    });

    it.each(['virt-launcher-web-abcde', 'hp-volume-fghij'])('Always skip the pod (%s)', async (podName) => {
        const { output, messages, cluster } = await run(podRestoreAction, fixture('pods.yaml', podName));
        expect(output).toEqual({ additionalItems: [], skipRestore: true });
        expect(messages).toEqual(["Pod is a KubeVirt launcher or hotplug pod, it doesn't need to be restored"]);
        expect(cluster.calls).toEqual([]);
    });
});
