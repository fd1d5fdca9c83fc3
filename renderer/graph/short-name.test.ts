import { describe, expect, test } from 'vitest';
import { fitMiddle, middleEllipsis, sharedPrefix, shortFileName } from './short-name';

describe('short names', () => {
  test('a name that fits is left as it is', () => {
    expect(middleEllipsis('snap1', 16)).toBe('snap1');
    expect(middleEllipsis('exactly-sixteen!', 16)).toBe('exactly-sixteen!');
  });

  test('a long name keeps its start and its end, where names differ', () => {
    const a = middleEllipsis('php83-installed', 14);
    const b = middleEllipsis('php83-installed-tested', 14);
    expect([...a].length).toBeLessThanOrEqual(14);
    expect(b).toBe('php83-…-tested');
    expect(b.startsWith('php83')).toBe(true);
    expect(b.endsWith('tested')).toBe(true);
    expect(a).not.toBe(b);
  });

  test('the end starts on a word when a separator is near the cut', () => {
    expect(middleEllipsis('php83-installed-and-tested', 16)).toBe('php83-in…-tested');
  });

  test('a budget of one or less is only the ellipsis', () => {
    expect(middleEllipsis('anything', 1)).toBe('…');
  });

  test('multi-byte letters are counted as letters', () => {
    expect([...middleEllipsis('ünïcødé-snapshot-näme', 10)].length).toBe(10);
  });

  test('the start shared by every file of a domain is found up to a separator', () => {
    expect(sharedPrefix(['web01.installed.qcow2', 'web01.base.qcow2', 'web01.snap1'])).toBe('web01.');
    expect(sharedPrefix(['web01-a.qcow2', 'web01-b.qcow2'])).toBe('web01-');
    expect(sharedPrefix(['base.qcow2', 'base.snap1', 'base.snap2'])).toBe('base.');
  });

  test('no shared start when names share none, there is one name, or a name would be left empty', () => {
    expect(sharedPrefix(['a.qcow2', 'b.qcow2'])).toBe('');
    expect(sharedPrefix(['web01.qcow2'])).toBe('');
    expect(sharedPrefix(['web01.', 'web01.snap'])).toBe('');
    expect(sharedPrefix(['webx1.qcow2', 'weby1.qcow2'])).toBe('');
  });

  test('a file name too long for its node drops the shared start and shows the part that differs', () => {
    expect(shortFileName('web01.installed.qcow2', 'web01.', 18)).toBe('…installed.qcow2');
    expect(shortFileName('web01.installed.qcow2', 'web01.', 24)).toBe('web01.installed.qcow2');
    expect(shortFileName('base.qcow2', 'base.', 22)).toBe('base.qcow2');
    expect(shortFileName('other.qcow2', 'web01.', 24)).toBe('other.qcow2');
    expect(shortFileName('web01.a-very-long-layer-name-indeed.qcow2', 'web01.', 20).endsWith('indeed.qcow2')).toBe(true);
  });
});

describe('fitMiddle', () => {
  // Ten px a letter: a box of 120 px holds twelve.
  const measure = (text: string) => [...text].length * 10;
  test('keeps the whole name when it fits, else cuts it once, in the middle, to the room there is', () => {
    const name = 'fork-branch-tip-01.qcow2';
    const cut = (n: number) => middleEllipsis(name, n);
    expect(fitMiddle(name.length, 240, measure, cut)).toBe(name);
    const shown = fitMiddle(name.length, 120, measure, cut);
    expect([...shown]).toHaveLength(12);
    expect(shown.endsWith('01.qcow2') || shown.endsWith('.qcow2')).toBe(true);
    expect(fitMiddle(name.length, 5, measure, cut)).toBe('…');
  });

  test('a cut with a shared prefix dropped uses the same room', () => {
    const name = 'web01.a-very-long-layer-name-indeed.qcow2';
    const shown = fitMiddle(name.length, 200, measure, (n) => shortFileName(name, 'web01.', n));
    expect([...shown]).toHaveLength(20);
    expect(shown.startsWith('…')).toBe(true);
  });
});

describe('middleEllipsis of a file name', () => {
  test('keeps the extension whole and cuts the stem, so the end where names differ stays', () => {
    expect(middleEllipsis('fork-branch-long-name-tip-01.qcow2', 16).endsWith('01.qcow2')).toBe(true);
    expect(middleEllipsis('webserver-production-before-upgrade-clean.qcow2', 13)).toMatch(/ean\.qcow2$/);
    expect([...middleEllipsis('webserver-production-before-upgrade-clean.qcow2', 13)]).toHaveLength(13);
  });
});
