/**
 * A request body the router may have to send more than once (failover). Buffers replay
 * freely; a stream can be handed to a second replica only if the first never started
 * reading it, so each attempt gets its own wrapper and the source survives a failed
 * attempt untouched.
 */
import type { Readable } from 'node:stream';

/** Thrown inside the body stream when a client sends more than the configured limit. */
export class BodyTooLargeError extends Error {
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super(`Request body exceeds ${limitBytes} bytes`);
    this.name = 'BodyTooLargeError';
    this.limitBytes = limitBytes;
  }
}

export class RequestBody {
  readonly #buffer: Buffer | undefined;
  readonly #stream: AsyncIterable<Uint8Array> | undefined;
  readonly #limitBytes: number;
  #started = false;

  private constructor(
    buffer: Buffer | undefined,
    stream: AsyncIterable<Uint8Array> | undefined,
    limitBytes: number,
  ) {
    this.#buffer = buffer;
    this.#stream = stream;
    this.#limitBytes = limitBytes;
  }

  static fromBuffer(buffer: Buffer): RequestBody {
    return new RequestBody(buffer, undefined, Number.POSITIVE_INFINITY);
  }

  /**
   * A streamed body. A node `Readable` (an `IncomingMessage`) is iterated without being
   * destroyed when an attempt stops early, so the client connection stays usable for the
   * error response.
   */
  static fromStream(
    source: AsyncIterable<Uint8Array> | Readable,
    limitBytes = Number.POSITIVE_INFINITY,
  ): RequestBody {
    const iterable =
      'iterator' in source && typeof source.iterator === 'function'
        ? { [Symbol.asyncIterator]: () => source.iterator({ destroyOnReturn: false }) }
        : source;
    return new RequestBody(undefined, iterable as AsyncIterable<Uint8Array>, limitBytes);
  }

  /** Whether another attempt can send this body in full. */
  get replayable(): boolean {
    return this.#buffer !== undefined || !this.#started;
  }

  /** What to hand undici for one attempt. */
  forAttempt(): Buffer | AsyncIterable<Uint8Array> {
    if (this.#buffer !== undefined) return this.#buffer;
    return this.#iterate();
  }

  async *#iterate(): AsyncGenerator<Uint8Array> {
    this.#started = true;
    const limit = this.#limitBytes;
    let total = 0;
    for await (const chunk of this.#stream!) {
      total += chunk.byteLength;
      if (total > limit) throw new BodyTooLargeError(limit);
      yield chunk;
    }
  }
}
