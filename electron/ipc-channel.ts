/** The single IPC channel of the API; every call names its method and is validated in the main process. */
export const IPC_CHANNEL = 'snaptree:invoke';
/** The renderer asks for the engine's events (`subscribe`) or stops them (`unsubscribe`) on this channel. */
export const EVENTS_CONTROL_CHANNEL = 'snaptree:events-control';
/** The main process sends engine events to the app's own page on this channel, and on no other. */
export const EVENTS_CHANNEL = 'snaptree:event';
