/** Unit tests: fast, no cluster, no network. Lab and conformance suites have their own configs. */
module.exports = {
    testEnvironment: 'node',
    roots: ['<rootDir>/test/unit'],
    testMatch: ['**/*.test.ts'],
    transform: { '^.+\\.ts$': 'ts-jest' },
    testTimeout: 10000,
    snapshotResolver: '<rootDir>/test/snapshot-resolver.js',
};
