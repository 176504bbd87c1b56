// A version re-published in place (`up` in development mode, docs/repository.md): its READY instances move onto the new
// bytes by the rolling update of rolling.ts, same version in and out; the old stream is drained by its launch's token.
import { errorMessage, replyError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { productKey } from '../../common/names.js';
import type { Instance } from '../instance.js';
import { replaceInstance, type RollingDeps } from './rolling.js';

/** The version whose bytes changed, and the sha256 of its zip as the repository now lists it. */
export interface RepublishedVersion {
  type: string;
  product: string;
  version: string;
  sha256: string;
}

/** What one re-publish did to the instances running that version. */
export interface RepublishResult {
  /** Identifiers now on the new bytes. */
  moved: string[];
  /** Identifiers whose new process did not become READY: the old bytes keep serving, with the reason. */
  failed: Array<{ identifier: string; reason: string }>;
}

interface RepublishDeps extends RollingDeps {
  logger: Logger;
  /** Now, as an ISO time (the status row says when). */
  now(): string;
}

/**
 * Replaces, one at a time, every READY instance of `v` not already running `v.sha256`. A failure leaves that instance on
 * the old bytes (there is no going back for the others: the repository holds only the new bytes) and goes on.
 */
export async function moveOntoNewBytes(instances: readonly Instance[], v: RepublishedVersion, deps: RepublishDeps): Promise<RepublishResult> {
  const product = productKey(v);
  const result: RepublishResult = { moved: [], failed: [] };
  for (const instance of instances) {
    const running = instance.launched?.sha256;
    if (instance.state !== 'READY' || instance.spec.version !== v.version || running === undefined || running === v.sha256) continue;
    const base = { product, trigger: 'republish', identifier: instance.identifier, version: v.version, from: v.version, to: v.version };
    deps.publish('UPDATE_STARTED', base);
    try {
      await replaceInstance(instance, v.version, deps);
      instance.republished = { at: deps.now(), from: running, to: v.sha256 };
      result.moved.push(instance.identifier);
      deps.publish('UPDATE_SUCCEEDED', base);
    } catch (error) {
      const reason = replyError(error);
      result.failed.push({ identifier: instance.identifier, reason });
      deps.publish('UPDATE_FAILED', { ...base, reason, rolledBack: true });
      deps.logger.warn({ identifier: instance.identifier, product, version: v.version, err: errorMessage(error) }, 'development-mode re-publish: the new bytes did not become READY, the old ones keep serving');
    }
  }
  if (result.moved.length > 0) {
    deps.logger.warn({ product, version: v.version, instances: result.moved, sha256: v.sha256 }, 'development-mode re-publish: running instances moved onto the new bytes by a rolling update');
  }
  return result;
}
