import assert from "node:assert/strict";
import { test } from "node:test";
import { PickleError, PyDict, PyGlobal, PyList, PyTuple, unpickle } from "../../src/io/pickle.js";
import type { UnpickleHooks } from "../../src/io/pickle.js";

const calls: string[] = [];
const hooks: UnpickleHooks = {
  findClass(module, name) {
    calls.push(`find ${module}.${name}`);
    return new PyGlobal(module, name);
  },
  reduce(callable) {
    calls.push(`reduce ${callable instanceof PyGlobal ? callable.qualifiedName : "?"}`);
    return null;
  },
  persistentLoad() {
    return null;
  },
};

const bytes = (s: string) => Buffer.from(s, "latin1");

test("scalars: ints of every width, LONG1 signs, floats, bools, None, strings, bytes", () => {
  const pkl = bytes(
    "\x80\x02(" +
      "K\xff" + // BININT1 255
      "M\x34\x12" + // BININT2 0x1234
      "J\xfe\xff\xff\xff" + // BININT -2
      "\x8a\x01\xff" + // LONG1 -1
      "\x8a\x02\x00\x80" + // LONG1 -32768
      "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01" + // LONG1 2^64, beyond doubles' exact range
      "G\x3f\xf8\x00\x00\x00\x00\x00\x00" + // BINFLOAT 1.5
      "\x88\x89N" +
      "\x8c\x03h\xc3\xa9" + // SHORT_BINUNICODE "hé"
      "U\x02ab" + // SHORT_BINSTRING
      "C\x02\x01\x02" + // SHORT_BINBYTES
      "t.",
  );
  const v = unpickle(pkl, hooks);
  assert.ok(v instanceof PyTuple);
  assert.deepEqual(v.items.slice(0, 11), [255, 0x1234, -2, -1, -32768, 2n ** 64n, 1.5, true, false, null, "hé"]);
  assert.equal(v.items[11], "ab");
  assert.deepEqual(Array.from(v.items[12] as Uint8Array), [1, 2]);
});

test("containers and the memo: DICT, SETITEM(S), LIST, APPEND(S), DUP, BINPUT/BINGET, MEMOIZE", () => {
  const pkl = bytes(
    "\x80\x04(" + // outer MARK
      "(X\x01\x00\x00\x00aK\x01d\x94" + // {"a": 1}, memo 0
      "]\x94K\x07a(K\x08K\x09e" + // [7, 8, 9], memo 1
      "0X\x01\x00\x00\x00bh\x01s" + // POP it, then dict["b"] = memo 1
      "h\x01h\x00\x85" + // list again, (dict,)
      "2t.", // DUP the tuple, close the outer MARK
  );
  const v = unpickle(pkl, hooks);
  assert.ok(v instanceof PyTuple);
  const [dict, list, pair, dup] = v.items;
  assert.ok(dict instanceof PyDict);
  assert.equal(dict.map.get("a"), 1);
  assert.ok(list instanceof PyList);
  assert.deepEqual(list.items, [7, 8, 9]);
  assert.equal(dict.map.get("b"), list, "memo returns the same object");
  assert.ok(pair instanceof PyTuple);
  assert.equal(dup, pair);
});

test("a very large APPENDS batch does not overflow the call stack", () => {
  const n = 300_000;
  const pkl = Buffer.concat([bytes("\x80\x02]("), Buffer.alloc(n * 2, Buffer.from("K\x05", "latin1")), bytes("e.")]);
  const v = unpickle(pkl, hooks);
  assert.ok(v instanceof PyList);
  assert.equal(v.items.length, n);
});

test("opcodes that build arbitrary objects are refused before any class lookup", () => {
  calls.length = 0;
  for (const pkl of ["(ios\nsystem\n.", "(cos\nsystem\no.", "cos\nsystem\n)\x81.", "\x82\x01."]) {
    assert.throws(() => unpickle(bytes("\x80\x02" + pkl), hooks), (err: unknown) => err instanceof PickleError && /is not allowed/.test(err.message));
  }
  // OBJ's class came from GLOBAL (looked up by the hook, which is where torch-checkpoint refuses it); INST never got that far
  assert.deepEqual(calls, ["find os.system", "find os.system"]);
});

test("errors carry the byte position and never escape as other exceptions", () => {
  const cases = ["", "\x80", "\x80\x02X\x10\x00\x00\x00abc", "\x80\x02\x8c\x02\xff\xfe.", "\x80\x02}K\x01s.", "\x80\x02]K\x01K\x02s.", "\x80\x02(K\x01u.", "\x80\x09."];
  for (const c of cases) {
    assert.throws(() => unpickle(bytes(c), hooks), PickleError, JSON.stringify(c));
  }
  assert.throws(() => unpickle(bytes("\x80\x02\xff"), hooks), /at byte 2/);
});

test("bounds: a run of cheap opcodes, a memo flood, deep MARKs and an oversized pickle are refused, naming the limit", () => {
  const limits = { maxBytes: 1 << 20, maxValues: 10_000, maxStack: 5_000, maxMarkDepth: 50, maxMemo: 1_000 };
  const refused = (pkl: Buffer, why: RegExp) =>
    assert.throws(() => unpickle(pkl, hooks, limits), (err: unknown) => err instanceof PickleError && why.test(err.message), why.source);
  // EMPTY_LIST ×20,000: each is a new object; the stack limit or the value limit stops it first.
  refused(Buffer.concat([bytes("\x80\x02"), Buffer.alloc(20_000, 0x5d), bytes(".")]), /stack grows past 5000|more than 10000 values/);
  // Values built and dropped at once (EMPTY_LIST POP): the stack stays small, the value count does not.
  refused(Buffer.concat([bytes("\x80\x02"), Buffer.alloc(40_000, Buffer.from("]0", "latin1")), bytes("N.")]), /more than 10000 values/);
  // One value memoised under 2,000 different indices.
  const flood = Buffer.concat([bytes("\x80\x02N"), ...Array.from({ length: 2_000 }, (_, i) => Buffer.from([0x72, i & 0xff, i >> 8, 0, 0])), bytes(".")]);
  refused(flood, /more than 1000 memo entries/);
  refused(Buffer.concat([bytes("\x80\x02"), Buffer.alloc(100, 0x28), bytes("N.")]), /nests more than 50 MARKs/);
  refused(Buffer.alloc((1 << 20) + 1, 0x4e), /more than the 1048576/);
  // Inside the limits the same shapes still load: re-memoising an index does not count twice.
  const same = Buffer.concat([bytes("\x80\x02N"), ...Array.from({ length: 2_000 }, () => Buffer.from([0x71, 7])), bytes(".")]);
  assert.equal(unpickle(same, hooks, limits), null);
});

