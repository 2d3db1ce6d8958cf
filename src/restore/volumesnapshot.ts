import { PLUGIN_PREFIX, type RestoreActionSpec } from '../kube/action';

/** Placeholder until the action lands: applies to the real resources, changes nothing. */
export const volumeSnapshotRestoreAction: RestoreActionSpec = {
    name: `${PLUGIN_PREFIX}/restore-volumesnapshot-action`,
    appliesTo: { includedResources: ['volumesnapshots.snapshot.storage.k8s.io'] },
    async execute() {
        return { additionalItems: [] , skipRestore: false };
    },
};
