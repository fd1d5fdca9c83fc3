/**
 * A stable access token for `serve --token-file PATH`, so a bookmarked URL survives restarts. The file is the
 * secret: it is created 0600 without following links, and an existing one is used only when it is a regular
 * file of this user that nobody else can read.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { AppError } from '../../shared/errors';

const TOKEN = /^[A-Za-z0-9_-]{32,256}$/;

/** A new random token: 48 hex digits, as `serve` prints when no file is given. */
export function newToken(): string {
  return randomBytes(24).toString('hex');
}

/** Reads the token kept in `path`, or creates the file with a new one. */
export async function tokenFromFile(path: string): Promise<string> {
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw new AppError('E_BAD_INPUT', `Cannot read the token file ${path}: ${error.message}`, { path });
  });
  if (info === null) {
    const token = newToken();
    const file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600).catch((error: Error) => {
      throw new AppError('E_BAD_INPUT', `Cannot create the token file ${path}: ${error.message}`, { path });
    });
    try {
      await file.writeFile(`${token}\n`);
    } finally {
      await file.close();
    }
    return token;
  }
  const uid = process.getuid?.() ?? info.uid;
  if (!info.isFile()) throw new AppError('E_BAD_INPUT', `The token file ${path} is not a regular file (a link or a folder is not used).`, { path });
  if (info.uid !== uid) throw new AppError('E_BAD_INPUT', `The token file ${path} belongs to another user; it is not used.`, { path });
  if ((info.mode & 0o077) !== 0) {
    throw new AppError('E_BAD_INPUT', `The token file ${path} can be read by others (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 on it.`, { path });
  }
  const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  let text: string;
  try {
    text = (await file.readFile('utf8')).trim();
  } finally {
    await file.close();
  }
  if (!TOKEN.test(text)) throw new AppError('E_BAD_INPUT', `The token file ${path} does not hold a token (32 to 256 letters, digits, - or _).`, { path });
  return text;
}
