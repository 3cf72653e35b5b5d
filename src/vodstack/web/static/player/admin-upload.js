// Uploading a master from the admin page over tus 1.0.0 (POST /api/uploads, then PATCH
// chunks; HEAD asks where to resume after a dropped connection), with progress. XHR, not
// fetch: fetch reports no upload progress. Spec: https://tus.io/protocols/resumable-upload

import { AdminError, auth, explain, networkError } from "./admin-api.js";

const TUS = "1.0.0";
export const CHUNK_BYTES = 8 * 1024 * 1024;
const RETRIES = 5; // per chunk, after a network error or a server error

/** base64 of the UTF-8 bytes (tus Upload-Metadata values). */
const b64 = (text) => btoa(Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join(""));

class Transfer {
  constructor() { this.xhr = null; this.cancelled = false; }

  /** One request: resolves {status, header(name), text} (status 0: the network failed). */
  send(method, url, headers = {}, body = null, onProgress = null) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      this.xhr = xhr;
      xhr.open(method, url);
      xhr.setRequestHeader("Authorization", `Bearer ${auth.token}`);
      xhr.setRequestHeader("Tus-Resumable", TUS);
      for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
      if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
      const done = () => resolve({ status: xhr.status, header: (n) => xhr.getResponseHeader(n), text: xhr.responseText });
      xhr.onload = done;
      xhr.onerror = done;
      xhr.onabort = done;
      xhr.send(body);
    });
  }
}

async function refusal(reply, action, path) {
  if (reply.status === 0) return networkError(action);
  const headers = new Headers();
  const retry = reply.header("Retry-After");
  if (retry) headers.set("Retry-After", retry);
  const error = await explain(new Response(reply.text, { status: reply.status, headers }), action, path);
  if (reply.status === 401) auth.signOut();
  return error;
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Upload `file` as a new asset; resolves its id. `onProgress(fraction)` as bytes go out;
 * `handle.cancel()` stops it and tells the server to drop what it has (tus termination).
 */
export function upload(file, { title = "", chunkBytes = CHUNK_BYTES, onProgress = () => {} } = {}) {
  const transfer = new Transfer();
  let location = null;
  const action = `Uploading ${file.name}`;

  async function run() {
    if (file.size === 0) throw new AdminError(`${action}: the file is empty.`);
    const metadata = [`filename ${b64(file.name)}`];
    if (title) metadata.push(`title ${b64(title)}`);
    const created = await transfer.send("POST", "/api/uploads", {
      "Upload-Length": String(file.size),
      "Upload-Metadata": metadata.join(","),
    });
    if (created.status !== 201) throw await refusal(created, action, "/api/uploads");
    location = new URL(created.header("Location"), window.location.href).pathname;
    let offset = 0;
    let assetId = null;
    let failures = 0;
    onProgress(0);
    while (offset < file.size) {
      if (transfer.cancelled) throw cancelled();
      const end = Math.min(file.size, offset + chunkBytes);
      const sent = await transfer.send("PATCH", location, {
        "Upload-Offset": String(offset),
        "Content-Type": "application/offset+octet-stream",
      }, file.slice(offset, end), (loaded) => onProgress((offset + loaded) / file.size));
      if (transfer.cancelled) throw cancelled();
      if (sent.status === 204) {
        offset = Number(sent.header("Upload-Offset"));
        assetId = sent.header("Vodstack-Asset-Id") || assetId;
        failures = 0;
        onProgress(offset / file.size);
        continue;
      }
      // A dropped connection or a server hiccup: ask where the server is and go on from there.
      const transient = sent.status === 0 || sent.status === 409 || sent.status >= 500;
      if (!transient || ++failures > RETRIES) throw await refusal(sent, action, location);
      await pause(500 * 2 ** (failures - 1));
      const head = await transfer.send("HEAD", location);
      if (head.status === 200) offset = Number(head.header("Upload-Offset"));
      else if (head.status !== 0 && head.status < 500) throw await refusal(head, action, location);
    }
    if (!assetId) {
      const state = await transfer.send("GET", location);
      if (state.status === 200) assetId = JSON.parse(state.text).asset_id;
    }
    if (!assetId) throw new AdminError(`${action}: the server took every byte but named no asset. Reload the list to find it.`);
    return assetId;
  }

  const cancelled = () => new AdminError("Upload cancelled; the server drops what it received.");
  return {
    done: run().catch(async (error) => {
      if (!transfer.cancelled) throw error;
      if (location) await new Transfer().send("DELETE", location); // tus termination
      throw cancelled();
    }),
    cancel() {
      transfer.cancelled = true;
      transfer.xhr?.abort();
    },
  };
}
