/**
 * Errors a client can act on, with text-embeddings-inference's status codes and `error_type`s
 * (lower-case, as TEI serialises them), and the two body shapes: TEI's `{error, error_type}` and
 * OpenAI's `{error: {message, type, param, code}}` for /v1 routes (what OpenAI clients parse).
 */
export type ErrorType =
  | "validation" // a limit or a malformed value
  | "empty" // no inputs
  | "overloaded" // queue full
  | "unhealthy" // the inference worker is gone
  | "backend" // inference failed
  | "unauthorized"
  | "not_found"
  | "method_not_allowed"
  | "unsupported_media_type";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const tooLarge = (message: string): ApiError => new ApiError(413, "validation", message);
export const invalid = (message: string): ApiError => new ApiError(422, "validation", message);
export const badRequest = (message: string): ApiError => new ApiError(400, "validation", message);
export const empty = (field = "inputs"): ApiError => new ApiError(400, "empty", `\`${field}\` cannot be empty`);
/**
 * An input with nothing in it ("" or an empty list of token ids). TEI and OpenAI both refuse it
 * rather than embed [CLS][SEP]; bert-ts answers it like an empty list: 400, `empty`.
 */
export const emptyInput = (where: string, what: "string" | "list of token ids"): ApiError =>
  new ApiError(400, "empty", `\`${where}\` is an empty ${what}: there is nothing to embed`);
export const overloaded = (retryAfterSeconds: number): ApiError =>
  new ApiError(429, "overloaded", "Model is overloaded", { "retry-after": String(retryAfterSeconds) });

export interface TeiErrorBody {
  error: string;
  error_type: ErrorType;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

/** OpenAI-compatible routes answer in OpenAI's error shape. */
export function isOpenAIRoute(url: string): boolean {
  const path = url.split("?", 1)[0];
  return path.startsWith("/v1/") || path === "/embeddings";
}

export function errorBody(err: ApiError, url: string): TeiErrorBody | OpenAIErrorBody {
  if (isOpenAIRoute(url)) {
    const type = err.status === 401 ? "authentication_error" : err.status === 429 ? "rate_limit_error" : err.status >= 500 ? "server_error" : "invalid_request_error";
    return { error: { message: err.message, type, param: null, code: err.type } };
  }
  return { error: err.message, error_type: err.type };
}
