/**
 * Per-VM timelines of a backup: when the guest was frozen and thawed (the virt-freezer recorder's log,
 * millisecond timestamps) and when each of its disks was snapshotted (the VolumeSnapshots and
 * VolumeSnapshotContents in the backup tarball: the VolumeSnapshot's creationTimestamp, and the
 * content's status.creationTime, which the CSI driver reports in nanoseconds for the moment it cut the
 * snapshot). Pure functions of the tarball files and the recorder events.
 */
import type { KubeObject } from '../../src/kube/object';
import type { FreezerEvent } from './cluster';

export interface DiskSnapshot {
    pvc: string;
    volumeSnapshot: string;
    /** VolumeSnapshot metadata.creationTimestamp (second precision). */
    created: string;
    /** VolumeSnapshotContent status.creationTime as ISO (driver's cut time, nanosecond source). */
    cutAt?: string;
    /** The same, in nanoseconds since the epoch. */
    cutAtNs?: bigint;
    readyToUse?: boolean;
    content?: string;
    /** The driver's id of the snapshot (the content's status.snapshotHandle). */
    snapshotHandle?: string;
}

export interface VmTimeline {
    namespace: string;
    vm: string;
    /** Recorder events of this VMI, in order. */
    events: FreezerEvent[];
    freezeStart?: string;
    freezeEnd?: string;
    freezeResult?: string;
    thawStart?: string;
    thawEnd?: string;
    thawResult?: string;
    /** The claims of the VM's volumes (persistentVolumeClaim and dataVolume volumes). */
    claims: string[];
    snapshots: DiskSnapshot[];
    /** The consistency the plugin recorded on the VM (velero.kubevirt.io/backup-consistency). */
    consistency?: { level?: string; reasons?: string[] };
}

const VM_DIR = /^resources\/virtualmachines\.kubevirt\.io\/namespaces\/([^/]+)\/([^/]+)\.json$/;
const VMI_DIR = /^resources\/virtualmachineinstances\.kubevirt\.io\/namespaces\/([^/]+)\/([^/]+)\.json$/;
const VS_DIR = /^resources\/volumesnapshots\.snapshot\.storage\.k8s\.io\/namespaces\/([^/]+)\/([^/]+)\.json$/;
const VSC_DIR = /^resources\/volumesnapshotcontents\.snapshot\.storage\.k8s\.io\/cluster\/([^/]+)\.json$/;

type Volumes = { volumes?: { persistentVolumeClaim?: { claimName?: string }; dataVolume?: { name?: string } }[] };

/** The claim names of a VM's (or a VMI's) volumes (a DataVolume's claim has the DataVolume's name). */
export function vmClaims(vm: KubeObject): string[] {
    const spec = vm.spec as (Volumes & { template?: { spec?: Volumes } }) | undefined;
    const vols = vm.kind === 'VirtualMachineInstance' ? spec?.volumes : spec?.template?.spec?.volumes;
    const out: string[] = [];
    for (const v of vols ?? []) {
        const c = v.persistentVolumeClaim?.claimName ?? v.dataVolume?.name;
        if (c !== undefined && !out.includes(c)) out.push(c);
    }
    return out;
}

function nsToIso(ns: bigint): string {
    const ms = ns / 1_000_000n;
    const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
    return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${frac}Z`;
}

/** ISO time (any sub-second precision) to nanoseconds since the epoch. */
export function isoToNs(iso: string): bigint {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
    if (m === null || m[1] === undefined) throw new Error(`not an RFC 3339 UTC time: ${iso}`);
    const secs = BigInt(Date.parse(`${m[1]}Z`) / 1000);
    const frac = BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9));
    return secs * 1_000_000_000n + frac;
}

function consistencyOf(obj: KubeObject): VmTimeline['consistency'] {
    const v = obj.metadata?.annotations?.['velero.kubevirt.io/backup-consistency'];
    if (v === undefined) return undefined;
    try {
        return JSON.parse(v) as { level?: string; reasons?: string[] };
    } catch {
        return { level: v };
    }
}

/** The timelines of every VM and standalone VMI in the backup tarball (sorted by namespace and name). */
// eslint-disable-next-line complexity -- one pass over the tarball's objects, one branch per kind it reads
export function vmTimelines(files: ReadonlyMap<string, unknown>, events: readonly FreezerEvent[]): VmTimeline[] {
    const contents = new Map<string, KubeObject>();
    const snaps: { ns: string; obj: KubeObject }[] = [];
    const vms: { ns: string; obj: KubeObject }[] = [];
    for (const [path, value] of files) {
        if (typeof value !== 'object' || value === null) continue;
        let m = VSC_DIR.exec(path);
        if (m?.[1] !== undefined) contents.set(m[1], value as KubeObject);
        m = VS_DIR.exec(path);
        if (m?.[1] !== undefined) snaps.push({ ns: m[1], obj: value as KubeObject });
        m = VM_DIR.exec(path);
        if (m?.[1] !== undefined) vms.push({ ns: m[1], obj: value as KubeObject });
        m = VMI_DIR.exec(path);
        const vmi = value as KubeObject;
        if (m?.[1] !== undefined && !(vmi.metadata?.ownerReferences ?? []).some((o) => o.kind === 'VirtualMachine')) vms.push({ ns: m[1], obj: vmi });
    }
    const out: VmTimeline[] = [];
    for (const { ns, obj } of vms) {
        const vm = obj.metadata?.name ?? '';
        const claims = vmClaims(obj);
        const mine = events.filter((e) => e.namespace === ns && e.name === vm);
        const last = (action: string, event: string): FreezerEvent | undefined => [...mine].reverse().find((e) => e.action === action && e.event === event);
        const first = (action: string, event: string): FreezerEvent | undefined => mine.find((e) => e.action === action && e.event === event);
        const snapshots: DiskSnapshot[] = [];
        for (const s of snaps) {
            const pvc = (s.obj.spec as { source?: { persistentVolumeClaimName?: string } } | undefined)?.source?.persistentVolumeClaimName;
            if (s.ns !== ns || pvc === undefined || !claims.includes(pvc)) continue;
            const st = s.obj.status as { boundVolumeSnapshotContentName?: string; readyToUse?: boolean } | undefined;
            const content = st?.boundVolumeSnapshotContentName;
            const vsc = content === undefined ? undefined : contents.get(content);
            const vscStatus = vsc?.status as { creationTime?: number | string; snapshotHandle?: string } | undefined;
            const ct = vscStatus?.creationTime;
            const cutAtNs = ct === undefined ? undefined : BigInt(ct);
            snapshots.push({
                pvc,
                volumeSnapshot: s.obj.metadata?.name ?? '',
                created: typeof s.obj.metadata?.['creationTimestamp'] === 'string' ? s.obj.metadata['creationTimestamp'] : '',
                ...(cutAtNs === undefined ? {} : { cutAtNs, cutAt: nsToIso(cutAtNs) }),
                ...(st?.readyToUse === undefined ? {} : { readyToUse: st.readyToUse }),
                ...(content === undefined ? {} : { content }),
                ...(vscStatus?.snapshotHandle === undefined ? {} : { snapshotHandle: vscStatus.snapshotHandle }),
            });
        }
        snapshots.sort((a, b) => a.pvc.localeCompare(b.pvc));
        const fs = first('freeze', 'start');
        const fe = last('freeze', 'end');
        const ts = first('unfreeze', 'start');
        const te = last('unfreeze', 'end');
        const consistency = consistencyOf(obj);
        out.push({
            namespace: ns,
            vm,
            events: mine,
            ...(fs ? { freezeStart: fs.time } : {}),
            ...(fe ? { freezeEnd: fe.time, freezeResult: fe.result } : {}),
            ...(ts ? { thawStart: ts.time } : {}),
            ...(te ? { thawEnd: te.time, thawResult: te.result } : {}),
            claims,
            snapshots,
            ...(consistency ? { consistency } : {}),
        });
    }
    return out.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.vm.localeCompare(b.vm));
}

/**
 * Whether every snapshot of the VM lies between the end of its freeze and the start of its thaw: the
 * driver's cut time (ns) strictly inside, and the VolumeSnapshot's creationTimestamp (whole seconds)
 * not before the second the freeze started nor after the thaw started. Returns the violations.
 */
export function orderingViolations(t: VmTimeline): string[] {
    const bad: string[] = [];
    if (t.freezeEnd === undefined || t.thawStart === undefined) return [`${t.namespace}/${t.vm}: no freeze/thaw recorded`];
    const fEnd = isoToNs(t.freezeEnd);
    const fStartSec = (isoToNs(t.freezeStart ?? t.freezeEnd) / 1_000_000_000n) * 1_000_000_000n;
    const thaw = isoToNs(t.thawStart);
    if (!(fEnd < thaw)) bad.push(`${t.vm}: freeze ended ${t.freezeEnd}, not before thaw ${t.thawStart}`);
    for (const s of t.snapshots) {
        if (s.cutAtNs === undefined) bad.push(`${t.vm}/${s.pvc}: no cut time on ${s.content ?? 'its content'}`);
        else if (!(fEnd < s.cutAtNs && s.cutAtNs < thaw)) bad.push(`${t.vm}/${s.pvc}: cut at ${s.cutAt ?? ''} outside freeze ${t.freezeEnd} .. thaw ${t.thawStart}`);
        const created = isoToNs(s.created);
        if (!(fStartSec <= created && created <= thaw))
            bad.push(`${t.vm}/${s.pvc}: VolumeSnapshot created ${s.created} outside freeze ${t.freezeStart ?? ''} .. thaw ${t.thawStart}`);
    }
    return bad;
}
