/**
 * Child processes of the lab. Every long-running process (etcd, kube-apiserver, velero server) starts in
 * its own session (detached = setsid), so that one signal to its process group also reaches what it
 * spawns (velero's plugin processes). The process groups are listed in a file of the work directory,
 * which is the registry every lab handle (owner or connectLab() client) appends to, and which stop()
 * and the watchdog read. Short commands (kubectl, velero CLI, openssl) run through run().
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface RunResult {
    stdout: string;
    stderr: string;
    code: number;
}

export interface RunOptions {
    input?: string;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    /** Kill the command after this many milliseconds (default 10 minutes). */
    timeoutMs?: number;
}

/** Runs a command to completion; never throws for a non-zero exit (see runOk). */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, {
            env: opts.env ?? process.env,
            cwd: opts.cwd,
            stdio: ['pipe', 'pipe', 'pipe'],
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (b: Buffer) => out.push(b));
        child.stderr.on('data', (b: Buffer) => err.push(b));
        const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
        child.on('error', (e) => {
            clearTimeout(timer);
            reject(e);
        });
        child.on('close', (code, signal) => {
            clearTimeout(timer);
            resolve({
                stdout: Buffer.concat(out).toString('utf8'),
                stderr: Buffer.concat(err).toString('utf8'),
                code: code ?? (signal !== null ? 128 : 1),
            });
        });
        child.stdin.on('error', () => undefined); // a command that exits without reading its input
        child.stdin.end(opts.input ?? '');
    });
}

/** Runs a command and returns its stdout; throws with the command line and stderr when it fails. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
    const r = await run(cmd, args, opts);
    if (r.code !== 0) {
        const name = cmd.split('/').pop() ?? cmd;
        throw new Error(`${name} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    }
    return r.stdout;
}

/** A free loopback TCP port (the kernel picks it; closed again before it is handed out). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const addr = srv.address();
            srv.close(() => {
                if (addr !== null && typeof addr === 'object') resolve(addr.port);
                else reject(new Error('no port'));
            });
        });
    });
}

/** Distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
    const ports = new Set<number>();
    while (ports.size < n) ports.add(await freePort());
    return [...ports];
}

export interface Daemon {
    name: string;
    pid: number;
    log: string;
}

/**
 * Starts a long-running process in its own session with stdout and stderr appended to `log`, and records
 * its process group in the registry file.
 */
export function startDaemon(registry: string, name: string, cmd: string, args: readonly string[], log: string, env: NodeJS.ProcessEnv = process.env): Daemon {
    const fd = openSync(log, 'a');
    try {
        const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env });
        if (child.pid === undefined) throw new Error(`could not start ${name} (${cmd})`);
        child.unref();
        child.on('error', () => undefined);
        appendFileSync(registry, `${child.pid} ${name}\n`);
        return { name, pid: child.pid, log };
    } finally {
        closeSync(fd);
    }
}

/**
 * True while any process of the group is alive. Zombies do not count: a daemon we spawned stays a zombie
 * until Node reaps it, which never happens while a synchronous exit or signal handler blocks the event
 * loop. Reads /proc (Linux); elsewhere falls back to kill(-pgid, 0).
 */
export function groupAlive(pgid: number): boolean {
    let entries: string[];
    try {
        entries = readdirSync('/proc');
    } catch {
        try {
            process.kill(-pgid, 0);
            return true;
        } catch (e) {
            return (e as NodeJS.ErrnoException).code === 'EPERM';
        }
    }
    for (const name of entries) {
        if (!/^\d+$/.test(name)) continue;
        let stat: string;
        try {
            stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        } catch {
            continue; // exited meanwhile
        }
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses; split after the last ")".
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
    }
    return false;
}

/** True while the process itself is alive (a zombie of ours counts as gone once reaped). */
export function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
    try {
        process.kill(-pgid, sig);
    } catch {
        // already gone
    }
}

/** The process groups listed in the registry, newest first. */
export function registeredGroups(registry: string): Daemon[] {
    if (!existsSync(registry)) return [];
    const out: Daemon[] = [];
    for (const line of readFileSync(registry, 'utf8').split('\n')) {
        const m = /^(\d+) (\S+)$/.exec(line.trim());
        if (m?.[1] !== undefined && m[2] !== undefined) out.push({ pid: Number(m[1]), name: m[2], log: '' });
    }
    return out.reverse();
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
    Atomics.wait(sleeper, 0, 0, ms);
}

/** SIGTERM to a process group, SIGKILL after graceMs. Asynchronous (does not block the event loop). */
export async function stopGroup(pgid: number, graceMs = 15_000): Promise<void> {
    if (!groupAlive(pgid)) return;
    signalGroup(pgid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (groupAlive(pgid)) {
        signalGroup(pgid, 'SIGKILL');
        const killDeadline = Date.now() + 5_000;
        while (groupAlive(pgid) && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 50));
    }
}

/** The same, synchronously (for 'exit' and signal handlers, where no further event-loop turn happens). */
export function stopGroupSync(pgid: number, graceMs = 5_000): void {
    if (!groupAlive(pgid)) return;
    signalGroup(pgid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (groupAlive(pgid) && Date.now() < deadline) sleepSync(50);
    if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
}

/** Stops every registered group (newest first: velero before the apiserver before etcd). */
export async function stopRegistered(registry: string, except: ReadonlySet<number> = new Set()): Promise<void> {
    for (const d of registeredGroups(registry)) if (!except.has(d.pid)) await stopGroup(d.pid);
}

export function stopRegisteredSync(registry: string): void {
    for (const d of registeredGroups(registry)) stopGroupSync(d.pid);
}

/** Removes a group from the registry (after it was stopped). */
export function unregister(registry: string, pgid: number): void {
    if (!existsSync(registry)) return;
    const kept = readFileSync(registry, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.startsWith(`${pgid} `));
    writeFileSync(registry, kept.map((l) => `${l}\n`).join(''));
}

/**
 * A watchdog in its own session: when the owning Node process disappears without stopping the lab (for
 * example SIGKILL), it stops every registered group. It exits by itself once the registry file is gone
 * or the owner stopped the lab (stop() kills it last).
 */
export function startWatchdog(registry: string, ownerPid: number, log: string): Daemon {
    const script = [
        'reg=$1; owner=$2',
        'while kill -0 "$owner" 2>/dev/null; do [ -f "$reg" ] || exit 0; sleep 1; done',
        '[ -f "$reg" ] || exit 0',
        'echo "owner $owner gone; stopping the lab"',
        'tac "$reg" | while read -r pid name; do [ "$name" = watchdog ] || kill -TERM -- "-$pid" 2>/dev/null; done',
        'sleep 5',
        'tac "$reg" | while read -r pid name; do [ "$name" = watchdog ] || kill -KILL -- "-$pid" 2>/dev/null; done',
        'exit 0',
    ].join('\n');
    return startDaemon(registry, 'watchdog', '/bin/bash', ['-c', script, 'watchdog', registry, String(ownerPid)], log);
}

/** Processes (pid, pgid, command) whose command line mentions `needle` — for tests that nothing is left. */
export function processesMatching(needle: string): string[] {
    const r = spawnSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' });
    return r.stdout
        .split('\n')
        .filter((l) => l.includes(needle) && !l.includes('ps -eo'))
        .map((l) => l.trim());
}
