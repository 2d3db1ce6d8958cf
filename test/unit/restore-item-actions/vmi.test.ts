import { KNOB } from '../../../src/kube/knobs';
import { pathGet, type KubeObject } from '../../../src/kube/object';
import { vmiRestoreAction } from '../../../src/restore-item-actions/vmi';
import { fixture, fixtures, keys, RecordingCluster, restoreWith, run, runError, UUID_V4 } from './helpers';

const vmi = (name: string): KubeObject => fixture('vmis.yaml', name);

describe('VMI restore action registration', () => {
    it('keeps the Go plugin name and applies to group-qualified VirtualMachineInstances', () => {
        expect(vmiRestoreAction.name).toBe('kubevirt-velero-plugin/restore-vmi-action');
        expect(vmiRestoreAction.appliesTo).toEqual({ includedResources: ['virtualmachineinstances.kubevirt.io'] });
    });
});

describe('VMI restore action (upstream TestVmiRestoreExecute)', () => {
    it('Owned VMI should be skipped, whatever the knobs', async () => {
        const labels = { [KNOB.identityPolicy]: 'bogus' };
        const { output, messages, cluster } = await run(vmiRestoreAction, vmi('owned'), restoreWith({ labels }));
        expect(output).toEqual({ additionalItems: [], skipRestore: true });
        expect(messages).toEqual(["VMI is owned by a VM, it doesn't need to be restored"]);
        expect(cluster.calls).toEqual([]);
    });

    it('Standalone VMI should not be skipped and brings its restore graph', async () => {
        const { output } = await run(vmiRestoreAction, vmi('standalone'));
        expect(output.skipRestore).toBe(false);
        expect(keys(output.additionalItems)).toEqual([
            'datavolumes.cdi.kubevirt.io/src/standalone-dv',
            'persistentvolumeclaims/src/standalone-dv',
            'configmaps/src/standalone-cm',
            'network-attachment-definitions.k8s.cni.cncf.io/src/vmi-net',
        ]);
    });

    it('Restricted labels should be removed, other labels stay', async () => {
        const { output } = await run(vmiRestoreAction, vmi('standalone'));
        expect(pathGet(output.item, ['metadata', 'labels'])).toEqual({ app: 'standalone' });
    });

    it('A standalone VMI that nothing changes is returned as no item', async () => {
        const { output, cluster } = await run(vmiRestoreAction, vmi('plain'));
        expect(output.item).toBeUndefined();
        expect(keys(output.additionalItems)).toEqual(['persistentvolumeclaims/src/plain-root']);
        expect(cluster.calls).toEqual([]);
    });
});

describe('VMI restore action: identity policy on the returned item (the Go plugin changed a copy and returned the original)', () => {
    const spec = (item: KubeObject | undefined, path: (string | number)[]): unknown => pathGet(item, ['spec', ...path]);

    it('clear-mac-address clears the MACs of the returned VMI', async () => {
        const { output, messages } = await run(vmiRestoreAction, vmi('standalone'), restoreWith({ labels: { [KNOB.clearMacAddress]: 'true' } }));
        expect(spec(output.item, ['domain', 'devices', 'interfaces'])).toEqual([
            { name: 'default', masquerade: {} },
            { name: 'net1', bridge: {} },
        ]);
        expect(messages).toEqual(['Clear virtual machine instance MAC addresses']);
    });

    it('generate-new-firmware-uuid and generate-new-serial replace both values of the returned VMI', async () => {
        const labels = { [KNOB.generateNewFirmwareUUID]: 'true', [KNOB.generateNewSerial]: 'true' };
        const { output } = await run(vmiRestoreAction, vmi('standalone'), restoreWith({ labels }));
        expect(spec(output.item, ['domain', 'firmware', 'uuid'])).toMatch(UUID_V4);
        expect(spec(output.item, ['domain', 'firmware', 'uuid'])).toMatch(UUID_V4);
        expect(spec(output.item, ['domain', 'firmware', 'uuid'])).not.toBe('0b3c4a1e-7f2d-4b1e-9a5c-3d2e1f0a9b8c');
        expect(spec(output.item, ['domain', 'firmware', 'serial'])).toMatch(UUID_V4);
    });

    it.each([
        ['into a mapped namespace: the UUID collides (case-insensitively) with another VMI, the MAC only with the VMI itself', { src: 'dst' }, 'kept'],
        ['into its own namespace: the copy restored earlier into dst uses the MAC', undefined, 'cleared'],
    ])('identity-policy=auto, restored %s', async (_name, namespaceMapping, mac) => {
        const restore = restoreWith({ labels: { [KNOB.identityPolicy]: 'Auto' }, ...(namespaceMapping ? { namespaceMapping } : {}) });
        const { output, messages } = await run(vmiRestoreAction, vmi('standalone'), restore, new RecordingCluster(fixtures('identity-cluster.yaml')));
        expect(spec(output.item, ['domain', 'devices', 'interfaces', 0, 'macAddress'])).toBe(mac === 'kept' ? '02:00:00:00:01:01' : undefined);
        expect(spec(output.item, ['domain', 'firmware', 'uuid'])).toMatch(UUID_V4);
        expect(spec(output.item, ['domain', 'firmware', 'uuid'])).not.toBe('0b3c4a1e-7f2d-4b1e-9a5c-3d2e1f0a9b8c');
        expect(spec(output.item, ['domain', 'firmware', 'serial'])).toBe('VMI-SERIAL-1');
        const newUuid = spec(output.item, ['domain', 'firmware', 'uuid']) as string;
        expect(messages.filter((m) => m.startsWith('Identity'))).toEqual([
            ...(mac === 'cleared'
                ? [
                      'Identity policy auto: spec.domain.devices.interfaces[0].macAddress of VirtualMachineInstance src/standalone (02:00:00:00:01:01) is already used by VirtualMachineInstance dst/standalone; cleared it',
                  ]
                : []),
            `Identity policy auto: spec.domain.firmware.uuid of VirtualMachineInstance src/standalone (0b3c4a1e-7f2d-4b1e-9a5c-3d2e1f0a9b8c) is already used by VirtualMachineInstance team-b/other; set it to ${newUuid}`,
        ]);
    });

    it('Namespace mapping rewrites the multus network of a standalone VMI', async () => {
        const { output } = await run(vmiRestoreAction, vmi('standalone'), restoreWith({ namespaceMapping: { src: 'dst' } }));
        expect(spec(output.item, ['networks'])).toEqual([
            { name: 'default', pod: {} },
            { name: 'net1', multus: { networkName: 'dst/vmi-net' } },
        ]);
    });
});

describe('VMI restore action: bad input', () => {
    it('A VMI without spec is restored as is when no identity knob needs the spec', async () => {
        const { output } = await run(vmiRestoreAction, vmi('no-spec'));
        expect(output).toEqual({ additionalItems: [], skipRestore: false });
    });

    it('A VMI without spec fails clearly when an identity knob needs the spec', async () => {
        const error = await runError(vmiRestoreAction, vmi('no-spec'), restoreWith({ labels: { [KNOB.clearMacAddress]: 'true' } }));
        expect(error.reason).toBe('InvalidItem');
        expect(error.detail).toBe('cannot apply the identity policy to a VirtualMachineInstance without spec');
    });

    it('A malformed identity-policy fails a standalone VMI with a configuration error', async () => {
        const error = await runError(vmiRestoreAction, vmi('standalone'), restoreWith({ labels: { [KNOB.identityPolicy]: '' } }));
        expect(error.reason).toBe('InvalidConfig');
        expect(error.detail).toBe('Restore label velero.kubevirt.io/identity-policy has invalid value "": allowed values are auto, keep');
    });
});
