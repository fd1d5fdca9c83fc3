/**
 * Attacks on the file functions of a remote hypervisor (`remoteHostFiles`, electron/ops/host-files.ts) and its lock
 * (`lockOnHost`, electron/ops/lock.ts), on the test host of scripts/test-host.sh: each test states what this
 * computer's files (`localHostFiles`) do and checks the host's do the same (docs/safety.md, rules 7 and 10).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Step } from '../../shared/ops/plan';
import { commandLine, stepLine } from '../../shared/ops/step-command';
import { TRASH_DIR } from '../../shared/ops/trash-names';
import { onTestHost, requireTestHost, STRANGER_HOST, TEST_HOST, TEST_HOST_URI } from '../test-support/test-host';
import { controlName, sshRunner, shellQuote } from '../tools/ssh-runner';
import type { HostRunner } from '../tools/host-runner';
import { localHostFiles, remoteHostFiles, type HostFiles } from './host-files';
import { lockOnHost } from './lock';
import { emptyTrash, listTrash, restoreTrash } from './trash';
import { MANIFEST } from './trash-folder';

const tag = `r13-a${process.pid}`;
/** The same path on the host and here: each test makes it on both sides and expects the same answer. */
const dir = `/var/lib/snaptree-${tag}`;
/** The test host's root on this computer (scripts/test-host.sh): only for chattr, which the host lacks. */
const HOST_ROOT = '/var/lib/virt-snaptree-test-host/root';
const OPERATION = '0f0e0d0c-0b0a-4908-8706-050403020100';
const q = (args: readonly string[]) => args.map(shellQuote).join(' ');
let remote: HostFiles;

/** The errno code (or AppError code) a call rejects with, or 'resolved'. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'resolved';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'rejected';
  }
}

/** Runs `script` (sh) here and on the host, with `dir` as $1. */
function onBoth(script: string): void {
  execFileSync('sh', ['-c', script, 'sh', dir]);
  onTestHost(q(['sh', '-c', script, 'sh', dir]));
}

beforeAll(() => {
  requireTestHost();
  remote = remoteHostFiles(sshRunner({ host: TEST_HOST }));
});

afterAll(() => {
  try {
    execFileSync('chattr', ['-R', '-i', `${HOST_ROOT}${dir}`], { stdio: 'ignore' });
  } catch {
    // Nothing was made immutable, or the folder is gone.
  }
  onTestHost(q(['rm', '-rf', '--', dir]));
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('a remote file call that fails rejects as the local one does', () => {
  beforeAll(() => onBoth('rm -rf "$1"; mkdir -m 0755 "$1" && mkdir "$1/full" "$1/empty" && : > "$1/full/x" && : > "$1/file"'));

  test('a rename into a folder that does not exist', async () => {
    const call = (files: HostFiles) => outcome(files.rename(`${dir}/file`, `${dir}/missing/file`));
    expect(await call(localHostFiles)).toBe('ENOENT');
    expect(await call(remote)).toBe('ENOENT');
    expect(onTestHost(q(['ls', '--', dir]))).toContain('file');
  });

  test('a rename of a folder onto a folder that is not empty', async () => {
    const call = (files: HostFiles) => outcome(files.rename(`${dir}/empty`, `${dir}/full`));
    expect(await call(localHostFiles)).toBe('ENOTEMPTY');
    expect(await call(remote)).not.toBe('resolved');
  });

  test('rmdir of a folder that is not empty', async () => {
    const call = (files: HostFiles) => outcome(files.rmdir(`${dir}/full`));
    expect(await call(localHostFiles)).toBe('ENOTEMPTY');
    expect(await call(remote)).toBe('ENOTEMPTY');
  });

  test('lstat under a file: ENOTDIR, not "nothing stands here"', async () => {
    const call = (files: HostFiles) => outcome(files.lstat(`${dir}/file/x`));
    expect(await call(localHostFiles)).toBe('ENOTDIR');
    expect(await call(remote)).toBe('ENOTDIR');
  });
});

/** A trash beside the images of `dir` there holding `names`, trashed by OPERATION; returns the trashed paths. */
function trashThere(...names: string[]): string[] {
  const folder = `${dir}/${TRASH_DIR}/${OPERATION}`;
  const trashed = names.map((name) => `${folder}/${name}`);
  onTestHost(
    [
      q(['rm', '-rf', '--', dir]),
      q(['mkdir', '-m', '0755', '--', dir]),
      q(['mkdir', '-m', '0700', '--', `${dir}/${TRASH_DIR}`, folder]),
      `printf '%s\\n' ${shellQuote(JSON.stringify({ operationId: OPERATION, domain: 'snaptree-r13-x', op: 'delete' }))} > ${shellQuote(`${folder}/${MANIFEST}`)}`,
      ...trashed.map((path) => `head -c 65536 /dev/zero > ${shellQuote(path)}`),
      q(['chmod', '0600', '--', `${folder}/${MANIFEST}`, ...trashed]),
    ].join(' && '),
  );
  return trashed;
}

describe("the host's trash", () => {
  test('a folder whose first entry starts with "!" is listed, not read as an error code', async () => {
    onBoth('rm -rf "$1"; mkdir -m 0755 "$1" && : > "$1/!ENOENT draft.qcow2"');
    expect(await localHostFiles.readdir(dir)).toEqual(['!ENOENT draft.qcow2']);
    expect(await outcome(remote.readdir(dir))).toBe('resolved');
  });

  test('images whose names start with "!" are listed, not read as an error code', async () => {
    // Twenty of them, so that one comes first in the folder's order (a hash of the names) rather than the manifest.
    const trashed = trashThere(...Array.from({ length: 20 }, (_, i) => `!EIO ${i}.qcow2`));
    const listed = await listTrash([dir], remote).then((entries) => entries.map((e) => e.trashed).sort(), (error: unknown) => String(error));
    expect(listed).toEqual(trashed.sort());
  });

  test('a restore that cannot move the file back (immutable there) fails and says so', async () => {
    const [trashed = ''] = trashThere('base.qcow2');
    const [entry] = await listTrash([dir], remote);
    expect(entry?.trashed).toBe(trashed);
    execFileSync('chattr', ['+i', `${HOST_ROOT}${trashed}`]);
    try {
      const result = await outcome(restoreTrash([entry as NonNullable<typeof entry>], remote));
      const left = onTestHost(`[ -e ${shellQuote(trashed)} ] && echo still-in-trash; [ -e ${shellQuote(`${dir}/base.qcow2`)} ] && echo restored; true`);
      expect({ result, left: left.trim() }).toEqual({ result: 'EPERM', left: 'still-in-trash' });
    } finally {
      execFileSync('chattr', ['-i', `${HOST_ROOT}${trashed}`]);
    }
  });

  test('emptying a trash whose file cannot be removed (immutable there) fails and frees nothing', async () => {
    const [trashed = ''] = trashThere('base.qcow2');
    const [entry] = await listTrash([dir], remote);
    execFileSync('chattr', ['+i', `${HOST_ROOT}${trashed}`]);
    try {
      const result = await outcome(emptyTrash([entry as NonNullable<typeof entry>], remote));
      expect(result).toBe('EPERM');
    } finally {
      execFileSync('chattr', ['-i', `${HOST_ROOT}${trashed}`]);
    }
  });
});

describe("the host's lock", () => {
  test('a lock folder others can write is refused, as a private folder is required', async () => {
    const home = `${dir}/home`;
    onTestHost(`${q(['rm', '-rf', '--', dir])} && ${q(['mkdir', '-p', '-m', '0755', '--', `${home}/.local/state/virt-snaptree/locks`])} && ${q(['chmod', '0777', '--', `${home}/.local/state/virt-snaptree/locks`])}`);
    const ssh = sshRunner({ host: TEST_HOST });
    // The SSH login's home is `home` for this runner alone: the test host's own locks folder is left alone.
    const runner: HostRunner = { ...ssh, run: (tool, args, options) => ssh.run('env', [`HOME=${home}`, tool, ...args], options) };
    const files: HostFiles = { ...remote, runner };
    const result = await lockOnHost(files, TEST_HOST_URI, `snaptree-${tag}`).then(
      async (lock) => {
        await lock.release();
        return 'taken';
      },
      (error: unknown) => (error as { code?: string }).code ?? 'rejected',
    );
    expect(result).toBe('E_LOCKED');
  });
});

describe('a login the host refuses', () => {
  test('is refused even while another alias of that host has a shared connection open', async () => {
    // A folder of their own for the shared connections, so no other test's connection is involved.
    const control = mkdtempSync(join(tmpdir(), 'snaptree-r13-ssh-'));
    try {
      expect(await outcome(remoteHostFiles(sshRunner({ host: TEST_HOST }, control)).lstat('/'))).toBe('resolved');
      // The stranger alias offers a key the host refuses: its own login fails, and no connection of another key may serve it.
      expect(await outcome(remoteHostFiles(sshRunner({ host: STRANGER_HOST }, control)).lstat('/'))).toBe('E_CONNECT');
    } finally {
      for (const host of [TEST_HOST, STRANGER_HOST]) {
        try {
          execFileSync('ssh', ['-o', `ControlPath=${join(control, controlName({ host }))}`, '-O', 'exit', host], { stdio: 'ignore' });
        } catch {
          // No master for it.
        }
      }
      rmSync(control, { recursive: true, force: true });
    }
  });
});

describe("the preview's ssh line", () => {
  test('pasted into a shell here, it copies the hostile names there byte for byte', async () => {
    const names = ["a b'c\"d $(touch x) `id` *", '-n', 'new\nline'];
    onTestHost(`${q(['rm', '-rf', '--', dir])} && ${q(['mkdir', '-m', '0755', '--', dir])}`);
    for (const [i, name] of names.entries()) {
      onTestHost(`printf '%s' ${shellQuote(`content ${i}`)} > ${shellQuote(`${dir}/${name}`)}`);
      const step: Step = { kind: 'keep-copy', path: `${dir}/${name}`, copy: `${dir}/copy ${name}`, sentence: '' };
      const line = stepLine(step, { kind: 'libvirt', uri: TEST_HOST_URI });
      expect(line?.[0]).toBe('ssh');
      const here = mkdtempSync(join(tmpdir(), 'snaptree-r13-'));
      try {
        // Run from an empty folder with a stray file here: nothing may expand or run on this side.
        mkdirSync(join(here, 'sub'));
        writeFileSync(join(here, 'x'), '');
        execFileSync('bash', ['-c', commandLine(line as string[]).replace(/^ssh /, 'ssh -o BatchMode=yes ')], { cwd: here });
      } finally {
        rmSync(here, { recursive: true, force: true });
      }
      expect(onTestHost(`cat -- ${shellQuote(`${dir}/copy ${name}`)}`)).toBe(`content ${i}`);
    }
    expect(onTestHost(`find ${shellQuote(dir)} -mindepth 1 -printf . | wc -c`).trim()).toBe(String(names.length * 2));
  });
});
