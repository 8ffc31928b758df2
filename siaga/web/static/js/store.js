// The device identity kept in this browser: IndexedDB holds the CryptoKey objects themselves
// (structured clone), created non-extractable, so not even this page can export the private keys.

const DB = 'siaga';
const STORE = 'device';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally { db.close(); }
}

/** {member, label, deviceId, signKey, dhKey, signPub, dhPub, keeper?} or undefined. */
export const loadDevice = () => run('readonly', (s) => s.get('current'));
export const saveDevice = (device) => run('readwrite', (s) => s.put(device, 'current'));
export const forgetDevice = () => run('readwrite', (s) => s.delete('current'));
