/**
 * A generated corpus of malformed HTTP requests (raw bytes, for plain sockets): bad JSON, wrong
 * types field by field, empty inputs, huge and deep payloads, invalid UTF-8, bad content types,
 * encodings and framing, protocol garbage, unknown routes and methods, slow and cut-short requests.
 * Every one must get a JSON 4xx. Used by test/server/malformed.test.ts and the soak.
 */
export interface Malformed {
  category: string;
  /** The request's bytes, in the pieces they are written in. */
  chunks: (string | Uint8Array)[];
  /** Pause between pieces (slow clients). */
  gapMs?: number;
}

const enc = new TextEncoder();

/** What every malformed request must get: a 4xx whose body is a JSON error (TEI's or OpenAI's shape). */
export function isJsonClientError(status: number, body: string): boolean {
  if (status < 400 || status >= 500) return false;
  try {
    const json = JSON.parse(body) as { error?: string | { message?: unknown } };
    return typeof json.error === "string" || typeof json.error?.message === "string";
  } catch {
    return false;
  }
}

/** An HTTP/1.1 request with a correct Content-Length unless the headers give one. */
function http(method: string, path: string, body: string | Uint8Array = "", headers: Record<string, string> = {}): Uint8Array {
  const bytes = typeof body === "string" ? enc.encode(body) : body;
  const all: Record<string, string> = { host: "127.0.0.1", connection: "close", "content-type": "application/json", ...headers };
  if (!Object.keys(all).some((h) => h === "content-length" || h === "transfer-encoding") && (bytes.length > 0 || method === "POST")) all["content-length"] = String(bytes.length);
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), bytes]);
}

const post1 = (path: string, body: unknown, headers: Record<string, string> = {}) => http("POST", path, JSON.stringify(body), headers);

/** Values of the wrong type for each kind of field. */
const WRONG = {
  boolean: [1, 0, "true", "yes", {}, [], [true], 0.5],
  direction: [1, true, {}, [], "Up", "", "RIGHT "],
  dimensions: ["1", 0, -1, 1.5, true, {}, [], 100_000],
  texts: [1, true, {}, [1], [null], [[]], [{}], ["a", 2], [["a"]], -1],
  ids: ["a", [-1], [1.5], [["a"]], {}, -1, [4294967296], [[-1]], [true], ["1"]],
  format: [1, true, {}, "float16", "", "BASE64"],
};

/** /embed's `inputs` also takes token ids: [1] is valid there, fractions and negatives are not. */
const EMBED_INPUTS = [...WRONG.texts.filter((v) => !(Array.isArray(v) && v.length === 1 && v[0] === 1)), [1.5], [-1], [[1, "a"]]];

export function generateMalformed(): Malformed[] {
  const out: Malformed[] = [];
  const add = (category: string, ...chunks: (string | Uint8Array)[]) => out.push({ category, chunks });

  // Bad JSON: every proper prefix of a valid body, and assorted near-JSON.
  const body = '{"inputs": ["The cat sat.", "Hello, world!"], "normalize": true}';
  for (let n = 1; n < body.length; n++) add("bad JSON", http("POST", "/embed", body.slice(0, n)));
  for (const text of ["{'inputs': 'a'}", '{"inputs": "a",}', '{"inputs": "a"} x', "{inputs: 1}", "NaN", "undefined", '{"inputs": "\\x41"}', '{"inputs": "a" "b"}', "[1, 2", '{"a":1e999999}', "\u0000", '"unterminated'])
    add("bad JSON", http("POST", "/embed", text));

  // Wrong types, field by field, route by route.
  const fields: [string, string, unknown[], Record<string, unknown>][] = [
    // (A list of integers is token ids there, as in TEI.)
    ["/embed", "inputs", EMBED_INPUTS, {}],
    ["/embed", "normalize", WRONG.boolean, { inputs: "a" }],
    ["/embed", "truncate", WRONG.boolean, { inputs: "a" }],
    ["/embed", "truncation_direction", WRONG.direction, { inputs: "a" }],
    ["/embed", "dimensions", WRONG.dimensions, { inputs: "a" }],
    ["/embed_all", "inputs", EMBED_INPUTS, {}],
    ["/predict", "inputs", [...WRONG.texts.filter((v) => !(Array.isArray(v) && v.length === 1 && Array.isArray(v[0]))), ["a", "b", "c"], [["a", "b", "c"]]], {}],
    ["/predict", "raw_scores", WRONG.boolean, { inputs: "a" }],
    ["/tokenize", "inputs", WRONG.texts, {}],
    ["/tokenize", "add_special_tokens", WRONG.boolean, { inputs: "a" }],
    ["/decode", "ids", WRONG.ids, {}],
    // (Strings are texts there.)
    ["/v1/embeddings", "input", [...WRONG.ids.filter((v) => v !== "a" && !(Array.isArray(v) && v[0] === "1")), true, {}, [null]], {}],
    ["/v1/embeddings", "encoding_format", WRONG.format, { input: "a" }],
    ["/v1/embeddings", "dimensions", WRONG.dimensions, { input: "a" }],
  ];
  for (const [path, field, values, base] of fields) for (const v of values) add("wrong type", post1(path, { ...base, [field]: v }));
  for (const v of ["hello", 1, null, true, ["a"]]) add("wrong type", post1("/embed", v));

  // Empty inputs.
  for (const [path, b] of [["/embed", { inputs: [] }], ["/embed", {}], ["/embed_all", { inputs: [] }], ["/predict", { inputs: [] }], ["/tokenize", { inputs: [] }], ["/v1/embeddings", { input: [] }], ["/v1/embeddings", { input: [[]] }]] as const)
    add("empty inputs", post1(path, b));
  for (const path of ["/embed", "/predict", "/v1/embeddings"]) add("empty inputs", http("POST", path, ""));

  // Huge and deep payloads.
  const long = (n: number) => Array.from({ length: n }, (_, i) => `w${i % 97}`).join(" ");
  add("huge", http("POST", "/embed", JSON.stringify({ inputs: "a ".repeat(1_200_000) })));
  add("huge", http("POST", "/embed", `{"inputs": "${"x".repeat(3_000_000)}"}`, { "content-length": String(3_000_014) }));
  add("huge", http("POST", "/embed", "", { "content-length": "99999999999" }));
  add("huge", post1("/embed", { inputs: Array.from({ length: 33 }, () => "a") }));
  add("huge", post1("/embed", { inputs: Array.from({ length: 1000 }, () => "a") }));
  add("huge", post1("/embed", { inputs: long(2000) }));
  add("huge", post1("/embed_all", { inputs: Array.from({ length: 32 }, () => long(300)), truncate: true }));
  add("huge", post1("/tokenize", { inputs: "word ".repeat(300_000) }));
  add("huge", post1("/tokenize", { inputs: Array.from({ length: 32 }, () => "ab ".repeat(20_000)) }));
  add("huge", post1("/predict", { inputs: [[long(1000), long(1000)]] }));
  add("huge", post1("/v1/embeddings", { input: Array.from({ length: 5000 }, () => 1000) }));
  add("huge", post1("/v1/embeddings", { input: Array.from({ length: 40 }, () => [101, 102]) }));
  add("huge", post1("/decode", { ids: Array.from({ length: 33 }, () => [1]) }));
  for (const depth of [1_000, 10_000, 100_000, 400_000]) {
    add("deep", http("POST", "/embed", "[".repeat(depth) + "]".repeat(depth)));
    add("deep", http("POST", "/embed", '{"inputs":'.repeat(Math.min(depth, 150_000)) + '"a"' + "}".repeat(Math.min(depth, 150_000))));
  }
  add("deep", http("POST", "/embed", `{"inputs": "a", ${Array.from({ length: 50_000 }, (_, i) => `"k${i}": ${i}`).join(", ")}, "normalize": "x"}`));

  // Invalid UTF-8 in the body.
  const utf8Bad = [[0xff], [0xc3, 0x28], [0xe2, 0x82], [0xf0, 0x28, 0x8c, 0xbc], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80]];
  for (const bytes of utf8Bad) {
    for (const path of ["/embed", "/tokenize"]) {
      add("invalid UTF-8", http("POST", path, Buffer.concat([Buffer.from('{"inputs": "ab'), Buffer.from(bytes), Buffer.from('"}')])));
    }
  }

  // Content types, encodings, framing.
  const ok = '{"inputs": "a"}';
  for (const type of ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "json", "application/jsonp", "image/png"])
    add("bad headers", http("POST", "/embed", ok, { "content-type": type }));
  for (const ce of ["gzip", "deflate", "br", "gzip, identity", "x-unknown", "compress"]) add("bad headers", http("POST", "/embed", ok, { "content-encoding": ce }));
  for (const te of ["gzip", "gzip, chunked", "chunked, gzip", "identity", "chunkedx", "deflate, chunked"])
    add("bad framing", http("POST", "/embed", `${ok.length.toString(16)}\r\n${ok}\r\n0\r\n\r\n`, { "transfer-encoding": te }));
  add("bad framing", http("POST", "/embed", `${ok.length.toString(16)}\r\n${ok}\r\n0\r\n\r\n`, { "transfer-encoding": "chunked", "content-length": "5" }));
  add("bad framing", http("POST", "/embed", "zz\r\n" + ok + "\r\n0\r\n\r\n", { "transfer-encoding": "chunked" }));
  add("bad framing", http("POST", "/embed", ok, { "content-length": "-1" }));
  add("bad framing", http("POST", "/embed", ok, { "content-length": "abc" }));
  add("bad framing", `POST /embed HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 15\r\ncontent-length: 16\r\n\r\n${ok}`);
  add("bad framing", `POST /embed HTTP/1.1\r\nhost: x\r\nbad header line\r\n\r\n`);
  add("bad framing", `POST /embed HTTP/1.1\r\nhost: x\r\nx-nul: a\u0000b\r\n\r\n`);
  add("bad framing", `POST /embed HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`);
  add("bad framing", `POST /embed HTTP/1.1\r\n${Array.from({ length: 3000 }, (_, i) => `x-h${i}: v\r\n`).join("")}\r\n`);
  add("bad framing", `POST /${"a".repeat(20_000)} HTTP/1.1\r\nhost: x\r\n\r\n`);
  for (const garbage of ["GARBAGE\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000", "POST /embed\r\n\r\n", "\r\n\r\n\r\n", "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"])
    add("protocol garbage", garbage);
  add("protocol garbage", Uint8Array.from({ length: 512 }, (_, i) => (i * 7919) % 256));

  // Unknown routes and methods.
  for (const path of ["/embedz", "/embed/", "/EMBED", "/v2/models", "/../etc/passwd", "/%00", "/embed%20", "/v1/embeddings/x", "/metrics/x", "/info.json", "/%E0%A4%A", "/nope?" + "a=1&".repeat(2000)])
    add("unknown route", post1(path, { inputs: "a" }));
  for (const [method, path] of [["GET", "/embed"], ["PUT", "/embed"], ["DELETE", "/embed_all"], ["PATCH", "/predict"], ["GET", "/tokenize"], ["PUT", "/decode"], ["DELETE", "/v1/embeddings"], ["POST", "/health"], ["POST", "/info"], ["POST", "/metrics"], ["PUT", "/ready"], ["DELETE", "/"]])
    add("wrong method", http(method, path, method === "GET" ? "" : ok));
  add("wrong method", http("FOO", "/embed", ok));
  add("wrong method", http("CONNECT", "127.0.0.1:80", ""));

  // Slow clients: a trickled body, a body cut short, headers never finished.
  for (let i = 0; i < 4; i++) {
    // The last 15 bytes one at a time, 500 ms apart: far longer than the server's 2 s request timeout.
    const full = http("POST", "/embed", ok);
    out.push({ category: "slow body", chunks: [full.subarray(0, full.length - 15), ...Array.from(full.subarray(full.length - 15), (b) => Uint8Array.of(b))], gapMs: 500 });
  }
  for (let i = 0; i < 3; i++) add("cut short", http("POST", "/embed", ok.slice(0, 5 + i), { "content-length": String(ok.length) }));
  for (let i = 0; i < 3; i++) out.push({ category: "slow headers", chunks: ["POST /embed HTTP/1.1\r\n", ...Array.from("host: 127.0.0.1\r\nx-a: b\r\n")], gapMs: 300 });
  return out;
}

