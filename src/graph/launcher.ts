/**
 * Launcher pods of a VMI. KubeVirt labels every virt-launcher pod with kubevirt.io/created-by=<VMI uid>
 * and annotates it with kubevirt.io/domain=<VMI name>. During a live migration there are two (source
 * and target); a finished pod (Succeeded/Failed, e.g. the source after migration) is not the VM any more.
 */
import { ANN, LABEL } from '../kube/annotations';
import { annotationOf, type KubeObject, nameOf, namespaceOf, stringAt } from '../kube/object';
import { R } from '../kube/resources';
import { withLabel } from './common';
import type { ClusterView } from './view';

const FINISHED_PHASES: ReadonlySet<string> = new Set(['Succeeded', 'Failed']);

/** A pod that has finished (phase Succeeded or Failed, e.g. the source of a completed migration): it is not the VM any more. */
export function podFinished(pod: KubeObject): boolean {
    return FINISHED_PHASES.has(stringAt(pod, ['status', 'phase']));
}

/**
 * Launcher pods of a VMI: label kubevirt.io/created-by=<uid>, annotation kubevirt.io/domain=<name>,
 * not Succeeded/Failed. All of them (two during a migration), sorted by name.
 */
export function launcherPods(vmi: KubeObject, view: ClusterView): KubeObject[] {
    const uid = stringAt(vmi, ['metadata', 'uid']);
    const name = nameOf(vmi);
    if (!uid || !name) return [];
    return withLabel(view.list(R.pods, namespaceOf(vmi)), LABEL.createdBy, uid).filter((pod) => annotationOf(pod, ANN.domain) === name && !podFinished(pod));
}
