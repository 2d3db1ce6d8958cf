/**
 * The one place where the binary's actions are declared: name, kind, selector and core, each once.
 */
import { lazyCluster } from '../cluster/lazy';
import type { Logger } from '../logging/logger';
import type { ActionDeclaration } from '../protocol/types';
import { dataVolumeBackupAction } from '../backup-item-actions/datavolume';
import { podItemBlockAction, vmItemBlockAction } from '../item-block-actions/itemblock';
import { vmPoolBackupAction } from '../backup-item-actions/pool';
import { pvcBackupAction } from '../backup-item-actions/pvc';
import { vmTemplateBackupAction } from '../backup-item-actions/template';
import { vmBackupAction } from '../backup-item-actions/vm';
import { vmiBackupAction } from '../backup-item-actions/vmi';
import { volumeSnapshotBackupAction } from '../backup-item-actions/volumesnapshot';
import { dataVolumeRestoreAction } from '../restore-item-actions/datavolume';
import { nadRestoreAction } from '../restore-item-actions/nad';
import { podRestoreAction } from '../restore-item-actions/pod';
import { vmPoolRestoreAction } from '../restore-item-actions/pool';
import { pvcRestoreAction } from '../restore-item-actions/pvc';
import { vmTemplateRequestRestoreAction, vmTemplateRestoreAction } from '../restore-item-actions/template';
import { vmRestoreAction } from '../restore-item-actions/vm';
import { vmiRestoreAction } from '../restore-item-actions/vmi';
import { volumeSnapshotRestoreAction } from '../restore-item-actions/volumesnapshot';
import { backupDeclaration, itemBlockDeclaration, restoreDeclaration, type ClusterProvider } from './adapter';
import type { Env } from './options';

export interface Wiring {
    log: Logger;
    /** The environment the options of each call read (VELERO_NAMESPACE): process.env in src/main.ts. */
    env: Env;
    /** Overrides the process-wide cluster reader (tests). */
    cluster?: ClusterProvider;
    /** Velero's --kubeconfig / --kubecontext, when it passed them. */
    kubeconfig?: string | undefined;
    kubecontext?: string | undefined;
}

export function buildActions(wiring: Wiring): ActionDeclaration[] {
    const cluster = wiring.cluster ?? lazyCluster(wiring.log, { kubeconfig: wiring.kubeconfig, context: wiring.kubecontext });
    return [
        ...[vmBackupAction, vmiBackupAction, dataVolumeBackupAction, pvcBackupAction, volumeSnapshotBackupAction, vmTemplateBackupAction, vmPoolBackupAction].map((spec) =>
            backupDeclaration(spec, cluster),
        ),
        ...[
            vmRestoreAction,
            vmiRestoreAction,
            pvcRestoreAction,
            podRestoreAction,
            volumeSnapshotRestoreAction,
            dataVolumeRestoreAction,
            nadRestoreAction,
            vmTemplateRestoreAction,
            vmTemplateRequestRestoreAction,
            vmPoolRestoreAction,
        ].map((spec) => restoreDeclaration(spec, cluster, wiring.env)),
        itemBlockDeclaration(vmItemBlockAction, cluster),
        itemBlockDeclaration(podItemBlockAction, cluster),
    ];
}
