/**
 * The one place where the binary's actions are declared: name, kind, selector and core, each once.
 */
import { lazyCluster } from '../cluster/lazy';
import type { Logger } from '../logging/logger';
import type { ActionDeclaration } from '../protocol/types';
import { dataVolumeBackupAction } from '../backup/datavolume';
import { podItemBlockAction, vmItemBlockAction } from '../backup/itemblock';
import { vmPoolBackupAction } from '../backup/pool';
import { pvcBackupAction } from '../backup/pvc';
import { vmTemplateBackupAction } from '../backup/template';
import { vmBackupAction } from '../backup/vm';
import { vmiBackupAction } from '../backup/vmi';
import { volumeSnapshotBackupAction } from '../backup/volumesnapshot';
import { dataVolumeRestoreAction } from '../restore/datavolume';
import { nadRestoreAction } from '../restore/nad';
import { podRestoreAction } from '../restore/pod';
import { vmPoolRestoreAction } from '../restore/pool';
import { pvcRestoreAction } from '../restore/pvc';
import { vmTemplateRequestRestoreAction, vmTemplateRestoreAction } from '../restore/template';
import { vmRestoreAction } from '../restore/vm';
import { vmiRestoreAction } from '../restore/vmi';
import { volumeSnapshotRestoreAction } from '../restore/volumesnapshot';
import { backupDeclaration, itemBlockDeclaration, restoreDeclaration, type ClusterProvider } from './adapter';

export interface Wiring {
    log: Logger;
    /** Overrides the process-wide cluster reader (tests). */
    cluster?: ClusterProvider;
    /** Velero's --kubeconfig / --kubecontext, when it passed them. */
    kubeconfig?: string | undefined;
    kubecontext?: string | undefined;
}

export function buildActions(wiring: Wiring): ActionDeclaration[] {
    const cluster = wiring.cluster ?? lazyCluster(wiring.log, { kubeconfig: wiring.kubeconfig, context: wiring.kubecontext });
    return [
        ...[
            vmBackupAction,
            vmiBackupAction,
            dataVolumeBackupAction,
            pvcBackupAction,
            volumeSnapshotBackupAction,
            vmTemplateBackupAction,
            vmPoolBackupAction,
        ].map((spec) =>
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
        ].map((spec) =>
            restoreDeclaration(spec, cluster),
        ),
        itemBlockDeclaration(vmItemBlockAction, cluster),
        itemBlockDeclaration(podItemBlockAction, cluster),
    ];
}
