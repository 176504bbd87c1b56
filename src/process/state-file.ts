// {stateDir}/state.json: desired instances and worker pids, written atomically on every change, loaded tolerantly.
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/credentials.js';
import { WorkerAdminError, errorMessage } from '../common/errors.js';
import { emptyState, validateState, type StateFile } from './state-schema.js';

/** What loading found: nothing, a state (with the entries it had to drop), or a corrupt file set aside. */
type StateLoad =
  | { kind: 'missing'; state: StateFile }
  | { kind: 'loaded'; state: StateFile; warnings: string[] }
  | { kind: 'corrupt'; state: StateFile; error: WorkerAdminError; movedTo: string | undefined };

/** Path of the state file in a state dir. */
export function stateFilePath(stateDir: string): string {
  return join(stateDir, 'state.json');
}

/** Loads state.json. A corrupt file is renamed to state.json.corrupt-TIME and an empty state returned,
 * so a bad file gives one clear error instead of an admin that crashes on every start. */
export async function loadStateFile(stateDir: string, now: () => number = Date.now): Promise<StateLoad> {
  const path = stateFilePath(stateDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing', state: emptyState() };
    throw new WorkerAdminError('STATE_INVALID', `${path}: cannot read the state file: ${errorMessage(error)}`, { cause: error });
  }
  const warnings: string[] = [];
  let reason: string;
  try {
    return { kind: 'loaded', state: validateState(JSON.parse(text), warnings), warnings };
  } catch (error) {
    reason = error instanceof SyntaxError ? `it is not valid JSON (${error.message})` : errorMessage(error);
  }
  const movedTo = `${path}.corrupt-${now()}`;
  const moved = await rename(path, movedTo).then(() => movedTo, () => undefined);
  const kept = moved ? `; it was moved to ${moved} and the admin starts with an empty state` : '';
  return { kind: 'corrupt', state: emptyState(), error: new WorkerAdminError('STATE_INVALID', `${path}: ${reason}${kept}`), movedTo: moved };
}

/** The state in memory and on disk: every update() is written atomically, writes never overlap, the last state wins. */
export class StateStore {
  private state: StateFile;
  private writing: Promise<void> | undefined;
  private dirty = false;
  private deferred: ((draft: StateFile) => void) | undefined;

  constructor(readonly stateDir: string, initial: StateFile = emptyState()) {
    this.state = structuredClone(initial);
  }

  /** Loads the state dir's file (see loadStateFile) and returns a store holding it. */
  static async open(stateDir: string): Promise<{ store: StateStore; load: StateLoad }> {
    const load = await loadStateFile(stateDir);
    return { store: new StateStore(stateDir, load.state), load };
  }

  get path(): string {
    return stateFilePath(this.stateDir);
  }

  /** A copy of the current state. */
  snapshot(): StateFile {
    this.settle();
    return structuredClone(this.state);
  }

  /** Applies `mutate` to the state now (in place: a clone per change made a burst of n changes O(n²)),
   * and resolves once a state including it is on disk. */
  update(mutate: (draft: StateFile) => void): Promise<void> {
    this.settle();
    mutate(this.state);
    return this.flush();
  }

  /**
   * Like update, but `mutate` runs only when the state is next read or written; a later defer replaces it.
   * For a change recomputed from live data (the admin's instances): a burst of changes costs one recompute per write.
   */
  defer(mutate: (draft: StateFile) => void): Promise<void> {
    this.deferred = mutate;
    return this.flush();
  }

  /** Applies the deferred change now, if there is one. */
  settle(): void {
    const mutate = this.deferred;
    if (!mutate) return;
    this.deferred = undefined;
    mutate(this.state);
  }

  /** Writes the current state (again); resolves once it is on disk. */
  flush(): Promise<void> {
    this.dirty = true;
    return (this.writing ??= this.writeLoop());
  }

  private async writeLoop(): Promise<void> {
    try {
      // Updates that arrive during a write are folded into one more write of the latest state.
      while (this.dirty) {
        this.dirty = false;
        this.settle();
        await writeFileAtomic(this.path, `${JSON.stringify(this.state, null, 2)}\n`, 0o600);
      }
    } finally {
      this.writing = undefined;
    }
  }
}
