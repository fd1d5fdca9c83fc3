/**
 * Input rules shared by every interface (SPEC 5.6): names never contain `/` or control characters and never
 * start with `-`; connection URIs name a libvirt driver.
 */
import { z } from 'zod';

// eslint-disable-next-line no-control-regex -- the point is to reject control characters
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A snapshot, branch or domain name as a user may type it. */
export const nameSchema = z
  .string()
  .min(1, 'A name cannot be empty.')
  .max(200, 'A name is at most 200 characters.')
  .refine((s) => !s.includes('/'), 'A name cannot contain "/".')
  .refine((s) => !CONTROL.test(s), 'A name cannot contain control characters.')
  .refine((s) => !s.startsWith('-'), 'A name cannot start with "-".')
  .refine((s) => s.trim() === s, 'A name cannot start or end with spaces.');

/** A libvirt connection URI such as `qemu:///system` or `qemu+ssh://user@host/system`. */
export const uriSchema = z
  .string()
  .max(500)
  .regex(/^[a-z][a-z0-9+.-]*:\/\/[^\s]*$/i, 'A connection URI looks like qemu:///system.')
  .refine((s) => !s.startsWith('-'), 'A connection URI cannot start with "-".');

/** An absolute path on the engine's machine. */
export const absolutePathSchema = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => s.startsWith('/'), 'The path must be absolute.')
  .refine((s) => !CONTROL.test(s), 'A path cannot contain control characters.');
