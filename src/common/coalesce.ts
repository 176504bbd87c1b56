// One run of an async task at a time: a call while it runs asks for one more run after it (however many calls came
// meanwhile), so the last run always starts after the last call. Where order matters (a host's report written to etcd,
// where two puts in flight land in either order) or a look must be repeated (the coordinator election).

/**
 * Wraps `task`: the returned function starts a run, or asks the one in progress for another; it resolves once the runs
 * covering this call are done. `stopped`: no further run is started (e.g. after close).
 */
export function coalesced(task: () => Promise<void>, stopped: () => boolean = () => false): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await task();
        } while (again && !stopped());
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
}
