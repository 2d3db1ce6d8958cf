/**
 * The namespace the backup lab tests back up: several samples of manifests/samples side by side, renamed
 * where their names clash (every sample calls its disk test-dv).
 *
 *  - agent VM    05 test-vm-with-access-credentials   running, guest agent connected, DV creds-dv, a Secret
 *  - no-agent VM 02 test-vm-with-pvc                   running, no AgentConnected, PVC test-pvc owned by DV test-pvc
 *  - instancetype 06 test-vm-with-instancetype-and-preference  running, no agent, DV it-dv; spec.revisionName
 *                removed so that the plugin's status → spec copy shows
 *  - stopped VM  01 test-vm-with-dv-and-dvtemplate     Stopped, DVs stopped-dv + test-dv-template
 *  - importing   10 test-vm-importing                   Provisioning, DV importing-dv ImportInProgress, PVC Pending
 */
import type { KubeObject } from '../../../src/kube/object';
import type { Lab } from '../lab';
import { createVmScenario, loadSample } from '../simulate';

export interface VmCase {
    /** The sample it comes from. */
    sample: string;
    vm: string;
    /** Renames applied to the sample (createVmScenario `renames`). */
    renames: Record<string, string>;
    /** Running VMs: the launcher pod. */
    launcherPod?: string;
    /** The DataVolumes of the VM (after renames), with the phase the sample gives them. */
    dataVolumes: { name: string; phase: 'Succeeded' | 'ImportInProgress' }[];
    /** The PVCs of the VM (each owned by the DataVolume of the same name). */
    pvcs: string[];
    /** Expected velero.kubevirt.io/backup-consistency level. */
    level: 'filesystem' | 'crash' | 'offline';
    /** Expected consistency reasons (exact, in order). */
    reasons: string[];
    /** Other objects of the sample (resource, name) that must be in the backup. */
    extra: [string, string][];
    /** Expected velero.kubevirt.io/restore-graph entries (exact, in order). */
    restoreGraph: string[];
}

export const AGENT_VM: VmCase = {
    sample: '05-vm-with-access-credentials.yaml',
    vm: 'test-vm-with-access-credentials',
    renames: { 'test-dv': 'creds-dv' },
    launcherPod: 'virt-launcher-test-vm-with-access-credentials-w5b2n',
    dataVolumes: [{ name: 'creds-dv', phase: 'Succeeded' }],
    pvcs: ['creds-dv'],
    level: 'filesystem',
    reasons: ['virt-freezer hooks on the launcher pod', 'guest agent connected'],
    extra: [['secrets', 'test-access-credentials-secret']],
    restoreGraph: ['datavolumes.cdi.kubevirt.io/creds-dv', 'persistentvolumeclaims/creds-dv', 'secrets/test-access-credentials-secret'],
};

const NO_AGENT = 'guest agent not connected: virt-freezer cannot freeze the filesystems';

export const NO_AGENT_VM: VmCase = {
    sample: '02-vm-with-pvc.yaml',
    vm: 'test-vm-with-pvc',
    renames: {},
    launcherPod: 'virt-launcher-test-vm-with-pvc-k2x9p',
    dataVolumes: [{ name: 'test-pvc', phase: 'Succeeded' }],
    pvcs: ['test-pvc'],
    level: 'crash',
    reasons: [NO_AGENT],
    extra: [],
    restoreGraph: ['persistentvolumeclaims/test-pvc', 'datavolumes.cdi.kubevirt.io/test-pvc'],
};

export const INSTANCETYPE_VM: VmCase = {
    sample: '06-vm-with-instancetype-and-preference.yaml',
    vm: 'test-vm-with-instancetype-and-preference',
    renames: { 'test-dv': 'it-dv' },
    launcherPod: 'virt-launcher-test-vm-with-instancetype-and-preference-g7m3s',
    dataVolumes: [{ name: 'it-dv', phase: 'Succeeded' }],
    pvcs: ['it-dv'],
    level: 'crash',
    reasons: [NO_AGENT],
    extra: [
        ['virtualmachineinstancetypes.instancetype.kubevirt.io', 'test-vm-instancetype'],
        ['virtualmachinepreferences.instancetype.kubevirt.io', 'test-vm-preference'],
        ['controllerrevisions.apps', 'test-vm-with-instancetype-and-preference-test-vm-instancetype-ddfdf957-1'],
        ['controllerrevisions.apps', 'test-vm-with-instancetype-and-preference-test-vm-preference-a2427364-1'],
    ],
    restoreGraph: [
        'virtualmachineinstancetypes.instancetype.kubevirt.io/test-vm-instancetype',
        'controllerrevisions.apps/test-vm-with-instancetype-and-preference-test-vm-instancetype-ddfdf957-1',
        'virtualmachinepreferences.instancetype.kubevirt.io/test-vm-preference',
        'controllerrevisions.apps/test-vm-with-instancetype-and-preference-test-vm-preference-a2427364-1',
        'datavolumes.cdi.kubevirt.io/it-dv',
        'persistentvolumeclaims/it-dv',
    ],
};

export const STOPPED_VM: VmCase = {
    sample: '01-vm-with-dv-and-dvtemplate.yaml',
    vm: 'test-vm-with-dv-and-dvtemplate',
    renames: { 'test-dv': 'stopped-dv' },
    dataVolumes: [
        { name: 'stopped-dv', phase: 'Succeeded' },
        { name: 'test-dv-template', phase: 'Succeeded' },
    ],
    pvcs: ['stopped-dv', 'test-dv-template'],
    level: 'offline',
    reasons: ['VM is not running'],
    extra: [],
    restoreGraph: [
        'datavolumes.cdi.kubevirt.io/test-dv-template',
        'persistentvolumeclaims/test-dv-template',
        'datavolumes.cdi.kubevirt.io/stopped-dv',
        'persistentvolumeclaims/stopped-dv',
    ],
};

export const IMPORTING_VM: VmCase = {
    sample: '10-vm-importing.yaml',
    vm: 'test-vm-importing',
    renames: { 'test-dv': 'importing-dv' },
    dataVolumes: [{ name: 'importing-dv', phase: 'ImportInProgress' }],
    pvcs: ['importing-dv'],
    level: 'offline',
    reasons: ['VM is not running'],
    extra: [],
    restoreGraph: ['datavolumes.cdi.kubevirt.io/importing-dv', 'persistentvolumeclaims/importing-dv'],
};

export const RUNNING_VMS: readonly VmCase[] = [AGENT_VM, NO_AGENT_VM, INSTANCETYPE_VM];
export const ALL_VMS: readonly VmCase[] = [...RUNNING_VMS, STOPPED_VM, IMPORTING_VM];

/** The revision names the 06 sample's VM status names (the plugin copies them into spec). */
export const REVISIONS = {
    instancetype: 'test-vm-with-instancetype-and-preference-test-vm-instancetype-ddfdf957-1',
    preference: 'test-vm-with-instancetype-and-preference-test-vm-preference-a2427364-1',
};

/** The objects of a case's sample, with spec.{instancetype,preference}.revisionName removed from its VM. */
function sampleObjects(c: VmCase): KubeObject[] {
    return loadSample(c.sample).map((o) => {
        if (o.kind !== 'VirtualMachine') return o;
        const spec = { ...(o.spec as Record<string, unknown>) };
        for (const k of ['instancetype', 'preference']) {
            const ref = spec[k] as Record<string, unknown> | undefined;
            if (ref !== undefined) {
                const copy = { ...ref };
                delete copy['revisionName'];
                spec[k] = copy;
            }
        }
        return { ...o, spec };
    });
}

/** Creates the given cases in one namespace; resolves to every stored object. */
export async function createNamespace(lab: Lab, ns: string, cases: readonly VmCase[] = ALL_VMS): Promise<KubeObject[]> {
    const out: KubeObject[] = [];
    for (const c of cases) out.push(...(await createVmScenario(lab, ns, sampleObjects(c), { renames: c.renames })));
    return out;
}
