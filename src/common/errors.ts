// Named errors with stable codes: callers branch on `code`, people read `message`.

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'NAME_INVALID'
  | 'ADDRESS_INVALID'
  | 'DURATION_INVALID'
  | 'SIZE_INVALID'
  | 'AUTH_INVALID'
  | 'VERSION_INVALID'
  | 'VERSION_NOT_FOUND'
  | 'PRODUCT_UNKNOWN'
  | 'YAML_INVALID'
  | 'KEYS_INVALID'
  | 'PIVOT_INVALID'
  | 'REPOSITORY_ERROR'
  | 'PACKAGE_REJECTED'
  | 'CHECKSUM_MISMATCH'
  | 'COMMANDS_MISSING'
  | 'BAD_TOKEN'
  | 'START_TIMEOUT'
  | 'IDENTIFIER_CONFLICT'
  | 'PAYLOAD_INVALID'
  | 'LIMIT_EXCEEDED'
  | 'STATE_INVALID'
  | 'SPAWN_FAILED'
  | 'UPDATE_FAILED'
  | 'NOT_FOUND'
  | 'INTERNAL'
  | 'ROUTER_ERROR'
  | 'POLICY_INVALID'
  | 'POLICY_CONFIG_MISSING'
  | 'POLICY_EXISTS'
  | 'POLICY_NOT_FOUND'
  | 'FLEET_ENGINE'
  | 'PAYLOAD_TOO_LARGE';

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
