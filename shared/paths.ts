/** POSIX path helpers for shared/, which cannot import node:path. Paths here are already canonical. */

export function basename(path: string): string {
  const trimmed = path.endsWith('/') && path.length > 1 ? path.slice(0, -1) : path;
  const at = trimmed.lastIndexOf('/');
  return at === -1 ? trimmed : trimmed.slice(at + 1);
}

export function dirname(path: string): string {
  const at = path.lastIndexOf('/');
  if (at === -1) return '.';
  if (at === 0) return '/';
  return path.slice(0, at);
}
