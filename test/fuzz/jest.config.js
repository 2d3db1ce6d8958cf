/** Fuzz and process-lifecycle suites: the real plugin binary (dist/kubevirt-velero-plugin) over gRPC. */
module.exports = {
    rootDir: '../..',
    testEnvironment: 'node',
    roots: ['<rootDir>/test/fuzz'],
    testMatch: ['**/*.test.ts'],
    transform: { '^.+\\.ts$': 'ts-jest' },
    testTimeout: 180000,
};
