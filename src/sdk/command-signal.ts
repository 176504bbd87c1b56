// A command's abort signal, made only when its handler reads `ctx.signal`: most handlers never do, and an
// AbortSignal.any + AbortSignal.timeout per command cost more CPU in the worker than the rest of the command's path.
import type { CommandContext } from './types.js';

/** A handler's context and what to call once the command is answered (drops the timer and the stop listener). */
interface LazyContext {
  ctx: CommandContext;
  dispose(): void;
}

/** `ctx.signal` aborts when `stop` does or `timeoutMs` (0: never) after this call, with AbortSignal.timeout's reason. */
export function lazyCommandContext(uuid: string, command: string, stop: AbortSignal, timeoutMs: number): LazyContext {
  const startedAt = timeoutMs > 0 ? performance.now() : 0;
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let onStop: (() => void) | undefined;
  let answered = false;

  const dispose = (): void => {
    answered = true;
    clearTimeout(timer);
    timer = undefined;
    if (onStop) stop.removeEventListener('abort', onStop);
    onStop = undefined;
  };
  const abort = (reason: unknown): void => {
    dispose();
    controller?.abort(reason);
  };
  const makeSignal = (): AbortSignal => {
    controller = new AbortController();
    if (stop.aborted) controller.abort(stop.reason);
    if (stop.aborted || answered) return controller.signal; // asked after the reply: nothing left to abort
    onStop = () => abort(stop.reason);
    stop.addEventListener('abort', onStop, { once: true });
    if (timeoutMs > 0) {
      const left = Math.max(0, timeoutMs - (performance.now() - startedAt));
      timer = setTimeout(() => abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), left);
      timer.unref(); // a pending timeout never holds the process open
    }
    return controller.signal;
  };

  // an own, enumerable getter: `{ ...ctx }` and destructuring still see `signal`
  const ctx: CommandContext = {
    uuid,
    command,
    get signal() {
      return controller?.signal ?? makeSignal();
    },
  };
  return { ctx, dispose };
}
