import { PluginError } from '../../../src/errors';
import { KNOB } from '../../../src/kube/knobs';
import { parseRestoreOptions, type IdentityPolicy } from '../../../src/plugin/options';
import { identityPolicyIsNoop } from '../../../src/restore-item-actions/identity';
import type { Restore } from '../../../src/kube/velero';
import { restoreWith } from './helpers';

/** The identity policy as the adapter parses it from the Restore (src/plugin/options.ts). */
const identityPolicyOf = (restore: Restore): IdentityPolicy => parseRestoreOptions(restore, {}).identityPolicy;

const off: IdentityPolicy = { clearMacAddress: false, newFirmwareUuid: false, newSerial: false, auto: false };

describe('identity knobs on the Restore', () => {
    it.each<[string, Record<string, string>, IdentityPolicy]>([
        ['no labels: nothing', {}, off],
        ['clear-mac-address present (empty value)', { [KNOB.clearMacAddress]: '' }, { ...off, clearMacAddress: true }],
        ['clear-mac-address=false is off', { [KNOB.clearMacAddress]: 'false' }, off],
        ['generate-new-firmware-uuid=true', { [KNOB.generateNewFirmwareUUID]: 'true' }, { ...off, newFirmwareUuid: true }],
        ['generate-new-firmware-uuid=no is off', { [KNOB.generateNewFirmwareUUID]: 'no' }, off],
        ['generate-new-serial=true', { [KNOB.generateNewSerial]: 'true' }, { ...off, newSerial: true }],
        ['generate-new-serial=False is off', { [KNOB.generateNewSerial]: 'False' }, off],
        ['identity-policy=auto', { [KNOB.identityPolicy]: 'auto' }, { ...off, auto: true }],
        ['identity-policy=AUTO (case-insensitive)', { [KNOB.identityPolicy]: 'AUTO' }, { ...off, auto: true }],
        ['identity-policy=auto with explicit knobs', { [KNOB.identityPolicy]: 'auto', [KNOB.clearMacAddress]: 'true' }, { ...off, auto: true, clearMacAddress: true }],
        ['identity-policy=keep', { [KNOB.identityPolicy]: 'keep' }, off],
        ['identity-policy=keep with knobs set to "false"', { [KNOB.identityPolicy]: 'keep', [KNOB.clearMacAddress]: 'false', [KNOB.generateNewSerial]: 'off' }, off],
    ])('%s', (_name, labels, expected) => {
        expect(identityPolicyOf(restoreWith({ labels }))).toEqual(expected);
    });

    it.each<[string, Record<string, string>, string]>([
        [
            'unknown identity-policy',
            { [KNOB.identityPolicy]: 'random' },
            'Restore label velero.kubevirt.io/identity-policy has invalid value "random": allowed values are auto, keep',
        ],
        ['empty identity-policy', { [KNOB.identityPolicy]: '' }, 'Restore label velero.kubevirt.io/identity-policy has invalid value "": allowed values are auto, keep'],
        [
            'keep with every identity knob',
            { [KNOB.identityPolicy]: 'keep', [KNOB.clearMacAddress]: '', [KNOB.generateNewFirmwareUUID]: 'true', [KNOB.generateNewSerial]: 'yes' },
            'Restore label velero.kubevirt.io/identity-policy=keep contradicts velero.kubevirt.io/clear-mac-address, velero.kubevirt.io/generate-new-firmware-uuid, velero.kubevirt.io/generate-new-serial: remove one of them or set it to "false"',
        ],
    ])('Malformed or contradictory: %s', (_name, labels, detail) => {
        let error: unknown;
        try {
            identityPolicyOf(restoreWith({ labels }));
        } catch (e) {
            error = e;
        }
        expect(error).toBeInstanceOf(PluginError);
        expect((error as PluginError).reason).toBe('InvalidConfig');
        expect((error as PluginError).detail).toBe(detail);
    });

    it.each<[IdentityPolicy, boolean]>([
        [off, true],
        [{ ...off, auto: true }, false],
        [{ ...off, newSerial: true }, false],
    ])('identityPolicyIsNoop(%o) is %s', (policy, expected) => {
        expect(identityPolicyIsNoop(policy)).toBe(expected);
    });
});
