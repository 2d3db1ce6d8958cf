// Compiles proto/**/*.proto into one JSON descriptor set that the plugin embeds at build time,
// so the running binary never reads a .proto file. Output: src/protocol/generated/descriptors.json
import { readdirSync, mkdirSync, writeFileSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const protoDir = join(repo, 'proto');
const veleroDir = join(protoDir, 'velero');

function walk(dir) {
    return readdirSync(dir).flatMap((name) => {
        const full = join(dir, name);
        return statSync(full).isDirectory() ? walk(full) : name.endsWith('.proto') ? [full] : [];
    });
}

const root = new protobuf.Root();
// Velero's files import "Shared.proto" by bare name; resolve it from the velero folder.
root.resolvePath = (origin, target) => {
    if (target.startsWith('google/protobuf/')) return target;
    if (target === 'Shared.proto') return join(veleroDir, 'Shared.proto');
    return protobuf.util.path.resolve(origin, target);
};
const files = walk(protoDir).sort();
root.loadSync(files, { keepCase: true });
root.resolveAll();

const out = join(repo, 'src', 'protocol', 'generated');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'descriptors.json'), JSON.stringify(root.toJSON(), null, 1) + '\n');
process.stderr.write(`gen-proto: ${files.length} files -> ${relative(repo, out)}/descriptors.json\n`);
