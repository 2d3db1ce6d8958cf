/**
 * Labels on Backup and Restore objects that switch plugin behaviour. Upstream tests label presence
 * only, so `=false` switched a knob on; here "false" (any case, surrounding space ignored), "0", "no"
 * and "off" mean off, and presence with any other value (including empty) means on. The labels are
 * read once per call by src/plugin/options.ts, which alone uses these helpers.
 */

export const KNOB = {
    metadataBackup: 'velero.kubevirt.io/metadataBackup',
    restoreRunStrategy: 'velero.kubevirt.io/restore-run-strategy',
    clearMacAddress: 'velero.kubevirt.io/clear-mac-address',
    generateNewFirmwareUUID: 'velero.kubevirt.io/generate-new-firmware-uuid',
    generateNewSerial: 'velero.kubevirt.io/generate-new-serial',
    identityPolicy: 'velero.kubevirt.io/identity-policy',
} as const;

const OFF = new Set(['false', '0', 'no', 'off']);

/** A boolean knob: absent → false; "false"/"0"/"no"/"off" → false; anything else → true. */
export function knobEnabled(labels: Readonly<Record<string, unknown>>, key: string): boolean {
    if (!(key in labels)) return false;
    return !OFF.has(String(labels[key]).trim().toLowerCase());
}

/** A valued knob: the label's value, or undefined when absent. */
export function knobValue(labels: Readonly<Record<string, unknown>>, key: string): string | undefined {
    return key in labels ? String(labels[key]) : undefined;
}
