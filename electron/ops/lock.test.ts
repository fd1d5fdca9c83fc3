/**
 * The domain lock across real processes: an abandoned lock is taken over by exactly one of many racers, and
 * links planted where the lock lives are refused, never written through.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { lockDomain } from './lock';

const ROOT = join(__dirname, '..', '..');
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-lock-'));
  process.env.SNAPTREE_DATA_DIR = join(dir, 'data');
});

afterEach(async () => {
  delete process.env.SNAPTREE_DATA_DIR;
  await rm(dir, { recursive: true, force: true });
});

/**
 * A racer: "abandon" takes the lock of every trial's data folder and is killed holding them all; "race" waits
 * for a start time on stdin, then at each trial's moment tries the lock, logging enter and leave (O_APPEND).
 */
const RACER = `
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { lockDomain } from ${JSON.stringify(join(__dirname, 'lock.ts'))};
const [mode, base, log, trials, gap] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
if (mode === 'abandon') {
  for (let t = 0; t < Number(trials); t++) {
    process.env.SNAPTREE_DATA_DIR = base + '/' + t;
    await lockDomain('race', 'vm');
  }
  process.kill(process.pid, 'SIGKILL');
}
process.stdout.write('ready\\n');
const start = Number((await createInterface({ input: process.stdin })[Symbol.asyncIterator]().next()).value);
for (let t = 0; t < Number(trials); t++) {
  const at = start + t * Number(gap);
  while (Date.now() < at) if (at - Date.now() > 2) await sleep(1);
  process.env.SNAPTREE_DATA_DIR = base + '/' + t;
  try {
    const lock = await lockDomain('race', 'vm');
    appendFileSync(log, 'enter ' + t + ' ' + process.pid + '\\n');
    await sleep(10);
    appendFileSync(log, 'leave ' + t + ' ' + process.pid + '\\n');
    await lock.release();
  } catch (error) {
    if (error.code !== 'E_LOCKED') appendFileSync(log, 'error ' + t + ' ' + String(error.message).replaceAll('\\n', ' ') + '\\n');
  }
}
process.exit(0);
`;

function start(script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));

const ready = (child: ChildProcess) =>
  new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', () => reject(new Error('a racer exited before it was ready')));
  });

describe('taking over an abandoned lock', () => {
  test('eight processes racing for a lock whose holder was killed, 100 times: never two holders at once', async () => {
    const TRIALS = 100;
    const RACERS = 8;
    const script = join(dir, 'racer.mts');
    const base = join(dir, 'trials');
    const log = join(dir, 'log');
    writeFileSync(script, RACER);
    writeFileSync(log, '');
    for (let t = 0; t < TRIALS; t++) mkdirSync(join(base, String(t)), { recursive: true, mode: 0o700 });

    const abandoner = start(script, ['abandon', base, log, String(TRIALS), '0']);
    expect((await exited(abandoner)).signal).toBe('SIGKILL');

    const racers = Array.from({ length: RACERS }, () => start(script, ['race', base, log, String(TRIALS), '40']));
    const ends = racers.map(exited);
    await Promise.all(racers.map(ready));
    const at = Date.now() + 300;
    for (const racer of racers) racer.stdin?.end(`${at}\n`);
    expect((await Promise.all(ends)).map((e) => e.code)).toEqual(racers.map(() => 0));

    const holder = new Map<string, string>();
    const overlaps: string[] = [];
    const taken = new Set<string>();
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    for (const line of lines) {
      const [event, trial = '', pid = ''] = line.split(' ');
      if (event === 'enter') {
        if (holder.has(trial)) overlaps.push(`trial ${trial}: ${pid} entered while ${holder.get(trial) ?? ''} held the lock`);
        holder.set(trial, pid);
        taken.add(trial);
      } else if (event === 'leave') holder.delete(trial);
    }
    expect(overlaps).toEqual([]);
    // A racer that loses is told the lock is held (E_LOCKED), nothing else.
    expect(lines.filter((l) => l.startsWith('error'))).toEqual([]);
    // Every abandoned lock was taken over by one of the racers.
    expect(taken.size).toBe(TRIALS);
  }, 60_000);
});

describe('links planted where the lock lives', () => {
  const name = createHash('sha256').update('qemu:///system\0vm').digest('hex').slice(0, 24);

  test('a link in place of the lock is refused and its target stays byte-identical', async () => {
    const locks = join(dir, 'data', 'locks');
    mkdirSync(locks, { recursive: true, mode: 0o700 });
    const outside = join(dir, 'outside.txt');
    writeFileSync(outside, 'precious\n');
    symlinkSync(outside, join(locks, name));
    await expect(lockDomain('qemu:///system', 'vm')).rejects.toMatchObject({ message: expect.stringMatching(/is a symbolic link/) });
    expect(readFileSync(outside, 'utf8')).toBe('precious\n');
  });

  test('a link in place of a lock generation is taken as held by someone else, never read through or replaced', async () => {
    const folder = join(dir, 'data', 'locks', name);
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const outside = join(dir, 'outside.json');
    writeFileSync(outside, '{"host":"x","pid":1}\n');
    symlinkSync(outside, join(folder, '1'));
    await expect(lockDomain('qemu:///system', 'vm')).rejects.toMatchObject({ code: 'E_LOCKED', message: expect.stringMatching(/an unknown process/) });
    expect(readFileSync(outside, 'utf8')).toBe('{"host":"x","pid":1}\n');
  });
});
