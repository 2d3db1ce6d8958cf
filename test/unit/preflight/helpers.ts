/** Helpers for the preflight tests: worlds of objects, Backup/Restore objects, an in-memory tarball. */
import { gzipSync } from 'node:zlib';
import { StaticCluster } from '../../support/static-cluster';
import type { KubeObject } from '../../../src/kube/object';
import type { Backup, BackupSpec, Restore, RestoreSpec } from '../../../src/kube/velero';
import { BackupContents } from '../../../src/preflight/tarball';
import { loadFixtures } from '../fixtures';
import { deepClone } from '../../../src/kube/json';

export function backupOf(spec: BackupSpec = {}, labels: Record<string, string> = {}): Backup {
    return { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'pf', namespace: 'velero', labels }, spec };
}

export function restoreOf(spec: RestoreSpec = {}, labels: Record<string, string> = {}): Restore {
    return { apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name: 'pf', namespace: 'velero', labels }, spec };
}

export function fixtureObjects(...files: string[]): KubeObject[] {
    return files.flatMap((f) => loadFixtures(f)).map((o) => deepClone(o));
}

export function ns(name: string): KubeObject {
    return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function cluster(objects: readonly KubeObject[]): StaticCluster {
    return new StaticCluster(objects);
}

/** Velero's item path of an object in a backup tarball. */
export function itemPath(obj: KubeObject): string {
    const group = (obj.apiVersion ?? '').includes('/') ? (obj.apiVersion as string).split('/')[0] : '';
    const plural: Record<string, string> = {
        VirtualMachine: 'virtualmachines',
        VirtualMachineInstance: 'virtualmachineinstances',
        DataVolume: 'datavolumes',
        PersistentVolumeClaim: 'persistentvolumeclaims',
        Pod: 'pods',
        Secret: 'secrets',
        ConfigMap: 'configmaps',
        NetworkAttachmentDefinition: 'network-attachment-definitions',
    };
    const resource = `${plural[obj.kind ?? ''] ?? `${(obj.kind ?? '').toLowerCase()}s`}${group ? `.${group}` : ''}`;
    const namespace = obj.metadata?.namespace;
    return namespace ? `resources/${resource}/namespaces/${namespace}/${obj.metadata?.name}.json` : `resources/${resource}/cluster/${obj.metadata?.name}.json`;
}

export function contentsOf(objects: readonly KubeObject[]): BackupContents {
    return new BackupContents(new Map(objects.map((o) => [itemPath(o), Buffer.from(JSON.stringify(o))])));
}

/** A minimal USTAR writer for tests (regular files, symlinks, raw names). */
export interface TarEntry {
    name: string;
    data?: Buffer | string;
    type?: '0' | '2' | '5' | 'x';
    /** Overrides the size field (for truncated or lying headers). */
    size?: number;
    badChecksum?: boolean;
}

export function tar(entries: readonly TarEntry[]): Buffer {
    const blocks: Buffer[] = [];
    for (const e of entries) {
        const data = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data ?? '');
        const h = Buffer.alloc(512);
        h.write(e.name.slice(0, 100), 0, 'utf8');
        h.write('0000644\0', 100);
        h.write('0000000\0', 108);
        h.write('0000000\0', 116);
        h.write(`${(e.size ?? data.length).toString(8).padStart(11, '0')}\0`, 124);
        h.write('00000000000\0', 136);
        h.write(e.type ?? '0', 156);
        h.write('ustar\0', 257);
        h.write('00', 263);
        h.fill(0x20, 148, 156);
        let sum = 0;
        for (const b of h) sum += b;
        h.write(`${(e.badChecksum ? sum + 1 : sum).toString(8).padStart(6, '0')}\0 `, 148);
        blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
    blocks.push(Buffer.alloc(1024));
    return Buffer.concat(blocks);
}

export function tarGz(entries: readonly TarEntry[]): Buffer {
    return gzipSync(tar(entries));
}
