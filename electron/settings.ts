/**
 * The user's settings: the libvirt connections and image folders they added, kept in the data folder so they
 * are there on the next start.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { absolutePathSchema, uriSchema } from '../shared/validate';
import { dataSubdir, readPrivateFile, writePrivateFile } from './ops/data-dir';

const settingsSchema = z.object({
  connections: z.array(uriSchema).default([]),
  folders: z.array(absolutePathSchema).default([]),
});

export type Settings = z.infer<typeof settingsSchema>;

/** The settings file, in the data folder once that is checked as private. */
const file = async () => join(await dataSubdir(), 'settings.json');

/**
 * Reads the settings; a missing or damaged file reads as no settings. An unsafe data folder, or a link where the
 * file should be, is an error that says what to fix: the settings name what the engine acts on, so they are
 * never read from a place someone else controls.
 */
export async function readSettings(): Promise<Settings> {
  const content = await readPrivateFile(await file());
  try {
    return settingsSchema.parse(JSON.parse(content ?? '{}'));
  } catch {
    return { connections: [], folders: [] };
  }
}

/** Replaces the settings file atomically (0600), never writing through a link. */
export async function writeSettings(settings: Settings): Promise<void> {
  await writePrivateFile(await file(), `${JSON.stringify(settings, null, 2)}\n`);
}
