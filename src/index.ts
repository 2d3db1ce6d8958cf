import { writeSync } from 'node:fs';
import { main } from './main';

main().then(
    (code) => {
        if (code !== 0) process.exit(code);
    },
    (error: unknown) => {
        writeSync(2, `kubevirt-velero-plugin failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
    },
);
