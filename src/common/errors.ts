// Named errors with stable codes: callers branch on `code`, people read `message` (every code: docs/errors.md).

/** Every code the project emits: in thrown errors, in Reply.error (`CODE: explanation`), in Welcome and event reasons. */
export const ERROR_CODES = [
  // bad input: configuration files, flags, names, payloads
  'CONFIG_INVALID', 'NAME_INVALID', 'ADDRESS_INVALID', 'DURATION_INVALID', 'SIZE_INVALID', 'AUTH_INVALID',
  'VERSION_INVALID', 'VERSION_NOT_FOUND', 'PRODUCT_UNKNOWN', 'YAML_INVALID', 'KEYS_INVALID', 'PIVOT_INVALID',
  'PAYLOAD_INVALID', 'LIMIT_EXCEEDED', 'STATE_INVALID',
  // the repository and its packages
  'REPOSITORY_ERROR', 'PACKAGE_REJECTED', 'CHECKSUM_MISMATCH', 'VERSION_IMMUTABLE',
  // a worker's start: its Hello refused, or it never became READY
  'BAD_TOKEN', 'COMMANDS_MISSING', 'NO_HELLO', 'HELLO_EXPECTED', 'START_TIMEOUT', 'SPAWN_FAILED', 'WORKER_EXITED',
  // the admin's commands and its supervision
  'IDENTIFIER_CONFLICT', 'UPDATE_FAILED', 'UPDATE_ABORTED', 'MEMORY_LIMIT', 'NOT_FOUND', 'INTERNAL', 'ROUTER_ERROR',
  // the router's replies to commands
  'UNKNOWN_COMMAND', 'AMBIGUOUS_COMMAND', 'UUID_CONFLICT', 'QUEUE_FULL', 'NO_WORKER', 'TIMEOUT', 'WORKER_LOST',
  'REPLY_INVALID', 'ROUTER_SHUTDOWN', 'UNAUTHENTICATED',
  // the SDK's own FAIL replies, for a command that never reached a handler
  'WORKER_DRAINING',
  // a fleet: its engines, hosts lost with commands in flight, the transport between hosts
  'FLEET_ENGINE', 'HOST_LOST', 'TRANSPORT_LOST', 'PAYLOAD_TOO_LARGE', 'REPLAY_INCOMPLETE',
  // a fleet's desired state: products whose instances the coordinator places, fleet commands on a single host, two
  // changes of the desired state at once
  'FLEET_MANAGED', 'NOT_IN_FLEET', 'FLEET_CONFLICT',
  // the router ending a worker's stream
  'WORKER_CUT_OFF', 'MISBEHAVING', 'SLOW_READER',
  // the ops API's update policies
  'POLICY_INVALID', 'POLICY_CONFIG_MISSING', 'POLICY_EXISTS', 'POLICY_NOT_FOUND',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** The one error class of the project: a stable code, a message naming what was wrong, a cause. */
export class WorkerAdminError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WorkerAdminError';
    this.code = code;
    this.details = options.details;
  }
}

/** True when `error` is a WorkerAdminError with that code (or any code when none given). */
export function isWorkerAdminError(error: unknown, code?: ErrorCode): error is WorkerAdminError {
  return error instanceof WorkerAdminError && (code === undefined || error.code === code);
}

/** The message of anything thrown, for replies and logs. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** True when `text` is one of the project's codes. */
function isErrorCode(text: string): text is ErrorCode {
  return CODES.has(text);
}

/** `CODE: explanation`, the shape of every error text the router and the admin put in a Reply. */
export function coded(code: ErrorCode, explanation: string): string {
  return `${code}: ${explanation}`;
}

/** The text a Reply carries for anything thrown: its code and message; INTERNAL for what is not a WorkerAdminError. */
export function replyError(error: unknown): string {
  return isWorkerAdminError(error) ? coded(error.code, error.message) : coded('INTERNAL', errorMessage(error));
}

/** The code an error text starts with (`CODE: …`, or a bare `CODE`), or undefined: what callers branch on. */
export function errorCodeOf(text: string): ErrorCode | undefined {
  const end = text.indexOf(': ');
  const head = end === -1 ? text : text.slice(0, end);
  return isErrorCode(head) ? head : undefined;
}

/** The explanation after the code of a `CODE: explanation` text (the whole text when it has no known code). */
export function explanationOf(text: string): string {
  const code = errorCodeOf(text);
  return code === undefined ? text : text.slice(code.length + 2);
}
