/** One case per edge of the VMI-spec graph, and one per absence (fixtures: graph/edges.yaml). */
import { vmiBackupGraph, vmiRestoreGraph } from '../../../src/graph';
import { EMPTY_VIEW, keys, scenario } from './helpers';

const NS = 'kvp-graph';
const DV = (n: string): string => `datavolumes.cdi.kubevirt.io/${NS}/${n}`;
const PVC = (n: string): string => `persistentvolumeclaims/${NS}/${n}`;
const CM = (n: string): string => `configmaps/${NS}/${n}`;
const SECRET = (n: string): string => `secrets/${NS}/${n}`;
const SA = (n: string): string => `serviceaccounts/${NS}/${n}`;
const NAD = (n: string): string => `network-attachment-definitions.k8s.cni.cncf.io/${NS}/${n}`;

const s = scenario('edges.yaml');

describe('VMI-spec graph edges', () => {
    it.each([
        ['dataVolume volume → DataVolume, then its PVC', 'vmi-datavolume', [DV('dv-disk'), PVC('dv-disk')]],
        ['persistentVolumeClaim volume → PVC', 'vmi-pvc', [PVC('plain-pvc')]],
        ['persistentVolumeClaim volume → PVC, then the DataVolume owning it', 'vmi-pvc-owned-by-dv', [PVC('imported-disk'), DV('imported-disk-dv')]],
        ['PVC owned by a non-CDI "DataVolume" kind → no DataVolume edge', 'vmi-pvc-foreign-owner', [PVC('foreign-owned-pvc')]],
        ['memoryDump volume → PVC', 'vmi-memorydump', [PVC('dump-pvc')]],
        ['configMap volume → ConfigMap', 'vmi-configmap', [CM('app-config')]],
        ['secret volume → Secret', 'vmi-secret', [SECRET('app-secret')]],
        ['serviceAccount volume → ServiceAccount', 'vmi-serviceaccount', [SA('app-sa')]],
        ['cloudInitNoCloud → user-data secret, then network-data secret', 'vmi-cloudinit-nocloud', [SECRET('nocloud-userdata'), SECRET('nocloud-networkdata')]],
        ['cloudInitConfigDrive → user-data secret, then network-data secret', 'vmi-cloudinit-configdrive', [SECRET('configdrive-userdata'), SECRET('configdrive-networkdata')]],
        ['inline cloud-init → nothing', 'vmi-cloudinit-inline', []],
        ['sysprep configMap → ConfigMap', 'vmi-sysprep-configmap', [CM('unattend-cm')]],
        ['sysprep secret → Secret', 'vmi-sysprep-secret', [SECRET('unattend-secret')]],
        ['accessCredentials sshPublicKey → Secret', 'vmi-ssh-key', [SECRET('ssh-key-secret')]],
        ['accessCredentials userPassword → Secret', 'vmi-user-password', [SECRET('password-secret')]],
        ['both credential kinds on one entry → both secrets', 'vmi-both-credentials', [SECRET('ssh-key-secret'), SECRET('password-secret')]],
        [
            'persistent TPM → every PVC labelled persistent-state-for=<name>, by name',
            'vmi-tpm-labelled',
            [PVC('persistent-state-for-vmi-tpm-labelled-abc12'), PVC('persistent-state-for-vmi-tpm-labelled-zz9kq')],
        ],
        ['persistent TPM without labelled PVC → legacy name persistent-state-for-<name>', 'vmi-tpm-legacy', [PVC('persistent-state-for-vmi-tpm-legacy')]],
        ['persistent EFI → backend PVC (legacy name)', 'vmi-efi-persistent', [PVC('persistent-state-for-vmi-efi-persistent')]],
        ['non-persistent TPM → no backend PVC', 'vmi-tpm-ephemeral', []],
        ['multus networkName without prefix → NetworkAttachmentDefinition; pod network → nothing', 'vmi-nad-plain', [NAD('bridge-net')]],
        ['multus networkName with own-namespace prefix → NetworkAttachmentDefinition', 'vmi-nad-prefixed', [NAD('bridge-net')]],
        ['multus networkName in another namespace → nothing (never cross-namespace)', 'vmi-nad-cross-namespace', []],
        ['default multus network → NetworkAttachmentDefinition', 'vmi-nad-default', [NAD('primary-net')]],
        ['containerDisk, emptyDisk, hostDisk, ephemeral, downwardAPI, downwardMetrics, unknown → nothing', 'vmi-no-related-volumes', []],
        ['the same object twice → listed once, first position kept', 'vmi-duplicates', [PVC('plain-pvc'), SECRET('app-secret')]],
    ])('%s', (_name, vmiName, expected) => {
        expect(keys(vmiBackupGraph(s.item(`VirtualMachineInstance/${vmiName}`), s.view))).toEqual(expected);
    });
});

describe('VMI-spec graph depends on the view only for PVC facts', () => {
    it.each([
        ['owning DataVolume unknown without the PVC in the view', 'vmi-pvc-owned-by-dv', [PVC('imported-disk')]],
        ['labelled backend PVC unknown → legacy name', 'vmi-tpm-labelled', [PVC('persistent-state-for-vmi-tpm-labelled')]],
        ['NADs need no view', 'vmi-nad-prefixed', [NAD('bridge-net')]],
    ])('%s', (_name, vmiName, expected) => {
        expect(keys(vmiBackupGraph(s.item(`VirtualMachineInstance/${vmiName}`), EMPTY_VIEW))).toEqual(expected);
    });
});

describe('VMI restore graph: the same spec edges, never pods', () => {
    it.each([
        ['vmi-pvc-owned-by-dv', [PVC('imported-disk'), DV('imported-disk-dv')]],
        ['vmi-sysprep-secret', [SECRET('unattend-secret')]],
        ['vmi-both-credentials', [SECRET('ssh-key-secret'), SECRET('password-secret')]],
        ['vmi-tpm-labelled', [PVC('persistent-state-for-vmi-tpm-labelled-abc12'), PVC('persistent-state-for-vmi-tpm-labelled-zz9kq')]],
        ['vmi-nad-plain', [NAD('bridge-net')]],
    ])('%s', (vmiName, expected) => {
        expect(keys(vmiRestoreGraph(s.item(`VirtualMachineInstance/${vmiName}`), s.view))).toEqual(expected);
    });
});
