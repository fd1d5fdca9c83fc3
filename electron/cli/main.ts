/**
 * The `virt-snaptree` command line: `tree` for people and scripts, `serve` for headless hosts and browsers.
 * Both call the engine; neither re-implements it.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { sourceEntry, type SourceEntry } from '../../shared/contract';
import { toErrorData } from '../../shared/errors';
import { existingNameOptionSchema, uriSchema } from '../../shared/validate';
import { checkedSource, Engine, VERSION } from '../engine';
import { createDemoLab, type DemoLab } from '../lab/demo-lab';
import { startServer } from '../server/serve';
import { tokenFromFile } from '../server/token-file';
import { openVirsh } from '../tools/virsh';
import { addInspectCommands } from './inspect-commands';
import { addOperationCommands, DEFAULT_URI, name, recoverOnStart } from './ops-commands';
import { rendererDir } from './paths';
import { addRecoverCommand, addTrashCommands } from './trash-commands';
import { runTree, type TreeFlags } from './tree-command';
import { err, out } from './output';

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
  process.exit(data.code === 'E_BAD_INPUT' ? 2 : 1);
}

interface ServeFlags {
  connect?: string[];
  folder?: string[];
  demo?: boolean;
  port?: number;
  tokenFile?: string;
}

async function runServe(flags: ServeFlags): Promise<void> {
  const sources: SourceEntry[] = [];
  // What serve is started with is what its clients may reach: checked like a source added in the app.
  for (const uri of flags.connect ?? []) {
    sources.push(sourceEntry(await checkedSource({ kind: 'libvirt', uri })));
  }
  for (const folder of flags.folder ?? []) {
    sources.push(sourceEntry(await checkedSource({ kind: 'folder', path: resolve(folder) })));
  }
  const token = flags.tokenFile !== undefined ? await tokenFromFile(resolve(flags.tokenFile)) : undefined;
  let lab: DemoLab | null = null;
  if (flags.demo) {
    const virsh = openVirsh(DEFAULT_URI);
    const reachable = await virsh.run(['version']).then(
      () => true,
      () => false,
    );
    err('Building the demo lab…\n');
    lab = await createDemoLab(reachable ? virsh : null);
    await virsh.close();
    if (lab.skipped !== null) err(`Demo: image folder only. ${lab.skipped}\n`);
    sources.unshift(...lab.sources);
  }
  if (sources.length === 0) sources.push(sourceEntry({ kind: 'libvirt', uri: DEFAULT_URI }));

  const engine = new Engine({ host: 'serve', sources, demo: flags.demo ?? false });
  await recoverOnStart(engine);
  const server = await startServer({ engine, rendererDir: rendererDir(), ...(flags.port !== undefined ? { port: flags.port } : {}), ...(token !== undefined ? { token } : {}) });
  out(`virt-snaptree is serving on 127.0.0.1 only. Open:\n  ${server.url}\n`);

  let closing = false;
  const shutdown = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    await server.close();
    await engine.close();
    await lab?.dispose();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
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
    .action((domains: string[], options: TreeFlags) => runTree(domains.map(name('domain')), options).catch(fail));

  program
    .command('serve')
    .description('Serve the app on 127.0.0.1 with a random access token in the URL.')
    .option('-c, --connect <uri>', 'a libvirt connection to offer (repeatable)', collect(validated(uriSchema)))
    .option('-f, --folder <dir>', 'an image folder to offer (repeatable)', collect((v: string) => v))
    .option('--demo', 'build and offer the demo lab')
    .option('-p, --port <port>', 'port on 127.0.0.1 (default: any free port)', validated(z.coerce.number().int().min(1).max(65535)))
    .option('--token-file <path>', 'keep the access token in this file (created 0600), so the URL stays the same across restarts')
    .action((options: ServeFlags) => runServe(options).catch(fail));

  addOperationCommands(program, fail);
  addTrashCommands(program, fail);
  addRecoverCommand(program, fail);
  addInspectCommands(program, fail);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch(fail);
