// Sends a tip's files with tus, from IndexedDB (tip-store.js): every file is stored before its
// first byte is sent and forgotten only when the server confirms it holds all of it. A reload
// or a browser restart carries on from the tus upload URL kept with the file; a lost signal is
// waited out (the `online` event, and a retry every so often).
//
// tip.js and tip-offline.js are separate bundles on the same page, so the queue is one object
// per page (on window): two runners must not send the same file at once.
import * as tus from "tus-js-client";
import { UPLOADS, allIn, deleteIn, putIn, queueUploads, uploadRecord } from "./tip-store.js";

const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10000, 15000, 30000];
const RETRY_QUEUE_MS = 30 * 1000;
// Answers after which sending this file again cannot work (the grant is gone, the file is too
// large or of a refused type). The file stays on the phone; the person is told.
const HOPELESS = new Set([400, 403, 404, 410, 413, 415]);

function statusOf(error) {
  return error?.originalResponse?.getStatus?.() || 0;
}

function reasonOf(error) {
  const body = error?.originalResponse?.getBody?.();
  return (typeof body === "string" && body.trim()) || error?.message || String(error);
}

// Whether the server holds all of the file (tus HEAD: offset equals length).
async function confirmedComplete(record) {
  const response = await fetch(record.url, {
    method: "HEAD",
    credentials: "omit",
    cache: "no-store",
    headers: { "Tus-Resumable": "1.0.0", [record.header]: record.grant },
  });
  const offset = response.headers.get("Upload-Offset");
  return response.ok && offset !== null && offset === response.headers.get("Upload-Length");
}

function makeQueue() {
  const listeners = new Set();
  const inMemory = []; // files the browser would not store (no space): sent, but not kept
  let chunkBytes = DEFAULT_CHUNK_BYTES;
  let running = null;
  let again = false;
  let timer = null;

  const emit = (event) => listeners.forEach((listener) => listener(event));

  async function waiting() {
    let stored = [];
    try {
      stored = await allIn(UPLOADS);
    } catch {
      // No storage (private mode, quota): only what is in memory.
    }
    return [...stored, ...inMemory];
  }

  async function remember(record) {
    if (record.id == null) return;
    try {
      await putIn(UPLOADS, record);
    } catch {
      // Kept as it was: the upload restarts from the beginning next time, nothing is lost.
    }
  }

  async function forget(record) {
    if (record.id == null) inMemory.splice(inMemory.indexOf(record), 1);
    else await deleteIn(UPLOADS, record.id);
  }

  function sendOne(record) {
    return new Promise((resolve, reject) => {
      const upload = new tus.Upload(record.file, {
        endpoint: record.endpoint,
        uploadUrl: record.url || null,
        headers: { [record.header]: record.grant },
        metadata: { filename: record.name, filetype: record.type },
        chunkSize: chunkBytes,
        retryDelays: RETRY_DELAYS_MS,
        // Our own store keeps the URL with the file; tus-js-client's localStorage is not used.
        storeFingerprintForResuming: false,
        onUploadUrlAvailable: () => {
          if (upload.url !== record.url) {
            record.url = upload.url;
            remember(record);
          }
        },
        onProgress: (sent, total) => emit({ type: "progress", record, sent, total }),
        onSuccess: resolve,
        onError: reject,
      });
      upload.start();
    });
  }

  async function sendAll() {
    for (const record of await waiting()) {
      if (record.refused) continue;
      if (!navigator.onLine) return;
      try {
        await sendOne(record);
        if (!(await confirmedComplete(record))) throw new Error("the server does not hold all of it yet");
      } catch (error) {
        if (HOPELESS.has(statusOf(error))) {
          record.refused = reasonOf(error);
          await remember(record);
          emit({ type: "refused", record, reason: record.refused });
        } else {
          emit({ type: "waiting", record, reason: reasonOf(error) });
          schedule();
        }
        continue;
      }
      await forget(record);
      emit({ type: "received", record });
    }
  }

  function schedule() {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      run();
    }, RETRY_QUEUE_MS);
  }

  async function report() {
    const left = await waiting();
    emit({
      type: "state",
      waiting: left.filter((record) => !record.refused).length,
      refused: left.filter((record) => record.refused),
    });
  }

  // Sends whatever waits; one pass at a time, another pass if asked while one runs.
  function run() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await report();
        await sendAll();
      } while (again);
      await report();
    })().finally(() => {
      running = null;
    });
    return running;
  }

  // Stores the files, then starts sending them (without waiting for that to finish).
  async function enqueue(files, upload, outboxRecord = null) {
    try {
      await queueUploads(files, upload, outboxRecord);
    } catch {
      inMemory.push(...files.map((file) => uploadRecord(file, upload)));
    }
    run();
  }

  // The person gives up on a file the server will not take.
  async function drop(record) {
    await forget(record);
    await report();
  }

  window.addEventListener("online", () => run());
  return {
    enqueue,
    run,
    drop,
    waiting,
    setChunkBytes(bytes) {
      if (bytes > 0) chunkBytes = bytes;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function tipUploads() {
  if (!window.canvassTipUploads) window.canvassTipUploads = makeQueue();
  return window.canvassTipUploads;
}
