/**
 * The user's settings: the libvirt connections and image folders they added, kept in the data folder so they
 * are there on the next start.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';
import { absolutePathSchema, uriSchema } from '../shared/validate';
import { dataDir } from './ops/data-dir';

const settingsSchema = z.object({
  connections: z.array(uriSchema).default([]),
  folders: z.array(absolutePathSchema).default([]),
});

export type Settings = z.infer<typeof settingsSchema>;

const file = () => join(dataDir(), 'settings.json');

/** Reads the settings; a missing or damaged file reads as no settings, never as an error. */
export async function readSettings(): Promise<Settings> {
  try {
    return settingsSchema.parse(JSON.parse(await readFile(file(), 'utf8')));
  } catch {
    return { connections: [], folders: [] };
  }
}

export async function writeSettings(settings: Settings): Promise<void> {
  await mkdir(dataDir(), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file(), `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
}
