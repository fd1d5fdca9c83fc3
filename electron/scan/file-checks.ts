/**
 * Files a scan cannot vouch for, and the problems that say so. An image with an external data file names a
 * second file that QEMU writes guest data into: it may be any file on the host, so the app never opens, writes,
 * moves or deletes such an image. A file in an image directory whose name is not valid UTF-8, or that cannot
 * be read as an image, may be an overlay of any layer there: a scan that left it out would call those layers
 * free to change, so it is reported, and the planners' guard freezes what it may depend on.
 */
import type { DirEntry } from './file-view';
import { dirname, isAbsolute, join } from 'node:path';
import type { Problem } from '../../shared/model';
import { QCOW2_MAGIC } from '../tools/qcow2-header-checks';
import type { LayerReader } from './layers';

/** The problem for a qcow2 image whose header sets the external-data-file bit, naming the data file. */
export function dataFileProblem(path: string, name: string | null): Problem {
  // QEMU 7.2 opens a relative data file name against the working directory of the process that opens the
  // image (checked with qemu-io), not against the image's folder: which file it is cannot be known from here.
  const where =
    name === null
      ? 'whose name its header does not record'
      : isAbsolute(name)
        ? name
        : `"${name}" (a relative name, which QEMU resolves against the working directory of whatever process opens the image, not against ${dirname(path)})`;
  return {
    code: 'external-data-file',
    severity: 'warning',
    message:
      `${path} keeps its guest data in the external data file ${where}. It is shown, but the app never writes, moves or deletes it, ` +
      'nor lets qemu-img open it or any image built on it, until external data files are supported.',
    path,
  };
}

/** Whether raw bytes are a name that survives a UTF-8 round trip: the only names the app can pass on as text. */
export const isValidName = (raw: Buffer): boolean => Buffer.from(raw.toString('utf8'), 'utf8').equals(raw);

const hex = (byte: number): string => `\\x${byte.toString(16).padStart(2, '0')}`;

/**
 * A name as visible text: valid characters as they are, every byte that is not part of a valid UTF-8 character
 * as `\xNN`, control characters too (so a name cannot rewrite the line it is shown on), and `\` doubled.
 */
export function escapeName(raw: Buffer): string {
  let out = '';
  let at = 0;
  while (at < raw.length) {
    let taken = 0;
    for (let n = 1; n <= 4 && at + n <= raw.length; n++) {
      const piece = raw.subarray(at, at + n);
      const text = piece.toString('utf8');
      if ([...text].length !== 1 || !Buffer.from(text, 'utf8').equals(piece)) continue;
      const code = text.codePointAt(0) as number;
      out += text === '\\' ? '\\\\' : code < 0x20 || (code >= 0x7f && code <= 0x9f) ? `\\u{${code.toString(16)}}` : text;
      taken = n;
      break;
    }
    if (taken === 0) {
      out += hex(raw[at] as number);
      taken = 1;
    }
    at += taken;
  }
  return out;
}

/** An entry of a directory listing whose name is valid text. */
export interface Entry {
  path: string;
  name: string;
  type: DirEntry['type'];
}

/**
 * Lists a directory by raw names. Names that are not valid UTF-8 (which a text listing would turn into U+FFFD,
 * a name that opens nothing) are reported on the directory, escaped; every other entry is returned.
 * Subdirectories are not images and are neither returned nor reported.
 */
export async function listDirectory(reader: LayerReader, dir: string): Promise<Entry[]> {
  const dirents = reader.files.list(dir);
  const entries: Entry[] = [];
  const bad: string[] = [];
  for (const dirent of dirents) {
    if (dirent.type === 'dir') continue;
    if (!isValidName(dirent.name)) {
      bad.push(escapeName(dirent.name));
      continue;
    }
    const name = dirent.name.toString('utf8');
    entries.push({ path: join(dir, name), name, type: dirent.type });
  }
  if (bad.length > 0) {
    bad.sort();
    reader.report({
      code: 'unreadable-name',
      severity: 'warning',
      message:
        `${dir} has ${bad.length === 1 ? 'a file' : 'files'} whose name is not valid UTF-8: ${bad.join(', ')}. ` +
        'Such a file may be built on any image here, so no image it could depend on is written, moved or deleted; rename it, then try again.',
      path: dir,
    });
  }
  return entries;
}

/**
 * Reports a listed file whose header was not read (`reader.header` gave null) when it may be an image: it could
 * not be opened, it starts like a qcow2 image but its header is not one QEMU's current formats use, or it is
 * named `.qcow2` without a header. A file that vanished (or a dangling link) is no image and is left out.
 * Returns whether it was reported.
 */
export function reportUnreadableFile(reader: LayerReader, path: string): boolean {
  const error = reader.openError(path);
  const refused = reader.headerRefusal(path);
  let why: string | null = null;
  if (refused !== null) {
    why = `it starts like a qcow2 image, but its header is one QEMU refuses to open (${refused})`;
  } else if (error !== null) {
    why = error === 'ENOENT' ? null : `it cannot be opened (${error})`;
  } else {
    let magic = false;
    try {
      const start = reader.files.readStart(path, 4);
      magic = start.length === 4 && start.readUInt32BE(0) === QCOW2_MAGIC;
    } catch {
      // Not a regular file (reported as such already), or gone since it was listed: no image.
      return false;
    }
    if (magic) why = 'it starts like a qcow2 image, but its header cannot be read (cut short, or a version QEMU does not open)';
    else if (/\.qcow2$/i.test(path)) why = 'it is named .qcow2 but holds no qcow2 header';
  }
  if (why === null) return false;
  reader.report({
    code: 'unreadable-file',
    severity: 'warning',
    message:
      `${path} cannot be read as an image: ${why}. It may be built on any image in ${dirname(path)}, so no image it could depend on is written, moved or deleted; ` +
      'make it readable or move it away, then try again.',
    path,
  });
  return true;
}
