/**
 * A restricted unpickler: reads the binary pickle opcodes (protocols 2–4) that `torch.save` emits
 * and builds plain data — numbers, strings, tuples, lists, dicts. It never constructs arbitrary
 * objects: GLOBAL goes through the caller's allow-list (findClass), REDUCE and persistent ids go
 * to the caller's hooks, and opcodes that build generic instances (INST, OBJ, NEWOBJ, ...) are refused.
 * The interpreter is a loop over the bytes with every length checked against what is left, so
 * malformed input ends in a PickleError, never a crash, hang or oversized allocation.
 */

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

export class PyList {
  constructor(readonly items: PyValue[]) {}
}

export type PyKey = string | number | bigint | boolean | null;

export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
  /** State given by BUILD (e.g. the `_metadata` attribute of a saved state dict); kept, not interpreted. */
  state: PyValue | undefined;
}

/** A global the caller allowed (e.g. collections.OrderedDict); only the caller's hooks give it meaning. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Base class for values the caller's hooks create (tensors, storages). */
export abstract class HostObject {}

export type PyValue = PyKey | Uint8Array | PyTuple | PyList | PyDict | PyGlobal | HostObject;

export interface UnpickleHooks {
  /** GLOBAL / STACK_GLOBAL: return the value for an allowed global, or throw to refuse it. */
  findClass(module: string, name: string): PyValue;
  /** REDUCE: apply an allowed callable to its arguments. */
  reduce(callable: PyValue, args: readonly PyValue[]): PyValue;
  /** BINPERSID: resolve a persistent id (torch: a storage reference). */
  persistentLoad(pid: PyValue): PyValue;
}

export class PickleError extends Error {
  constructor(
    detail: string,
    readonly position: number,
  ) {
    super(`${detail} (at byte ${position})`);
    this.name = "PickleError";
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");

/** Opcodes that create instances of arbitrary classes: refused outright. */
const REFUSED: Readonly<Record<number, string>> = {
  0x69: "INST",
  0x6f: "OBJ",
  0x81: "NEWOBJ",
  0x92: "NEWOBJ_EX",
  0x50: "PERSID",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
};

export function describe(v: PyValue): string {
  if (v === null) return "None";
  if (typeof v === "string") return `str ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v !== "object") return `${typeof v} ${String(v)}`;
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  if (v instanceof PyTuple) return `tuple(${v.items.length})`;
  if (v instanceof PyList) return `list(${v.items.length})`;
  if (v instanceof PyDict) return `dict(${v.map.size})`;
  if (v instanceof PyGlobal) return v.qualifiedName;
  return v.constructor.name;
}

/**
 * Bounds on what one pickle may build, so a hostile file (a long run of cheap opcodes, a flood of
 * memo entries, deep MARK nesting) is refused in bounded memory instead of exhausting the heap.
 * A real state dict is far inside them: BERT-base's data.pkl is ~30 KB, ~3,000 values, a stack
 * of at most ~2,000 (SETITEMS batches of 1,000) and nesting depth ~4.
 */
export interface PickleLimits {
  /** Size of the pickle itself. */
  maxBytes: number;
  /** Values pushed in total (each push may be a new object). */
  maxValues: number;
  /** Items on the stack, all MARK levels together. */
  maxStack: number;
  /** Nested MARKs. */
  maxMarkDepth: number;
  /** Memo entries. */
  maxMemo: number;
}

export const DEFAULT_PICKLE_LIMITS: Readonly<PickleLimits> = {
  maxBytes: 32 * 1024 * 1024,
  maxValues: 2_000_000,
  maxStack: 1_000_000,
  maxMarkDepth: 1_000,
  maxMemo: 1_000_000,
};

export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks, limits: Readonly<PickleLimits> = DEFAULT_PICKLE_LIMITS): PyValue {
  if (bytes.length > limits.maxBytes) {
    throw new PickleError(`pickle is ${bytes.length} bytes, more than the ${limits.maxBytes} a state dict needs (refused)`, 0);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let opPos = 0;
  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  const memo = new Map<number, PyValue>();
  let values = 0;
  let depth = 0; // items on all stack levels below the current one

  const fail = (detail: string): never => {
    throw new PickleError(detail, opPos);
  };
  const need = (n: number): number => {
    if (n < 0 || pos + n > bytes.length) fail(`pickle truncated: needs ${n} more bytes, ${bytes.length - pos} left`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = (): number => {
    const n = view.getBigUint64(need(8), true);
    return n > BigInt(Number.MAX_SAFE_INTEGER) ? fail(`length ${n} is out of range`) : Number(n);
  };
  const take = (n: number): Uint8Array => bytes.subarray(need(n), pos);
  const text = (n: number): string => {
    const raw = take(n);
    try {
      return utf8.decode(raw);
    } catch {
      return fail("string is not valid UTF-8");
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail("pickle truncated inside a GLOBAL name");
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const push = (v: PyValue): void => {
    if (++values > limits.maxValues) fail(`pickle builds more than ${limits.maxValues} values (refused)`);
    if (stack.length + depth >= limits.maxStack) fail(`pickle stack grows past ${limits.maxStack} items (refused)`);
    stack.push(v);
  };
  const remember = (i: number, v: PyValue): void => {
    if (!memo.has(i) && memo.size >= limits.maxMemo) fail(`pickle stores more than ${limits.maxMemo} memo entries (refused)`);
    memo.set(i, v);
  };
  const pop = (): PyValue => (stack.length === 0 ? fail("stack underflow") : (stack.pop() as PyValue));
  const top = (): PyValue => (stack.length === 0 ? fail("stack underflow") : stack[stack.length - 1]);
  const popMark = (): PyValue[] => {
    const items = stack;
    const previous = marks.pop();
    if (previous === undefined) fail("no MARK on the stack");
    stack = previous as PyValue[];
    depth -= stack.length;
    return items;
  };
  const littleInt = (raw: Uint8Array): number | bigint => {
    // two's-complement little-endian, as LONG1/LONG4 store it
    let n = 0n;
    for (let i = raw.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(raw[i]);
    if (raw.length > 0 && raw[raw.length - 1] & 0x80) n -= 1n << BigInt(8 * raw.length);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  };
  const key = (k: PyValue): PyKey => {
    if (k === null || typeof k !== "object") return k;
    return fail(`unsupported dict key ${describe(k)}`);
  };
  const dictAt = (index: number): PyDict => {
    const d = stack[index];
    return d instanceof PyDict ? d : fail(`SETITEM(S) on ${index < 0 ? "nothing" : describe(d)}, not a dict`);
  };
  const listAt = (index: number): PyList => {
    const l = stack[index];
    return l instanceof PyList ? l : fail(`APPEND(S) on ${index < 0 ? "nothing" : describe(l)}, not a list`);
  };
  const memoGet = (i: number): PyValue => (memo.has(i) ? (memo.get(i) as PyValue) : fail(`memo entry ${i} was never stored`));

  for (;;) {
    opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail("unsupported pickle protocol");
        break;
      case 0x95: // FRAME: framing is only a read-ahead hint
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        if (marks.length >= limits.maxMarkDepth) fail(`pickle nests more than ${limits.maxMarkDepth} MARKs (refused)`);
        marks.push(stack);
        depth += stack.length;
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x7d: // EMPTY_DICT
        push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        push(new PyList([]));
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x74: {
        // TUPLE (popMark replaces `stack`, so take the items before touching it)
        const items = popMark();
        push(new PyTuple(items));
        break;
      }
      case 0x85: // TUPLE1
        push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b, c]));
        break;
      }
      case 0x6c: {
        // LIST
        const items = popMark();
        push(new PyList(items));
        break;
      }
      case 0x64: {
        // DICT
        const items = popMark();
        if (items.length % 2) fail("DICT with an odd number of items");
        const d = new PyDict();
        for (let i = 0; i < items.length; i += 2) d.map.set(key(items[i]), items[i + 1]);
        push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        listAt(stack.length - 1).items.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = listAt(stack.length - 1).items;
        for (const item of items) list.push(item); // not push(...items): a huge batch would overflow the call stack
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        dictAt(stack.length - 1).map.set(key(k), v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2) fail("SETITEMS with an odd number of items");
        const d = dictAt(stack.length - 1);
        for (let i = 0; i < items.length; i += 2) d.map.set(key(items[i]), items[i + 1]);
        break;
      }
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(littleInt(take(u8())));
        break;
      case 0x8b: {
        // LONG4: no sane checkpoint needs a huge integer
        const n = u32();
        if (n > 64) fail(`LONG4 of ${n} bytes`);
        push(littleInt(take(n)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        push(view.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        push(text(u64()));
        break;
      case 0x54: // BINSTRING (Python 2 str)
        push(latin1.decode(take(u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        push(latin1.decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        push(take(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8()));
        break;
      case 0x8e: // BINBYTES8
        push(take(u64()));
        break;
      case 0x71: // BINPUT
        remember(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        remember(u32(), top());
        break;
      case 0x94: // MEMOIZE
        remember(memo.size, top());
        break;
      case 0x68: // BINGET
        push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        push(memoGet(u32()));
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        push(hooks.findClass(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        push(hooks.findClass(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        if (!(args instanceof PyTuple)) fail(`REDUCE arguments are ${describe(args)}, not a tuple`);
        push(hooks.reduce(callable, (args as PyTuple).items));
        break;
      }
      case 0x62: {
        // BUILD: only plain dicts (a state dict's `_metadata`) take state here
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict)) fail(`BUILD on ${describe(obj)} is not supported`);
        (obj as PyDict).state = state;
        break;
      }
      case 0x51: // BINPERSID
        push(hooks.persistentLoad(pop()));
        break;
      default: {
        const refused = REFUSED[op];
        if (refused) fail(`opcode ${refused} is not allowed (it constructs arbitrary objects)`);
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, "0")}`);
      }
    }
  }
}
