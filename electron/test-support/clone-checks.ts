/**
 * Checks for the clone and export tests, with the real tools: plans that must go through, a disk's whole chain as
 * qemu-img sees it, byte-for-byte comparisons of guest views, and a domain's definition as libvirt keeps it.
 */
import { expect } from 'vitest';
import type { Domain, Source } from '../../shared/model';
import type { Intent, Plan } from '../../shared/ops/plan';
import type { Engine } from '../engine';
import { qemuImgCompare } from '../tools/qemu-img';
import { checksums, filesOf } from './checks';
import { qemuImgSync, virshSync } from './lab';

/** Plans `intent`, failing the test with the refusal when there is one. */
export async function planOk(engine: Engine, source: Source, intent: Intent): Promise<Plan> {
  const planned = await engine.plan(source, intent);
  if (!planned.ok) throw new Error(`refused: ${planned.refusal.code} ${planned.refusal.message}`);
  return planned.plan;
}

/** Applies a plan, failing the test unless it is done. */
export async function applyOk(engine: Engine, plan: Plan): Promise<void> {
  const result = await engine.apply(plan);
  if (result.status !== 'done') throw new Error(`not done: ${result.status}`);
}

/** The chain of `file` as `qemu-img info --backing-chain` reports it: each image and its backing, top first. */
export function backingChain(file: string): Array<{ filename: string; format: string; backing: string | null }> {
  const out = JSON.parse(qemuImgSync(['info', '-U', '--backing-chain', '--output=json', '--', file])) as Array<{
    filename: string;
    format: string;
    'full-backing-filename'?: string;
    'backing-filename'?: string;
  }>;
  return out.map((i) => ({ filename: i.filename, format: i.format, backing: i['full-backing-filename'] ?? i['backing-filename'] ?? null }));
}

/** Whether two images (each read through its chain) show the guest the same bytes, per `qemu-img compare -U`. */
export async function sameBytes(a: { path: string; format: string }, b: { path: string; format: string }): Promise<boolean> {
  return (await qemuImgCompare(a, b, true)).identical;
}

/** A raw copy of what the guest sees of `file` (a qcow2 read through its chain), at `to`. */
export function rawView(file: string, to: string, format = 'qcow2'): string {
  qemuImgSync(['convert', '-U', '-f', format, '-O', 'raw', '--', file, to]);
  return to;
}

/** The persistent definition of a domain, as libvirt holds it. */
export function definitionOf(domain: string): string {
  return virshSync(['dumpxml', '--domain', domain, '--inactive']);
}

/** A domain's files and definition, to check later that an operation left them exactly as they were. */
export async function fingerprintOf(domain: Domain): Promise<{ files: Record<string, string>; xml: string; snapshots: string }> {
  return {
    files: await checksums(filesOf(domain)),
    xml: definitionOf(domain.name),
    snapshots: virshSync(['snapshot-list', '--domain', domain.name, '--name']),
  };
}

/** The domain's files (each one's sha256), definition and snapshot list are what `before` holds. */
export async function expectUnchanged(before: { files: Record<string, string>; xml: string; snapshots: string }, domain: string): Promise<void> {
  expect(await checksums(Object.keys(before.files)), `every file of ${domain} keeps its bytes`).toEqual(before.files);
  expect(definitionOf(domain), `the definition of ${domain}`).toBe(before.xml);
  expect(virshSync(['snapshot-list', '--domain', domain, '--name']), `the snapshots of ${domain}`).toBe(before.snapshots);
}

/** The UUID libvirt gave a domain. */
export function uuidOf(domain: string): string {
  return virshSync(['domuuid', '--domain', domain]).trim();
}

/**
 * What stops `intent`: the plan's refusal, or else the error its apply ends with (a check made when it runs). Gives
 * `done` when it went through instead, for the test to fail on.
 */
export async function stoppedWith(engine: Engine, source: Source, intent: Intent): Promise<string> {
  const planned = await engine.plan(source, intent);
  if (!planned.ok) return `${planned.refusal.code}: ${planned.refusal.message}`;
  try {
    const result = await engine.apply(planned.plan);
    return result.status;
  } catch (error) {
    return error instanceof Error ? `${'code' in error ? String(error.code) : ''}: ${error.message}` : String(error);
  }
}
