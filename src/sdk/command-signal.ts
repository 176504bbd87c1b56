// A command's abort signal, made only when its handler reads `ctx.signal`: most handlers never do, and an
// AbortSignal.any + AbortSignal.timeout per command cost more CPU in the worker than the rest of the command's path.
import type { CommandContext } from './types.js';

/** `signal` aborts when `stop` does or `timeoutMs` (0: never) after construction, with AbortSignal.timeout's reason. */
export class CommandSignal {
  readonly #stop: AbortSignal;
  readonly #timeoutMs: number;
  readonly #startedAt: number;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #onStop: (() => void) | undefined;
  #answered = false;

  constructor(stop: AbortSignal, timeoutMs: number) {
    this.#stop = stop;
    this.#timeoutMs = timeoutMs;
    this.#startedAt = timeoutMs > 0 ? performance.now() : 0;
  }

  /** A handler's context whose `signal` is this one (an own, enumerable getter: `{ ...ctx }` still sees it). */
  context(uuid: string, command: string): CommandContext {
    return new HandlerContext(uuid, command, this);
  }

  get signal(): AbortSignal {
    return this.#controller?.signal ?? this.#make();
  }

  /** The command was answered: drops the timer and the stop listener (a signal asked for later is never aborted). */
  dispose(): void {
    this.#answered = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#onStop) this.#stop.removeEventListener('abort', this.#onStop);
    this.#onStop = undefined;
  }

  #abort(reason: unknown): void {
    this.dispose();
    this.#controller?.abort(reason);
  }

  #make(): AbortSignal {
    const controller = (this.#controller = new AbortController());
    const stop = this.#stop;
    if (stop.aborted) controller.abort(stop.reason);
    if (stop.aborted || this.#answered) return controller.signal; // asked after the reply: nothing left to abort
    this.#onStop = () => this.#abort(stop.reason);
    stop.addEventListener('abort', this.#onStop, { once: true });
    if (this.#timeoutMs > 0) {
      const left = Math.max(0, this.#timeoutMs - (performance.now() - this.#startedAt));
      this.#timer = setTimeout(() => this.#abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), left);
      this.#timer.unref(); // a pending timeout never holds the process open
    }
    return controller.signal;
  }
}

/**
 * The `signal` accessor of every context: one shared getter. An object literal with `get signal() {…}` made a getter
 * closure per command, and V8 keeps a per-object accessor pair in the old generation: every command's closure, its
 * CommandSignal and what they reach then outlived young-generation collections (~350 B promoted per command in an
 * echo worker, and more full collections). Measured in BENCHMARKS.md, "A handler's context".
 */
const SIGNAL: PropertyDescriptor = {
  get(this: HandlerContext): AbortSignal {
    return HandlerContext.signalOf(this);
  },
  enumerable: true,
  configurable: true,
};

/** A handler's context: `uuid`, `command` and `signal` own and enumerable; the CommandSignal behind it private. */
class HandlerContext implements CommandContext {
  readonly uuid: string;
  readonly command: string;
  declare readonly signal: AbortSignal;
  readonly #owner: CommandSignal;

  constructor(uuid: string, command: string, owner: CommandSignal) {
    this.uuid = uuid;
    this.command = command;
    this.#owner = owner;
    Object.defineProperty(this, 'signal', SIGNAL);
  }

  static signalOf(context: HandlerContext): AbortSignal {
    return context.#owner.signal;
  }
}
