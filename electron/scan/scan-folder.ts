/**
 * Scans a folder of images with no libvirt at all: the graph comes from backing links alone. Only qcow2 files
 * are taken from the listing; a raw base joins the graph when a qcow2 file names it with its format.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { assembleFolder } from '../../shared/assemble';
import { AppError } from '../../shared/errors';
import type { ScanResult } from '../../shared/model';
import { canonical, LayerReader, resolveBackingName } from './layers';

export async function scanFolder(path: string): Promise<ScanResult> {
  const dir = canonical(path);
  let names: string[];
  try {
    if (dir === null) throw new Error('no such folder');
    const entries = await readdir(dir, { withFileTypes: true });
    names = entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name);
  } catch (error) {
    throw new AppError('E_NOT_FOUND', `Cannot read the folder ${path}: ${(error as Error).message}`, { path });
  }
  const reader = new LayerReader();
  const qcow2 = names
    .map((name) => join(dir as string, name))
    .sort()
    .filter((file) => reader.header(file) !== null);
  // Tips first: each walks its whole chain, and the layers below are then known.
  const backings = new Set(
    qcow2.map((file) => {
      const name = reader.header(file)?.backingName;
      return name ? reader.canonical(resolveBackingName(file, name)) : null;
    }),
  );
  const tips = qcow2.filter((file) => !backings.has(file));
  await Promise.all(tips.map((file) => reader.read(file, 'qcow2')));
  await Promise.all(qcow2.map((file) => reader.read(file, 'qcow2')));
  return {
    source: { kind: 'folder', path: dir as string },
    scannedAt: new Date().toISOString(),
    hypervisor: null,
    domains: assembleFolder(reader.layers, reader.problemsFor()),
    problems: reader.problemsFor().filter((p) => p.path === undefined || reader.layers[p.path] === undefined),
  };
}
