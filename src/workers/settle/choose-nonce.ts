/** What the nonce of a batch's next transaction is chosen from. */
export interface NonceState {
  /** The local id of the batch the transaction settles. */
  batch: number;
  /** The nonce of this batch's previous transaction, if it had one. */
  previous: number | null;
  /** The settler's mined transaction count: nonces below it are used for good. */
  latest: number;
  /** The node's next nonce for the settler, counting its pool. */
  pending: number;
  /** Nonces held by this settler's other batches whose transactions are still in flight. */
  held: ReadonlyMap<number, number>;
}

/**
 * The nonce for a batch's next `settleBatch`. A batch keeps its previous nonce while the chain
 * has not used it, so a re-sent batch replaces its own lost transaction and fills the gap it
 * left, and at most one of its transactions can ever be mined. Otherwise it takes the node's
 * next nonce, skipping any another in-flight batch holds: no nonce ever carries two batches'
 * transactions at once.
 */
export function chooseNonce(state: NonceState): number {
  const owner = (n: number) => state.held.get(n);
  if (state.previous !== null && state.previous >= state.latest) {
    const holder = owner(state.previous);
    if (holder === undefined || holder === state.batch) return state.previous;
  }
  let nonce = Math.max(state.latest, state.pending);
  while (owner(nonce) !== undefined && owner(nonce) !== state.batch) nonce++;
  return nonce;
}
