/**
 * One operation per domain at a time, across processes: a lock per connection and domain in the data folder,
 * held with proper-lockfile. The holder's pid is kept inside the lock, so a lock left by a killed process is
 * taken over at once rather than after it goes stale.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { AppError } from '../../shared/errors';
import { dataDir } from './data-dir';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the lock at `lockDir` was left by a process of this host that no longer runs. */
async function abandoned(lockDir: string): Promise<boolean> {
  try {
    const [host, pid] = (await readFile(join(lockDir, 'owner'), 'utf8')).trim().split(' ');
    return host === hostname() && pid !== undefined && !alive(Number(pid));
  } catch {
    return false;
  }
}

export async function lockDomain(uri: string, domain: string): Promise<() => Promise<void>> {
  const dir = join(dataDir(), 'locks');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${createHash('sha256').update(`${uri}\0${domain}`).digest('hex').slice(0, 24)}`);
  const lockDir = `${file}.lock`;
  await writeFile(file, `${uri} ${domain}\n`);
  let compromised = false;
  const take = () =>
    lockfile.lock(file, {
      lockfilePath: lockDir,
      stale: 15_000,
      update: 5_000,
      retries: 0,
      onCompromised: () => {
        compromised = true;
      },
    });
  let release: () => Promise<void>;
  try {
    release = await take();
  } catch (error) {
    if ((error as { code?: string }).code !== 'ELOCKED') throw error;
    if (!(await abandoned(lockDir))) {
      throw new AppError('E_LOCKED', `Another operation is running on ${domain}. Wait for it to finish, then try again.`, { domain });
    }
    await rm(lockDir, { recursive: true, force: true });
    release = await take();
  }
  const owner = join(lockDir, 'owner');
  await writeFile(owner, `${hostname()} ${process.pid}\n`);
  return async () => {
    if (compromised) return;
    await rm(owner, { force: true });
    await release();
  };
}
