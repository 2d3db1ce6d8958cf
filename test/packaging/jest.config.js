/** Packaging tests: the single executable in a glibc-only root filesystem (user namespaces, no root needed) and the plugin image. */
module.exports = {
    rootDir: '../..',
    testEnvironment: 'node',
    roots: ['<rootDir>/test/packaging'],
    testMatch: ['**/*.test.ts'],
    transform: { '^.+\\.ts$': 'ts-jest' },
    testTimeout: 120000,
};
