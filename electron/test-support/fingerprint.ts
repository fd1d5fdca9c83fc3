/** What "untouched" means in the safety tests: every entry below a folder, as it stands on disk. */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Every entry below `dir` with its mode, owner and content (a link by its target, never followed): equal
 * before and after means untouched.
 */
export async function fingerprint(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const info = await lstat(path);
    const head = `${name} ${info.mode.toString(8)} ${info.uid}`;
    if (info.isDirectory()) out.push(head, ...(await fingerprint(path)).map((l) => `${name}/${l}`));
    else if (info.isSymbolicLink()) out.push(`${head} -> ${await readlink(path)}`);
    else out.push(`${head} ${createHash('sha256').update(await readFile(path)).digest('hex')}`);
  }
  return out;
}
