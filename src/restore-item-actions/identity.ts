/**
 * Identity policy for restored VMs and standalone VMIs: the values a guest sees as "who am I" and that
 * must not be shared by two running machines — interface MAC addresses, the SMBIOS system UUID
 * (`domain.firmware.uuid`) and the SMBIOS system serial (`domain.firmware.serial`). KubeVirt's
 * integration guide names MAC and serial as collision risks when a backup is restored next to its
 * original (another namespace of the same cluster, or a second copy).
 *
 * Knobs are labels on the Restore:
 *   velero.kubevirt.io/clear-mac-address          remove every interface macAddress
 *   velero.kubevirt.io/generate-new-firmware-uuid  new random UUIDv4 in domain.firmware.uuid
 *   velero.kubevirt.io/generate-new-serial         new random serial in domain.firmware.serial
 *   velero.kubevirt.io/identity-policy=auto        change a MAC, UUID or serial only where another VM
 *                                                  or VMI in the target cluster already uses it
 *   velero.kubevirt.io/identity-policy=keep        never change identity (contradicts the three above)
 * Boolean knobs follow knobEnabled(): "false", "0", "no", "off" mean off. The labels are parsed
 * once per call by src/plugin/options.ts (parseIdentityPolicy).
 *
 * The same code serves a VM (its spec.template.spec) and a standalone VMI (its spec), and always
 * mutates the item that is returned to Velero (the Go plugin applied the VMI's changes to a copy and
 * returned the original).
 */
import { randomUUID } from 'node:crypto';
import type { V1Firmware, V1Interface } from '@kubevirt-ui-ext/kubevirt-api/kubevirt';
import type { ActionDeps } from '../plugin/contract';
import type { IdentityPolicy } from '../plugin/options';
import { arrayAt, describe, isRecord, nameOf, namespaceOf, pathGet, type KubeObject } from '../kube/object';
import { R } from '../kube/resources';

export function identityPolicyIsNoop(policy: IdentityPolicy): boolean {
    return !policy.clearMacAddress && !policy.newFirmwareUuid && !policy.newSerial && !policy.auto;
}

/** The object whose identity is being restored. */
export interface IdentitySubject {
    /** The VMI spec to mutate: a VM's spec.template.spec, or a VMI's spec. */
    vmiSpec: Record<string, unknown>;
    /** Its path in the item, for log lines ("spec.template.spec" or "spec"). */
    fieldPrefix: string;
    /** "virtual machine" or "virtual machine instance", for the Go plugin's log lines. */
    noun: string;
    /** "VirtualMachine ns/name", for log lines. */
    what: string;
    /** Where the object lands (after namespace mapping) and its name: a VM or VMI there is itself. */
    targetNamespace: string;
    name: string;
}

/** One identity value changed (or removed). */
export interface IdentityChange {
    field: string;
    from: string;
    /** undefined: the field was removed (KubeVirt assigns a new value). */
    to: string | undefined;
    reason: 'knob' | 'collision';
    /** For a collision: the VM or VMI of the cluster that already uses the value. */
    usedBy?: string;
}

const MAC_ADDRESS: keyof V1Interface = 'macAddress';
const FIRMWARE_UUID: keyof V1Firmware = 'uuid';
const FIRMWARE_SERIAL: keyof V1Firmware = 'serial';

/** Values in use in the cluster, each with the first object that uses it. */
interface UsedIdentities {
    macs: Map<string, string>;
    uuids: Map<string, string>;
    serials: Map<string, string>;
}

function normaliseMac(mac: string): string {
    return mac.trim().toLowerCase().replace(/-/g, ':');
}

function remember(map: Map<string, string>, value: unknown, owner: string, normalise: (v: string) => string): void {
    if (typeof value !== 'string' || value.trim() === '') return;
    const key = normalise(value);
    if (!map.has(key)) map.set(key, owner);
}

function collectFromVmiSpec(used: UsedIdentities, vmiSpec: unknown, owner: string): void {
    for (const iface of arrayAt(vmiSpec, ['domain', 'devices', 'interfaces'])) {
        remember(used.macs, pathGet(iface, [MAC_ADDRESS]), owner, normaliseMac);
    }
    remember(used.uuids, pathGet(vmiSpec, ['domain', 'firmware', FIRMWARE_UUID]), owner, (v) => v.trim().toLowerCase());
    remember(used.serials, pathGet(vmiSpec, ['domain', 'firmware', FIRMWARE_SERIAL]), owner, (v) => v);
}

/**
 * One LIST of VMs and one of VMIs across all namespaces (the cluster reader caches them for the
 * process; list items carry no kind, hence the fixed kinds below), skipping the object being restored
 * itself: a VM or VMI with its target namespace and name. A running VMI also reports the MACs it
 * actually uses in status.interfaces[].mac.
 */
async function usedIdentities(subject: IdentitySubject, deps: ActionDeps): Promise<UsedIdentities> {
    const used: UsedIdentities = { macs: new Map(), uuids: new Map(), serials: new Map() };
    const isSelf = (o: KubeObject): boolean => namespaceOf(o) === subject.targetNamespace && nameOf(o) === subject.name;
    for (const vm of await deps.cluster.list(R.vms, '')) {
        if (isSelf(vm)) continue;
        collectFromVmiSpec(used, pathGet(vm, ['spec', 'template', 'spec']), describe(vm, 'VirtualMachine'));
    }
    for (const vmi of await deps.cluster.list(R.vmis, '')) {
        if (isSelf(vmi)) continue;
        const owner = describe(vmi, 'VirtualMachineInstance');
        collectFromVmiSpec(used, vmi.spec, owner);
        for (const iface of arrayAt(vmi.status, ['interfaces'])) remember(used.macs, pathGet(iface, ['mac']), owner, normaliseMac);
    }
    return used;
}

function firmwareOf(vmiSpec: Record<string, unknown>): Record<string, unknown> {
    if (!isRecord(vmiSpec['domain'])) vmiSpec['domain'] = {};
    const domain = vmiSpec['domain'] as Record<string, unknown>;
    if (!isRecord(domain['firmware'])) domain['firmware'] = {};
    return domain['firmware'] as Record<string, unknown>;
}

/** A new SMBIOS serial. KubeVirt accepts any string; a random UUID is unique and recognisable. */
export function newSerial(): string {
    return randomUUID();
}

/**
 * Applies the policy to the subject's VMI spec (mutating it) and logs each change at info.
 * Cluster reads happen only for identity-policy=auto and only when the spec carries a value that a
 * knob does not already replace.
 */
export async function applyIdentityPolicy(subject: IdentitySubject, policy: IdentityPolicy, deps: ActionDeps): Promise<IdentityChange[]> {
    const changes: IdentityChange[] = [];
    const spec = subject.vmiSpec;
    const interfaces = arrayAt(spec, ['domain', 'devices', 'interfaces']).filter(isRecord);
    const firmwarePath = `${subject.fieldPrefix}.domain.firmware`;

    if (policy.clearMacAddress) {
        deps.log.info(`Clear ${subject.noun} MAC addresses`);
        interfaces.forEach((iface, index) => {
            const mac = iface[MAC_ADDRESS];
            if (mac === undefined) return;
            delete iface[MAC_ADDRESS];
            if (typeof mac === 'string' && mac !== '') {
                changes.push({ field: `${subject.fieldPrefix}.domain.devices.interfaces[${index}].${MAC_ADDRESS}`, from: mac, to: undefined, reason: 'knob' });
            }
        });
    }
    if (policy.newFirmwareUuid) {
        deps.log.info('Generate new firmware UUID');
        const firmware = firmwareOf(spec);
        const from = typeof firmware[FIRMWARE_UUID] === 'string' ? firmware[FIRMWARE_UUID] : '';
        firmware[FIRMWARE_UUID] = randomUUID();
        changes.push({ field: `${firmwarePath}.${FIRMWARE_UUID}`, from, to: firmware[FIRMWARE_UUID] as string, reason: 'knob' });
    }
    if (policy.newSerial) {
        deps.log.info('Generate new firmware serial');
        const firmware = firmwareOf(spec);
        const from = typeof firmware[FIRMWARE_SERIAL] === 'string' ? firmware[FIRMWARE_SERIAL] : '';
        firmware[FIRMWARE_SERIAL] = newSerial();
        changes.push({ field: `${firmwarePath}.${FIRMWARE_SERIAL}`, from, to: firmware[FIRMWARE_SERIAL] as string, reason: 'knob' });
    }
    if (policy.auto) changes.push(...(await applyAuto(subject, policy, deps, interfaces)));
    return changes;
}

async function applyAuto(subject: IdentitySubject, policy: IdentityPolicy, deps: ActionDeps, interfaces: Record<string, unknown>[]): Promise<IdentityChange[]> {
    const spec = subject.vmiSpec;
    const macs = policy.clearMacAddress
        ? []
        : interfaces
              .map((iface, index) => ({ iface, index, mac: iface[MAC_ADDRESS] }))
              .filter((m): m is { iface: Record<string, unknown>; index: number; mac: string } => typeof m.mac === 'string' && m.mac.trim() !== '');
    const uuid = policy.newFirmwareUuid ? undefined : pathGet(spec, ['domain', 'firmware', FIRMWARE_UUID]);
    const serial = policy.newSerial ? undefined : pathGet(spec, ['domain', 'firmware', FIRMWARE_SERIAL]);
    const hasUuid = typeof uuid === 'string' && uuid.trim() !== '';
    const hasSerial = typeof serial === 'string' && serial.trim() !== '';
    if (macs.length === 0 && !hasUuid && !hasSerial) return [];

    const used = await usedIdentities(subject, deps);
    const changes: IdentityChange[] = [];
    const firmwarePath = `${subject.fieldPrefix}.domain.firmware`;
    const report = (field: string, from: string, owner: string, outcome: string): void => {
        deps.log.info(`Identity policy auto: ${field} of ${subject.what} (${from}) is already used by ${owner}; ${outcome}`);
    };
    for (const { iface, index, mac } of macs) {
        const owner = used.macs.get(normaliseMac(mac));
        if (owner === undefined) continue;
        const field = `${subject.fieldPrefix}.domain.devices.interfaces[${index}].${MAC_ADDRESS}`;
        // Cleared, not replaced: KubeVirt (or kubemacpool, when installed) assigns a MAC from its own
        // pool, which an invented address could collide with later.
        delete iface[MAC_ADDRESS];
        report(field, mac, owner, 'cleared it');
        changes.push({ field, from: mac, to: undefined, reason: 'collision', usedBy: owner });
    }
    if (hasUuid) {
        const owner = used.uuids.get(uuid.trim().toLowerCase());
        if (owner !== undefined) {
            const to = randomUUID();
            firmwareOf(spec)[FIRMWARE_UUID] = to;
            report(`${firmwarePath}.${FIRMWARE_UUID}`, uuid, owner, `set it to ${to}`);
            changes.push({ field: `${firmwarePath}.${FIRMWARE_UUID}`, from: uuid, to, reason: 'collision', usedBy: owner });
        }
    }
    if (hasSerial) {
        const owner = used.serials.get(serial);
        if (owner !== undefined) {
            const to = newSerial();
            firmwareOf(spec)[FIRMWARE_SERIAL] = to;
            report(`${firmwarePath}.${FIRMWARE_SERIAL}`, serial, owner, `set it to ${to}`);
            changes.push({ field: `${firmwarePath}.${FIRMWARE_SERIAL}`, from: serial, to, reason: 'collision', usedBy: owner });
        }
    }
    return changes;
}
