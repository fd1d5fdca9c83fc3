/**
 * What qemu-img prints, checked and turned into plain records: `info`, `map`, `check` and `measure` with
 * `--output=json` (their shapes are QEMU's ImageInfo, MapEntry, ImageCheck and BlockMeasureInfo), `compare`'s
 * verdict, and `-p` progress. Pure: no process is started here (qemu-img.ts runs the tool).
 */
import { z } from 'zod';
import { AppError } from '../../shared/errors';

const infoSchema = z.object({
  filename: z.string(),
  format: z.string(),
  'virtual-size': z.number(),
  'actual-size': z.number().optional(),
  'backing-filename': z.string().optional(),
  'full-backing-filename': z.string().optional(),
  'backing-filename-format': z.string().optional(),
  'dirty-flag': z.boolean().optional(),
});

export type ImageInfo = z.infer<typeof infoSchema>;

/** Parses `qemu-img info --output=json` (one object, or an array with `--backing-chain`). */
export function parseInfo(stdout: string): ImageInfo[] {
  const raw = parseJson('info', stdout);
  return shaped('info', z.array(infoSchema), Array.isArray(raw) ? raw : [raw]);
}

const mapEntrySchema = z.object({
  start: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  /** How many backing layers down the extent is served from: 0 is the image itself. */
  depth: z.number().int().nonnegative(),
  /** Whether any layer of the chain holds it; older qemu-img leaves it out (then data or zero tells). */
  present: z.boolean().optional(),
  data: z.boolean(),
  zero: z.boolean(),
  compressed: z.boolean().optional(),
  /** Where the data sits in the file that holds it, for formats that say. */
  offset: z.number().int().nonnegative().optional(),
  filename: z.string().optional(),
});

export type MapExtent = z.infer<typeof mapEntrySchema>;

/** Parses `qemu-img map --output=json`: the guest's address space as extents, in order. */
export function parseMap(stdout: string): MapExtent[] {
  return shaped('map', z.array(mapEntrySchema), parseJson('map', stdout));
}

const checkSchema = z
  .object({
    filename: z.string(),
    format: z.string(),
    'check-errors': z.number().int().nonnegative(),
    corruptions: z.number().int().nonnegative().optional(),
    leaks: z.number().int().nonnegative().optional(),
    'corruptions-fixed': z.number().int().nonnegative().optional(),
    'leaks-fixed': z.number().int().nonnegative().optional(),
    'image-end-offset': z.number().int().nonnegative().optional(),
    'total-clusters': z.number().int().nonnegative().optional(),
    'allocated-clusters': z.number().int().nonnegative().optional(),
    'fragmented-clusters': z.number().int().nonnegative().optional(),
    'compressed-clusters': z.number().int().nonnegative().optional(),
  })
  .transform((c) => ({
    filename: c.filename,
    format: c.format,
    /** Errors that kept the check from finishing. */
    checkErrors: c['check-errors'],
    /** Left after any repair; a field qemu-img leaves out counts as none. */
    corruptions: c.corruptions ?? 0,
    leaks: c.leaks ?? 0,
    corruptionsFixed: c['corruptions-fixed'] ?? 0,
    leaksFixed: c['leaks-fixed'] ?? 0,
    imageEndOffset: c['image-end-offset'] ?? null,
    totalClusters: c['total-clusters'] ?? null,
    allocatedClusters: c['allocated-clusters'] ?? null,
  }));

export type CheckReport = z.output<typeof checkSchema>;

/** Parses `qemu-img check --output=json`, with or without `-r`. */
export function parseCheck(stdout: string): CheckReport {
  return shaped('check', checkSchema, parseJson('check', stdout));
}

const measureSchema = z
  .object({
    required: z.number().int().nonnegative(),
    'fully-allocated': z.number().int().nonnegative(),
    bitmaps: z.number().int().nonnegative().optional(),
  })
  .transform((m) => ({ required: m.required, fullyAllocated: m['fully-allocated'], bitmaps: m.bitmaps ?? 0 }));

/** Bytes a converted image needs: as the data stands (`required`), and with every cluster allocated. */
export type Measure = z.output<typeof measureSchema>;

/** Parses `qemu-img measure --output=json`. */
export function parseMeasure(stdout: string): Measure {
  return shaped('measure', measureSchema, parseJson('measure', stdout));
}

/** `compare`'s verdict: null when the guest reads the same bytes from both, else the first offset that differs. */
export type CompareVerdict = { identical: true } | { identical: false; firstDifference: number | null };

/** Reads `qemu-img compare`: exit 0 is identical, 1 differs ("Content mismatch at offset N!"), anything else failed. */
export function parseCompare(exitCode: number | null, stdout: string): CompareVerdict | null {
  if (exitCode === 0) return { identical: true };
  if (exitCode !== 1) return null;
  const offset = /offset (\d+)/.exec(stdout)?.[1];
  return { identical: false, firstDifference: offset === undefined ? null : Number(offset) };
}

/**
 * Reads `-p` output as it streams: records like "    (42.00/100%)" ended by carriage returns. A record cut
 * between two chunks is kept until its end arrives, so each percentage is reported whole, once.
 */
export function progressReader(onProgress: (percent: number) => void): (chunk: string) => void {
  let pending = '';
  return (chunk) => {
    const records = (pending + chunk).split(/[\r\n]/);
    pending = records.pop() ?? '';
    for (const record of records) {
      const match = /\((\d+(?:\.\d+)?)\/100%\)/.exec(record);
      if (match) onProgress(Number(match[1]));
    }
  };
}

function parseJson(command: string, stdout: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    throw new AppError('E_TOOL', `qemu-img ${command} printed something that is not JSON.`, { tool: 'qemu-img', command, stdout: stdout.slice(0, 200) });
  }
}

/** The parsed output in its schema's shape, or an E_TOOL naming the command whose output was not as expected. */
function shaped<S extends z.ZodType>(command: string, schema: S, raw: unknown): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new AppError('E_TOOL', `qemu-img ${command} printed JSON of an unexpected shape.`, { tool: 'qemu-img', command, issues: result.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`) });
  }
  return result.data;
}
