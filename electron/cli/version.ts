/**
 * The version the CLI prints for --version: the engine's own (a test holds them equal), here so that printing it,
 * or parsing any command line, does not load the engine.
 */
export const CLI_VERSION = '0.1.0';
