/**
 * One operation per domain at a time, across processes: a lock file per connection and domain in the data
 * folder, held with proper-lockfile (stale after a crash, so a killed process never blocks the next one).
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { AppError } from '../../shared/errors';
import { dataDir } from './data-dir';

export async function lockDomain(uri: string, domain: string): Promise<() => Promise<void>> {
  const dir = join(dataDir(), 'locks');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${createHash('sha256').update(`${uri}\0${domain}`).digest('hex').slice(0, 24)}.lock`);
  await writeFile(file, `${uri} ${domain}\n`, { flag: 'a' });
  let compromised: Error | null = null;
  try {
    const release = await lockfile.lock(file, {
      stale: 15_000,
      update: 5_000,
      retries: 0,
      onCompromised: (error) => {
        compromised = error;
      },
    });
    return async () => {
      if (compromised === null) await release();
    };
  } catch (error) {
    if ((error as { code?: string }).code === 'ELOCKED') {
      throw new AppError('E_LOCKED', `Another operation is running on ${domain}. Wait for it to finish, then try again.`, { domain });
    }
    throw error;
  }
}
