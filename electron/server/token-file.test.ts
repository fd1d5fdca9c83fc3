import { chmod, lstat, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tokenFromFile } from './token-file';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-token-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('serve --token-file', () => {
  test('creates the file 0600 with a new token, and gives the same token on the next start', async () => {
    const file = join(dir, 'token');
    const token = await tokenFromFile(file);
    expect(token).toMatch(/^[0-9a-f]{48}$/);
    expect((await lstat(file)).mode & 0o777).toBe(0o600);
    expect(await tokenFromFile(file)).toBe(token);
  });

  test('a token file others can read is refused, with the fix', async () => {
    const file = join(dir, 'loose');
    await writeFile(file, `${'c'.repeat(48)}\n`, { mode: 0o644 });
    await chmod(file, 0o644);
    await expect(tokenFromFile(file)).rejects.toMatchObject({ code: 'E_BAD_INPUT', message: expect.stringMatching(/chmod 600/) });
  });

  test('a link in place of the token file is neither followed nor written through', async () => {
    const target = join(dir, 'elsewhere');
    await writeFile(target, 'not a token, and must stay so', { mode: 0o600 });
    const link = join(dir, 'linked');
    await symlink(target, link);
    await expect(tokenFromFile(link)).rejects.toMatchObject({ code: 'E_BAD_INPUT', message: expect.stringMatching(/not a regular file/) });
    const dangling = join(dir, 'dangling');
    await symlink(join(dir, 'would-be-created'), dangling);
    await expect(tokenFromFile(dangling)).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
    await expect(lstat(join(dir, 'would-be-created'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(target, 'utf8')).toBe('not a token, and must stay so');
  });

  test('a file that holds no token is refused', async () => {
    const file = join(dir, 'garbage');
    await writeFile(file, 'short\n', { mode: 0o600 });
    await expect(tokenFromFile(file)).rejects.toMatchObject({ code: 'E_BAD_INPUT', message: expect.stringMatching(/does not hold a token/) });
  });
});
