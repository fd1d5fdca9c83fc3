/**
 * Scans a folder of images with no libvirt at all: the graph comes from backing links alone. Only qcow2 files
 * are taken from the listing; a raw base joins the graph when a qcow2 file names it with its format.
 * Anything in the listing that is not a regular file (a FIFO, a socket, a device, a link to a directory) is
 * reported and never opened. An image whose real path leaves the folder (a symlink, a backing link) is shown
 * with a warning: the planners never move, write or delete it. A file whose name is not valid UTF-8, or that may
 * be an image but cannot be read, is reported: it may be built on any image here, so the planners freeze them.
 */
import { dirname, join } from 'node:path';
import { assembleFolder } from '../../shared/assemble';
import { AppError } from '../../shared/errors';
import type { ScanResult } from '../../shared/model';
import { TRASH_DIR } from '../../shared/ops/trash-names';
import { trashProblem } from '../ops/trash-folder';
import { listDirectory, reportUnreadableFile } from './file-checks';
import { canonical, LayerReader, resolveBackingName } from './layers';

/** Whether a real path lies in the folder `dir` (a real path) or below it. */
export const insideFolder = (dir: string, path: string): boolean => path.startsWith(`${dir}/`);

/** Scans an image folder: every qcow2 file in it, their backing chains, and what could not be read. */
export async function scanFolder(path: string): Promise<ScanResult> {
  const dir = canonical(path);
  const reader = new LayerReader();
  let files: string[];
  try {
    if (dir === null) throw new Error('no such folder');
    // Subfolders (the trash among them) are not images; everything else is looked at, by its raw name.
    files = (await listDirectory(reader, dir)).map((e) => e.path);
  } catch (error) {
    throw new AppError('E_NOT_FOUND', `Cannot read the folder ${path}: ${(error as Error).message}`, { path });
  }
  const qcow2: string[] = [];
  for (const file of files.sort()) {
    if (!reader.isRegular(file, 'warning')) continue;
    if (reader.header(file) !== null) qcow2.push(file);
    else reportUnreadableFile(reader, file);
  }
  // Tips first: each walks its whole chain, and the layers below are then known.
  const backings = new Set(
    qcow2.map((file) => {
      const name = reader.header(file)?.backingName;
      const named = name ? resolveBackingName(file, name) : null;
      return named === null ? null : reader.canonical(named);
    }),
  );
  const tips = qcow2.filter((file) => !backings.has(file));
  await Promise.all(tips.map((file) => reader.read(file, 'qcow2')));
  await Promise.all(qcow2.map((file) => reader.read(file, 'qcow2')));
  await reportPlaces(reader, dir as string);
  return {
    source: { kind: 'folder', path: dir as string },
    scannedAt: new Date().toISOString(),
    hypervisor: null,
    domains: assembleFolder(reader.layers, reader.problemsFor()),
    problems: reader.problemsFor().filter((p) => p.path === undefined || reader.layers[p.path] === undefined),
  };
}

/** Warns about layers outside the folder and about trash folders beside the layers that are not safe to use. */
async function reportPlaces(reader: LayerReader, dir: string): Promise<void> {
  const dirs = new Set<string>();
  for (const layer of Object.keys(reader.layers)) {
    if (insideFolder(dir, layer)) {
      dirs.add(dirname(layer));
      continue;
    }
    reader.report({
      code: 'outside-folder',
      severity: 'warning',
      message: `${layer} lies outside the folder ${dir} (reached through a symbolic link or a backing link): it is shown, but never moved, written or deleted.`,
      path: layer,
    });
  }
  await Promise.all([...dirs].map((d) => reportTrash(reader, d)));
}

/** Warns when the trash folder beside the files of `dir` exists but is not the engine's own: it is not used. */
export async function reportTrash(reader: LayerReader, dir: string): Promise<void> {
  const why = trashProblem(dir, reader.files);
  if (why === null) return;
  const trash = join(dir, TRASH_DIR);
  reader.report({
    code: 'unsafe-trash',
    severity: 'warning',
    message: `The trash folder ${trash} ${why}: nothing is moved into or out of it, and operations that would trash files there are refused. Move it away and check who made it.`,
    path: trash,
  });
}
