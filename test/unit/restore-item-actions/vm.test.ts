import { PluginError } from '../../../src/errors';
import { KNOB } from '../../../src/kube/knobs';
import { ANN } from '../../../src/kube/annotations';
import { annotationsOf, pathGet, setAnnotation, type KubeObject } from '../../../src/kube/object';
import { parseRestoreOptions, RUN_STRATEGIES } from '../../../src/plugin/options';
import { vmRestoreAction } from '../../../src/restore-item-actions/vm';
import { fixture, fixtures, keys, RecordingCluster, restoreWith, run, runError, UUID_V4 } from './helpers';

const vm = (name: string): KubeObject => fixture('vms.yaml', name);

describe('VM restore action registration', () => {
    it('keeps the Go plugin name and applies to group-qualified VirtualMachines', () => {
        expect(vmRestoreAction.name).toBe('kubevirt-velero-plugin/restore-vm-action');
        expect(vmRestoreAction.appliesTo).toEqual({ includedResources: ['virtualmachines.kubevirt.io'] });
    });
});

describe('VM restore action: run strategy (upstream TestVmRestoreExecute)', () => {
    it.each([
        ['Running VM should be restored running', 'web', undefined, undefined, true],
        ['Stopped VM should be restored stopped', 'stopped', undefined, 'Halted', undefined],
        ['Stopped VM should be restored running when using appropriate label', 'stopped', 'Always', 'Always', undefined],
        ['Running VM should be restored stopped when using appropriate label', 'web', 'Halted', 'Halted', undefined],
        ['Running field should be cleared when run strategy annotation', 'web', 'Manual', 'Manual', undefined],
        ['RerunOnFailure is accepted', 'stopped', 'RerunOnFailure', 'RerunOnFailure', undefined],
        ['Once is accepted', 'stopped', 'Once', 'Once', undefined],
    ])('%s', async (_name, vmName, label, runStrategy, running) => {
        const labels = label === undefined ? undefined : { [KNOB.restoreRunStrategy]: label };
        const { output, messages } = await run(vmRestoreAction, vm(vmName), restoreWith(labels ? { labels } : {}));
        const result = output.item ?? vm(vmName);
        expect(pathGet(result, ['spec', 'runStrategy'])).toBe(runStrategy);
        expect(pathGet(result, ['spec', 'running'])).toBe(running);
        expect(output.skipRestore).toBe(false);
        expect(messages.filter((m) => m.startsWith('Setting'))).toEqual(label === undefined ? [] : [`Setting virtual machine run strategy to ${label}`]);
    });

    it.each([
        ['a misspelt value', 'always'],
        ['an unknown value', 'Sometimes'],
        ['an empty value', ''],
        ['the migration-only WaitAsReceiver', 'WaitAsReceiver'],
    ])('Invalid run strategy (%s) is a configuration error naming the label and the allowed values', async (_name, value) => {
        const restore = restoreWith({ labels: { [KNOB.restoreRunStrategy]: value } });
        const error = await runError(vmRestoreAction, vm('stopped'), restore);
        expect(error.reason).toBe('InvalidConfig');
        expect(error.detail).toBe(
            `Restore label velero.kubevirt.io/restore-run-strategy has invalid value "${value}": allowed values are Always, Halted, Manual, RerunOnFailure, Once`,
        );
    });

    it('The allowed run strategies are the five KubeVirt documents on VirtualMachineSpec.runStrategy', () => {
        expect(RUN_STRATEGIES).toEqual(['Always', 'Halted', 'Manual', 'RerunOnFailure', 'Once']);
        expect(parseRestoreOptions(restoreWith(), {}).runStrategy).toBeUndefined();
    });
});

describe('VM restore action: additional items', () => {
    it('VM should return DVs as additional items', async () => {
        const { output } = await run(vmRestoreAction, vm('two-dvs'));
        expect(keys(output.additionalItems)).toEqual([
            'datavolumes.cdi.kubevirt.io/src/dv1',
            'persistentvolumeclaims/src/dv1',
            'datavolumes.cdi.kubevirt.io/src/dv2',
            'persistentvolumeclaims/src/dv2',
        ]);
    });

    it('Restore graph of a VM names its DataVolumes, PVCs and own-namespace NADs in the backup namespace', async () => {
        const restore = restoreWith({ namespaceMapping: { src: 'dst' } });
        const { output } = await run(vmRestoreAction, vm('web'), restore);
        expect(keys(output.additionalItems)).toEqual([
            'datavolumes.cdi.kubevirt.io/src/web-root',
            'persistentvolumeclaims/src/web-root',
            'datavolumes.cdi.kubevirt.io/src/web-clone',
            'persistentvolumeclaims/src/web-clone',
            'datavolumes.cdi.kubevirt.io/src/web-datasource',
            'persistentvolumeclaims/src/web-datasource',
            'persistentvolumeclaims/src/web-data',
            'network-attachment-definitions.k8s.cni.cncf.io/src/web-net',
            'network-attachment-definitions.k8s.cni.cncf.io/src/web-net2',
        ]);
    });

    it('VM with persistent vTPM state brings its labelled backend PVC, listing PVCs of its namespace once', async () => {
        const cluster = new RecordingCluster(fixtures('backend-pvcs.yaml'));
        const { output } = await run(vmRestoreAction, vm('tpm'), restoreWith(), cluster);
        expect(keys(output.additionalItems)).toEqual(['persistentvolumeclaims/src/tpm-root', 'persistentvolumeclaims/src/persistent-state-for-tpm-x7k2p']);
        expect(cluster.calls).toEqual(['list persistentvolumeclaims src']);
    });

    it('a restore graph recorded at backup wins: the generated vTPM PVC name is found with the namespace gone, and nothing is read', async () => {
        const tpm = vm('tpm');
        setAnnotation(tpm, ANN.restoreGraph, '["persistentvolumeclaims/tpm-root","datavolumes.cdi.kubevirt.io/tpm-root","persistentvolumeclaims/persistent-state-for-tpm-x7k2p"]');
        const { output, cluster } = await run(vmRestoreAction, tpm, restoreWith(), new RecordingCluster([]));
        expect(keys(output.additionalItems)).toEqual([
            'persistentvolumeclaims/src/tpm-root',
            'datavolumes.cdi.kubevirt.io/src/tpm-root',
            'persistentvolumeclaims/src/persistent-state-for-tpm-x7k2p',
        ]);
        expect(cluster.calls).toEqual([]);
        expect(annotationsOf(output.item as KubeObject)).not.toHaveProperty([ANN.restoreGraph]);
    });

    it.each([['not JSON'], ['{"a":1}'], ['[1]'], ['["no-slash"]']])('an unreadable recorded graph %p is ignored with a warning and the graph is computed', async (text) => {
        const tpm = vm('tpm');
        setAnnotation(tpm, ANN.restoreGraph, text);
        const { output, messages } = await run(vmRestoreAction, tpm, restoreWith(), new RecordingCluster(fixtures('backend-pvcs.yaml')));
        expect(keys(output.additionalItems)).toEqual(['persistentvolumeclaims/src/tpm-root', 'persistentvolumeclaims/src/persistent-state-for-tpm-x7k2p']);
        expect(messages.some((m) => m.includes(`${ANN.restoreGraph} on VirtualMachine src/tpm is not readable`))).toBe(true);
        expect(annotationsOf(output.item as KubeObject)).not.toHaveProperty([ANN.restoreGraph]);
    });

    it('VM without persistent state, storage classes or identity-policy=auto reads nothing from the cluster', async () => {
        const { cluster } = await run(vmRestoreAction, vm('two-dvs'), restoreWith({ labels: { [KNOB.clearMacAddress]: 'true' } }));
        expect(cluster.calls).toEqual([]);
    });

    it('VM naming storage classes reads only the ConfigMaps of the Velero namespace', async () => {
        const { cluster } = await run(vmRestoreAction, vm('web'));
        expect(cluster.calls).toEqual(['list configmaps velero']);
    });
});

describe('VM restore action: single-VM restore label', () => {
    it('The velero.kubevirt.io/vm label set at backup is removed, other labels stay', async () => {
        const { output } = await run(vmRestoreAction, vm('web'));
        expect(pathGet(output.item, ['metadata', 'labels'])).toEqual({ app: 'web' });
    });

    it('A VM that nothing changes is returned as no item (Velero keeps the original bytes)', async () => {
        const { output } = await run(vmRestoreAction, vm('stopped'));
        expect(output.item).toBeUndefined();
        expect(keys(output.additionalItems)).toEqual(['datavolumes.cdi.kubevirt.io/src/stopped-root', 'persistentvolumeclaims/src/stopped-root']);
    });
});

describe('VM restore action: identity knobs', () => {
    const interfaces = (item: KubeObject | undefined): unknown => pathGet(item, ['spec', 'template', 'spec', 'domain', 'devices', 'interfaces']);
    const firmware = (item: KubeObject | undefined): Record<string, unknown> => pathGet(item, ['spec', 'template', 'spec', 'domain', 'firmware']) as Record<string, unknown>;

    it.each([
        ['present with an empty value', ''],
        ['"true"', 'true'],
    ])('MAC addresses are cleared when clear-mac-address is %s', async (_name, value) => {
        const { output, messages } = await run(vmRestoreAction, vm('web'), restoreWith({ labels: { [KNOB.clearMacAddress]: value } }));
        expect(interfaces(output.item)).toEqual([
            { name: 'default', masquerade: {} },
            { name: 'frontend', bridge: {} },
            { name: 'storage', bridge: {} },
        ]);
        expect(messages).toEqual(['Clear virtual machine MAC addresses']);
    });

    it('New firmware UUID should be generated when using appropriate label', async () => {
        const { output, messages } = await run(vmRestoreAction, vm('web'), restoreWith({ labels: { [KNOB.generateNewFirmwareUUID]: 'true' } }));
        expect(firmware(output.item)['uuid']).toMatch(UUID_V4);
        expect(firmware(output.item)['uuid']).not.toBe('5d307ca9-b3ef-428c-8861-06e72d69f223');
        expect(firmware(output.item)['serial']).toBe('WEB-SERIAL-1');
        expect(messages).toEqual(['Generate new firmware UUID']);
    });

    it('New firmware UUID and serial create domain.firmware when the template has none', async () => {
        const labels = { [KNOB.generateNewFirmwareUUID]: '', [KNOB.generateNewSerial]: 'yes' };
        const { output, messages } = await run(vmRestoreAction, vm('stopped'), restoreWith({ labels }));
        expect(Object.keys(firmware(output.item))).toEqual(['uuid', 'serial']);
        expect(firmware(output.item)['uuid']).toMatch(UUID_V4);
        expect(firmware(output.item)['serial']).toMatch(UUID_V4);
        expect(messages).toEqual(['Generate new firmware UUID', 'Generate new firmware serial']);
    });

    it.each([
        [KNOB.clearMacAddress, 'false'],
        [KNOB.clearMacAddress, 'FALSE'],
        [KNOB.generateNewFirmwareUUID, 'false'],
        [KNOB.generateNewSerial, 'off'],
        [KNOB.generateNewSerial, '0'],
    ])('Knob %s=%s is off: the VM keeps its identity', async (knob, value) => {
        const { output, messages } = await run(vmRestoreAction, vm('web'), restoreWith({ labels: { [knob]: value } }));
        expect(interfaces(output.item)).toEqual(interfaces(vm('web')));
        expect(firmware(output.item)).toEqual(firmware(vm('web')));
        expect(messages).toEqual([]);
    });
});

describe('VM restore action: bad input', () => {
    it.each([
        ['no-template', 'cannot restore a VirtualMachine without spec.template'],
        ['no-template-spec', 'cannot restore a VirtualMachine without spec.template.spec'],
    ])('VM %s fails with a clear error on that item', async (name, detail) => {
        const error = await runError(vmRestoreAction, vm(name));
        expect(error).toBeInstanceOf(PluginError);
        expect(error.reason).toBe('InvalidItem');
        expect(error.detail).toBe(detail);
    });
});

describe('VM restore action: namespace mapping', () => {
    const template = (item: KubeObject | undefined, path: (string | number)[]): unknown => pathGet(item, ['spec', 'template', 'spec', ...path]);
    const dvt = (item: KubeObject | undefined, index: number, path: string[]): unknown => pathGet(item, ['spec', 'dataVolumeTemplates', index, 'spec', ...path]);

    it('References into the mapped namespace are rewritten, golden-image and bare references are left alone', async () => {
        const { output, messages } = await run(vmRestoreAction, vm('web'), restoreWith({ namespaceMapping: { src: 'dst' } }));
        expect(template(output.item, ['networks'])).toEqual([
            { name: 'default', pod: {} },
            { name: 'frontend', multus: { networkName: 'dst/web-net' } },
            { name: 'storage', multus: { networkName: 'golden/storage-net' } },
            { name: 'legacy', multus: { networkName: 'web-net2' } },
        ]);
        expect(dvt(output.item, 0, ['sourceRef'])).toEqual({ kind: 'DataSource', name: 'fedora', namespace: 'golden' });
        expect(dvt(output.item, 1, ['source', 'pvc'])).toEqual({ name: 'base-disk', namespace: 'dst' });
        expect(dvt(output.item, 2, ['sourceRef'])).toEqual({ kind: 'DataSource', name: 'win', namespace: 'dst' });
        expect(messages.filter((m) => m.startsWith('Mapping'))).toEqual([
            'Mapping namespace reference spec.template.spec.networks[1].multus.networkName of VirtualMachine src/web from src/web-net to dst/web-net',
            'Mapping namespace reference spec.dataVolumeTemplates[1].spec.source.pvc.namespace of VirtualMachine src/web from src to dst',
            'Mapping namespace reference spec.dataVolumeTemplates[2].spec.sourceRef.namespace of VirtualMachine src/web from src to dst',
        ]);
    });

    it('A mapped golden-image namespace is rewritten too (every key of the mapping counts)', async () => {
        const { output } = await run(vmRestoreAction, vm('web'), restoreWith({ namespaceMapping: { golden: 'golden-b' } }));
        expect(template(output.item, ['networks', 1, 'multus', 'networkName'])).toBe('src/web-net');
        expect(template(output.item, ['networks', 2, 'multus', 'networkName'])).toBe('golden-b/storage-net');
        expect(dvt(output.item, 0, ['sourceRef', 'namespace'])).toBe('golden-b');
        expect(dvt(output.item, 1, ['source', 'pvc', 'namespace'])).toBe('src');
    });

    it('Without namespace mapping no reference changes', async () => {
        const { output } = await run(vmRestoreAction, vm('web'));
        expect(template(output.item, ['networks'])).toEqual(template(vm('web'), ['networks']));
        expect(pathGet(output.item, ['spec', 'dataVolumeTemplates'])).toEqual(pathGet(vm('web'), ['spec', 'dataVolumeTemplates']));
    });
});

describe('VM restore action: storage-class mapping', () => {
    const scOf = (item: KubeObject | undefined): unknown[] =>
        [0, 1, 2].map((i) => pathGet(item, ['spec', 'dataVolumeTemplates', i, 'spec', i === 1 ? 'pvc' : 'storage', 'storageClassName']));
    it('dataVolumeTemplates storage classes follow the change-storage-class ConfigMap', async () => {
        const cluster = new RecordingCluster(fixtures('configmaps.yaml'));
        const { output, messages } = await run(vmRestoreAction, vm('web'), restoreWith(), cluster);
        expect(scOf(output.item)).toEqual(['fast-b', 'slow-b', undefined]);
        expect(messages.filter((m) => m.startsWith('Updating'))).toEqual([
            'Updating storage class of spec.dataVolumeTemplates[0].spec.storage.storageClassName of VirtualMachine src/web from fast to fast-b',
            'Updating storage class of spec.dataVolumeTemplates[1].spec.pvc.storageClassName of VirtualMachine src/web from slow to slow-b',
        ]);
    });

    it('The ConfigMap is read from VELERO_NAMESPACE when set', async () => {
        const cluster = new RecordingCluster(fixtures('configmaps.yaml'));
        const { output } = await run(vmRestoreAction, vm('web'), restoreWith(), cluster, { env: { VELERO_NAMESPACE: 'other' } });
        expect(scOf(output.item)).toEqual(['wrong', 'slow', undefined]);
        expect(cluster.calls).toEqual(['list configmaps other']);
    });

    it('A mapping to an empty name fails the VM with an error naming the ConfigMap and the key', async () => {
        const error = await runError(vmRestoreAction, vm('web'), restoreWith(), new RecordingCluster(fixtures('configmap-empty-target.yaml')));
        expect(error.reason).toBe('InvalidConfig');
        expect(error.detail).toBe('ConfigMap velero/broken-sc: key "fast" maps storage class fast to an empty name');
    });

    it('Two change-storage-class ConfigMaps are refused as Velero refuses them', async () => {
        const error = await runError(vmRestoreAction, vm('web'), restoreWith(), new RecordingCluster(fixtures('configmap-duplicate.yaml')));
        expect(error.reason).toBe('InvalidConfig');
        expect(error.detail).toBe(
            'found more than one ConfigMap matching label selector "velero.io/plugin-config,velero.io/change-storage-class=RestoreItemAction" in namespace velero: [sc-a, sc-b]',
        );
    });
});

describe('VM restore action: identity-policy=auto', () => {
    const auto = { [KNOB.identityPolicy]: 'auto' };
    const identityCluster = (): RecordingCluster => new RecordingCluster(fixtures('identity-cluster.yaml'));

    it('Restored next to its original: colliding MACs are cleared and the serial renewed; the UUID only its own copy uses stays', async () => {
        const { output, messages, cluster } = await run(vmRestoreAction, vm('web'), restoreWith({ labels: auto, namespaceMapping: { src: 'dst' } }), identityCluster());
        const spec = pathGet(output.item, ['spec', 'template', 'spec']);
        expect(pathGet(spec, ['domain', 'devices', 'interfaces'])).toEqual([
            { name: 'default', masquerade: {} },
            { name: 'frontend', bridge: {} },
            { name: 'storage', bridge: {} },
        ]);
        const serial = pathGet(spec, ['domain', 'firmware', 'serial']) as string;
        expect(serial).toMatch(UUID_V4);
        expect(pathGet(spec, ['domain', 'firmware', 'uuid'])).toBe('5d307ca9-b3ef-428c-8861-06e72d69f223');
        expect(messages.filter((m) => m.startsWith('Identity'))).toEqual([
            'Identity policy auto: spec.template.spec.domain.devices.interfaces[0].macAddress of VirtualMachine src/web (02:00:00:00:00:01) is already used by VirtualMachine src/web; cleared it',
            'Identity policy auto: spec.template.spec.domain.devices.interfaces[1].macAddress of VirtualMachine src/web (02:00:00:00:00:02) is already used by VirtualMachineInstance team-b/other; cleared it',
            `Identity policy auto: spec.template.spec.domain.firmware.serial of VirtualMachine src/web (WEB-SERIAL-1) is already used by VirtualMachine src/web; set it to ${serial}`,
        ]);
        expect(cluster.calls).toEqual(['list virtualmachines.kubevirt.io *', 'list virtualmachineinstances.kubevirt.io *', 'list configmaps velero']);
    });

    it('Without collisions nothing changes but the single-VM label', async () => {
        const { output, messages, cluster } = await run(vmRestoreAction, vm('web'), restoreWith({ labels: auto }), new RecordingCluster());
        const expected = vm('web');
        delete expected.metadata?.labels?.['velero.kubevirt.io/vm'];
        expect(output.item).toEqual(expected);
        expect(messages.filter((m) => m.startsWith('Identity'))).toEqual([]);
        expect(cluster.calls).toEqual(['list virtualmachines.kubevirt.io *', 'list virtualmachineinstances.kubevirt.io *', 'list configmaps velero']);
    });

    it('A VM without MAC, UUID or serial costs no LIST', async () => {
        const { output, cluster } = await run(vmRestoreAction, vm('stopped'), restoreWith({ labels: auto }), identityCluster());
        expect(output.item).toBeUndefined();
        expect(cluster.calls).toEqual([]);
    });

    it('Explicit knobs win over auto for their field; auto still checks the others', async () => {
        const labels = { ...auto, [KNOB.clearMacAddress]: 'true', [KNOB.generateNewSerial]: 'true' };
        const { output, messages } = await run(vmRestoreAction, vm('web'), restoreWith({ labels, namespaceMapping: { src: 'dst' } }), identityCluster());
        expect(pathGet(output.item, ['spec', 'template', 'spec', 'domain', 'firmware', 'uuid'])).toBe('5d307ca9-b3ef-428c-8861-06e72d69f223');
        expect(messages.filter((m) => !m.startsWith('Updating'))).toEqual([
            'Clear virtual machine MAC addresses',
            'Generate new firmware serial',
            'Mapping namespace reference spec.template.spec.networks[1].multus.networkName of VirtualMachine src/web from src/web-net to dst/web-net',
            'Mapping namespace reference spec.dataVolumeTemplates[1].spec.source.pvc.namespace of VirtualMachine src/web from src to dst',
            'Mapping namespace reference spec.dataVolumeTemplates[2].spec.sourceRef.namespace of VirtualMachine src/web from src to dst',
        ]);
    });

    it.each([
        [
            'an unknown identity-policy',
            { [KNOB.identityPolicy]: 'fresh' },
            'Restore label velero.kubevirt.io/identity-policy has invalid value "fresh": allowed values are auto, keep',
        ],
        [
            'identity-policy=keep with clear-mac-address',
            { [KNOB.identityPolicy]: 'keep', [KNOB.clearMacAddress]: '' },
            'Restore label velero.kubevirt.io/identity-policy=keep contradicts velero.kubevirt.io/clear-mac-address: remove one of them or set it to "false"',
        ],
    ])('Contradictory or malformed knobs (%s) fail the VM with a configuration error', async (_name, labels, detail) => {
        const error = await runError(vmRestoreAction, vm('web'), restoreWith({ labels }));
        expect(error.reason).toBe('InvalidConfig');
        expect(error.detail).toBe(detail);
    });
});
