/**
 * Starts a lab, prints "READY <workDir>" on stdout and waits to be killed. Bundled and run by
 * lifecycle.test.ts to prove that SIGINT and SIGKILL of the owner leave no process behind.
 */
import { startLab } from '../lab';

startLab({ velero: process.env['HOLD_LAB_VELERO'] !== '0' }).then(
    (lab) => {
        process.stdout.write(`READY ${lab.workDir}\n`);
        setInterval(() => undefined, 60_000);
    },
    (e: unknown) => {
        process.stderr.write(`${String(e)}\n`);
        process.exit(1);
    },
);
