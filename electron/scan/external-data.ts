/**
 * The external data file of a qcow2 image, as part of its layer: the guest data lives there, the image holds only
 * metadata, so a data file that is gone is a broken disk even though the image itself reads fine. Found from the
 * header's "DATA" extension and one `stat` (never an open: the name may point at a FIFO or a device).
 *
 * QEMU 7.2 opens the name as written: an absolute name is that file; a relative one is opened against the working
 * directory of whatever process opens the image (checked with qemu-io run from another directory), not against
 * the image's folder. For a VM that is its QEMU process, so the app cannot tell which file a relative name is.
 */
import type { FileView } from './file-view';
import { isAbsolute } from 'node:path';
import type { LayerDataFile, Problem } from '../../shared/model';
import { QCOW2_EXTERNAL_DATA, type Qcow2Header } from '../tools/qcow2-header';
import { dataFileProblem, escapeName } from './file-checks';

/** The data file of the image at `path` and the problems it shows; `dataFile` is null when it has none. */
export function readDataFile(path: string, header: Qcow2Header | null, files: FileView): { dataFile: LayerDataFile | null; problems: Problem[] } {
  if (header === null || (header.incompatibleFeatures & QCOW2_EXTERNAL_DATA) === 0) return { dataFile: null, problems: [] };
  // A name that is not valid UTF-8 names no file the app can stat: never "missing" (see `header-names.ts`).
  const unnamed = header.invalidNames.dataFile;
  if (unnamed !== null) return { dataFile: null, problems: [dataFileProblem(path, escapeName(unnamed))] };
  const problems = [dataFileProblem(path, header.dataFile)];
  const name = header.dataFile;
  if (name === null) {
    problems.push({
      code: 'missing-data-file',
      severity: 'error',
      message: `${path} keeps its guest data in an external data file, but its header does not name one: QEMU cannot open this disk.`,
      path,
    });
    return { dataFile: null, problems };
  }
  if (!isAbsolute(name)) return { dataFile: { path: name, exists: null, size: 0 }, problems };
  try {
    const stats = files.stat(name);
    return { dataFile: { path: name, exists: true, size: stats.blocks * 512 }, problems };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    const what = code === 'ENOENT' || code === 'ENOTDIR' ? 'is missing' : `cannot be reached (${code})`;
    problems.push({
      code: 'missing-data-file',
      severity: 'error',
      message: `The external data file ${name} of ${path} ${what}: the guest data of this disk is not there, and QEMU cannot open it.`,
      path,
    });
    return { dataFile: { path: name, exists: false, size: 0 }, problems };
  }
}
