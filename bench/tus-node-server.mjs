// The reference tus server for bench/upload.py: @tus/server with its file store, nothing else.
// Usage: node tus-node-server.mjs PORT DIRECTORY [fsync]
// With "fsync", the fair peer: the finished file and its directory are fsynced before the last
// PATCH is answered (onUploadFinish), as Canvass syncs an upload before it completes it.
// @tus/file-store 2.1.1 itself never syncs.
import { open } from "node:fs/promises";
import path from "node:path";
import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";

const [port, directory, mode] = process.argv.slice(2);

async function fsyncPath(target) {
  const handle = await open(target, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const options = { path: "/files", datastore: new FileStore({ directory }) };
if (mode === "fsync") {
  options.onUploadFinish = async (req, upload) => {
    await fsyncPath(path.join(directory, upload.id));
    await fsyncPath(directory);
    return {};
  };
}
const server = new Server(options);
server.listen({ host: "127.0.0.1", port: Number(port) }, () => console.log(`listening on ${port}`));
