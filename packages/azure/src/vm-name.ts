import { createHash } from 'node:crypto';

/** Longest Linux VM name (and computer name) Azure accepts. */
const MAX_VM_NAME = 64;

/**
 * The VM name for an idempotency key: `<prefix>-<key>`, or, when that is too long,
 * `<prefix>-<start of key>-<hash>`. Deterministic, so a retried launch addresses the
 * same VM (ARM PUT on a name is create-or-update, never a twin).
 *
 * @example vmNameForKey('spothedge', 'svc-r1-a1') === 'spothedge-svc-r1-a1'
 */
export function vmNameForKey(prefix: string, idempotencyKey: string): string {
  const plain = `${prefix}-${idempotencyKey}`;
  if (plain.length <= MAX_VM_NAME && !plain.endsWith('-')) return plain;
  const hash = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 12);
  const room = MAX_VM_NAME - prefix.length - hash.length - 2;
  const start = idempotencyKey.slice(0, room).replace(/-+$/, '');
  return `${prefix}-${start}-${hash}`;
}
