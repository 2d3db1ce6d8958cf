/**
 * A small reader for the gzip-compressed tar files Velero writes (Go's archive/tar: USTAR headers, PAX
 * extended headers for long names, GNU long-name entries tolerated). Regular files only; no host tools.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const BLOCK = 512;

function field(buf: Buffer, off: number, len: number): string {
    const raw = buf.subarray(off, off + len);
    const nul = raw.indexOf(0);
    return raw.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

function octal(buf: Buffer, off: number, len: number): number {
    const s = field(buf, off, len).trim();
    return s === '' ? 0 : parseInt(s, 8);
}

/** PAX records: "<len> <key>=<value>\n" repeated. */
function paxRecords(data: Buffer): Map<string, string> {
    const out = new Map<string, string>();
    let pos = 0;
    while (pos < data.length) {
        const sp = data.indexOf(0x20, pos);
        if (sp < 0) break;
        const len = parseInt(data.subarray(pos, sp).toString('ascii'), 10);
        if (!Number.isFinite(len) || len <= 0) break;
        const rec = data.subarray(sp + 1, pos + len - 1).toString('utf8'); // without the trailing newline
        const eq = rec.indexOf('=');
        if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
        pos += len;
    }
    return out;
}

/** Every regular file of an uncompressed tar stream: path -> content. */
export function untar(tar: Buffer): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    let pos = 0;
    let nextPath: string | undefined;
    while (pos + BLOCK <= tar.length) {
        const h = tar.subarray(pos, pos + BLOCK);
        if (h.every((b) => b === 0)) break; // end-of-archive marker
        const size = octal(h, 124, 12);
        const type = String.fromCharCode(h[156] ?? 0x30);
        const dataStart = pos + BLOCK;
        const data = tar.subarray(dataStart, dataStart + size);
        pos = dataStart + Math.ceil(size / BLOCK) * BLOCK;
        if (type === 'x') {
            nextPath = paxRecords(data).get('path') ?? nextPath;
            continue;
        }
        if (type === 'L') {
            nextPath = field(data, 0, data.length);
            continue;
        }
        if (type === 'g') continue; // global PAX header
        let path = nextPath;
        nextPath = undefined;
        if (path === undefined) {
            const name = field(h, 0, 100);
            const magic = field(h, 257, 6);
            const prefix = magic.startsWith('ustar') ? field(h, 345, 155) : '';
            path = prefix === '' ? name : `${prefix}/${name}`;
        }
        if (type === '0' || type === '\0' || type === '7') files.set(path.replace(/^\.\//, ''), Buffer.from(data));
    }
    return files;
}

/** Files of a .tar.gz file. */
export function readTarGz(path: string): Map<string, Buffer> {
    return untar(gunzipSync(readFileSync(path)));
}
