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
}

/**
 * A snapshot's key: its source, domain, name and time taken, so a snapshot deleted and taken again under the
 * same name is asked for anew.
 */
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
  });
