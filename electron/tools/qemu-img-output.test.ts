import { describe, expect, test } from 'vitest';
import { AppError } from '../../shared/errors';
import { parseCheck, parseCompare, parseInfo, parseMap, parseMeasure, progressReader } from './qemu-img-output';

// Outputs captured from qemu-img 7.2 on images made for the purpose.
const MAP = `[{ "start": 0, "length": 1048576, "depth": 1, "present": true, "zero": false, "data": true, "offset": 327680},
{ "start": 1048576, "length": 1048576, "depth": 1, "present": false, "zero": true, "data": false},
{ "start": 2097152, "length": 1048576, "depth": 0, "present": true, "zero": false, "data": true, "offset": 327680},
{ "start": 4194304, "length": 1048576, "depth": 0, "present": true, "zero": true, "data": false}]`;

const CHECK_CORRUPT = `{
    "image-end-offset": 2424832,
    "total-clusters": 256,
    "corruptions": 70,
    "check-errors": 0,
    "allocated-clusters": 32,
    "filename": "/tmp/qj/c.qcow2",
    "format": "qcow2"
}`;

const CHECK_LEAKS_FIXED = `{
    "image-end-offset": 2424832,
    "total-clusters": 256,
    "check-errors": 0,
    "leaks-fixed": 1,
    "allocated-clusters": 32,
    "filename": "l2.qcow2",
    "format": "qcow2"
}`;

const MEASURE = `{
    "bitmaps": 0,
    "required": 2424832,
    "fully-allocated": 17104896
}`;

const INFO_CHAIN = `[
    { "backing-filename-format": "qcow2", "virtual-size": 16777216, "filename": "o2.qcow2", "cluster-size": 65536,
      "format": "qcow2", "actual-size": 200704,
      "format-specific": { "type": "qcow2", "data": { "compat": "1.1", "compression-type": "zlib", "lazy-refcounts": false,
        "refcount-bits": 16, "corrupt": false, "extended-l2": false } },
      "full-backing-filename": "base.qcow2", "backing-filename": "base.qcow2", "dirty-flag": false },
    { "virtual-size": 16777216, "filename": "base.qcow2", "cluster-size": 65536, "format": "qcow2", "actual-size": 2363392,
      "format-specific": { "type": "qcow2", "data": { "compat": "1.1", "compression-type": "zlib", "lazy-refcounts": false,
        "refcount-bits": 16, "corrupt": false, "extended-l2": false } },
      "dirty-flag": false }
]`;

async function codeOf(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (error) {
    return error instanceof AppError ? error.code : 'not an AppError';
  }
  return 'no error';
}

describe('qemu-img output readers', () => {
  test('map lists each extent with the depth of the layer serving it', () => {
    const extents = parseMap(MAP);
    expect(extents).toHaveLength(4);
    expect(extents[0]).toEqual({ start: 0, length: 1048576, depth: 1, present: true, zero: false, data: true, offset: 327680 });
    expect(extents.filter((e) => e.depth === 0).map((e) => e.start)).toEqual([2097152, 4194304]);
  });

  test('map from a qemu-img that does not say "present" still reads', () => {
    expect(parseMap('[{ "start": 0, "length": 512, "depth": 0, "zero": true, "data": false}]')[0]?.present).toBeUndefined();
  });

  test('check counts what qemu-img left out as none', () => {
    expect(parseCheck(CHECK_CORRUPT)).toMatchObject({ checkErrors: 0, corruptions: 70, leaks: 0, corruptionsFixed: 0, leaksFixed: 0, totalClusters: 256 });
    expect(parseCheck(CHECK_LEAKS_FIXED)).toMatchObject({ leaks: 0, leaksFixed: 1, imageEndOffset: 2424832, filename: 'l2.qcow2' });
  });

  test('measure gives both sizes and the bitmaps', () => {
    expect(parseMeasure(MEASURE)).toEqual({ required: 2424832, fullyAllocated: 17104896, bitmaps: 0 });
    expect(parseMeasure('{ "required": 393216, "fully-allocated": 1074135040 }').bitmaps).toBe(0);
  });

  test('info reads one image or a whole chain', () => {
    const chain = parseInfo(INFO_CHAIN);
    expect(chain.map((i) => i['backing-filename-format'])).toEqual(['qcow2', undefined]);
    expect(parseInfo('{ "virtual-size": 1, "filename": "a", "format": "raw" }')).toHaveLength(1);
  });

  test('output that is not JSON, or not of the expected shape, is an E_TOOL naming the command', async () => {
    expect(await codeOf(() => parseMap('qemu-img: oops'))).toBe('E_TOOL');
    expect(await codeOf(() => parseCheck('{ "filename": "a" }'))).toBe('E_TOOL');
    expect(await codeOf(() => parseMeasure('{ "required": -1, "fully-allocated": 0 }'))).toBe('E_TOOL');
    expect(await codeOf(() => parseMap('[{ "start": "0" }]'))).toBe('E_TOOL');
  });

  test('compare: 0 is identical, 1 differs at the offset it names, anything else is no verdict', () => {
    expect(parseCompare(0, 'Images are identical.')).toEqual({ identical: true });
    expect(parseCompare(1, 'Content mismatch at offset 2097152!')).toEqual({ identical: false, firstDifference: 2097152 });
    expect(parseCompare(1, '')).toEqual({ identical: false, firstDifference: null });
    expect(parseCompare(2, '')).toBeNull();
    expect(parseCompare(null, '')).toBeNull();
  });
});

describe('progressReader', () => {
  test('reads each carriage-return record once, whole, even when cut between chunks', () => {
    const seen: number[] = [];
    const read = progressReader((p) => seen.push(p));
    for (const chunk of ['    (0.00/100%)\r    (50.0', '0/100%)\r', '    (100.00/100%)\r', '    (100.00/100%)\r\n']) read(chunk);
    expect(seen).toEqual([0, 50, 100, 100]);
  });

  test('ignores lines that are not progress', () => {
    const seen: number[] = [];
    const read = progressReader((p) => seen.push(p));
    read('Image committed.\n(12.5/100%)\rnoise\r');
    expect(seen).toEqual([12.5]);
  });
});
