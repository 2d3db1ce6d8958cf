// exec → handshake line: spawns the plugin as go-plugin does (cookie, protocol versions) and times the
// first stdout line, 20 runs; prints min/median/max. The process is then ended with SIGKILL.
import { spawn } from 'node:child_process';

const bin = process.argv[2];
const runs = Number(process.env.RUNS ?? 20);
const env = { ...process.env, VELERO_PLUGIN: 'hello', PLUGIN_PROTOCOL_VERSIONS: '2', PLUGIN_MIN_PORT: '10000', PLUGIN_MAX_PORT: '25000' };

function once() {
    return new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const child = spawn(bin, ['--log-level=info'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
        child.stdout.once('data', (chunk) => {
            const ms = Number(process.hrtime.bigint() - t0) / 1e6;
            if (!String(chunk).startsWith('1|2|')) reject(new Error(`unexpected handshake ${chunk}`));
            child.kill('SIGKILL');
            resolve(ms);
        });
        child.on('error', reject);
    });
}

const times = [];
for (let i = 0; i < runs; i++) times.push(await once());
times.sort((a, b) => a - b);
const median = times[Math.floor((times.length - 1) / 2)];
console.log(`exec → handshake, ${runs} runs: median ${median.toFixed(1)} ms, min ${times[0].toFixed(1)} ms, max ${times.at(-1).toFixed(1)} ms`);
