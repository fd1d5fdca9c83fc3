/**
 * The `virt-snaptree` command line: `tree` for people and scripts, `serve` for headless hosts and browsers.
 * Both call the engine; neither re-implements it. Only what parsing the command line needs is loaded at start:
 * each command loads its own modules when it runs, so `tree` starts its virsh sessions
 * before the scanner's modules have loaded, and never loads the planners, the executor or the server.
 */
import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { toErrorData } from '../../shared/errors';
import { existingNameOptionSchema, uriSchema } from '../../shared/validate';
import { addInspectCommands } from './inspect-commands';
import { addOperationCommands, DEFAULT_URI, name } from './ops-commands';
import { addRecoverCommand, addTrashCommands } from './trash-commands';
import type { ServeFlags } from './serve-command';
import { runTree, type TreeFlags } from './tree-command';
import { err } from './output';
import { VERSION } from '../version';
import { exitProcess } from '../tools/libvirt-native';

function validated<T>(schema: z.ZodType<T>) {
  return (value: string): T => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues.map((i) => i.message).join(' '));
    return parsed.data;
  };
}

function collect<T>(parse: (v: string) => T) {
  return (value: string, previous: T[] = []): T[] => [...previous, parse(value)];
}

function fail(error: unknown): never {
  const data = toErrorData(error);
  err(`virt-snaptree: ${data.message} [${data.code}]\n`);
  return exitProcess(data.code === 'E_BAD_INPUT' ? 2 : 1);
}

/** Exits once standard output has taken all that was written, without waiting for virsh sessions still quitting. */
function exitWhenWritten(): void {
  process.stdout.write('', () => exitProcess(0));
}

export function buildProgram(): Command {
  const program = new Command('virt-snaptree')
    .description('The snapshot graph of libvirt/QEMU virtual machines with external qcow2 snapshots.')
    .version(VERSION)
    // Usage errors exit 2, like E_BAD_INPUT; help and version exit 0.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

  program
    .command('tree [domains...]')
    .description('Print the snapshot graph of a libvirt connection or an image folder: every domain, or the ones named (verbatim).')
    .option('-c, --connect <uri>', `libvirt connection URI (default ${DEFAULT_URI})`, validated(uriSchema))
    .option('-f, --folder <dir>', 'a folder of qcow2 images, read without libvirt')
    .option('-d, --domain <name>', 'only this domain (its name verbatim)', validated(existingNameOptionSchema))
    .option('--json', 'print the model as JSON')
    .action((domains: string[], options: TreeFlags) => runTree(domains.map(name('domain')), options).then(exitWhenWritten, fail));

  program
    .command('serve')
    .description('Serve the app on 127.0.0.1 with a random access token in the URL.')
    .option('-c, --connect <uri>', 'a libvirt connection to offer (repeatable)', collect(validated(uriSchema)))
    .option('-f, --folder <dir>', 'an image folder to offer (repeatable)', collect((v: string) => v))
    .option('--demo', 'build and offer the demo lab')
    .option('-p, --port <port>', 'port on 127.0.0.1 (default: any free port)', validated(z.coerce.number().int().min(1).max(65535)))
    .option('--token-file <path>', 'keep the access token in this file (created 0600), so the URL stays the same across restarts')
    .action((options: ServeFlags) =>
      import('./serve-command')
        .then(({ runServe }) => runServe(options))
        .catch(fail),
    );

  addOperationCommands(program, fail);
  addTrashCommands(program, fail);
  addRecoverCommand(program, fail);
  addInspectCommands(program, fail);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch(fail);
