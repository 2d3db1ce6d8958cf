/**
 * The options of one call, parsed once by the adapter from the Backup's or Restore's labels and spec
 * and from the environment, and handed to the action cores in their input (src/plugin/contract.ts).
 *
 * Parsing is eager and never throws: an invalid option is kept as its error and thrown by the getter
 * that reads it, so it fails only the actions that use it (an invalid restore-run-strategy fails the VM
 * restore, not the PVC restore of the same Restore), with the same InvalidConfig text as before.
 */
import { PluginError } from '../errors';
import { KNOB, knobEnabled, knobValue } from '../kube/knobs';
import { isRecord, labelsOf } from '../kube/object';
import type { Backup, Restore } from '../kube/velero';

/** The process environment as the wiring passes it (src/main.ts: process.env; tests: plain objects). */
export type Env = Readonly<Record<string, string | undefined>>;

export interface BackupOptions {
    /** velero.kubevirt.io/metadataBackup: volume restorability is not checked. */
    readonly metadataBackup: boolean;
}

/**
 * KubeVirt's run strategies, as documented on VirtualMachineSpec.runStrategy in
 * @kubevirt-ui-ext/kubevirt-api 1.7.0 (dist/kubevirt/index.d.ts, V1VirtualMachineSpec): "Always",
 * "Halted", "Manual", "RerunOnFailure", "Once". KubeVirt ≥ 1.7 also knows "WaitAsReceiver", the target
 * side of a decentralised live migration behind a feature gate; a restored VM in that state would wait
 * for a migration that never comes, so it is not accepted here.
 */
export const RUN_STRATEGIES = ['Always', 'Halted', 'Manual', 'RerunOnFailure', 'Once'] as const;

const IDENTITY_POLICIES = ['auto', 'keep'] as const;

export interface IdentityPolicy {
    clearMacAddress: boolean;
    newFirmwareUuid: boolean;
    newSerial: boolean;
    /** identity-policy=auto: change only values another VM or VMI of the cluster already uses. */
    auto: boolean;
}

export type NamespaceMapping = ReadonlyMap<string, string>;

export interface RestoreOptions {
    /** velero.kubevirt.io/restore-run-strategy; reading it throws InvalidConfig when the label is invalid. */
    readonly runStrategy: string | undefined;
    /** The identity knobs; reading it throws InvalidConfig when they are invalid or contradict each other. */
    readonly identityPolicy: IdentityPolicy;
    /** restore.spec.namespaceMapping, without identity entries (A→A) and empty targets. */
    readonly namespaceMapping: NamespaceMapping;
    /** The namespace Velero runs in (VELERO_NAMESPACE, else "velero"): where the change-storage-class ConfigMap is. */
    readonly veleroNamespace: string;
}

/** A parsed option: its value, or the error that reading it throws. */
type Parsed<T> = { ok: true; value: T } | { ok: false; error: PluginError };

function parsed<T>(parse: () => T): Parsed<T> {
    try {
        return { ok: true, value: parse() };
    } catch (error) {
        if (error instanceof PluginError) return { ok: false, error };
        throw error;
    }
}

function valueOf<T>(option: Parsed<T>): T {
    if (!option.ok) throw option.error;
    return option.value;
}

/** The restore-run-strategy label: undefined when absent; an invalid value is a configuration error. */
function parseRunStrategy(labels: Readonly<Record<string, unknown>>): string | undefined {
    const value = knobValue(labels, KNOB.restoreRunStrategy);
    if (value === undefined) return undefined;
    if (!(RUN_STRATEGIES as readonly string[]).includes(value)) {
        throw new PluginError('InvalidConfig', `Restore label ${KNOB.restoreRunStrategy} has invalid value "${value}": allowed values are ${RUN_STRATEGIES.join(', ')}`);
    }
    return value;
}

/**
 * The identity knobs of a Restore. A malformed identity-policy value, or identity-policy=keep together
 * with a knob that changes identity, is a configuration error.
 */
function parseIdentityPolicy(labels: Readonly<Record<string, unknown>>): IdentityPolicy {
    const policy: IdentityPolicy = {
        clearMacAddress: knobEnabled(labels, KNOB.clearMacAddress),
        newFirmwareUuid: knobEnabled(labels, KNOB.generateNewFirmwareUUID),
        newSerial: knobEnabled(labels, KNOB.generateNewSerial),
        auto: false,
    };
    const raw = knobValue(labels, KNOB.identityPolicy);
    if (raw === undefined) return policy;
    const value = raw.trim().toLowerCase();
    if (!(IDENTITY_POLICIES as readonly string[]).includes(value)) {
        throw new PluginError('InvalidConfig', `Restore label ${KNOB.identityPolicy} has invalid value "${raw}": allowed values are ${IDENTITY_POLICIES.join(', ')}`);
    }
    if (value === 'keep') {
        const contradicting = [
            policy.clearMacAddress ? KNOB.clearMacAddress : undefined,
            policy.newFirmwareUuid ? KNOB.generateNewFirmwareUUID : undefined,
            policy.newSerial ? KNOB.generateNewSerial : undefined,
        ].filter((k): k is NonNullable<typeof k> => k !== undefined);
        if (contradicting.length > 0) {
            throw new PluginError('InvalidConfig', `Restore label ${KNOB.identityPolicy}=keep contradicts ${contradicting.join(', ')}: remove one of them or set it to "false"`);
        }
    }
    return { ...policy, auto: value === 'auto' };
}

/** restore.spec.namespaceMapping as a map, without identity entries (A→A) and empty targets. */
export function parseNamespaceMapping(restore: Restore): NamespaceMapping {
    const raw = restore.spec?.namespaceMapping;
    const out = new Map<string, string>();
    if (!isRecord(raw)) return out;
    for (const [from, to] of Object.entries(raw)) {
        if (typeof to === 'string' && to !== '' && from !== '' && to !== from) out.set(from, to);
    }
    return out;
}

/** The namespace Velero runs in: VELERO_NAMESPACE (set in Velero's pod), else "velero". */
export function veleroNamespace(env: Env): string {
    const value = env['VELERO_NAMESPACE']?.trim();
    return value ? value : 'velero';
}

/** The options of a backup call (the Backup's labels are read once). */
export function parseBackupOptions(backup: Backup): BackupOptions {
    const labels = labelsOf(backup);
    return { metadataBackup: knobEnabled(labels, KNOB.metadataBackup) };
}

/** The options of a restore call: the Restore's labels and spec and the environment, each read once. */
export function parseRestoreOptions(restore: Restore, env: Env): RestoreOptions {
    const labels = labelsOf(restore);
    const runStrategy = parsed(() => parseRunStrategy(labels));
    const identityPolicy = parsed(() => parseIdentityPolicy(labels));
    const options: RestoreOptions = {
        get runStrategy() {
            return valueOf(runStrategy);
        },
        get identityPolicy() {
            return valueOf(identityPolicy);
        },
        namespaceMapping: parseNamespaceMapping(restore),
        veleroNamespace: veleroNamespace(env),
    };
    return Object.freeze(options);
}
