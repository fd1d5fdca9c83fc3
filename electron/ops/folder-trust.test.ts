import { chmod, chown, lchown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { checkTrustedFolder, whyUntrustedFolder } from './folder-trust';

const NOBODY = 65534;
let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'snaptree-trust-'));
  await chmod(root, 0o755);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function folder(name: string, mode = 0o755): Promise<string> {
  const path = join(root, name);
  await mkdir(path, { recursive: true });
  await chmod(path, mode);
  return path;
}

describe('the engine changes files only in folders no other user can change', () => {
  test('a folder of root, closed to others, under /tmp (sticky) is trusted', async () => {
    expect(await whyUntrustedFolder(await folder('imgs'))).toBeNull();
    await expect(checkTrustedFolder(await folder('imgs'))).resolves.toBeUndefined();
  });

  test('a folder another user owns is refused, saying who and how to fix it', async () => {
    const imgs = await folder('imgs');
    await chown(imgs, NOBODY, NOBODY);
    const why = await whyUntrustedFolder(imgs);
    expect(why).toMatch(/belongs to user 65534/);
    expect(why).toContain(`chown root ${imgs} && chmod go-w ${imgs}`);
    await expect(checkTrustedFolder(imgs)).rejects.toMatchObject({ code: 'E_NOT_SUPPORTED', details: { path: imgs, untrusted: imgs } });
  });

  test.each([
    ['everyone', 0o777, /written by everyone \(mode 0777, no sticky bit\)/],
    ['its group', 0o775, /written by its group .*mode 0775/],
  ])('a folder %s can write, without the sticky bit, is refused', async (_who, mode, message) => {
    expect(await whyUntrustedFolder(await folder('imgs', mode))).toMatch(message);
  });

  test('a world-writable folder with the sticky bit is refused as a folder files are changed in: others could swap their own entries', async () => {
    const imgs = await folder('imgs', 0o1777);
    expect(await whyUntrustedFolder(imgs)).toMatch(/written by everyone \(mode 1777\); the sticky bit stops them renaming files they do not own, but not their own/);
    expect(await whyUntrustedFolder(imgs)).toContain(`chmod go-w ${imgs}`);
    await expect(checkTrustedFolder(imgs)).rejects.toMatchObject({ code: 'E_NOT_SUPPORTED', details: { path: imgs, untrusted: imgs } });
  });

  test('a sticky world-writable folder (like /tmp) may lie on the way to a trusted folder, and may hold files the engine only opens', async () => {
    const shared = await folder('shared', 0o1777);
    for (const mode of [0o700, 0o755]) {
      const imgs = await folder(`shared/imgs-${mode.toString(8)}`, mode);
      expect(await whyUntrustedFolder(imgs)).toBeNull();
    }
    expect(await whyUntrustedFolder(shared, 'read')).toBeNull();
    await chmod(shared, 0o777);
    expect(await whyUntrustedFolder(shared, 'read')).toMatch(/written by everyone \(mode 0777, no sticky bit\)/);
  });

  test('a trusted folder inside one another user owns is refused: that user could swap the whole folder', async () => {
    const outer = await folder('outer');
    const imgs = await folder('outer/imgs');
    await chown(outer, NOBODY, NOBODY);
    const why = await whyUntrustedFolder(imgs);
    expect(why).toContain(`${imgs}: ${outer}, which belongs to user 65534`);
  });

  test('a symbolic link on the way counts only when root owns it, and then the folder it leads to is checked', async () => {
    const real = await folder('real');
    await symlink(real, join(root, 'by-root'));
    expect(await whyUntrustedFolder(join(root, 'by-root'))).toBeNull();
    await chmod(real, 0o777);
    expect(await whyUntrustedFolder(join(root, 'by-root'))).toMatch(/written by everyone/);
    await chmod(real, 0o755);
    await symlink(real, join(root, 'by-nobody'));
    await lchown(join(root, 'by-nobody'), NOBODY, NOBODY);
    expect(await whyUntrustedFolder(join(root, 'by-nobody'))).toMatch(/symbolic link of user 65534/);
  });

  test('a missing folder or a file in its place is refused', async () => {
    expect(await whyUntrustedFolder(join(root, 'none'))).toMatch(/does not exist/);
    await writeFile(join(root, 'file'), '');
    expect(await whyUntrustedFolder(join(root, 'file'))).toMatch(/is not a folder/);
  });
});
