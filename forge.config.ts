import { MakerDeb } from '@electron-forge/maker-deb';
import { MakerRpm } from '@electron-forge/maker-rpm';
import { MakerZIP } from '@electron-forge/maker-zip';
import { FusesPlugin } from '@electron-forge/plugin-fuses';
import { VitePlugin } from '@electron-forge/plugin-vite';
import type { ForgeConfig } from '@electron-forge/shared-types';
import { FuseV1Options, FuseVersion } from '@electron/fuses';
import { leftOutOfPackage } from './electron/packaging';

const config: ForgeConfig = {
  packagerConfig: {
    // koffi's binary is loaded from outside the archive, as Electron loads every native module.
    asar: { unpack: '**/*.node' },
    executableName: 'virt-snaptree',
    // Set here, the Vite plugin keeps it: its own would leave out koffi, which the main bundle requires.
    ignore: leftOutOfPackage,
  },
  rebuildConfig: {},
  makers: [
    new MakerZIP({}, ['linux', 'darwin']),
    new MakerDeb({ options: { maintainer: 'virt-snaptree', homepage: 'https://libvirt.org', categories: ['System', 'Utility'] } }),
    new MakerRpm({}),
  ],
  plugins: [
    new VitePlugin({
      build: [
        { entry: 'electron/main.ts', config: 'vite.main.config.ts', target: 'main' },
        { entry: 'electron/preload.ts', config: 'vite.preload.config.ts', target: 'preload' },
      ],
      renderer: [{ name: 'main_window', config: 'vite.renderer.config.ts' }],
    }),
    // Fuses are flipped at package time, before signing: no Node-mode, no inspector, asar only.
    new FusesPlugin({
      version: FuseVersion.V1,
      [FuseV1Options.RunAsNode]: false,
      [FuseV1Options.EnableCookieEncryption]: true,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
      [FuseV1Options.EnableNodeCliInspectArguments]: false,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
      [FuseV1Options.OnlyLoadAppFromAsar]: true,
    }),
  ],
};

export default config;
