// Sends a tip's files with tus, from IndexedDB (tip-store.js): every file is stored before its
// first byte is sent and forgotten only when the server confirms it holds all of it. A reload
// or a browser restart carries on from the tus upload URL kept with the file; a lost signal is
// waited out (the `online` event, and a retry every so often). A request that hangs (a phone
// moving from Wi-Fi to a mobile network can leave one open with nothing behind it) is given up
// after a while with no answer and no progress, and when the phone comes back online: the upload
// then asks the server how much it holds and goes on from there.
//
// tip.js and tip-offline.js are separate bundles on the same page, so the queue is one object
// per page (on window): two runners must not send the same file at once.
import * as tus from "tus-js-client";
import { UPLOADS, allIn, deleteIn, putIn, queueUploads, uploadRecord } from "./tip-store.js";

const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10000, 15000, 30000];
const RETRY_QUEUE_MS = 30 * 1000;
// While the phone says it is offline, how often to look again (in case its `online` event is missed).
const OFFLINE_POLL_MS = 5 * 1000;
const DEFAULT_STALL_MS = 30 * 1000;
// Answers after which sending this file again cannot work (the grant is gone, the file is too
// large or of a refused type). The file stays on the phone; the person is told.
const HOPELESS = new Set([400, 403, 404, 410, 413, 415]);

class Stalled extends Error {}

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
  await response.text(); // read to the end (nothing, for a HEAD) so the request ends cleanly
  const offset = response.headers.get("Upload-Offset");
  return response.ok && offset !== null && offset === response.headers.get("Upload-Length");
}

function makeQueue() {
  const listeners = new Set();
  const inMemory = []; // files the browser would not store (no space): sent, but not kept
  let chunkBytes = DEFAULT_CHUNK_BYTES;
  let stallMs = DEFAULT_STALL_MS;
  let running = null;
  let again = false;
  let timer = null;
  let timerDue = 0;
  let giveUpCurrent = null; // gives up the request in flight, if any

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

  // tus-js-client's own retry rule (tus 1.0.0: 4xx other than 409 and 423 is final), except
  // that it also stops the stall watchdog between a failed request and its retry.
  function retryable(error, quiet) {
    quiet();
    const status = statusOf(error);
    return (status < 400 || status >= 500 || status === 409 || status === 423) && navigator.onLine;
  }

  function sendOne(record) {
    return new Promise((resolve, reject) => {
      let watchdog = null;
      const quiet = () => {
        clearTimeout(watchdog);
        watchdog = null;
      };
      const settle = (finish, value) => {
        quiet();
        giveUpCurrent = null;
        finish(value);
      };
      const giveUp = (reason) => {
        upload.abort();
        settle(reject, new Stalled(reason));
      };
      // A request is under way: it must answer, or move bytes, within stallMs.
      const busy = () => {
        quiet();
        watchdog = setTimeout(() => giveUp("no answer from the server"), stallMs);
      };
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
        onBeforeRequest: busy,
        onAfterResponse: quiet,
        onShouldRetry: (error) => retryable(error, quiet),
        onProgress: (sent, total) => {
          busy();
          emit({ type: "progress", record, sent, total });
        },
        onSuccess: () => settle(resolve),
        onError: (error) => settle(reject, error),
      });
      giveUpCurrent = giveUp;
      upload.start();
    });
  }

  async function sendAll() {
    for (const record of await waiting()) {
      if (record.refused) continue;
      if (!navigator.onLine) {
        schedule(OFFLINE_POLL_MS);
        return;
      }
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
          // A request given up for hanging is sent again at once; a failed one after a while.
          schedule(error instanceof Stalled ? 0 : RETRY_QUEUE_MS);
        }
        continue;
      }
      await forget(record);
      emit({ type: "received", record });
    }
  }

  // Another pass in `delay` ms, unless one is already due sooner.
  function schedule(delay = RETRY_QUEUE_MS) {
    const due = Date.now() + delay;
    if (timer) {
      if (timerDue <= due) return;
      clearTimeout(timer);
    }
    timerDue = due;
    timer = setTimeout(() => {
      timer = null;
      run();
    }, delay);
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
      try {
        do {
          again = false;
          await report();
          await sendAll();
        } while (again);
        await report();
      } finally {
        running = null;
      }
      // Asked for during the last report (a retry timer, the `online` event): not lost.
      if (again) run();
    })();
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

  // Back online: a request opened before the signal went may never answer; start it again.
  window.addEventListener("online", () => {
    giveUpCurrent?.("back online");
    run();
  });
  return {
    enqueue,
    run,
    drop,
    waiting,
    setChunkBytes(bytes) {
      if (bytes > 0) chunkBytes = bytes;
    },
    setStallSeconds(seconds) {
      if (seconds > 0) stallMs = seconds * 1000;
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
