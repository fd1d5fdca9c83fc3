/**
 * The CLI's trash and recovery verbs: list, restore and empty the trash an operation leaves beside the images
 * (docs/safety.md), and finish or roll back operations a crash interrupted.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../../shared/errors';
import type { Source } from '../../shared/model';
import { formatBytes } from '../../shared/snapshot-graph';
import { absolutePathSchema, existingNameOptionSchema, operationIdSchema } from '../../shared/validate';
import type { Engine } from '../engine';
import { checked, confirm, DEFAULT_URI, name, sourceOf, withEngine, type CommonFlags } from './ops-commands';
import { out } from './output';

type TrashFlags = CommonFlags & { domain?: string; operation?: string };
type OnTrash = (flags: TrashFlags, act: (engine: Engine, source: Source, domain?: string) => Promise<unknown>) => Promise<void>;

function trashFlags(command: Command): Command {
  return command
    .option('-c, --connect <uri>', `libvirt connection URI (default ${DEFAULT_URI})`)
    .option('-f, --folder <dir>', 'a folder of images instead of libvirt')
    .option('-d, --domain <name>', "only beside this domain's files")
    .option('--operation <id>', 'only what this operation trashed')
    .option('--json', 'print JSON');
}

function addTrashList(trash: Command, onTrash: OnTrash): void {
  trashFlags(trash.command('list'))
    .description('What is in the trash.')
    .action((flags: TrashFlags) =>
      onTrash(flags, async (engine, source, domain) => {
        const entries = await engine.trash(source, domain);
        if (!flags.json) {
          out(entries.length === 0 ? 'The trash is empty.\n' : '');
          for (const e of entries) out(`${e.operationId}  ${formatBytes(e.size).padStart(10)}  ${e.original}\n`);
        }
        return entries;
      }),
    );
}

function addTrashRestore(trash: Command, onTrash: OnTrash): void {
  trashFlags(trash.command('restore [paths...]'))
    .description("Move trashed files back where they were (one operation's, or the paths given).")
    .action((paths: string[], flags: TrashFlags) =>
      onTrash(flags, async (engine, source, domain) => {
        if (paths.length === 0 && flags.operation === undefined) throw new AppError('E_BAD_INPUT', 'Name the files or give --operation ID.');
        const which = {
          ...(flags.operation ? { operationId: flags.operation } : {}),
          ...(paths.length > 0 ? { paths: paths.map((p) => checked('path', absolutePathSchema)(resolve(p))) } : {}),
        };
        const restored = await engine.restoreTrash(source, which, domain);
        if (!flags.json) out(`Restored:\n${restored.map((p) => `  ${p}`).join('\n')}\n`);
        return restored;
      }),
    );
}

function addTrashEmpty(trash: Command, onTrash: OnTrash): void {
  trashFlags(trash.command('empty'))
    .description('Delete trashed files for good.')
    .option('-y, --yes', 'do it without asking')
    .action((flags: TrashFlags) =>
      onTrash(flags, async (engine, source, domain) => {
        const which = flags.operation ? { operationId: flags.operation } : {};
        const entries = (await engine.trash(source, domain)).filter((e) => flags.operation === undefined || e.operationId === flags.operation);
        if (entries.length === 0) return void out('The trash is empty.\n');
        const total = entries.reduce((n, e) => n + e.size, 0);
        if (!flags.yes && !(await confirm(`Delete ${entries.length} file(s), ${formatBytes(total)}, for good? [y/N] `))) return 0;
        const freed = await engine.emptyTrash(source, which, domain);
        if (!flags.json) out(`Freed ${formatBytes(freed)}.\n`);
        return freed;
      }),
    );
}

/** Registers `trash list`, `trash restore` and `trash empty`; `fail` reports errors with their codes. */
export function addTrashCommands(program: Command, fail: (error: unknown) => never): void {
  const trash = program.command('trash').description('List, restore or empty the trash beside the images.');
  const onTrash: OnTrash = (flags, act) =>
    withEngine(fail, async (engine) => {
      if (flags.operation !== undefined) checked('operation id', operationIdSchema)(flags.operation);
      const domain = flags.domain === undefined ? undefined : checked('domain name', existingNameOptionSchema)(flags.domain);
      const result = await act(engine, sourceOf(flags), domain);
      if (flags.json) out(`${JSON.stringify(result, null, 2)}\n`);
    });
  addTrashList(trash, onTrash);
  addTrashRestore(trash, onTrash);
  addTrashEmpty(trash, onTrash);
}

/** Registers `recover [domain]`: exit 1 when an operation could not be finished or rolled back. */
export function addRecoverCommand(program: Command, fail: (error: unknown) => never): void {
  program
    .command('recover [domain]')
    .description("Finish or roll back operations that a crash interrupted (all, or one domain's).")
    .option('--json', 'print JSON')
    .action((domain: string | undefined, flags: { json?: boolean }) =>
      withEngine(fail, async (engine) => {
        const reports = await engine.recover(domain === undefined ? undefined : name('domain')(domain));
        if (flags.json) out(`${JSON.stringify(reports, null, 2)}\n`);
        else out(reports.length === 0 ? 'Nothing to recover.\n' : `${reports.map((r) => r.message).join('\n')}\n`);
        if (reports.some((r) => r.outcome === 'failed')) process.exitCode = 1;
      }),
    );
}
