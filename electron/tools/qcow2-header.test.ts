import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseQcow2Header, readQcow2Header } from './qcow2-header';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-header-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readQcow2Header', () => {
  test.each([
    ['v3', '1.1'],
    ['v2', '0.10'],
  ])('reads backing name and format from a %s image made by qemu-img', async (_v, compat) => {
    const base = join(dir, `base-${compat}.qcow2`);
    const top = join(dir, `top-${compat}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `compat=${compat}`, base, '32M']);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `compat=${compat}`, '-b', `base-${compat}.qcow2`, '-F', 'qcow2', top]);
    expect(await readQcow2Header(top)).toMatchObject({
      version: compat === '1.1' ? 3 : 2,
      virtualSize: 32 * 1024 * 1024,
      backingName: `base-${compat}.qcow2`,
      backingFormat: 'qcow2',
      incompatibleFeatures: 0,
    });
    expect((await readQcow2Header(base))?.backingName).toBeNull();
  });

  test('a raw file or a short file is not qcow2', async () => {
    const raw = join(dir, 'disk.raw');
    await writeFile(raw, Buffer.alloc(4096, 0x51));
    expect(await readQcow2Header(raw)).toBeNull();
    expect(parseQcow2Header(Buffer.from('QFI'))).toBeNull();
  });
});

/** A v3 header as qemu-img writes one (64 KiB clusters, a 1 GiB disk), with a backing format and name. */
function header(edit: (buf: Buffer) => void = () => {}): Buffer {
  const buf = Buffer.alloc(65536);
  buf.writeUInt32BE(0x514649fb, 0);
  buf.writeUInt32BE(3, 4);
  buf.writeBigUInt64BE(0x200n, 8); // backing name offset
  buf.writeUInt32BE(9, 16); // backing name size
  buf.writeUInt32BE(16, 20); // cluster bits
  buf.writeBigUInt64BE(1n << 30n, 24); // size
  buf.writeUInt32BE(2, 36); // L1 entries: 512 MiB each
  buf.writeBigUInt64BE(0x30000n, 40);
  buf.writeBigUInt64BE(0x10000n, 48);
  buf.writeUInt32BE(1, 56);
  buf.writeUInt32BE(4, 96); // refcount order
  buf.writeUInt32BE(112, 100); // header length
  buf.writeUInt32BE(0xe2792aca, 112);
  buf.writeUInt32BE(5, 116);
  buf.write('qcow2', 120);
  buf.write('base.img\0', 0x200);
  edit(buf);
  return buf;
}

describe('parseQcow2Header checks a header as QEMU opens it', () => {
  test('a well-formed header opens, with its backing name cut at the first NUL as QEMU copies it', () => {
    expect(parseQcow2Header(header())).toMatchObject({ refused: null, backingName: 'base.img', backingFormat: 'qcow2', virtualSize: 1 << 30, encrypted: null, internalSnapshots: 0 });
  });

  test('the virtual size is rounded down to whole 512-byte sectors', () => {
    expect(parseQcow2Header(header((b) => b.writeBigUInt64BE((1n << 30n) - 1n, 24)))?.virtualSize).toBe(2 ** 30 - 512);
  });

  test('a name that starts with NUL is no backing file', () => {
    expect(parseQcow2Header(header((b) => (b[0x200] = 0)))?.backingName).toBeNull();
  });

  test('a backing format with an empty backing name is no backing link: both are null, as qemu-img shows them', () => {
    expect(parseQcow2Header(header((b) => b.writeUInt32BE(0, 16)))).toMatchObject({ refused: null, backingName: null, backingFormat: null });
    expect(parseQcow2Header(header((b) => (b[0x200] = 0)))).toMatchObject({ refused: null, backingName: null, backingFormat: null });
  });

  test('a backing name that is not valid UTF-8 is no name the app can use: kept as raw bytes, never decoded to U+FFFD', () => {
    const parsed = parseQcow2Header(header((b) => Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x69, 0x6d, 0x67, 0]).copy(b, 0x200)));
    expect(parsed).toMatchObject({ refused: null, backingName: null, backingFormat: 'qcow2' });
    expect(parsed?.invalidNames.backingName?.toString('hex')).toBe('636166e92e696d67');
  });

  test('incompatible feature bits 32 to 63 are refused, not dropped', () => {
    const refused = parseQcow2Header(header((b) => b.writeBigUInt64BE(1n << 40n, 72)))?.refused;
    expect(refused).toMatch(/Unknown incompatible feature: 10000000000/);
  });

  test.each<[string, (b: Buffer) => void, RegExp]>([
    ['cluster bits below 9', (b) => b.writeUInt32BE(8, 20), /cluster size/],
    ['cluster bits above 21', (b) => b.writeUInt32BE(22, 20), /cluster size/],
    ['a v3 header shorter than 104 bytes', (b) => b.writeUInt32BE(100, 100), /too short/],
    ['a header longer than a cluster', (b) => b.writeUInt32BE(70000, 100), /exceeds cluster size/],
    ['a backing offset past the first cluster', (b) => b.writeBigUInt64BE(0x20000n, 8), /backing file offset/],
    ['a backing name over 1023 bytes', (b) => b.writeUInt32BE(1024, 16), /name too long/],
    ['an unknown compression type', (b) => (b[104] = 2), /compression type/],
    ['zstd without its feature bit', (b) => (b[104] = 1), /bit must be set/],
    ['the compression bit with zlib', (b) => b.writeBigUInt64BE(8n, 72), /bit must not be set/],
    ['an unknown feature bit', (b) => b.writeBigUInt64BE(32n, 72), /Unknown incompatible feature/],
    ['extended L2 with 4 KiB clusters', (b) => { b.writeBigUInt64BE(16n, 72); b.writeUInt32BE(12, 20); b.writeUInt32BE(8192, 36); b.writeBigUInt64BE(0x3000n, 40); }, /subcluster/],
    ['a refcount order above 6', (b) => b.writeUInt32BE(7, 96), /Reference count entry width/],
    ['an unknown encryption method', (b) => b.writeUInt32BE(3, 32), /encryption method/],
    ['LUKS without its crypto header', (b) => b.writeUInt32BE(2, 32), /Missing CRYPTO header/],
    ['no refcount table', (b) => b.writeUInt32BE(0, 56), /reference count table/],
    ['a misaligned refcount table', (b) => b.writeBigUInt64BE(0x10008n, 48), /Reference count table offset invalid/],
    ['too large a refcount table', (b) => b.writeUInt32BE(129, 56), /Reference count table too large/],
    ['a misaligned snapshot table, even when empty', (b) => b.writeBigUInt64BE(0x100n, 64), /Snapshot table offset invalid/],
    ['more than 65536 snapshots', (b) => b.writeUInt32BE(65537, 60), /Snapshot table too large/],
    ['a misaligned L1 table', (b) => b.writeBigUInt64BE(0x30001n, 40), /L1 table offset invalid/],
    ['an L1 table past 2^63', (b) => b.writeBigUInt64BE(1n << 63n, 40), /L1 table offset invalid/],
    ['an L1 table too small for the size', (b) => b.writeUInt32BE(1, 36), /L1 table is too small/],
    ['an absurd virtual size', (b) => b.writeBigUInt64BE(1n << 62n, 24), /too big|too small/],
    ['an extension running past the backing name', (b) => b.writeUInt32BE(0x1000, 116), /extension too large/],
    ['a backing format of 16 bytes or more', (b) => b.writeUInt32BE(16, 116), /backing format/],
    ['the external data file bit without a data file name', (b) => b.writeBigUInt64BE(4n, 72), /data-file/],
    ['the data-file-raw autoclear bit without an external data file', (b) => b.writeBigUInt64BE(2n, 88), /data-file-raw requires a data file/],
  ])('refuses %s', (_name, edit, reason) => {
    expect(parseQcow2Header(header(edit))?.refused).toMatch(reason);
  });

  test('internal snapshots are counted, and a snapshot table QEMU cannot read is refused', () => {
    const withTable = (extra: number): Buffer => {
      const buf = Buffer.concat([header((b) => { b.writeUInt32BE(1, 60); b.writeBigUInt64BE(0x40000n, 64); }), Buffer.alloc(0x40000 + 40 - 65536)]);
      buf.writeUInt32BE(extra, 0x40000 + 36);
      return buf;
    };
    expect(parseQcow2Header(withTable(16))).toMatchObject({ refused: null, internalSnapshots: 1 });
    expect(parseQcow2Header(withTable(2048))?.refused).toMatch(/Too much extra metadata/);
  });

  test('legacy AES encryption is marked and opens; the feature-name table and unknown extensions are skipped', () => {
    const parsed = parseQcow2Header(
      header((b) => {
        b.writeUInt32BE(1, 32);
        b.writeUInt32BE(0x6803f857, 128); // feature names, after the 16-byte backing format extension
        b.writeUInt32BE(48, 132);
        b.writeUInt32BE(0x12345678, 184); // an extension QEMU does not know
        b.writeUInt32BE(3, 188);
      }),
    );
    expect(parsed).toMatchObject({ refused: null, encrypted: 'aes', backingFormat: 'qcow2' });
  });

  test('a v2 header takes its extensions right after the 72 fixed bytes', () => {
    const parsed = parseQcow2Header(
      header((b) => {
        b.writeUInt32BE(2, 4);
        b.copy(b, 72, 112, 128);
        b.fill(0, 88, 128);
      }),
    );
    expect(parsed).toMatchObject({ version: 2, refused: null, backingFormat: 'qcow2', backingName: 'base.img' });
  });
});
