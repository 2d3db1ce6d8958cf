/**
 * VirtualMachines: the run strategy chosen at restore, the identity policy on the template, storage
 * classes of the dataVolumeTemplates, namespace references, the single-VM-restore label, and the
 * restore graph as additional items (Velero restores those before the VM, whatever the Restore's label
 * selector: that is what makes `--selector velero.kubevirt.io/vm=<name>` restore a whole VM, see
 * docs/decisions/004-single-vm-restore.md).
 */
import type { V1VirtualMachineSpec } from '@kubevirt-ui-ext/kubevirt-api/kubevirt';
import { PluginError } from '../errors';
import { poolOwner, vmRestoreGraph } from '../graph/index';
import { LABEL } from '../kube/annotations';
import { deepClone } from '../kube/json';
import { describe, isRecord, nameOf, namespaceOf, pathGet, setLabel, type KubeObject } from '../kube/object';
import { R } from '../kube/resources';
import { PLUGIN_PREFIX, type ActionDeps, type RestoreAction } from '../plugin/contract';
import { restoreAdditionalItems } from './common';
import { applyIdentityPolicy } from './identity';
import { logRewrites, rewriteDataVolumeTemplates, rewriteNetworks, targetNamespace } from './namespacemap';
import { dataVolumeTemplateStorageClassFields, remapStorageClasses } from './storageclass';

const RUN_STRATEGY: keyof V1VirtualMachineSpec = 'runStrategy';
const RUNNING: keyof V1VirtualMachineSpec = 'running';

/** The finalizer a VirtualMachinePool puts on its VMs (kubevirt.io/api pool VirtualMachinePoolControllerFinalizer). */
export const POOL_FINALIZER = 'pool.kubevirt.io/finalizer';

/** A Kubernetes object name (DNS subdomain). */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * A VM a VirtualMachinePool controlled at backup (docs/decisions/009-vm-pools.md): when a pool of that
 * name is in the target namespace (Velero restores virtualmachinepools before virtualmachines, and the
 * pool's restore action brought the VM's disks first), the pool recreates the VM under the same name
 * and the restore skips it ('skip'): KubeVirt's pool controller only counts VMs whose controller
 * reference carries its own uid, which a restored VM cannot have, so a restored copy would be an
 * orphan next to a new VM. Without such a pool the VM is restored on its own ('standalone'), without
 * the pool's owner reference and finalizer. Undefined: not a pool's VM.
 */
async function poolDecision(item: KubeObject, itemFromBackup: KubeObject, target: string, deps: ActionDeps): Promise<'skip' | 'standalone' | undefined> {
    const owner = poolOwner(itemFromBackup) ?? poolOwner(item);
    if (!owner?.name) return undefined;
    // The name comes from the item: only a valid object name is looked up (no "..", no slashes).
    const pool = OBJECT_NAME.test(owner.name) && owner.name.length <= 253 ? await deps.cluster.get(R.vmPools, target, owner.name) : undefined;
    if (pool) {
        deps.log.info(
            `Skipping ${describe(item)}: it belongs to VirtualMachinePool ${target}/${owner.name}, which recreates it under the same name ` +
                'and reuses its restored DataVolumes and PVCs; a restored copy would not be counted by the pool and would become a duplicate',
        );
        return 'skip';
    }
    deps.log.info(`${describe(item)} belonged to VirtualMachinePool ${owner.name}, which is not in namespace ${target}: restoring it as a standalone VM`);
    return 'standalone';
}

/** Removes the pool's controller reference and finalizer from a VM restored without its pool. */
function dropPoolOwnership(vm: KubeObject): void {
    const meta = vm.metadata;
    if (!meta) return;
    if (Array.isArray(meta.ownerReferences)) {
        const kept = meta.ownerReferences.filter((o) => !(isRecord(o) && poolOwner({ metadata: { ownerReferences: [o] } }) !== undefined));
        if (kept.length > 0) meta.ownerReferences = kept;
        else delete meta.ownerReferences;
    }
    const finalizers = meta['finalizers'];
    if (Array.isArray(finalizers)) {
        const kept = finalizers.filter((f) => f !== POOL_FINALIZER);
        if (kept.length > 0) meta['finalizers'] = kept;
        else delete meta['finalizers'];
    }
}

export const vmRestoreAction: RestoreAction = {
    name: `${PLUGIN_PREFIX}/restore-vm-action`,
    appliesTo: { includedResources: ['virtualmachines.kubevirt.io'] },
    async execute({ item, itemFromBackup, options }, deps) {
        // Read first, in this order: an invalid label fails the VM before anything else is looked at.
        const runStrategy = options.runStrategy;
        const identity = options.identityPolicy;
        const mapping = options.namespaceMapping;

        if (!isRecord(pathGet(item, ['spec', 'template']))) {
            throw new PluginError('InvalidItem', 'cannot restore a VirtualMachine without spec.template');
        }
        const templateSpec = pathGet(item, ['spec', 'template', 'spec']);
        if (!isRecord(templateSpec)) {
            throw new PluginError('InvalidItem', 'cannot restore a VirtualMachine without spec.template.spec');
        }

        const pool = await poolDecision(item, itemFromBackup, targetNamespace(mapping, namespaceOf(item)), deps);
        if (pool === 'skip') return { item, additionalItems: [], skipRestore: true };

        const vm = deepClone(item);
        if (pool === 'standalone') dropPoolOwnership(vm);
        const spec = vm.spec as Record<string, unknown>;
        const copyTemplateSpec = pathGet(spec, ['template', 'spec']) as Record<string, unknown>;
        const what = describe(item);
        const namespace = namespaceOf(item);

        if (runStrategy !== undefined) {
            deps.log.info(`Setting virtual machine run strategy to ${runStrategy}`);
            spec[RUN_STRATEGY] = runStrategy;
            delete spec[RUNNING];
        }

        await applyIdentityPolicy(
            {
                vmiSpec: copyTemplateSpec,
                fieldPrefix: 'spec.template.spec',
                noun: 'virtual machine',
                what,
                targetNamespace: targetNamespace(mapping, namespace),
                name: nameOf(item),
            },
            identity,
            deps,
        );

        await remapStorageClasses(dataVolumeTemplateStorageClassFields(spec), deps.cluster, deps.log, what, options.veleroNamespace);

        logRewrites(deps.log, what, [...rewriteNetworks(copyTemplateSpec, mapping, 'spec.template.spec'), ...rewriteDataVolumeTemplates(spec, mapping)]);

        // Set by the VM backup action for single-VM restores; it has done its job once Velero selected the VM.
        setLabel(vm, LABEL.vmName, undefined);

        const additionalItems = await restoreAdditionalItems(item, vm, (view) => vmRestoreGraph(item, view), templateSpec, deps);
        return { item: vm, additionalItems, skipRestore: false };
    },
};
