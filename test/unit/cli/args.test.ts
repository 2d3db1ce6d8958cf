import { parseArgs } from '../../../src/cli/args';

describe('Velero server flags passed to the plugin', () => {
    it.each([
        ['no arguments default to info', [], 'info'],
        ['--k=v form', ['--log-level=debug'], 'debug'],
        ['--k v form (Velero <= 1.14)', ['--log-level', 'debug', '--features', 'EnableCSI'], 'debug'],
        ['--features v is ignored and the flags after it are still read', ['--features', 'EnableCSI', '--log-level', 'warn'], 'warn'],
        ['logrus spelling warning', ['--log-level=warning'], 'warn'],
        ['fatal and panic only quieten', ['--log-level=panic'], 'error'],
        ['trace', ['--log-level=trace'], 'trace'],
        ['upper case level', ['--log-level=DEBUG'], 'debug'],
        [
            'server flags around it are ignored, including bare booleans',
            ['--uploader-type=kopia', '--restore-only', '--log-level', 'error', '--default-volumes-to-fs-backup', '--item-block-worker-count=4'],
            'error',
        ],
        ['a bare boolean followed by a flag is not taken as its value', ['--log-level', '--restore-only'], 'info'],
        ['--features=v is accepted and ignored', ['--features=EnableCSI, EnableAPIGroupVersions,,'], 'info'],
        ['single dash form', ['-log-level=debug'], 'debug'],
        ['positional arguments are ignored', ['server', 'kopia', '--log-level=info'], 'info'],
        ['the last --log-level wins', ['--log-level=debug', '--log-level=error'], 'error'],
    ])('%s', (_name, argv, level) => {
        const parsed = parseArgs(argv);
        expect(parsed.logLevel).toBe(level);
        // Only the flags the plugin uses are kept; --features and the server's other flags leave no trace.
        expect(Object.keys(parsed).filter((k) => !['logLevel', 'kubeconfig', 'kubecontext'].includes(k))).toEqual([]);
        expect(parsed.unknownLogLevel).toBeUndefined();
    });

    it.each([
        ['--k=v', ['--kubeconfig=/etc/velero/kubeconfig', '--kubecontext=lab'], '/etc/velero/kubeconfig', 'lab'],
        ['--k v', ['--kubeconfig', '/k', '--log-level', 'debug'], '/k', undefined],
        ['absent', ['--restore-only'], undefined, undefined],
    ])("Velero's own --kubeconfig and --kubecontext are kept (%s)", (_name, argv, kubeconfig, kubecontext) => {
        const parsed = parseArgs(argv);
        expect(parsed.kubeconfig).toBe(kubeconfig);
        expect(parsed.kubecontext).toBe(kubecontext);
    });

    it.each([['--log-level=verbose'], ['--log-level='], ['--log-level', 'loud']])('an unknown level %s keeps info and is reported', (...argv) => {
        const parsed = parseArgs(argv);
        expect(parsed.logLevel).toBe('info');
        expect(parsed.unknownLogLevel).toBeDefined();
    });
});
