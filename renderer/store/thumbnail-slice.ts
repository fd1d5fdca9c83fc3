/**
 * Snapshot thumbnails: the screen kept when a snapshot was taken of a running domain with a display
 * (electron/ops/thumbnails.ts), asked for once per snapshot and kept as a `data:` URL.
 */
import type { StateCreator } from 'zustand';
import type { SnaptreeApi } from '../../shared/contract';
import type { AppState } from './store';

export interface ThumbnailSlice {
  /** By `thumbnailKey`: the image, null when the snapshot has none, absent while not asked yet. */
  thumbnails: Record<string, string | null>;
  /** Asks the engine for a snapshot's thumbnail, unless it was asked already. */
  loadThumbnail(domain: string, snapshot: string, created: string | null): Promise<void>;
  /** Asks, in one call, for the thumbnails of those of a domain's snapshots not asked for yet. */
  loadThumbnails(domain: string, snapshots: ReadonlyArray<{ name: string; created: string | null }>): Promise<void>;
}

/**
 * A snapshot's key: its source, domain, name and time taken, so a snapshot deleted and taken again under the
 * same name is asked for anew.
 */
/** How long after it was taken a snapshot without a thumbnail is asked for again. */
const RECENT_MS = 60_000;

export const thumbnailKey = (sourceId: string | null, domain: string, snapshot: string, created: string | null): string => JSON.stringify([sourceId, domain, snapshot, created]);

export const createThumbnailSlice =
  (api: SnaptreeApi): StateCreator<AppState, [], [], ThumbnailSlice> =>
  (set, get) => ({
    thumbnails: {},
    async loadThumbnail(domain, snapshot, created) {
      const sourceId = get().sourceId;
      const key = thumbnailKey(sourceId, domain, snapshot, created);
      if (sourceId === null || key in get().thumbnails) return;
      set((s) => ({ thumbnails: { ...s.thumbnails, [key]: null } }));
      try {
        const { dataUrl } = await api.call('thumbnail', { sourceId, domain, snapshot });
        if (dataUrl !== null) set((s) => ({ thumbnails: { ...s.thumbnails, [key]: dataUrl } }));
      } catch {
        // No thumbnail to show: the details show none.
      }
    },
    async loadThumbnails(domain, snapshots) {
      const sourceId = get().sourceId;
      const asked = get().thumbnails;
      const wanted = snapshots.filter((s) => !(thumbnailKey(sourceId, domain, s.name, s.created) in asked));
      if (sourceId === null || wanted.length === 0) return;
      const keys = Object.fromEntries(wanted.map((s) => [s.name, thumbnailKey(sourceId, domain, s.name, s.created)]));
      set((s) => ({ thumbnails: { ...s.thumbnails, ...Object.fromEntries(Object.values(keys).map((k) => [k, null])) } }));
      try {
        const found = await api.call('thumbnails', { sourceId, domain, snapshots: wanted.map((s) => s.name) });
        const images = Object.entries(found).flatMap(([name, url]) => (keys[name] === undefined ? [] : [[keys[name], url] as const]));
        // A snapshot taken a moment ago may get its screen a moment later (the engine keeps it once the snapshot
        // exists): asked for again at the domain's next change, rather than known to have none.
        const fresh = wanted.filter((w) => found[w.name] === undefined && w.created !== null && Date.now() - Date.parse(w.created) < RECENT_MS);
        set((s) => {
          const thumbnails = { ...s.thumbnails, ...Object.fromEntries(images) };
          for (const w of fresh) delete thumbnails[keys[w.name] ?? ''];
          return { thumbnails };
        });
      } catch {
        // No thumbnails to show.
      }
    },
  });
