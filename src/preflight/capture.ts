/**
 * A logger for running action cores inside the preflight: their warnings become findings (the same
 * lines Velero would show in the backup or restore log), everything else is dropped.
 */
import { Logger } from '../logging/logger';

export interface CapturedLog {
    log: Logger;
    /** Warning and error messages logged so far; take() empties the list. */
    take(): string[];
}

export function captureLog(): CapturedLog {
    let lines: string[] = [];
    const log = new Logger('warn', (line) => {
        try {
            const parsed = JSON.parse(line) as { '@message'?: unknown };
            if (typeof parsed['@message'] === 'string') lines.push(parsed['@message']);
        } catch {
            // formatLine always writes JSON; nothing to keep otherwise
        }
    });
    return {
        log,
        take(): string[] {
            const out = lines;
            lines = [];
            return out;
        },
    };
}
