/**
 * Request-body validation errors in words a client can act on, instead of ajv's raw text
 * ("body/inputs must be string, body/inputs must be array, body/inputs must match a schema in
 * anyOf"): which field, what it must be (a schema's `description` says it for fields that take
 * several shapes), and what was sent.
 */
import type { FastifySchemaValidationError } from "fastify";

/** What ajv reports per error with `verbose` on (fastify passes them through). */
type AjvError = FastifySchemaValidationError & { parentSchema?: { description?: string }; data?: unknown };

export function describeValidationErrors(errors: readonly AjvError[]): string {
  if (errors.length === 0) return "Invalid request body";
  // A field with several allowed shapes fails as a whole (anyOf): name the field, not a branch.
  const anyOf = errors.filter((e) => e.keyword === "anyOf").sort((a, b) => depth(a) - depth(b))[0];
  return describe(anyOf ?? errors[0]);
}

function describe(e: AjvError): string {
  const field = fieldName(e.instancePath);
  const got = ` (got ${kindOf(e.data)})`;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required": {
      const missing = fieldName(`${e.instancePath}/${String(p.missingProperty)}`);
      return `\`${missing}\` is required`;
    }
    case "anyOf":
      return `${subject(field)} must be ${e.parentSchema?.description ?? "one of the allowed shapes"}${got}`;
    case "type":
      return `${subject(field)} must be ${typeWords(p.type)}${got}`;
    case "enum":
      return `${subject(field)} must be one of ${(p.allowedValues as unknown[]).filter((v) => v !== null).map((v) => JSON.stringify(v)).join(", ")}${got}`;
    case "minimum":
      return `${subject(field)} must be at least ${String(p.limit)}${got}`;
    case "maximum":
      return `${subject(field)} must be at most ${String(p.limit)}${got}`;
    case "minItems":
      return `${subject(field)} must have at least ${String(p.limit)} item${p.limit === 1 ? "" : "s"}`;
    case "maxItems":
      return `${subject(field)} must have at most ${String(p.limit)} item${p.limit === 1 ? "" : "s"}`;
    default:
      return `${subject(field)} ${e.message ?? "is invalid"}`;
  }
}

function depth(e: AjvError): number {
  return e.instancePath.split("/").length;
}

/** "/inputs/0" → "inputs[0]"; "/parameters/truncate" → "parameters.truncate"; "" → "". */
function fieldName(instancePath: string): string {
  return instancePath
    .split("/")
    .slice(1)
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? unescape(part) : `.${unescape(part)}`))
    .join("");
}

function unescape(part: string): string {
  return part.replace(/~1/g, "/").replace(/~0/g, "~");
}

function subject(field: string): string {
  return field === "" ? "The request body" : `\`${field}\``;
}

function typeWords(type: unknown): string {
  const words: Record<string, string> = {
    string: "a string",
    integer: "an integer",
    number: "a number",
    boolean: "true or false",
    array: "a list",
    object: "a JSON object",
    null: "null",
  };
  const types = (Array.isArray(type) ? type : String(type).split(",")).map(String);
  return types.map((t) => words[t] ?? t).join(" or ");
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length === 0 ? "an empty list" : `a list of ${kindsIn(value)}`;
  if (typeof value === "string") return value.length > 40 ? "a string" : JSON.stringify(value);
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return String(value);
  if (typeof value === "object") return "a JSON object";
  return typeof value;
}

function kindsIn(list: readonly unknown[]): string {
  const kinds = new Set(list.slice(0, 1000).map((x) => (x === null ? "null" : Array.isArray(x) ? "lists" : typeof x === "object" ? "objects" : `${typeof x}s`)));
  return [...kinds].join(" and ");
}
