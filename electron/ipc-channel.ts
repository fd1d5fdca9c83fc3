/** The single IPC channel of the API; every call names its method and is validated in the main process. */
export const IPC_CHANNEL = 'snaptree:invoke';
