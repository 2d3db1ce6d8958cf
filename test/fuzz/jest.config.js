/** Fuzz and process-lifecycle suites: the real plugin binary (dist/kubevirt-velero-plugin) over gRPC. */
module.exports = {
    rootDir: '../..',
    testEnvironment: 'node',
    roots: ['<rootDir>/test/fuzz'],
    testMatch: ['**/*.test.ts'],
    transform: { '^.+\\.ts$': 'ts-jest' },
    // Some 15 s on an idle two-core machine; generous for a machine shared with other jobs.
    testTimeout: 600000,
};
