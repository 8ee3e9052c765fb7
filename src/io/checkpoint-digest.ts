/**
 * The sha256 that names a checkpoint's weights, on any host: file-digest.js is Node's (cached by
 * file version) or, in the browser bundle, Web Crypto's over the mounted bytes.
 */
import { fileSha256, textSha256 } from "./file-digest.js";
import { basename } from "./host.js";
import { findWeightFiles } from "./weights.js";

/**
 * The weight file's own sha256, or for a sharded checkpoint the sha256 of its `sha256sum`-style
 * listing ("<sha256>  <shard name>\n" per shard, sorted by name).
 */
export async function checkpointSha256(dir: string): Promise<string> {
  const { files, sharded } = await findWeightFiles(dir);
  const digests = await Promise.all(files.map((f) => fileSha256(f)));
  if (!sharded) return digests[0];
  const listing = files.map((f, i) => `${digests[i]}  ${basename(f)}\n`).sort((a, b) => a.slice(66).localeCompare(b.slice(66)));
  return textSha256(listing.join(""));
}
