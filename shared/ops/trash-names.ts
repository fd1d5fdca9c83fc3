/** The names the engine gives what it moves to the trash (docs/safety.md): the folder beside a file, and per-operation folders in it. */
import { basename, dirname } from '../paths';

/** Where the app moves files it "deletes": a folder beside them, so the move is a rename. */
export const TRASH_DIR = '.snaptree-trash';

const OPERATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether a name is an operation id as the engine issues them (a UUID): only those name trash folders. */
export const isOperationId = (name: string): boolean => OPERATION_ID.test(name);

/** Where `path` goes when operation `operationId` trashes it: `.snaptree-trash/<operationId>/` beside it. */
export function trashPathOf(path: string, operationId: string): string {
  return `${dirname(path)}/${TRASH_DIR}/${operationId}/${basename(path)}`;
}
