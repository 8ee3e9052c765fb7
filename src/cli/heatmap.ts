/**
 * A score matrix drawn for people: numbered rows and columns, each cell's value printed on a
 * coloured background (ANSI 256-colour or truecolor), with the texts listed underneath. Colour is
 * only used on a terminal and never when NO_COLOR is set (https://no-color.org).
 */

export type ColorMode = "none" | "256" | "truecolor";

/** --color auto|always|never → a colour mode for this stream and environment. */
export function resolveColorMode(
  when: string,
  isTTY: boolean = Boolean(process.stdout.isTTY),
  env: NodeJS.ProcessEnv = process.env,
): ColorMode {
  if (!["auto", "always", "never"].includes(when)) throw new Error(`Unknown --color ${JSON.stringify(when)}: expected auto, always or never`);
  if (when === "never") return "none";
  // NO_COLOR wins over auto; an explicit --color always is the user's later, more specific word.
  if (when === "auto" && ((env.NO_COLOR ?? "") !== "" || !isTTY || env.TERM === "dumb")) return "none";
  const ct = (env.COLORTERM ?? "").toLowerCase();
  return ct === "truecolor" || ct === "24bit" ? "truecolor" : "256";
}

export type Rgb = readonly [number, number, number];

/** Viridis-like stops: perceptually ordered, readable for colour-blind users. */
const STOPS: readonly Rgb[] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** t in [0, 1] → colour along the stops. */
export function scaleColor(t: number): Rgb {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const mix = (k: 0 | 1 | 2): number => Math.round(STOPS[i][k] + (STOPS[i + 1][k] - STOPS[i][k]) * f);
  return [mix(0), mix(1), mix(2)];
}

/** Nearest entry of xterm's 6×6×6 colour cube (indices 16..231). */
function cubeIndex([r, g, b]: Rgb): number {
  const level = (v: number) => (v < 48 ? 0 : v < 115 ? 1 : Math.min(5, Math.round((v - 35) / 40)));
  return 16 + 36 * level(r) + 6 * level(g) + level(b);
}

/** Wraps text in background colour c with a foreground that stays legible on it. */
export function paint(text: string, c: Rgb, mode: ColorMode): string {
  if (mode === "none") return text;
  const light = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2] > 128;
  const fg = light ? "30" : "97";
  const bg = mode === "truecolor" ? `48;2;${c[0]};${c[1]};${c[2]}` : `48;5;${cubeIndex(c)}`;
  return `\x1b[${fg};${bg}m${text}\x1b[0m`;
}

/** Shortens to at most `max` characters (by code point), marking the cut. */
export function clip(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  const chars = [...oneLine];
  return chars.length <= max ? oneLine : chars.slice(0, Math.max(1, max - 1)).join("") + "…";
}

export interface HeatmapOptions {
  color: ColorMode;
  /** Digits after the decimal point. */
  digits: number;
  /** Longest text shown in the key below the matrix. */
  textWidth?: number;
  title?: string;
}

/**
 * Renders a square matrix. Colours span the smallest to the largest off-diagonal value, so
 * differences stay visible when every score is high (random or anisotropic models); the key says
 * which values the ends of the scale stand for.
 */
export function renderHeatmap(texts: readonly string[], matrix: readonly (readonly number[])[], options: HeatmapOptions): string {
  const n = texts.length;
  const cells = matrix.map((row) => row.map((v) => v.toFixed(options.digits)));
  const cellWidth = Math.max(String(n).length, ...cells.flat().map((c) => c.length));
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j && n > 1) continue;
      lo = Math.min(lo, matrix[i][j]);
      hi = Math.max(hi, matrix[i][j]);
    }
  }
  const span = hi - lo;
  const labelWidth = String(n).length + 3; // "[n] "
  const lines: string[] = [];
  if (options.title) lines.push(options.title);
  const header = " ".repeat(labelWidth) + texts.map((_, j) => " " + String(j + 1).padStart(cellWidth) + " ").join("");
  lines.push(header.trimEnd());
  for (let i = 0; i < n; i++) {
    const label = `[${i + 1}] `.padStart(labelWidth);
    const row = cells[i]
      .map((c, j) => {
        const t = span > 0 ? (matrix[i][j] - lo) / span : 1;
        return paint(" " + c.padStart(cellWidth) + " ", scaleColor(t), options.color);
      })
      .join("");
    lines.push((label + row).trimEnd());
  }
  lines.push("");
  const width = options.textWidth ?? 72;
  texts.forEach((t, i) => lines.push(`${`[${i + 1}]`.padStart(labelWidth - 1)} ${clip(t, width)}`));
  if (options.color !== "none" && n > 1) {
    const swatch = [0, 0.25, 0.5, 0.75, 1].map((t) => paint("  ", scaleColor(t), options.color)).join("");
    lines.push(`colour scale: ${lo.toFixed(options.digits)} ${swatch} ${hi.toFixed(options.digits)}`);
  }
  return lines.join("\n") + "\n";
}
