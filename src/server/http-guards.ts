/**
 * The HTTP layer's own defences, below the routes: answers for requests Node's parser refuses,
 * a cheap pre-parse check of a JSON body's shape, and a bounded read-and-drop of an unread body so
 * that early error answers reach clients still uploading.
 */
import { STATUS_CODES, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";

/** Content-Encodings a body may carry: none (bodies are never decompressed). */
export const IDENTITY = /^\s*identity\s*$/i;
/** The one transfer coding taken (Node's parser refuses the rest, except before chunked). */
export const CHUNKED = /^\s*chunked\s*$/i;

/** Sockets already answered by answerClientError (later parser errors on them are ignored). */
const answeredSockets = new WeakSet<Duplex>();

/**
 * Requests Node's HTTP parser refuses (malformed framing, headers too large, too slow) are
 * answered in the server's error shape. The socket is half-closed and destroyed a little later:
 * destroying it at once, while a client still sends, resets the connection and the client loses
 * the answer.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === "ECONNRESET" || socket.destroyed || answeredSockets.has(socket)) return;
  answeredSockets.add(socket);
  const [status, message] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "The request was not received in time"]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "The request headers are too large"]
        : err.code === "CONNECT"
          ? [405, "CONNECT is not supported: this is not a proxy"]
          : [400, `Malformed HTTP request (${err.code ?? "parse error"})`];
  const body = JSON.stringify({ error: message, error_type: "validation" });
  if (socket.writable) {
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  setTimeout(() => socket.destroy(), 2000).unref();
}

/**
 * No request body needs more than a few levels or keys, and parsing is what costs: 400,000 nested
 * arrays or 50,000 distinct keys take the HTTP thread about a second (in V8's JSON.parse).
 */
const MAX_JSON_DEPTH = 32;
const MAX_JSON_KEYS = 1000;

/** How deeply arrays and objects nest in a JSON text, and how many object keys it has. */
function jsonShape(bytes: Uint8Array): { depth: number; keys: number } {
  let depth = 0;
  let max = 0;
  let keys = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x3a) keys++; // a colon outside strings follows each key
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return { depth: max, keys };
}

/** Why a JSON body is refused before parsing, or undefined. */
export function jsonShapeProblem(bytes: Uint8Array): string | undefined {
  const shape = jsonShape(bytes);
  if (shape.depth > MAX_JSON_DEPTH) return `The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`;
  if (shape.keys > MAX_JSON_KEYS) return `The JSON body has more than ${MAX_JSON_KEYS} object keys`;
  return undefined;
}

/**
 * Reads and drops what is left of a request body, up to a bound in bytes and time, so that an
 * error answered before the body was read (413, 415, 401...) reaches a client that is still
 * uploading, instead of a connection reset that loses it.
 */
export function discardBody(raw: IncomingMessage, maxBytes: number, maxMs: number): Promise<void> {
  // A body announced larger than the bound is not waited for: answer at once and close.
  if (raw.complete || raw.destroyed || Number(raw.headers["content-length"]) > maxBytes) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      raw.off("data", onData);
      raw.off("end", done);
      raw.off("error", done);
      raw.off("close", done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) done();
    };
    const timer = setTimeout(done, maxMs);
    raw.on("data", onData);
    raw.on("end", done);
    raw.on("error", done);
    raw.on("close", done);
    raw.resume();
  });
}
