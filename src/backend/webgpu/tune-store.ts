// The tuning cache in a browser: one IndexedDB database, a record per
// adapter. Where IndexedDB is missing (Node, a private window that refuses
// it) there is no store, and tuned choices last for the page's life.
import type { TuneStore } from './tune';

const DATABASE = 'wgrad';
const STORE = 'tuning';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function open(): Promise<IDBDatabase> {
  const req = indexedDB.open(DATABASE, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE);
  return request(req);
}

async function withStore<T>(mode: IDBTransactionMode, use: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await request(use(db.transaction(STORE, mode).objectStore(STORE)));
  } finally {
    db.close();
  }
}

/** IndexedDB's store, or null where the page has no IndexedDB. */
export function browserTuneStore(): TuneStore | null {
  if (typeof indexedDB === 'undefined') return null;
  return {
    where: (adapter) => `IndexedDB ${DATABASE}/${STORE}[${JSON.stringify(adapter)}]`,
    async load(adapter) {
      const text = await withStore('readonly', (store) => store.get(adapter) as IDBRequest<unknown>);
      return typeof text === 'string' ? text : null;
    },
    async save(adapter, text) {
      await withStore('readwrite', (store) => store.put(text, adapter));
    },
  };
}
