/**
 * Reads the items of a Velero backup tarball (`velero backup download NAME` writes NAME-data.tar.gz:
 * gzip, tar as Go's archive/tar writes it, items at resources/<group-resource>/namespaces/<ns>/<name>.json
 * and resources/<group-resource>/cluster/<name>.json).
 *
 * The file is untrusted input: it is never extracted to disk, and
 *  - the compressed file, the decompressed stream, each entry and the number of entries have caps;
 *  - only regular files are read; symlinks, hard links, devices and directories are ignored;
 *  - a path that is absolute, has a "." / ".." / empty segment, a NUL or a backslash is rejected (it
 *    could otherwise alias another item's key);
 *  - a malformed header (bad checksum, size not octal) stops the read with an error naming the offset.
 * Items are parsed as JSON objects only when asked for.
 */
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { isRecord, type KubeObject } from '../kube/object';

export interface TarballLimits {
    /** Compressed file size. */
    maxFileBytes: number;
    /** Decompressed tar stream. */
    maxTarBytes: number;
    /** One entry. */
    maxEntryBytes: number;
    maxEntries: number;
}

export const DEFAULT_LIMITS: TarballLimits = {
    maxFileBytes: 1024 * 1024 * 1024,
    maxTarBytes: 4 * 1024 * 1024 * 1024 - 1,
    maxEntryBytes: 64 * 1024 * 1024,
    maxEntries: 1_000_000,
};

export class TarballError extends Error {
    constructor(message: string) {
        super(message);
        this.name = 'TarballError';
    }
}

const BLOCK = 512;

function text(buf: Buffer, off: number, len: number): string {
    const raw = buf.subarray(off, off + len);
    const nul = raw.indexOf(0);
    return raw.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

function octal(buf: Buffer, off: number, len: number, what: string, at: number): number {
    const s = text(buf, off, len).trim();
    if (s === '') return 0;
    if (!/^[0-7]+$/.test(s)) throw new TarballError(`malformed tar header at offset ${at}: ${what} is not an octal number`);
    return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
    const stored = text(h, 148, 8).trim();
    if (!/^[0-7]+$/.test(stored)) return false;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
    return sum === parseInt(stored, 8);
}

function paxPath(data: Buffer): string | undefined {
    let pos = 0;
    let path: string | undefined;
    while (pos < data.length) {
        const sp = data.indexOf(0x20, pos);
        if (sp < 0) break;
        const len = parseInt(data.subarray(pos, sp).toString('ascii'), 10);
        if (!Number.isFinite(len) || len <= sp - pos || pos + len > data.length) break;
        const rec = data.subarray(sp + 1, pos + len - 1).toString('utf8');
        const eq = rec.indexOf('=');
        if (eq > 0 && rec.slice(0, eq) === 'path') path = rec.slice(eq + 1);
        pos += len;
    }
    return path;
}

/** A safe relative path ("a/b/c.json"), or undefined. A leading "./" is tolerated. */
export function safePath(raw: string): string | undefined {
    const path = raw.startsWith('./') ? raw.slice(2) : raw;
    if (path === '' || path.startsWith('/') || path.includes('\0') || path.includes('\\')) return undefined;
    const segments = path.split('/');
    if (segments.some((s) => s === '' || s === '.' || s === '..')) return undefined;
    return path;
}

/** Regular files of an uncompressed tar stream: path → bytes. Unsafe paths are reported in `rejected`. */
// eslint-disable-next-line complexity -- one header at a time, each unsafe case (path, link, size, count) rejected where it is read
export function untarSafe(tar: Buffer, limits: TarballLimits = DEFAULT_LIMITS): { files: Map<string, Buffer>; rejected: string[] } {
    const files = new Map<string, Buffer>();
    const rejected: string[] = [];
    let pos = 0;
    let entries = 0;
    let nextPath: string | undefined;
    while (pos + BLOCK <= tar.length) {
        const h = tar.subarray(pos, pos + BLOCK);
        if (h.every((b) => b === 0)) break;
        if (!checksumOk(h)) throw new TarballError(`malformed tar header at offset ${pos}: bad checksum`);
        if (++entries > limits.maxEntries) throw new TarballError(`more than ${limits.maxEntries} entries`);
        const size = octal(h, 124, 12, 'size', pos);
        const type = String.fromCharCode(h[156] ?? 0x30);
        const dataStart = pos + BLOCK;
        if (dataStart + size > tar.length) throw new TarballError(`truncated tar: entry at offset ${pos} claims ${size} bytes`);
        const tooBig = size > limits.maxEntryBytes;
        const data = tar.subarray(dataStart, dataStart + size);
        pos = dataStart + Math.ceil(size / BLOCK) * BLOCK;
        if (type === 'x' || type === 'L') {
            if (tooBig) throw new TarballError(`long-name header at offset ${dataStart - BLOCK} is ${size} bytes`);
            nextPath = type === 'x' ? (paxPath(data) ?? nextPath) : text(data, 0, data.length);
            continue;
        }
        if (type === 'g') continue;
        let name = nextPath;
        nextPath = undefined;
        if (name === undefined) {
            const short = text(h, 0, 100);
            const prefix = text(h, 257, 6).startsWith('ustar') ? text(h, 345, 155) : '';
            name = prefix === '' ? short : `${prefix}/${short}`;
        }
        if (!(type === '0' || type === '\0' || type === '7')) continue; // links, devices, directories, FIFOs
        const path = safePath(name);
        if (path === undefined) {
            rejected.push(name.slice(0, 200));
            continue;
        }
        if (tooBig) {
            rejected.push(`${path} (${size} bytes, over ${limits.maxEntryBytes})`);
            continue;
        }
        files.set(path, Buffer.from(data));
    }
    return { files, rejected };
}

/** One backed-up item's place in the tarball. */
export interface ItemEntry {
    /** "virtualmachines.kubevirt.io", "persistentvolumeclaims". */
    resource: string;
    /** "" for cluster-scoped items. */
    namespace: string;
    name: string;
    path: string;
}

const ITEM_PATH = /^resources\/([^/]+)\/(?:namespaces\/([^/]+)|cluster)\/([^/]+)\.json$/;

/** The items of a backup, from the tar's file list (the `<version>-preferredversion` copies are skipped). */
export class BackupContents {
    private readonly entries = new Map<string, ItemEntry>();
    private readonly parsed = new Map<string, KubeObject | undefined>();

    constructor(
        private readonly files: ReadonlyMap<string, Buffer>,
        readonly rejected: readonly string[] = [],
    ) {
        for (const path of files.keys()) {
            const m = ITEM_PATH.exec(path);
            if (!m) continue;
            const entry = { resource: m[1] as string, namespace: m[2] ?? '', name: m[3] as string, path };
            this.entries.set(`${entry.resource}|${entry.namespace}|${entry.name}`, entry);
        }
    }

    /** Item entries of one resource (every namespace), sorted by namespace and name. */
    list(resource: string): ItemEntry[] {
        return [...this.entries.values()].filter((e) => e.resource === resource).sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    }

    has(resource: string, namespace: string, name: string): boolean {
        return this.entries.has(`${resource}|${namespace}|${name}`);
    }

    /** The item, or undefined when absent or not a JSON object. */
    get(resource: string, namespace: string, name: string): KubeObject | undefined {
        const entry = this.entries.get(`${resource}|${namespace}|${name}`);
        if (!entry) return undefined;
        if (!this.parsed.has(entry.path)) {
            let value: unknown;
            try {
                value = JSON.parse((this.files.get(entry.path) as Buffer).toString('utf8'));
            } catch {
                value = undefined;
            }
            this.parsed.set(entry.path, isRecord(value) ? value : undefined);
        }
        return this.parsed.get(entry.path);
    }

    get size(): number {
        return this.entries.size;
    }
}

/** Reads a backup tarball (.tar.gz) within the limits. */
export function readBackupTarball(path: string, limits: TarballLimits = DEFAULT_LIMITS): BackupContents {
    let stat;
    try {
        stat = statSync(path);
    } catch (error) {
        throw new TarballError(`cannot read ${path}: ${(error as Error).message}`);
    }
    if (!stat.isFile()) throw new TarballError(`${path} is not a regular file`);
    if (stat.size > limits.maxFileBytes) throw new TarballError(`${path} is ${stat.size} bytes, over the ${limits.maxFileBytes} byte limit`);
    let tar: Buffer;
    try {
        tar = gunzipSync(readFileSync(path), { maxOutputLength: limits.maxTarBytes });
    } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
            throw new TarballError(`${path} decompresses to more than ${limits.maxTarBytes} bytes`);
        }
        throw new TarballError(`${path} is not a gzip file: ${(error as Error).message}`);
    }
    const { files, rejected } = untarSafe(tar, limits);
    return new BackupContents(files, rejected);
}
