/**
 * What the desktop package holds (forge.config.ts): Vite's output, and koffi, which the bundles leave out
 * (vite.node.shared.ts), with the binary package npm installed for this platform beside it. Paths are as
 * Electron Packager gives them, from the project root with a leading `/`.
 */
const KEPT = /^\/(?:\.vite(?:\/|$)|node_modules(?:\/(?:koffi|@koromix)(?:\/|$)|$))/;

/** Whether Electron Packager leaves `file` out of the package. */
export function leftOutOfPackage(file: string): boolean {
  return file !== '' && !KEPT.test(file);
}
