// Reads and patches the few parts of a 64-bit little-endian ELF file the build and the packaging tests
// need, without system tools (no patchelf, no file): the program headers, the dynamic section, and a
// DT_RUNPATH added in place, and segments moved off 2 MiB alignment in the file (no huge-page mappings).
// Usage: node scripts/elf.mjs set-runpath <file> <runpath>
//        node scripts/elf.mjs unalign <file>
//        node scripts/elf.mjs describe <file>
import { readFileSync, writeFileSync } from 'node:fs';

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const PF_W = 2;
const PAGE = 0x1000;
/** The size of a PMD (huge) page on x86-64 and arm64 with 4 KiB pages. */
const HUGE_PAGE = 0x200000;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

/** The program headers and dynamic entries of an ELF64 LE file (throws on anything else). */
export function parseElf(buf) {
    if (buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
    if (buf[4] !== 2 || buf[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
    const phoff = Number(buf.readBigUInt64LE(0x20));
    const shoff = Number(buf.readBigUInt64LE(0x28));
    const phentsize = buf.readUInt16LE(0x36);
    const phnum = buf.readUInt16LE(0x38);
    const shentsize = buf.readUInt16LE(0x3a);
    const shnum = buf.readUInt16LE(0x3c);
    const segments = [];
    for (let i = 0; i < phnum; i++) {
        const at = phoff + i * phentsize;
        segments.push({
            at,
            type: buf.readUInt32LE(at),
            flags: buf.readUInt32LE(at + 4),
            offset: Number(buf.readBigUInt64LE(at + 8)),
            vaddr: Number(buf.readBigUInt64LE(at + 16)),
            filesz: Number(buf.readBigUInt64LE(at + 32)),
            memsz: Number(buf.readBigUInt64LE(at + 40)),
        });
    }
    const sections = [];
    for (let i = 0; i < shnum; i++) {
        const at = shoff + i * shentsize;
        const type = buf.readUInt32LE(at + 4);
        // SHT_NOBITS (8) takes no room in the file.
        if (type !== 8) sections.push({ type, offset: Number(buf.readBigUInt64LE(at + 24)), size: Number(buf.readBigUInt64LE(at + 32)) });
    }
    const dynamicSegment = segments.find((s) => s.type === PT_DYNAMIC);
    const dynamic = [];
    if (dynamicSegment) {
        // The .dynamic section (SHT_DYNAMIC, 6) may be longer than the segment: postject's rewrite trims the
        // segment to the live entries and leaves the linker's spare DT_NULL slots in the section.
        const section = sections.find((s) => s.type === 6 && s.offset === dynamicSegment.offset);
        const end = dynamicSegment.offset + Math.max(dynamicSegment.filesz, section?.size ?? 0);
        for (let at = dynamicSegment.offset; at + 16 <= end; at += 16) {
            dynamic.push({ at, tag: buf.readBigInt64LE(at), value: buf.readBigUInt64LE(at + 8) });
        }
    }
    return { segments, sections, dynamic, dynamicSegment, interp: segments.some((s) => s.type === PT_INTERP) };
}

/** Maps a virtual address to its file offset through the PT_LOAD segments. */
function fileOffset(elf, vaddr) {
    const load = elf.segments.find((s) => s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz);
    if (!load) throw new Error(`address 0x${vaddr.toString(16)} is in no loaded segment`);
    return load.offset + (vaddr - load.vaddr);
}

function readString(buf, at) {
    return buf.toString('latin1', at, buf.indexOf(0, at));
}

/** What a reader of the file wants to know: linked statically or not, its libraries and its RUNPATH. */
export function describeElf(buf) {
    const elf = parseElf(buf);
    const strtab = elf.dynamic.find((d) => d.tag === DT_STRTAB);
    const str = (d) => readString(buf, fileOffset(elf, Number((strtab.value + d.value) & 0xffffffffffffffffn)));
    const live = [];
    for (const d of elf.dynamic) {
        if (d.tag === DT_NULL) break;
        live.push(d);
    }
    return {
        staticallyLinked: !elf.interp && live.length === 0,
        needed: live.filter((d) => d.tag === DT_NEEDED).map(str),
        runpath: live.filter((d) => d.tag === DT_RUNPATH || d.tag === DT_RPATH).map(str),
    };
}

/**
 * Gives the executable a DT_RUNPATH without moving anything: the string goes into the zero padding after
 * a read-only PT_LOAD segment (which grows by its length), the entry into a spare DT_NULL slot at the end
 * of the dynamic section (linkers leave some; the last DT_NULL stays). Both exist in the official Node
 * binary, also after postject injected the SEA blob. Fails with a clear message when they do not.
 */
export function setRunpath(buf, runpath) {
    const elf = parseElf(buf);
    const value = Buffer.from(`${runpath}\0`, 'latin1');
    const existing = describeElf(buf).runpath;
    if (existing.length > 0) {
        if (existing.length === 1 && existing[0] === runpath) return buf;
        throw new Error(`the file already has a RUNPATH/RPATH (${existing.join(', ')})`);
    }
    const firstNull = elf.dynamic.findIndex((d) => d.tag === DT_NULL);
    if (firstNull < 0 || firstNull + 1 >= elf.dynamic.length || elf.dynamic[firstNull + 1].tag !== DT_NULL) throw new Error('no spare slot in the dynamic section');
    const strtab = elf.dynamic.find((d) => d.tag === DT_STRTAB);
    if (!strtab) throw new Error('no DT_STRTAB');
    const loads = elf.segments.filter((s) => s.type === PT_LOAD);
    // File ranges in use: every segment's and every section's bytes, and the headers.
    const used = [...elf.segments.map((s) => [s.offset, s.offset + s.filesz]), ...elf.sections.map((s) => [s.offset, s.offset + s.size])];
    const free = (from, to) => used.every(([a, b]) => b <= from || a >= to || a === b) && buf.subarray(from, to).every((byte) => byte === 0);
    const host = loads.find((s) => {
        if ((s.flags & PF_W) !== 0 || s.filesz !== s.memsz) return false;
        const [off, va] = [s.offset + s.filesz, s.vaddr + s.memsz];
        if (off + value.length > buf.length) return false;
        const vaFree = loads.every((o) => o === s || o.vaddr + o.memsz <= va || o.vaddr >= va + value.length);
        return vaFree && free(off, off + value.length);
    });
    if (!host) throw new Error('no zero padding after a read-only segment to hold the RUNPATH string');
    const at = host.offset + host.filesz;
    const vaddr = BigInt(host.vaddr + host.memsz);
    value.copy(buf, at);
    buf.writeBigUInt64LE(BigInt(host.filesz + value.length), host.at + 32);
    buf.writeBigUInt64LE(BigInt(host.memsz + value.length), host.at + 40);
    const slot = elf.dynamic[firstNull];
    buf.writeBigInt64LE(DT_RUNPATH, slot.at);
    buf.writeBigUInt64LE((vaddr - strtab.value) & 0xffffffffffffffffn, slot.at + 8);
    // The segment must still end with a DT_NULL.
    const size = BigInt((firstNull + 2) * 16);
    const segment = elf.dynamicSegment;
    if (size > BigInt(segment.filesz)) {
        buf.writeBigUInt64LE(size, segment.at + 32);
        buf.writeBigUInt64LE(size, segment.at + 40);
    }
    return buf;
}

/**
 * The loadable segments the kernel may map with huge (PMD) pages: those whose file offset and address
 * agree modulo 2 MiB and that span a 2 MiB-aligned range. When the page cache holds the file in large
 * folios (a file just written or copied, on a filesystem with large folios such as ext4 on Linux 6.x),
 * the kernel maps such a range with one 2 MiB page even if the program touches a few bytes of it, and
 * the whole 2 MiB counts in the process's RSS (FilePmdMapped in smaps_rollup).
 */
export function hugeMappable(buf) {
    const elf = parseElf(buf);
    return elf.segments
        .filter((s) => s.type === PT_LOAD && (s.vaddr - s.offset) % HUGE_PAGE === 0)
        .filter((s) => Math.ceil(s.vaddr / HUGE_PAGE) * HUGE_PAGE + HUGE_PAGE <= s.vaddr + s.filesz)
        .map((s) => ({ offset: s.offset, vaddr: s.vaddr, size: s.filesz }));
}

/**
 * Moves every loadable segment but the first (the one holding the ELF header, at offset 0) one page
 * further into the file, so that no file offset of them agrees with its address modulo 2 MiB: the kernel
 * can then map them only with 4 KiB pages, whatever the page cache holds (see hugeMappable). Addresses do
 * not change; the segments' p_align drops to the page size (an offset and an address must agree modulo
 * p_align, which they still do modulo 4 KiB). The page is inserted between the first segment and the
 * next, so every offset after it (program and section headers, sections, segments) moves by one page.
 * Returns a new buffer; a file already unaligned is returned as it is.
 */
export function unalignSegments(buf) {
    const elf = parseElf(buf);
    const loads = elf.segments.filter((s) => s.type === PT_LOAD);
    const later = loads.filter((s) => s.offset > 0);
    if (later.every((s) => (s.vaddr - s.offset) % HUGE_PAGE !== 0)) return buf;
    const at = Math.min(...later.map((s) => s.offset));
    if (at % PAGE !== 0) throw new Error(`the second loadable segment starts at 0x${at.toString(16)}, not on a page boundary`);
    const phoff = Number(buf.readBigUInt64LE(0x20));
    const shoff = Number(buf.readBigUInt64LE(0x28));
    const phentsize = buf.readUInt16LE(0x36);
    const phnum = buf.readUInt16LE(0x38);
    const shentsize = buf.readUInt16LE(0x3a);
    const shnum = buf.readUInt16LE(0x3c);
    const straddles = (from, size) => from < at && from + size > at;
    if (straddles(phoff, phentsize * phnum) || straddles(shoff, shentsize * shnum)) throw new Error('a header table spans the place of the inserted page');
    for (const s of elf.segments) if (straddles(s.offset, s.filesz)) throw new Error(`segment at 0x${s.offset.toString(16)} spans the place of the inserted page`);
    for (const s of elf.sections) if (straddles(s.offset, s.size)) throw new Error(`section at 0x${s.offset.toString(16)} spans the place of the inserted page`);
    const out = Buffer.concat([buf.subarray(0, at), Buffer.alloc(PAGE), buf.subarray(at)]);
    // Positions of header fields in `out`: a table after the insertion point moved with it.
    const moved = (offset) => (offset >= at ? offset + PAGE : offset);
    const newPhoff = moved(phoff);
    const newShoff = moved(shoff);
    out.writeBigUInt64LE(BigInt(newPhoff), 0x20);
    if (shnum > 0) out.writeBigUInt64LE(BigInt(newShoff), 0x28);
    for (let i = 0; i < phnum; i++) {
        const h = newPhoff + i * phentsize;
        const type = out.readUInt32LE(h);
        const offset = Number(out.readBigUInt64LE(h + 8));
        const filesz = Number(out.readBigUInt64LE(h + 32));
        // Empty entries at offset 0 (PT_GNU_STACK, PT_GNU_PROPERTY without bytes) stay where they are.
        if (offset >= at && !(offset === 0 && filesz === 0)) out.writeBigUInt64LE(BigInt(offset + PAGE), h + 8);
        if (type === PT_LOAD && offset >= at && out.readBigUInt64LE(h + 48) > BigInt(PAGE)) out.writeBigUInt64LE(BigInt(PAGE), h + 48);
    }
    for (let i = 0; i < shnum; i++) {
        const h = newShoff + i * shentsize;
        const offset = Number(out.readBigUInt64LE(h + 24));
        if (offset >= at) out.writeBigUInt64LE(BigInt(offset + PAGE), h + 24);
    }
    return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const [command, file, runpath] = process.argv.slice(2);
    if (command === 'set-runpath' && file && runpath !== undefined) {
        writeFileSync(file, setRunpath(readFileSync(file), runpath));
    } else if (command === 'unalign' && file) {
        writeFileSync(file, unalignSegments(readFileSync(file)));
    } else if (command === 'describe' && file) {
        const buf = readFileSync(file);
        process.stdout.write(`${JSON.stringify({ ...describeElf(buf), hugeMappable: hugeMappable(buf) })}\n`);
    } else {
        process.stderr.write('usage: node scripts/elf.mjs set-runpath <file> <runpath> | unalign <file> | describe <file>\n');
        process.exit(2);
    }
}
