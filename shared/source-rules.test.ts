import { describe, expect, test } from 'vitest';
import { apiInputs } from './contract';
import { connectionUriProblem, sshTargetOf } from './source-rules';

describe('connections the engine may open', () => {
  test.each([
    'qemu:///system',
    'qemu:///session',
    'qemu+ssh://root@example.org/system',
    'qemu+ssh://admin@10.0.0.2:2222/system?keyfile=/root/.ssh/id_ed25519&no_verify=1',
    'qemu+ssh://host-1.lab/session?known_hosts=/root/.ssh/known_hosts&known_hosts_verify=auto&sshauth=agent,privkey',
    'qemu+tls://hv.example.org/system?pkipath=/etc/pki/libvirt&no_verify=0',
    'qemu+ssh://[::1]:2222/system',
  ])('%s is accepted', (uri) => {
    expect(connectionUriProblem(uri)).toBeNull();
  });

  test.each([
    ['qemu+ext:///system?command=/tmp/evil.sh', /Only qemu/],
    ['qemu+unix:///system?socket=/tmp/sock', /Only qemu/],
    ['qemu+ssh://host/system?netcat=/tmp/evil', /"netcat" is not accepted/],
    ['qemu+ssh://host/system?command=/tmp/evil', /"command" is not accepted/],
    ['qemu+ssh://host/system?proxy=native', /"proxy" is not accepted/],
    ['qemu+ssh://host/system?socket=/run/x', /"socket" is not accepted/],
    ['qemu+ssh://host/system?mode=legacy', /"mode" is not accepted/],
    ['qemu+ssh://host/system?name=qemu%2Bext:///system', /"name" is not accepted/],
    ['qemu+ssh://host/system?__proto__=x', /not accepted/],
    ['qemu+ssh://host/system?%63ommand=/tmp/evil', /"command" is not accepted/],
    ['qemu+ssh://host/system?keyfile=relative', /"keyfile" has a value/],
    ['qemu+ssh://-oProxyCommand=evil/system', /names a host/],
    ['qemu+ssh://-oProxyCommand=evil@host/system', /not a plain user name/],
    ['qemu+ssh://user:secret@host/system', /password/],
    ['qemu+ssh://host/other', /ends in \/system/],
    ['qemu+ssh://host:0/system', /out of range/],
    ['qemu:///system?socket=/tmp/sock', /local QEMU driver/],
    ['qemu:///embed?root=/tmp/x', /local QEMU driver/],
    ['test:///default', /Only qemu/],
    ['lxc:///', /Only qemu/],
    ['-c evil', /looks like/],
  ])('%s is refused', (uri, reason) => {
    expect(connectionUriProblem(uri)).toMatch(reason);
  });

  test('addSource refuses a connection URI that would start a program, with the reason', () => {
    const parsed = apiInputs.addSource.safeParse({ source: { kind: 'libvirt', uri: 'qemu+ext:///system?command=/tmp/x' } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/Only qemu/);
    expect(apiInputs.addSource.safeParse({ source: { kind: 'libvirt', uri: 'qemu+ssh://root@host/system' } }).success).toBe(true);
  });

  test('calls that read or act take a configured source by id, never a source object', () => {
    expect(apiInputs.scan.safeParse({ source: { kind: 'folder', path: '/srv' } }).success).toBe(false);
    expect(apiInputs.scan.safeParse({ sourceId: 'folder:/srv' }).success).toBe(true);
    expect(apiInputs.apply.safeParse({ plan: { id: '00000000-0000-4000-8000-000000000000' } }).success).toBe(false);
  });
});

describe('the SSH target of a connection', () => {
  test.each([
    ['qemu+ssh://root@example.org/system', { host: 'example.org', user: 'root' }],
    ['qemu+ssh://admin@10.0.0.2:2222/system?keyfile=/root/.ssh/id_ed25519&no_verify=1', { host: '10.0.0.2', user: 'admin', port: 2222, keyfile: '/root/.ssh/id_ed25519' }],
    ['qemu+ssh://snaptree-test-host/system', { host: 'snaptree-test-host' }],
    ['qemu+ssh://[::1]:2222/session?keyfile=/keys/k%2C1', { host: '::1', port: 2222, keyfile: '/keys/k,1' }],
  ])('%s reaches %o', (uri, target) => {
    expect(sshTargetOf(uri)).toEqual(target);
  });

  test.each(['qemu:///system', 'qemu+tls://hv.example.org/system', 'qemu+ssh://h/system?command=/bin/sh', 'qemu+ext:///system'])('%s has none', (uri) => {
    expect(sshTargetOf(uri)).toBeNull();
  });
});
