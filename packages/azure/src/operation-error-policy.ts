import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { ArmErrorDetail } from './map-azure-error.js';

/** Name of the pipeline policy added by {@link OperationErrorRecorder}. */
export const operationErrorPolicyName = 'spothedgeOperationErrorPolicy';

/** How many failed operation bodies are kept until read (oldest dropped first). */
const MAX_RECORDED = 256;

function operationKey(url: string): string {
  // The poller appends `api-version` when the header lacked one; compare without query.
  const queryStart = url.indexOf('?');
  return (queryStart === -1 ? url : url.slice(0, queryStart)).toLowerCase();
}

/**
 * Keeps the ARM `error` of failed responses (by request) and of failed long-running
 * operation status bodies (by polling URL). Why: `@azure/core-lro` turns a failed operation into a plain `Error`
 * whose message holds only the top-level code, losing `error.details[]` — where Azure
 * often puts the code that matters (`ZonalAllocationFailed` under a generic parent).
 * The provider reads it back with the `Azure-AsyncOperation` URL of its own request.
 */
export class OperationErrorRecorder {
  readonly #errors = new Map<string, ArmErrorDetail>();
  readonly #responseErrors = new WeakMap<object, ArmErrorDetail>();

  /** The pipeline policy to add to the client's pipeline (once). */
  policy(): PipelinePolicy {
    return {
      name: operationErrorPolicyName,
      sendRequest: async (request, next) => {
        const response = await next(request);
        if (response.status >= 400 && response.bodyAsText) {
          // Kept because errors of long-running calls carry only the top-level code.
          try {
            const body = JSON.parse(response.bodyAsText) as { error?: ArmErrorDetail };
            if (body.error !== undefined) this.#responseErrors.set(request, body.error);
          } catch {
            // Not JSON: nothing to keep.
          }
        } else if (request.method === 'GET' && response.bodyAsText) {
          const text = response.bodyAsText;
          // Cheap pre-check: only operation status bodies of failed operations.
          if (/"status"\s*:\s*"(Failed|Canceled)"/i.test(text)) {
            try {
              const body = JSON.parse(text) as { status?: string; error?: ArmErrorDetail };
              if (body.error !== undefined) this.#record(request.url, body.error);
            } catch {
              // Not JSON: nothing to keep.
            }
          }
        }
        return response;
      },
    };
  }

  /**
   * The ARM `error` of the response that made the SDK throw `error`, found through the
   * request the SDK attaches to its `RestError`.
   */
  responseErrorOf(error: unknown): ArmErrorDetail | undefined {
    const request = (error as { request?: unknown } | undefined)?.request;
    return typeof request === 'object' && request !== null
      ? this.#responseErrors.get(request)
      : undefined;
  }

  /** Removes and returns the failed body recorded for this operation URL, if any. */
  take(operationUrl: string | undefined): ArmErrorDetail | undefined {
    if (operationUrl === undefined) return undefined;
    const key = operationKey(operationUrl);
    const error = this.#errors.get(key);
    this.#errors.delete(key);
    return error;
  }

  #record(url: string, error: ArmErrorDetail): void {
    this.#errors.set(operationKey(url), error);
    if (this.#errors.size > MAX_RECORDED) {
      const oldest = this.#errors.keys().next().value;
      if (oldest !== undefined) this.#errors.delete(oldest);
    }
  }
}
