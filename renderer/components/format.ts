/** Display helpers for the renderer. */
import type { FileOwner, Source } from '../../shared/model';

export { formatBytes } from '../../shared/snapshot-graph';

/** "3 days ago", "just now", … for a past ISO time; the exact time goes in a tooltip. */
export function formatAge(iso: string | null, now = Date.now()): string {
  if (iso === null) return '';
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (seconds < 60) return 'just now';
  const steps: Array<[number, string]> = [
    [60, 'minute'],
    [3600, 'hour'],
    [86400, 'day'],
    [2592000, 'month'],
    [31536000, 'year'],
  ];
  let chosen: [number, string] = steps[0] as [number, string];
  for (const step of steps) if (seconds >= step[0]) chosen = step;
  const count = Math.floor(seconds / chosen[0]);
  return `${count} ${chosen[1]}${count === 1 ? '' : 's'} ago`;
}

export function formatTime(iso: string | null): string {
  if (iso === null) return 'unknown';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The file name of a path, for compact display. */
export function fileName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

const STATE_LABELS: Record<string, string> = {
  shutoff: 'shut off',
  'disk-snapshot': 'disk only',
  running: 'running',
  paused: 'paused',
  image: 'image',
};

export function stateLabel(state: string): string {
  return STATE_LABELS[state] ?? state;
}

/** `root:kvm`: who owns a file, by name where the host knows it. */
export function ownerName(owner: FileOwner): string {
  return `${owner.user ?? owner.uid}:${owner.group ?? owner.gid}`;
}

/** `0600`: permission bits as `ls -l` users write them. */
export function modeText(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/**
 * What a sidebar group and the top bar call a source: the connection's URI ("qemu:///system"), the host of one
 * reached over SSH ("root@web01 over SSH"), or the folder's path.
 */
export function connectionName(source: Source): string {
  if (source.kind === 'folder') return source.path;
  const ssh = /^[a-z0-9]+\+ssh:\/\/([^/?#]+)/i.exec(source.uri);
  return ssh?.[1] !== undefined ? `${ssh[1]} over SSH` : source.uri;
}
