/**
 * The CLI's `serve`: the app on 127.0.0.1 for headless hosts and browsers, over one engine. Loaded only when
 * `serve` runs, with the engine, the server and the demo lab.
 */
import { resolve } from 'node:path';
import { sourceEntry, type SourceEntry } from '../../shared/contract';
import { checkedSource, Engine } from '../engine';
import { createDemoLab, type DemoLab } from '../lab/demo-lab';
import { startServer } from '../server/serve';
import { tokenFromFile } from '../server/token-file';
import { openVirsh } from '../tools/virsh';
import { DEFAULT_URI, recoverOnStart } from './ops-commands';
import { err, out } from './output';
import { rendererDir } from './paths';
import { exitProcess } from '../tools/libvirt-native';

export interface ServeFlags {
  connect?: string[];
  folder?: string[];
  demo?: boolean;
  port?: number;
  tokenFile?: string;
}

/** The demo lab's sources first, then the others; a connection named by --connect that the lab also uses is listed once, as the lab's. */
export function withLabSources(sources: readonly SourceEntry[], lab: readonly SourceEntry[]): SourceEntry[] {
  const labUris = new Set(lab.flatMap((entry) => (entry.source.kind === 'libvirt' ? [entry.source.uri] : [])));
  return [...lab, ...sources.filter((entry) => !(entry.source.kind === 'libvirt' && labUris.has(entry.source.uri)))];
}

/** Runs `serve` until SIGINT or SIGTERM. */
export async function runServe(flags: ServeFlags): Promise<void> {
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
    sources.splice(0, sources.length, ...withLabSources(sources, lab.sources));
  }
  if (sources.length === 0) sources.push(sourceEntry({ kind: 'libvirt', uri: DEFAULT_URI }));

  const engine = new Engine({ host: 'serve', sources, demo: flags.demo ?? false });
  await recoverOnStart(engine);
  const server = await startServer({ engine, rendererDir: rendererDir(), ...(flags.port !== undefined ? { port: flags.port } : {}), ...(token !== undefined ? { token } : {}) });
  out(`virt-snaptree is serving on 127.0.0.1 only. Open:\n  ${server.url}\n`);

  let closing = false;
  const shutdown = async (): Promise<void> => {
    // A second signal quits at once: the journal of what still runs is left to recovery.
    if (closing) exitProcess(130);
    closing = true;
    const running = engine.runningCount();
    if (running > 0) err(`Stopping: cancelling ${running === 1 ? 'the operation that runs' : `the ${running} operations that run`} and waiting for ${running === 1 ? 'it' : 'them'} to end (one past its point of no return finishes first). Stop again to quit at once; "virt-snaptree recover" then finishes or undoes it.\n`);
    await server.close();
    await engine.close();
    await lab?.dispose();
    exitProcess(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}
