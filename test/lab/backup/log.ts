/**
 * Reading a Velero 1.18 backup log (logrus text format: `time="…" level=info msg="…" key=value key="quoted"`).
 *
 * What Velero logs, and where (github.com/vmware-tanzu/velero@v1.18.1):
 *  - pkg/backup/itemblock.go:76 and backup.go:778 — `adding <group-resource> <ns>/<name> to ItemBlock`, one line
 *    per item put into the ItemBlock being built (the first for collected items, the second for related items
 *    an ItemBlockAction named that Velero had to fetch from the cluster);
 *  - backup.go:612 — `Backing Up Item Block including <gr> <ns>/<name> (<n> items in block)`, when the block is
 *    handed to the worker. Both come from the one goroutine that builds blocks, so "adding" lines up to the
 *    next "Backing Up Item Block" line are exactly one block;
 *  - pkg/podexec/pod_command_executor.go — `running exec hook` (fields hookPhase, hookCommand) and
 *    internal/hook/item_hook_handler.go — `Error executing hook`;
 *  - pkg/backup/item_backupper.go:186 — `Backing up item` (fields name, namespace, resource), once per item
 *    actually written to the tarball.
 * Hooks and item backups run in the ItemBlock worker (one worker by default), so their order in the log is the
 * order in which they happened.
 */

export interface LogLine {
    /** Index of the line in the log. */
    index: number;
    level: string;
    msg: string;
    fields: Record<string, string>;
    raw: string;
}

/** Parses one logrus text line into its key/value fields (quoted values unescaped). */
export function parseLine(raw: string, index = 0): LogLine {
    const fields: Record<string, string> = {};
    const re = /([A-Za-z0-9_.]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
    for (let m = re.exec(raw); m !== null; m = re.exec(raw)) {
        const key = m[1] as string;
        const value = m[2] as string;
        fields[key] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
    }
    return { index, level: fields['level'] ?? '', msg: fields['msg'] ?? '', fields, raw };
}

export function parseLog(text: string): LogLine[] {
    return text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l, i) => parseLine(l, i));
}

/** "<group-resource> <ns>/<name>", the way Velero names an item in its ItemBlock lines. */
export type ItemKey = string;

export interface ItemBlock {
    /** The item whose processing opened the block (named in the "Backing Up Item Block" line). */
    opener: ItemKey;
    /** Every item added, in order. */
    items: ItemKey[];
}

const ADDING = /^adding (\S+) (\S*\/\S+) to ItemBlock$/;
const BLOCK = /^Backing Up Item Block including (\S+) (\S*\/\S+) \((\d+) items in block\)$/;

/** The ItemBlocks of a backup, in the order Velero built them. Throws when a block's count disagrees. */
export function itemBlocks(lines: readonly LogLine[]): ItemBlock[] {
    const blocks: ItemBlock[] = [];
    let current: ItemKey[] = [];
    for (const l of lines) {
        const add = ADDING.exec(l.msg);
        if (add) {
            current.push(`${add[1] as string} ${add[2] as string}`);
            continue;
        }
        const done = BLOCK.exec(l.msg);
        if (done) {
            const count = Number(done[3]);
            if (count !== current.length) {
                throw new Error(`ItemBlock of ${done[1] as string} ${done[2] as string}: log says ${count} items, ${current.length} "adding" lines: ${current.join(', ')}`);
            }
            blocks.push({ opener: `${done[1] as string} ${done[2] as string}`, items: current });
            current = [];
        }
    }
    return blocks;
}

/** The block holding an item, or undefined. */
export function blockOf(blocks: readonly ItemBlock[], item: ItemKey): ItemBlock | undefined {
    return blocks.find((b) => b.items.includes(item));
}

/** Index of the `Backing up item` line of one item (resource as Velero prints it), or -1. */
export function backedUpAt(lines: readonly LogLine[], resource: string, namespace: string, name: string): number {
    const hits = lines.filter((l) => l.msg === 'Backing up item' && l.fields['resource'] === resource && l.fields['namespace'] === namespace && l.fields['name'] === name);
    if (hits.length > 1) throw new Error(`${resource} ${namespace}/${name} backed up ${hits.length} times`);
    return hits[0]?.index ?? -1;
}

export interface HookAttempt {
    phase: string;
    /** The --name argument of the virt-freezer command (the VM). */
    vm: string;
    /** --freeze / --unfreeze. */
    action: string;
    /** Index of the "running exec hook" line. */
    index: number;
    /** The error of the "Error executing hook" line that follows it in the same phase, if any. */
    error?: string;
}

/** Every exec hook Velero ran, with the error that followed each (the next "Error executing hook" line). */
export function hookAttempts(lines: readonly LogLine[]): HookAttempt[] {
    const out: HookAttempt[] = [];
    for (const l of lines) {
        if (l.msg === 'running exec hook') {
            const cmd = l.fields['hookCommand'] ?? '';
            const name = /--name (\S+)/.exec(cmd)?.[1] ?? '';
            const action = /(--freeze|--unfreeze)/.exec(cmd)?.[1] ?? '';
            out.push({ phase: l.fields['hookPhase'] ?? '', vm: name.replace(/\]$/, ''), action, index: l.index });
        } else if (l.msg === 'Error executing hook') {
            const last = out[out.length - 1];
            if (last === undefined || last.error !== undefined || last.phase !== l.fields['hookPhase']) {
                throw new Error(`"Error executing hook" without a matching attempt: ${l.raw}`);
            }
            last.error = l.fields['error'] ?? '';
        }
    }
    return out;
}

/** The lines at level error. */
export function errorLines(lines: readonly LogLine[]): LogLine[] {
    return lines.filter((l) => l.level === 'error');
}
