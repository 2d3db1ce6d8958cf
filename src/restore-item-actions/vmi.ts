/**
 * VirtualMachineInstances: a VMI owned by a VM (annotated cdi.kubevirt.io/velero.isOwned=true at backup)
 * is skipped, KubeVirt recreates it from the VM. A standalone VMI loses the labels KubeVirt reserves,
 * gets the identity policy and the namespace-reference rewrites applied to the item that is returned
 * (the Go plugin applied MAC and UUID changes to a copy it then discarded), and brings its restore
 * graph as additional items.
 */
import { PluginError } from '../errors';
import { vmiRestoreGraph } from '../graph/index';
import { ANN, RESTRICTED_VMI_LABELS } from '../kube/annotations';
import { deepClone } from '../kube/json';
import { annotationOf, describe, isRecord, nameOf, namespaceOf, setLabel } from '../kube/object';
import { PLUGIN_PREFIX, type RestoreAction } from '../plugin/contract';
import { restoreAdditionalItems } from './common';
import { applyIdentityPolicy, identityPolicyIsNoop } from './identity';
import { logRewrites, rewriteNetworks, targetNamespace } from './namespacemap';

export const vmiRestoreAction: RestoreAction = {
    name: `${PLUGIN_PREFIX}/restore-vmi-action`,
    appliesTo: { includedResources: ['virtualmachineinstances.kubevirt.io'] },
    async execute({ item, options }, deps) {
        if (annotationOf(item, ANN.isOwned) === 'true') {
            deps.log.info("VMI is owned by a VM, it doesn't need to be restored");
            return { item, additionalItems: [], skipRestore: true };
        }
        const identity = options.identityPolicy;
        const mapping = options.namespaceMapping;
        const vmi = deepClone(item);
        const what = describe(item);
        const namespace = namespaceOf(item);

        for (const label of RESTRICTED_VMI_LABELS) setLabel(vmi, label, undefined);

        if (isRecord(vmi.spec)) {
            await applyIdentityPolicy(
                {
                    vmiSpec: vmi.spec,
                    fieldPrefix: 'spec',
                    noun: 'virtual machine instance',
                    what,
                    targetNamespace: targetNamespace(mapping, namespace),
                    name: nameOf(item),
                },
                identity,
                deps,
            );
            logRewrites(deps.log, what, rewriteNetworks(vmi.spec, mapping, 'spec'));
        } else if (!identityPolicyIsNoop(identity)) {
            throw new PluginError('InvalidItem', 'cannot apply the identity policy to a VirtualMachineInstance without spec');
        }

        const additionalItems = await restoreAdditionalItems(item, vmi, (view) => vmiRestoreGraph(item, view), item.spec, deps);
        return { item: vmi, additionalItems, skipRestore: false };
    },
};
