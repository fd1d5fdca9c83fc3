/**
 * Names in a qcow2 header that are not valid UTF-8. QEMU opens a backing or data file name by its bytes, so such
 * a chain works for a VM; the app passes names on as text, which cannot spell those bytes (decoding gives U+FFFD,
 * which names no file, or another one). So the app cannot say which file QEMU opens: it reports the name with
 * escapes, never calls the file missing, does not follow the chain past the image, and plans nothing on it.
 */
import type { Problem } from '../../shared/model';
import type { Qcow2Header } from '../tools/qcow2-header';
import { escapeName } from './file-checks';

/**
 * The problem for the layer `path` whose header names a backing or data file with bytes that are not valid
 * UTF-8; null when it names none. An error, so that no plan touches its chain; `not-managed`, the code of a
 * backing link the app does not follow, so the plan guard also never opens a chain through it.
 */
export function invalidNameProblem(path: string, header: Qcow2Header | null): Problem | null {
  const names = header?.invalidNames;
  if (names === undefined) return null;
  const parts: string[] = [];
  if (names.backingName !== null) parts.push(`its backing name is not valid UTF-8 (shown with escapes: ${escapeName(names.backingName)})`);
  if (names.dataFile !== null) parts.push(`its data file name is not valid UTF-8 (shown with escapes: ${escapeName(names.dataFile)})`);
  if (parts.length === 0) return null;
  return {
    code: 'not-managed',
    severity: 'error',
    message:
      `${path}: ${parts.join(', and ')}. QEMU opens that name by its bytes, but the app cannot name that file, ` +
      'so it does not follow this chain past the image and does not write it; rename the file to a UTF-8 name and record the new name ' +
      '(qemu-img rebase -u -b NEW_NAME -F FORMAT), then scan again.',
    path,
  };
}
