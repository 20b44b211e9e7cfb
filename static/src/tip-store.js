// The tip page's IndexedDB ("canvass-tips"), shared by tip.js and tip-offline.js.
// - outbox: tips written without a connection (their text and files until the tip is accepted,
//   then only the receipt until the person says they wrote it down).
// - uploads: every file of an accepted tip, kept until the server confirms it has all of it
//   (tus HEAD: Upload-Offset == Upload-Length). Each record holds the file, the tus upload URL
//   once there is one (so a reload or a browser restart resumes from there), and the tip's
//   upload grant. Nothing identifies the person: no receipt, no tip reference here.
// Version 1 had the outbox only; opening at version 2 adds the uploads store and keeps the
// outbox as it was (its kept files are moved to uploads by tip-offline.js once the tip is sent).
export const DB_NAME = "canvass-tips";
export const DB_VERSION = 2;
export const OUTBOX = "outbox";
export const UPLOADS = "uploads";

export function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(OUTBOX)) {
        db.createObjectStore(OUTBOX, { keyPath: "id", autoIncrement: true });
      }
      if (!db.objectStoreNames.contains(UPLOADS)) {
        db.createObjectStore(UPLOADS, { keyPath: "id", autoIncrement: true });
      }
    };
    request.onsuccess = () => {
      const db = request.result;
      // Another tab opening a newer version must not wait for this one.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error("storage is busy in another tab"));
  });
}

// Runs work(stores...) in one transaction over `names`; resolves with what work returned (a
// request's result once the transaction has committed).
export async function inTransaction(names, mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(names, mode);
    const result = work(...names.map((name) => tx.objectStore(name)));
    tx.oncomplete = () => {
      db.close();
      resolve(result && typeof result === "object" && "result" in result ? result.result : result);
    };
    tx.onerror = () => {
      db.close();
      reject(tx.error);
    };
    tx.onabort = () => {
      db.close();
      reject(tx.error);
    };
  });
}

export const allIn = (name) => inTransaction([name], "readonly", (store) => store.getAll());
export const putIn = (name, record) => inTransaction([name], "readwrite", (store) => store.put(record));
export const deleteIn = (name, id) => inTransaction([name], "readwrite", (store) => store.delete(id));

// What tus needs to send one file under a tip's grant.
export function uploadRecord(file, upload) {
  return {
    file,
    name: file.name || "file",
    type: file.type || "application/octet-stream",
    size: file.size,
    endpoint: upload.endpoint,
    header: upload.header,
    grant: upload.grant,
    url: null,
    createdAt: new Date().toISOString(),
  };
}

// Stores files of an accepted tip as uploads. With `outboxRecord`, in the same transaction the
// kept tip loses its files, so a page closed half-way never leaves a file twice or not at all.
export function queueUploads(files, upload, outboxRecord = null) {
  const names = outboxRecord ? [UPLOADS, OUTBOX] : [UPLOADS];
  return inTransaction(names, "readwrite", (uploads, outbox) => {
    const ids = [];
    for (const file of files) {
      const request = uploads.add(uploadRecord(file, upload));
      request.onsuccess = () => ids.push(request.result);
    }
    if (outboxRecord) outbox.put({ ...outboxRecord, files: [], filesSent: 0 });
    return ids;
  });
}
