/**
 * CDI's real cdi-controller adopting restored volumes (decision 022): a restored DataVolume that carries
 * cdi.kubevirt.io/storage.prePopulated, whose claim carries cdi.kubevirt.io/storage.populatedFor and is
 * bound, reaches phase Succeeded through CDI itself, the claim gets the DataVolume as its controller
 * owner, and CDI creates no importer pod. A DataVolume without the markers is the control: the same
 * controller starts an import for it (an importer pod with the never-pulled importer image), so "no
 * importer pod" is an observation, not an absence of CDI.
 *
 * Two paths: (1) the real flow — sample 01 (a VM with a standalone DataVolume and a dataVolumeTemplate)
 * backed up by Velero with CSI snapshots, the namespace deleted, cdi-controller started, the backup
 * restored (claims provisioned from their snapshots and bound by csi-provisioner and the PV binder);
 * (2) claims and DataVolumes written the way the plugin's restore actions leave them, table-driven.
 *
 * Runs when KVP_CDI_TOOLS_DIR names a complete CDI tools cache (scripts/test.sh builds it with
 * scripts/build-go-tools-cdi.sh); needs the lab's kwok/CSI/provisioner tools. Its own lab.
 */
import type { KubeObject } from '../../src/kube/object';
import { join } from 'node:path';
import { REPO, startLab, type Lab } from './lab';
import { createVmScenario } from './simulate';
import { CDI_NAMESPACE, cdiToolsDir, startCdiController } from './cdi';

const STAMP = Date.now().toString(36);
const PRE_POPULATED = 'cdi.kubevirt.io/storage.prePopulated';
const POPULATED_FOR = 'cdi.kubevirt.io/storage.populatedFor';
const SAMPLE = '01-vm-with-dv-and-dvtemplate.yaml';
const FLOW_NS = `cdi-flow-${STAMP}`;
const FLOW_BACKUP = `cdi-flow-${STAMP}`;
const CLASS = 'rook-ceph-block';

const tools = cdiToolsDir();
const describeCdi = tools === undefined ? describe.skip : describe;

let lab: Lab;

interface DvStatus {
    phase?: string;
    claimName?: string;
}

function dvStatus(dv: KubeObject | undefined): DvStatus {
    return dv?.status ?? {};
}

function controllerOwner(obj: KubeObject | undefined): { kind?: string; name?: string; uid?: string; controller?: boolean } | undefined {
    const refs = (obj?.metadata?.ownerReferences ?? []) as { kind?: string; name?: string; uid?: string; controller?: boolean }[];
    return refs.find((r) => r.controller === true);
}

/** Pods anywhere whose containers run one of CDI's worker images (importer, cloner, upload server, populator). */
async function cdiWorkerPods(ns: string): Promise<string[]> {
    const pods = await lab.list('pods', ns);
    return pods
        .filter((p) => {
            const containers = ((p['spec'] as { containers?: { image?: string }[] } | undefined)?.containers ?? []).map((c) => c.image ?? '');
            return containers.some((img) => img.startsWith('kvp-lab.invalid/'));
        })
        .map((p) => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`);
}

describeCdi('cdi-controller (real, CDI v1.65.0) on restored DataVolumes', () => {
    beforeAll(async () => {
        const logDir = join(REPO, 'build', 'lab', 'logs-cdi');
        lab = await startLab({ logDir });
        if (lab.state.csi?.provisioning !== true) throw new Error('the CDI lab test needs the CSI machinery and the provisioner (test/tools-pv)');
        // The real flow's backup is taken before CDI runs: the sample's objects carry simulated CDI
        // status (phase Succeeded), which a running CDI would reconcile away.
        await createVmScenario(lab, FLOW_NS, SAMPLE);
        await lab.velero(['backup', 'create', FLOW_BACKUP, '--include-namespaces', FLOW_NS, '--wait']);
        await lab.deleteNamespace(FLOW_NS);
        await startCdiController(lab, tools ?? '', logDir);
    }, 600_000);
    afterAll(async () => {
        await lab?.stop();
    }, 120_000);

    it('adopts the DataVolumes of a Velero restore of a VM: phase Succeeded, claims owned by their DataVolume, no importer pod', async () => {
        const backup = await lab.getJson('backups.velero.io', lab.veleroNamespace, FLOW_BACKUP);
        expect((backup?.status as { phase?: string } | undefined)?.phase).toBe('Completed');
        await lab.velero(['restore', 'create', FLOW_BACKUP, '--from-backup', FLOW_BACKUP, '--wait']);
        expect(await lab.phase('restore', FLOW_BACKUP)).toBe('Completed');

        const dvs = await lab.list('datavolumes.cdi.kubevirt.io', FLOW_NS);
        expect(dvs.map((d) => d.metadata?.name).sort()).toEqual(['test-dv', 'test-dv-template'].sort());
        for (const dv of dvs) {
            const name = dv.metadata?.name ?? '';
            // What the plugin's backup action wrote and Velero restored.
            expect(dv.metadata?.annotations?.[PRE_POPULATED]).toBe(name);
            const done = await lab.waitFor(
                async () => {
                    const d = await lab.getJson('datavolumes.cdi.kubevirt.io', FLOW_NS, name);
                    return dvStatus(d).phase === 'Succeeded' ? d : undefined;
                },
                120_000,
                `DataVolume ${FLOW_NS}/${name} Succeeded (cdi-controller)`,
            );
            const pvc = await lab.getJson('persistentvolumeclaims', FLOW_NS, name);
            expect(pvc?.metadata?.annotations?.[POPULATED_FOR]).toBe(name);
            expect((pvc?.status as { phase?: string } | undefined)?.phase).toBe('Bound');
            expect(controllerOwner(pvc)).toMatchObject({ kind: 'DataVolume', name, uid: done.metadata?.uid });
        }
        expect(await cdiWorkerPods(FLOW_NS)).toEqual([]);
    });

    interface Case {
        behaviour: string;
        /** Annotations of the claim and the DataVolume (the plugin's restore leaves both markers). */
        pvcAnnotations: (dv: string) => Record<string, string>;
        dvAnnotations: (dv: string) => Record<string, string>;
        verify: (r: { dv: KubeObject; pvc: KubeObject | undefined; workers: string[] }) => void;
        /** What to wait for before verifying. */
        until: (dv: KubeObject | undefined, workers: string[]) => boolean;
    }
    const CASES: Case[] = [
        {
            behaviour: 'prePopulated DataVolume with a bound populatedFor claim: adopted, Succeeded, no importer pod',
            pvcAnnotations: (dv) => ({ [POPULATED_FOR]: dv }),
            dvAnnotations: (dv) => ({ [PRE_POPULATED]: dv }),
            until: (dv) => dvStatus(dv).phase === 'Succeeded',
            verify: ({ dv, pvc, workers }) => {
                expect(dvStatus(dv)).toMatchObject({ phase: 'Succeeded', claimName: dv.metadata?.name });
                expect(controllerOwner(pvc)).toMatchObject({ kind: 'DataVolume', name: dv.metadata?.name, uid: dv.metadata?.uid });
                expect(workers).toEqual([]);
            },
        },
        {
            behaviour: 'control: the same DataVolume without the markers and no claim is imported (an importer pod appears)',
            pvcAnnotations: () => ({}),
            dvAnnotations: () => ({}),
            until: (_dv, workers) => workers.length > 0,
            verify: ({ dv, workers }) => {
                expect(dvStatus(dv).phase).not.toBe('Succeeded');
                expect(workers.length).toBeGreaterThan(0);
            },
        },
    ];

    it.each(CASES.map((c, i) => [c.behaviour, c, i] as const))('%s', async (_b, c, i) => {
        const ns = `cdi-case-${i}-${STAMP}`;
        const name = 'disk';
        await lab.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }]);
        const pvcAnn = c.pvcAnnotations(name);
        if (Object.keys(pvcAnn).length > 0) {
            await lab.create({
                apiVersion: 'v1',
                kind: 'PersistentVolumeClaim',
                metadata: { name, namespace: ns, annotations: pvcAnn },
                spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '100Mi' } }, storageClassName: CLASS, volumeMode: 'Filesystem' },
            });
            await lab.waitFor(
                async () => ((await lab.getJson('persistentvolumeclaims', ns, name))?.status as { phase?: string } | undefined)?.phase === 'Bound',
                60_000,
                `claim ${ns}/${name} Bound`,
            );
        }
        await lab.create({
            apiVersion: 'cdi.kubevirt.io/v1beta1',
            kind: 'DataVolume',
            metadata: { name, namespace: ns, annotations: c.dvAnnotations(name) },
            spec: {
                source: { http: { url: 'http://kvp-lab.invalid/disk.img' } },
                storage: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '100Mi' } }, storageClassName: CLASS },
            },
        });
        await lab.waitFor(
            async () => {
                const dv = await lab.getJson('datavolumes.cdi.kubevirt.io', ns, name);
                return c.until(dv, await cdiWorkerPods(ns));
            },
            120_000,
            `${c.behaviour} (${ns})`,
        );
        const dv = await lab.getJson('datavolumes.cdi.kubevirt.io', ns, name);
        const pvc = await lab.getJson('persistentvolumeclaims', ns, name);
        c.verify({ dv: dv ?? {}, pvc, workers: await cdiWorkerPods(ns) });
    });

    it('runs in its own namespace with the leader lease it asked for', async () => {
        const lease = await lab.getJson('leases.coordination.k8s.io', CDI_NAMESPACE, 'cdi-controller-leader-election-helper');
        expect(lease).toBeDefined();
    });
});
