/**
 * The header reader against the real QEMU of this machine, on hundreds of single-byte mutations of real images'
 * header regions: an image QEMU refuses is never shown as a normal image, and one it accepts is read field by
 * field as QEMU reads it (docs/safety.md, rule 11).
 *
 * The judge of "refuses" is QEMU opening the image for use, as a VM does: `qemu-io -r` (read-only, without its
 * backing chain, with the LUKS secret), the same rule the reader follows. `qemu-img info` is the wrong judge
 * there: it opens without I/O and skips checks a VM fails (data-file-raw or the data-file bit without a data
 * file). The fields an accepted image is read with are compared with `qemu-img info`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, openSync, closeSync, readFileSync, realpathSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LayerReader } from '../scan/layers';
import { makeLuks } from '../test-support/luks';
import { readQcow2Header } from './qcow2-header';

interface Info {
  'virtual-size': number;
  'actual-size': number;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'backing-filename-format'?: string;
  encrypted?: boolean;
  snapshots?: unknown[];
}

let dir: string;

beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'snaptree-mutate-')));
  const img = (...args: string[]): void => void execFileSync('qemu-img', args, { cwd: dir });
  img('create', '-q', '-f', 'qcow2', 'base.qcow2', '64M');
  img('create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'v3.qcow2');
  img('create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', '-b', 'base.qcow2', '-F', 'qcow2', 'v2.qcow2');
  makeLuks(dir, 'luks.qcow2', ['-b', 'base.qcow2', '-F', 'qcow2']);
  for (const file of ['v3.qcow2', 'v2.qcow2']) execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 0 1M', '-c', 'write -P 0xa5 8M 64k', file], { cwd: dir });
  copyFileSync(join(dir, 'v3.qcow2'), join(dir, 'snap.qcow2'));
  img('snapshot', '-c', 'first', 'snap.qcow2');
  img('snapshot', '-c', 'second', 'snap.qcow2');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A small seeded generator (mulberry32), so every run tries the same mutations. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The bytes QEMU reads to open the image: the header, its extensions, and the backing name. */
function headerRegion(bytes: Buffer): number {
  const backing = Number(bytes.readBigUInt64BE(8));
  let at = bytes.readUInt32BE(4) === 3 ? bytes.readUInt32BE(100) : 72;
  for (;;) {
    const type = bytes.readUInt32BE(at);
    const length = bytes.readUInt32BE(at + 4);
    at += 8 + Math.ceil(length / 8) * 8;
    if (type === 0) break;
  }
  return Math.max(at, backing + bytes.readUInt32BE(16));
}

interface Mutation {
  file: string;
  offset: number;
  value: number;
}

/** Every byte of the header region once with a random new value, the fixed header fields again, and hand-picked values. */
function mutationsOf(name: string, seed: number): Mutation[] {
  const bytes = readFileSync(join(dir, name));
  const next = random(seed);
  const region = headerRegion(bytes);
  const list: Array<[number, number]> = [];
  const headerEnd = bytes.readUInt32BE(4) === 3 ? 112 : 72;
  for (let offset = 0; offset < region; offset++) {
    // The feature-name table is long and inert: a quarter of its bytes is enough.
    if (offset >= headerEnd && name !== 'luks.qcow2' && next() < 0.75 && offset > 0x90) continue;
    list.push([offset, Math.floor(next() * 256)]);
  }
  for (let offset = 0; offset < headerEnd; offset++) list.push([offset, [0, 0xff, 1, 0x80][Math.floor(next() * 4)] as number]);
  // The high incompatible feature bits that the old reader dropped, each a QEMU refusal.
  for (const offset of [72, 73, 74, 75, 76]) list.push([offset, 0x10]);
  if (headerEnd === 112) {
    // Every autoclear bit of the low byte (bit 0 bitmaps, bit 1 data-file-raw), and the top of the others.
    for (let bit = 0; bit < 8; bit++) list.push([95, 1 << bit]);
    for (const offset of [88, 89, 90, 91, 92, 93, 94]) list.push([offset, 0x80]);
  }
  // backing_file_size: zero (no name, the format extension left behind), shorter, longer, past the cluster.
  for (const value of [0, 1, 4, bytes[19] === undefined ? 0 : bytes[19] + 1, 0xff]) list.push([19, value]);
  for (const value of [1, 0x10]) list.push([18, value]);
  return list
    .filter(([offset, value]) => bytes[offset] !== value)
    .map(([offset, value], i) => {
      const file = join(dir, `m-${name.replace('.qcow2', '')}-${i}-${offset}.qcow2`);
      copyFileSync(join(dir, name), file);
      const fd = openSync(file, 'r+');
      writeSync(fd, Buffer.from([value]), 0, 1, offset);
      closeSync(fd);
      return { file, offset, value };
    });
}

/** The test images' LUKS secret (see `makeLuks`), handed to every open: an image without encryption ignores it. */
const SECRET = 'secret,id=sec0,data=x';

/** Whether QEMU opens the image for use: qemu-io, read-only, its backing chain left closed (a header test). */
function qemuOpens(file: string): Promise<boolean> {
  const spec = { driver: 'qcow2', backing: null, encrypt: { 'key-secret': 'sec0' }, file: { driver: 'file', filename: file } };
  return new Promise((resolve) => {
    execFile('qemu-io', ['-r', '--object', SECRET, '-c', 'quit', `json:${JSON.stringify(spec)}`], { cwd: dir, timeout: 20_000 }, (error) => {
      if (error !== null && error.code === undefined && error.signal === null) throw error;
      resolve(error === null);
    });
  });
}

function qemuInfo(file: string): Promise<Info | null> {
  return new Promise((resolve) => {
    execFile('qemu-img', ['info', '--output=json', '-f', 'qcow2', file], { cwd: dir, timeout: 20_000, maxBuffer: 256 * 1024 * 1024 }, (error, stdout) => {
      // Only qemu-img's own failure (an exit code, or a crash) is a refusal; anything else fails the test.
      if (error !== null && error.code === undefined && error.signal === null) throw error;
      resolve(error !== null ? null : (JSON.parse(stdout) as Info));
    });
  });
}

describe('the qcow2 header reader agrees with QEMU', () => {
  test('single-byte mutations of v2, v3, LUKS and internal-snapshot headers: every image QEMU refuses to open for use is unreadable with a reason, every one it opens reads as qemu-img info reads it', async () => {
    const mutations = [...mutationsOf('v3.qcow2', 1), ...mutationsOf('v2.qcow2', 2), ...mutationsOf('luks.qcow2', 3), ...mutationsOf('snap.qcow2', 4)];
    const limit = pLimit(4);
    const opens = await Promise.all(mutations.map((m) => limit(() => qemuOpens(m.file))));
    const infos = await Promise.all(mutations.map((m, i) => limit(() => (opens[i] === true ? qemuInfo(m.file) : Promise.resolve(null)))));
    const disagreements: string[] = [];
    let refused = 0;
    for (const [i, m] of mutations.entries()) {
      const info = infos[i] as Info | null;
      const opened = opens[i] === true;
      const started = performance.now();
      readQcow2Header(m.file);
      const took = performance.now() - started;
      if (took > 250) disagreements.push(`${m.file}: the header took ${took.toFixed(0)} ms to read`);
      const reader = new LayerReader();
      const real = await reader.read(m.file, 'qcow2');
      const layer = real === null ? undefined : reader.layers[real];
      const at = `${m.file.slice(dir.length + 1)} (byte ${m.offset} = 0x${m.value.toString(16)})`;
      if (opened && info === null) {
        disagreements.push(`${m.file}: qemu-io opens it, qemu-img info refuses it: no fields to compare`);
        continue;
      }
      if (info === null) {
        refused++;
        const why = reader.problemsFor().find((p) => p.code === 'unreadable' && p.path === m.file);
        if (layer !== undefined || why === undefined) disagreements.push(`${at}: QEMU refuses to open it for use, the scan shows it as an image`);
        continue;
      }
      if (layer === undefined) {
        disagreements.push(`${at}: QEMU opens it for use, the scan does not: ${reader.problemsFor().map((p) => p.message).join('; ')}`);
        continue;
      }
      // qemu-img's JSON turns a name's bytes that are not UTF-8 into U+FFFD; the scan cannot name that file and
      // says so on the layer, without a backing name or link (electron/scan/header-names.ts).
      const unnamed = info['backing-filename']?.includes('\uFFFD') === true;
      if (unnamed && !reader.problemsFor().some((p) => p.path === m.file && /backing name is not valid UTF-8/.test(p.message))) {
        disagreements.push(`${at}: its backing name is not UTF-8, and the scan does not say so`);
      }
      const expected = {
        virtualSize: info['virtual-size'],
        actualSize: info['actual-size'],
        backingName: unnamed ? null : (info['backing-filename'] ?? null),
        backingFormat: info['backing-filename-format'] ?? null,
        backing: unnamed ? null : (info['full-backing-filename'] ?? null),
        encrypted: info.encrypted === true,
        snapshots: info.snapshots?.length ?? 0,
      };
      const seen = {
        virtualSize: layer.virtualSize,
        actualSize: layer.actualSize,
        backingName: layer.backingName,
        backingFormat: layer.backingFormat,
        backing: layer.backing,
        encrypted: (layer.encrypted ?? null) !== null,
        snapshots: layer.internalSnapshots ?? 0,
      };
      for (const key of Object.keys(expected) as Array<keyof typeof expected>) {
        if (expected[key] !== seen[key]) disagreements.push(`${at}: ${key} is ${JSON.stringify(seen[key])}, qemu-img says ${JSON.stringify(expected[key])}`);
      }
    }
    const accepted = mutations.length - refused;
    console.log(
      `qcow2 header mutations: ${mutations.length} tried, ${refused} refused by QEMU opening them for use (qemu-io -r), ${accepted} accepted; ` +
        `${mutations.length - new Set(disagreements.map((d) => d.split(':')[0])).size} of ${mutations.length} agree`,
    );
    expect(disagreements).toEqual([]);
  }, 120_000);
});
