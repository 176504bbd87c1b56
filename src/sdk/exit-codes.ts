// A worker process's exit codes (docs/workers.md): what the admin reads from a worker that ended.

/** Drained: the router closed the stream after a drain. */
export const EXIT_DRAINED = 0;
/** The stream failed or ended unexpectedly. */
export const EXIT_FAILED = 1;
/** Refused: bad token, commands missing, bad start line. */
export const EXIT_REFUSED = 2;
