import { describe, expect, test } from 'vitest';
import { connectionName } from './format';

describe('connection names', () => {
  test('a local connection is its URI, an SSH one its host, a folder its path', () => {
    expect(connectionName({ kind: 'libvirt', uri: 'qemu:///system' })).toBe('qemu:///system');
    expect(connectionName({ kind: 'libvirt', uri: 'qemu+ssh://root@web01.lan/system?keyfile=/k' })).toBe('root@web01.lan over SSH');
    expect(connectionName({ kind: 'folder', path: '/srv/images' })).toBe('/srv/images');
  });
});
