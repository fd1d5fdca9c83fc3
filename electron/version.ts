/**
 * virt-snaptree's version: the engine reports it (`appInfo`) and the CLI prints it for --version. A module of its
 * own, so that printing it, or parsing any command line, does not load the engine.
 */
export const VERSION = '0.1.0';
