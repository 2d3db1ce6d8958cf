import { checkCookie, chooseListenAddress, handshakeLine, negotiateVersion, NOT_A_COMMAND } from '../../../src/protocol/handshake';

describe('go-plugin handshake', () => {
    it.each([
        ['the magic cookie lets the plugin serve', { VELERO_PLUGIN: 'hello' }, undefined],
        ['a missing cookie is refused with a human-readable message', {}, NOT_A_COMMAND],
        ['a wrong cookie is refused', { VELERO_PLUGIN: 'bye' }, NOT_A_COMMAND],
    ])('%s', (_name, env, expected) => {
        expect(checkCookie(env)).toBe(expected);
    });

    it.each([
        ['Velero offers version 2', '2', { version: 2 }],
        ['a list containing 2', '1, 2,3', { version: 2 }],
        ['no list means the configured version', undefined, { version: 2 }],
    ])('%s', (_name, offered, expected) => {
        expect(negotiateVersion({ PLUGIN_PROTOCOL_VERSIONS: offered })).toEqual(expected);
    });

    it('a client that cannot speak version 2 is refused', () => {
        expect(negotiateVersion({ PLUGIN_PROTOCOL_VERSIONS: '1,3' })).toEqual({
            error: 'Incompatible API version with plugin. Plugin version: 2, Client versions: [1 3]\n',
        });
    });

    it('the line has six fields, grpc protocol, an empty certificate and no seventh field', () => {
        const line = handshakeLine({ network: 'unix', address: '/tmp/plugin123' });
        expect(line).toBe('1|2|unix|/tmp/plugin123|grpc|\n');
        expect(line.trim().split('|')).toHaveLength(6);
    });

    it.each([
        ['PLUGIN_UNIX_SOCKET_DIR wins', { PLUGIN_UNIX_SOCKET_DIR: '/run/sock', TMPDIR: '/x' }, /^\/run\/sock\/plugin\d+$/],
        ['TMPDIR is the default directory', { TMPDIR: '/var/tmp' }, /^\/var\/tmp\/plugin\d+$/],
    ])('%s', (_name, env, pattern) => {
        const chosen = chooseListenAddress(env);
        expect(chosen.network).toBe('unix');
        expect(chosen.address).toMatch(pattern);
    });

    it('a directory too deep for sun_path falls back to loopback TCP', () => {
        expect(chooseListenAddress({ PLUGIN_UNIX_SOCKET_DIR: `/${'d'.repeat(120)}` })).toEqual({ network: 'tcp', address: '127.0.0.1:0' });
    });
});
