/**
 * Builds and starts the HTTP server: the pool of inference workers (loaded and warmed up before the
 * server listens) and the tokenizers, fastify with strict JSON parsing and schema validation, every
 * route, metrics, the optional API key, JSON errors for everything that goes wrong, time limits for
 * slow clients, and a close() that drains in-flight requests before stopping.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { VERSION } from "../version.js";
import { basename } from "node:path";
import Fastify, { type FastifyError, type FastifyInstance, type HTTPMethods } from "fastify";
import { readPrompts } from "../pooling/st-modules.js";
import { loadTokenizer } from "../tokenizers/index.js";
import { registerAuth } from "./auth.js";
import { Batcher } from "./batcher.js";
import type { ServerContext } from "./context.js";
import { InferenceEngine } from "./engine.js";
import { ApiError, errorBody } from "./errors.js";
import { CHUNKED, IDENTITY, answerClientError, discardBody, jsonShapeProblem } from "./http-guards.js";
import { ServerMetrics } from "./metrics.js";
import { DEFAULT_SERVER_OPTIONS, type ServerOptions } from "./options.js";
import { registerExplainRoute } from "./routes/explain.js";
import { registerMetaRoutes } from "./routes/meta.js";
import { registerOpenAIRoutes } from "./routes/openai.js";
import { registerRetrievalRoutes } from "./routes/retrieval.js";
import { registerTeiRoutes } from "./routes/tei.js";

export interface RunningServer {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  app: FastifyInstance;
  context: ServerContext;
  /** Stops accepting connections, answers every request already received, then stops the worker. */
  close(): Promise<void>;
}


const ALL_METHODS: HTTPMethods[] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

export async function startServer(partial: Partial<ServerOptions> & ({ model: string } | { classifier: string })): Promise<RunningServer> {
  const options: ServerOptions = { ...DEFAULT_SERVER_OPTIONS, ...partial };
  const context = await loadContext(options);
  const app = buildApp(context);
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await context.engine.stop();
    throw err;
  }
  // CONNECT (proxy tunnels) bypasses the request handler: answer it, or Node just drops the socket.
  app.server.on("connect", (_req: IncomingMessage, socket: Duplex) => answerClientError(Object.assign(new Error("CONNECT"), { code: "CONNECT" }), socket));
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    app,
    context,
    close: () =>
      (closing ??= (async () => {
        context.closing = true;
        await app.close();
        await context.engine.stop();
      })()),
  };
}

async function loadContext(options: ServerOptions): Promise<ServerContext> {
  if (!options.model && !options.classifier) throw new Error("Give a model (--model) or a classifier (--classifier) to serve");
  const [engine, embeddingTokenizer, classifierTokenizer] = await Promise.all([
    InferenceEngine.start(
      {
        embedding: options.model,
        sparse: options.sparse,
        pooling: options.pooling,
        classifier: options.classifier,
        embeddingResolved: options.modelResolved,
        classifierResolved: options.classifierResolved,
        testFaults: testFaultsEnabled(),
      },
      { workers: options.workers, threadsPerWorker: options.threadsPerWorker },
    ),
    options.model ? loadTokenizer(options.model) : undefined,
    options.classifier ? loadTokenizer(options.classifier) : undefined,
  ]);
  const prompts = options.model ? await readPrompts(options.model) : undefined;
  const { embedding, classifier } = engine.models;
  const context: ServerContext = {
    options,
    modelId: options.modelId ?? basename(options.model ?? options.classifier ?? "model"),
    version: VERSION,
    embedding: embedding && embeddingTokenizer && prompts ? { info: embedding, tokenizer: embeddingTokenizer, prompts } : undefined,
    classifier:
      classifier && classifierTokenizer
        ? {
            info: classifier,
            tokenizer: classifierTokenizer,
            // As the text-classification pipeline does.
            maxLength: Math.min(classifierTokenizer.modelMaxLength, classifier.maxPositionEmbeddings),
          }
        : undefined,
    engine,
    metrics: new ServerMetrics(),
    batcher: undefined as unknown as Batcher,
    closing: false,
  };
  const longest = Math.max(context.embedding?.info.maxLength ?? 0, context.classifier?.maxLength ?? 0);
  if (options.maxBatchTokens < longest) {
    await engine.stop();
    throw new Error(`--max-batch-tokens ${options.maxBatchTokens} is less than the longest input the model takes (${longest} tokens)`);
  }
  context.batcher = new Batcher(
    engine,
    { embedding, classifier },
    {
      maxBatchTokens: options.maxBatchTokens,
      maxQueue: options.maxQueue,
      maxQueueTokens: Math.max(options.maxQueueTokens, longest),
      maxQueueWaitMs: options.maxQueueWait * 1000,
      batchTimeoutMs: options.batchTimeout * 1000,
      testFaults: testFaultsEnabled(),
    },
    context.metrics,
  );
  engine.onWorkerHung = (index, reason) => {
    context.metrics.workerHangs.inc();
    process.stderr.write(`bert-ts: ${reason}; terminating it\n`);
  };
  engine.onWorkerDied = (index, reason) => {
    context.metrics.workerDeaths.inc();
    process.stderr.write(`bert-ts: ${reason}; restarting it and retrying its requests\n`);
  };
  return context;
}

/** The test fault hook (see Batcher) exists only when the environment asks for it. */
function testFaultsEnabled(): boolean {
  return process.env.BERT_TS_TEST_FAULTS === "1";
}

function buildApp(ctx: ServerContext): FastifyInstance {
  const requestTimeoutMs = ctx.options.requestTimeout * 1000;
  const app = Fastify({
    logger: ctx.options.logRequests ? { level: "info" } : false,
    bodyLimit: ctx.options.bodyLimit,
    // A client gets requestTimeout to send its whole request (a trickled body is cut with 408),
    // checked every second rather than Node's default 30 s.
    requestTimeout: requestTimeoutMs,
    http: { connectionsCheckingInterval: Math.min(1000, requestTimeoutMs), headersTimeout: requestTimeoutMs },
    clientErrorHandler: answerClientError,
    // Validation only: never coerce "1" into 1 or drop unknown fields silently.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false } },
    // Answered by our own hook below, in our error shape.
    return503OnClosing: false,
  });

  const defaultJson = app.getDefaultJsonParser("error", "error");
  // JSON must be valid UTF-8: replacing bad bytes with U+FFFD would embed text nobody sent.
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser(/^application\/([\w.+-]+\+)?json$/, { parseAs: "buffer" }, (req, body: Buffer, done) => {
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      done(new ApiError(400, "validation", "The request body is not valid UTF-8"), undefined);
      return;
    }
    const problem = jsonShapeProblem(body);
    if (problem) {
      done(new ApiError(400, "validation", problem), undefined);
      return;
    }
    defaultJson(req, text, done);
  });

  // Up to 4 body limits (and 5 s) of an unread body is read and dropped before an error answer.
  const discard = (raw: IncomingMessage) => discardBody(raw, 4 * ctx.options.bodyLimit, 5000);
  app.setErrorHandler(async (err: FastifyError | ApiError, req, reply) => {
    const api = toApiError(err, ctx);
    if (api.status >= 500) req.log.error(err);
    await discard(req.raw);
    return reply.code(api.status).headers(api.headers).send(errorBody(api, req.url));
  });
  app.setNotFoundHandler(async (req, reply) => {
    await discard(req.raw);
    return reply.code(404).send(errorBody(new ApiError(404, "not_found", `No route ${req.method} ${req.url.split("?", 1)[0]}`), req.url));
  });

  app.addHook("onResponse", async (req, reply) => {
    const labels = { route: req.routeOptions.url ?? "unmatched", method: req.method, status: String(reply.statusCode) };
    ctx.metrics.requests.inc(labels);
    ctx.metrics.latency.observe(labels, reply.elapsedTime / 1000);
  });

  // While draining, requests that arrive on open keep-alive connections are turned away.
  app.addHook("onRequest", async (_req, reply) => {
    if (!ctx.closing) return;
    reply.header("connection", "close");
    throw new ApiError(503, "unhealthy", "The server is shutting down", { "retry-after": "1" });
  });
  // A compressed body would be parsed as if it were plain JSON: refuse it.
  app.addHook("onRequest", async (req) => {
    const transfer = req.headers["transfer-encoding"];
    if (transfer !== undefined && !CHUNKED.test(transfer)) {
      throw new ApiError(400, "validation", `Transfer-Encoding ${JSON.stringify(transfer)} is not supported: only chunked`);
    }
    const encoding = req.headers["content-encoding"];
    if (encoding !== undefined && !IDENTITY.test(encoding)) {
      throw new ApiError(415, "unsupported_media_type", `Content-Encoding ${JSON.stringify(encoding)} is not supported: send the JSON body uncompressed`);
    }
  });
  // Responses sent while draining close their connection, or an idle keep-alive socket would hold
  // close() open until its timeout.
  app.addHook("onSend", async (_req, reply) => {
    if (ctx.closing) reply.header("connection", "close");
  });
  if (ctx.options.apiKey) registerAuth(app, ctx.options.apiKey);

  // Known paths answer other methods with 405 and Allow, not 404.
  const methods = new Map<string, Set<string>>();
  app.addHook("onRoute", (route) => {
    const set = methods.get(route.url) ?? new Set<string>();
    for (const m of [route.method].flat()) set.add(m);
    methods.set(route.url, set);
  });
  registerMetaRoutes(app, ctx);
  registerTeiRoutes(app, ctx);
  registerOpenAIRoutes(app, ctx);
  registerRetrievalRoutes(app, ctx);
  registerExplainRoute(app, ctx);
  for (const [url, allowed] of [...methods]) {
    const others = ALL_METHODS.filter((m) => !allowed.has(m));
    const allow = [...allowed].join(", ");
    app.route({
      method: others,
      url,
      handler: async () => {
        throw new ApiError(405, "method_not_allowed", `Method not allowed on ${url}; use ${allow}`, { allow });
      },
    });
  }
  return app;
}

function toApiError(err: FastifyError | ApiError, ctx: ServerContext): ApiError {
  if (err instanceof ApiError) return err;
  if (err.validation) return new ApiError(422, "validation", `Invalid request: ${err.message}`);
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError(413, "validation", `The request body is larger than the limit of ${ctx.options.bodyLimit} bytes`);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ApiError(415, "unsupported_media_type", "Send the request body as JSON with `Content-Type: application/json`");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new ApiError(400, "validation", "The request body is empty; expected JSON");
  }
  if (ctx.engine.unhealthyReason) return new ApiError(503, "unhealthy", ctx.engine.unhealthyReason);
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const message = err instanceof SyntaxError || /JSON/i.test(err.message) ? `Invalid JSON: ${err.message}` : err.message;
    return new ApiError(status, "validation", message);
  }
  return new ApiError(500, "backend", `Inference failed: ${err.message}`);
}
