/**
 * The SSH runner against a real second host (scripts/test-host.sh): commands run there, not here, with their
 * arguments byte for byte; a cancel, a timeout or a lost connection stops the remote tool; ssh's own failures
 * (unknown host key, refused login, nothing listening) are errors that say which.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { onTestHost, requireTestHost, STRANGER_HOST, TEST_HOST } from '../test-support/test-host';
import { qemuImgCreate, qemuImgInfo } from './qemu-img';
import { controlDir, controlName, remoteCommand, shellQuote, sshRunner, wrapperReport } from './ssh-runner';
import { failure } from '../test-support/app-error';

const mark = `snaptree-ssh-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
let control: string;
beforeAll(() => {
  requireTestHost();
  control = mkdtempSync(join(tmpdir(), 'snaptree-sshc-'));
  onTestHost(`mkdir -p /tmp/${mark} && echo remote > /tmp/${mark}/only-there`);
});
afterAll(() => {
  onTestHost(`rm -rf /tmp/${mark}`);
  rmSync(control, { recursive: true, force: true });
});

/** How many processes on the test host have exactly the command line `sleep SECONDS`. */
function remoteSleeps(...seconds: string[]): number {
  const lines = onTestHost('ps -eo args').split('\n');
  return lines.filter((line) => seconds.some((s) => line === `sleep ${s}`)).length;
}

/** A sleep length no other run of these tests uses at the same time. */
const unique = (n: number) => `${n}.${process.pid}`;

describe('shell quoting', () => {
  test('single quotes keep every byte, a quote inside included', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe("''");
    expect(remoteCommand('qemu-img', ['info', 'a b'])).toMatch(/^'sh' '-c' '.*' 'sh' '-' 'qemu-img' 'info' 'a b'$/s);
  });
});

describe('the wrapper\'s report', () => {
  test('the tool\'s own stderr and status, a lost connection, a missing tool, ssh failing first', () => {
    expect(wrapperReport('@virt-snaptree-started@\nwarn\n\n@virt-snaptree-ended@ 3')).toEqual({ ran: true, stderr: 'warn', status: 3 });
    expect(wrapperReport('@virt-snaptree-started@\nno newline\n@virt-snaptree-ended@ 0')).toEqual({ ran: true, stderr: 'no newline', status: 0 });
    expect(wrapperReport('@virt-snaptree-started@\npartial')).toEqual({ ran: true, stderr: 'partial', status: null });
    expect(wrapperReport('@virt-snaptree-started@\n\n@virt-snaptree-ended@ missing')).toEqual({ ran: true, stderr: '', status: 'missing' });
    expect(wrapperReport('Permission denied (publickey).')).toEqual({ ran: false, stderr: 'Permission denied (publickey).', status: null });
  });
});

describe('sshRunner', () => {
  test('the qemu-img adapter runs on the host: it makes and reads images there, and a file of that path here is never touched', async () => {
    const runner = sshRunner({ host: TEST_HOST }, control);
    const path = `/tmp/${mark}/disk.qcow2`;
    // A decoy here, at the path the host's image has there.
    mkdirSync(`/tmp/${mark}`, { recursive: true });
    writeFileSync(path, 'decoy');
    try {
      await qemuImgCreate(path, { format: 'qcow2', size: 16 * 1024 * 1024 }, { runner });
      const [info] = await qemuImgInfo(path, { format: 'qcow2', runner });
      expect(info).toMatchObject({ filename: path, format: 'qcow2', 'virtual-size': 16 * 1024 * 1024 });
      expect(readFileSync(path, 'utf8')).toBe('decoy');
      expect(onTestHost(`qemu-img info -f qcow2 --output=json ${path}`)).toContain('"virtual-size": 16777216');
    } finally {
      rmSync(`/tmp/${mark}`, { recursive: true, force: true });
      onTestHost(`rm -f ${path}`);
    }
  });

  test('runs on the host, not here, with arguments byte for byte', async () => {
    const runner = sshRunner({ host: TEST_HOST }, control);
    const odd = ['a b', ' lead', `it's "quoted"`, 'line1\nline2', '*', '$HOME', '', '`id`', ';', '\\', 'é ∑ 日本'];
    const result = await runner.run('printf', ['[%s]\\n', ...odd]);
    expect(result).toEqual({ exitCode: 0, stdout: odd.map((a) => `[${a}]`).join('\n'), stderr: '' });
    expect((await runner.run('cat', [`/tmp/${mark}/only-there`])).stdout).toBe('remote');
    expect(existsSync(`/tmp/${mark}/only-there`)).toBe(false);
  });

  test('a non-zero exit is a result, with the tool\'s own stderr; input reaches the tool', async () => {
    const runner = sshRunner({ host: TEST_HOST }, control);
    expect(await runner.run('sh', ['-c', 'echo out; echo err >&2; exit 3'])).toEqual({ exitCode: 3, stdout: 'out', stderr: 'err' });
    expect((await runner.run('cat', [], { stdin: "two\nlines with 'quotes'" })).stdout).toBe("two\nlines with 'quotes'");
  });

  test('a tool the host does not have is named, with the host', async () => {
    const error = await failure(sshRunner({ host: TEST_HOST }, control).run('qemu-img-not-here', ['info']));
    expect(error.code).toBe('E_TOOL');
    expect(error.message).toBe(`qemu-img-not-here is not installed on ${TEST_HOST} (or not on the PATH of its SSH login).`);
  });

  test('a cancel stops the remote tool and everything it started', async () => {
    const runner = sshRunner({ host: TEST_HOST }, control);
    const controller = new AbortController();
    const running = failure(runner.run('sh', ['-c', `sleep ${unique(41)} & sleep ${unique(42)}; touch /tmp/${mark}/finished`], { signal: controller.signal }));
    await expect.poll(() => remoteSleeps(unique(41), unique(42)), { timeout: 10_000 }).toBe(2);
    const started = Date.now();
    controller.abort();
    expect((await running).code).toBe('E_CANCELLED');
    expect(Date.now() - started).toBeLessThan(4000);
    await expect.poll(() => remoteSleeps(unique(41), unique(42)), { timeout: 5000 }).toBe(0);
    expect(onTestHost(`ls /tmp/${mark}`).trim()).toBe('only-there');
  });

  test('a timeout stops the remote tool and names it with its host', async () => {
    const error = await failure(sshRunner({ host: TEST_HOST }, control).run('sleep', [unique(43)], { timeoutMs: 500 }));
    expect(error.code).toBe('E_TOOL');
    expect(error.message).toBe(`sleep on ${TEST_HOST} did not answer within 0.5 s.`);
    await expect.poll(() => remoteSleeps(unique(43)), { timeout: 5000 }).toBe(0);
  });

  test('a connection lost mid-command fails the run as a connection error, and the remote tool stops', async () => {
    const own = mkdtempSync(join(tmpdir(), 'snaptree-sshc-'));
    try {
      const runner = sshRunner({ host: TEST_HOST }, own);
      await runner.run('true', []);
      const running = failure(runner.run('sleep', [unique(44)]));
      await expect.poll(() => remoteSleeps(unique(44)), { timeout: 10_000 }).toBe(1);
      // The shared connection goes away, as when the network drops.
      execFileSync('ssh', ['-o', `ControlPath=${join(own, controlName({ host: TEST_HOST }))}`, '-O', 'exit', TEST_HOST], { stdio: 'ignore' });
      const error = await running;
      expect(error.code).toBe('E_CONNECT');
      await expect.poll(() => remoteSleeps(unique(44)), { timeout: 5000 }).toBe(0);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  test('ssh failures say which: unknown host key, refused login, nothing listening', async () => {
    const fresh = () => mkdtempSync(join(tmpdir(), 'snaptree-sshc-'));
    const unknown = await failure(sshRunner({ host: '127.0.0.1', port: 2222, user: 'root' }, fresh()).run('true', []));
    expect(unknown.code).toBe('E_CONNECT');
    expect(unknown.message).toContain('host key of 127.0.0.1 is not known here');
    const refused = await failure(sshRunner({ host: STRANGER_HOST }, fresh()).run('true', []));
    expect(refused.code).toBe('E_CONNECT');
    expect(refused.message).toContain(`${STRANGER_HOST} refused the SSH login`);
    const nobody = await failure(sshRunner({ host: '127.0.0.1', port: 1 }, fresh()).run('true', []));
    expect(nobody.code).toBe('E_CONNECT');
    expect(nobody.message).toContain('cannot be reached over SSH');
  });

  test('the shared connections live in a folder only this user can enter', () => {
    const base = mkdtempSync(join(tmpdir(), 'snaptree-sshc-'));
    try {
      const dir = controlDir(base);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      chmodSync(dir, 0o770);
      expect(() => controlDir(base)).toThrow(/not a folder only this user can enter/);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
