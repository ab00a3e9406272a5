// BrowserKeyring: the app's identity secret and what it remembers of peers
// (an IdentityStore's JSON), kept in IndexedDB so that key continuity
// survives a page reload: a peer verified yesterday is `known-verified`
// today, a peer whose key changed is `changed`.
//
// One database (default name `callseal`) with one object store, `keyring`,
// holding two records: `identity` (the 32 secret bytes of the app's
// IdentityKeyPair) and `peers` (the store's JSON text). Every page of the
// origin shares them. The secret is stored as bytes: anything that runs
// script in this origin can read it, as it could read any IndexedDB data;
// the browser's storage is what protects it at rest. Workers and tabs
// sharing the keyring save only the peers they changed (updatePeers), each
// in one transaction; a worker sees what others saved when it next loads.
import { CallsealError } from './errors.js';

const STORE = 'keyring';

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(storageError(req.error));
  });
}

function storageError(err) {
  return new CallsealError('storage', `IndexedDB: ${(err && err.message) || err}`);
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(storageError(tx.error));
    tx.onabort = () => reject(storageError(tx.error || 'transaction aborted'));
  });
}

export class BrowserKeyring {
  #db;

  constructor(db) {
    this.#db = db;
  }

  /**
   * Opens (or creates) the keyring database `name` of this origin.
   * `indexedDB` defaults to the global one.
   */
  static async open({ name = 'callseal', indexedDB = globalThis.indexedDB } = {}) {
    if (!indexedDB) throw new CallsealError('storage', 'this environment has no IndexedDB');
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
    };
    return new BrowserKeyring(await request(req));
  }

  /**
   * The identity secret (a new copy each time; wipe it after use). The
   * first call on a new keyring makes one from `crypto.getRandomValues`
   * (any 32 bytes are an X25519 secret); two pages asking at once get the
   * same one.
   */
  async identitySecret() {
    const fresh = crypto.getRandomValues(new Uint8Array(32));
    const tx = this.#db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    let secret = await request(store.get('identity'));
    if (!(secret instanceof Uint8Array) || secret.length !== 32) {
      store.put(fresh, 'identity');
      secret = fresh;
    }
    await done(tx);
    const copy = secret.slice();
    fresh.fill(0);
    if (secret !== fresh) secret.fill(0);
    return copy;
  }

  /** The peers' store JSON text saved last, or null. */
  async peers() {
    const tx = this.#db.transaction(STORE, 'readonly');
    const text = await request(tx.objectStore(STORE).get('peers'));
    return typeof text === 'string' ? text : null;
  }

  /**
   * Applies changed entries (peer uid → `{ key, verified }`, a `store`
   * event's `changed`) to the saved peers, in one transaction: entries of
   * other peers, saved by other workers or tabs, stay.
   */
  async updatePeers(changed) {
    const tx = this.#db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    const text = await request(store.get('peers'));
    const peers = typeof text === 'string' ? JSON.parse(text) : {};
    for (const [peer, entry] of Object.entries(changed)) {
      // Defined, not assigned: a peer named `__proto__` stays a peer.
      Object.defineProperty(peers, peer, { value: entry, enumerable: true, writable: true, configurable: true });
    }
    store.put(JSON.stringify(peers), 'peers');
    await done(tx);
  }

  /** Replaces the saved peers (an IdentityStore's JSON: text or object). */
  async savePeers(store) {
    const text = typeof store === 'string' ? store : JSON.stringify(store);
    const tx = this.#db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).put(text, 'peers');
    await done(tx);
  }

  /**
   * Forgets the identity (a new one is made on the next `identitySecret()`):
   * peers who verified the old one will see `changed`.
   */
  async forgetIdentity() {
    const tx = this.#db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).delete('identity');
    await done(tx);
  }

  /** Closes the database. */
  close() {
    this.#db.close();
  }
}
